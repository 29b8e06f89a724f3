"""Issue 29: result tables as pandas DataFrames (a global option and a per-call argument), with
their provenance in ``DataFrame.attrs``, turning back into the same Arrow tables."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import jinduanalytics as ja
from jinduanalytics import checkpoints, disruption, region_pairs, routes
from jinduanalytics import clusters as jc
from jinduanalytics import linkage as jl
from jinduanalytics.options import from_pandas

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"


def _same(df: pd.DataFrame, table: pa.Table) -> bool:
    back = from_pandas(df)
    return back.cast(table.schema).equals(table, check_metadata=True)


def test_every_table_returning_function_takes_output():
    names = ["jinduanalytics"] + [m.name for m in pkgutil.walk_packages(ja.__path__, "jinduanalytics.")
                                  if not any(p.startswith("_") for p in m.name.split(".")[1:])]
    missing = []
    for module_name in names:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and "Table" in str(inspect.signature(obj).return_annotation):
                if name not in ("as_table", "check_column_names", "get_table", "load_table_source", "regions_table",
                                "beibu_regions", "table_spec", "from_pandas") \
                        and "output" not in inspect.signature(obj).parameters:
                    missing.append(f"{module_name}.{name}")
    assert not missing, missing


def test_pandas_results_round_trip_with_their_provenance():
    ds = ja.read_dataset(SAMPLE)
    with ja.output_as("pandas"):
        cl = jc.cluster_cases(ds, seed=7, n_runs=2)
        assert isinstance(cl, pd.DataFrame) and cl.attrs["jindu"]["algorithm"] == "cluster_cases"
        assert ja.provenance(cl)["params"]["n_runs"] == 2  # provenance reads a result DataFrame too
        results = {
            "summary": jc.cluster_summary(ds, cl),  # a result DataFrame goes back in where a table is taken
            "evidence": jc.cluster_evidence(ds, cl),
            "trace": jc.trace_upstream(ds, cl),
            "network": jc.cluster_network(ds, cl, 0),
            "links": jl.resolve_persons(ds.person_records),
            "pairs": region_pairs.region_pairs(ds, clusters=cl),
            "placed": checkpoints.place_checkpoints(ds, 2, kind="leg"),
            "legs": routes.flow_legs(ds),
            "leiden": ja.leiden(ja.case_graph(ds.case_entities), seed=1),
            "betweenness": disruption.betweenness(jc.cluster_persons(ds, cl, 0)[1]),
        }
        results["coverage"] = jc.trace_coverage(ds, results["trace"])
        results["moved"] = checkpoints.interception(ds, results["placed"], kind="leg")
    assert ja.get_output() == "arrow"
    arrow = {
        "summary": jc.cluster_summary(ds, from_pandas(cl)),
        "evidence": jc.cluster_evidence(ds, from_pandas(cl)),
        "trace": jc.trace_upstream(ds, from_pandas(cl)),
        "network": jc.cluster_network(ds, from_pandas(cl), 0),
        "links": jl.resolve_persons(ds.person_records),
        "pairs": region_pairs.region_pairs(ds, clusters=from_pandas(cl)),
        "placed": checkpoints.place_checkpoints(ds, 2, kind="leg"),
        "legs": routes.flow_legs(ds),
        "leiden": ja.leiden(ja.case_graph(ds.case_entities), seed=1),
        "betweenness": disruption.betweenness(jc.cluster_persons(ds, from_pandas(cl), 0)[1]),
    }
    arrow["coverage"] = jc.trace_coverage(ds, arrow["trace"])
    arrow["moved"] = checkpoints.interception(ds, arrow["placed"], kind="leg")
    for name, got in results.items():
        want = arrow[name]
        pairs = zip(got, want) if isinstance(want, tuple) else [(got, want)]
        for df, table in pairs:
            assert isinstance(df, pd.DataFrame), name
            assert _same(df, table), name
    assert results["leiden"].attrs["jindu"]["seed"] == 1


def test_per_call_output_and_the_global_option():
    edges = pa.table({"source": ["a", "b", "x"], "target": ["b", "c", "y"]})
    assert isinstance(ja.leiden(edges), pa.Table)
    assert isinstance(ja.leiden(edges, output="pandas"), pd.DataFrame)
    ja.set_output("pandas")
    try:
        assert isinstance(ja.connected_components(edges), pd.DataFrame)
        assert isinstance(ja.connected_components(edges, output="arrow"), pa.Table)
    finally:
        ja.set_output("arrow")
    with pytest.raises(ja.ParameterError, match="output must be one of 'arrow', 'pandas'; got 'polars'"):
        ja.set_output("polars")
    with pytest.raises(ja.ParameterError, match="got 'csv'"):
        ja.leiden(edges, output="csv")
