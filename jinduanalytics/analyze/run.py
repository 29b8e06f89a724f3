"""One analysis run over one dataset: each intermediate computed once, on first use.

Every section of ``jindu analyze`` asks the :class:`Run` for what it needs; the run computes it
the first time and hands the same table to every later section. The case evidence links and the
consignments (trips) were built five times each before the run held them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import pathlib
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import distributed, routes
from ..channels import parcel_channels, parcel_evidence, precursor_links, substance_table
from ..checkpoints import interception, place_checkpoints
from ..clusters import (
    cluster_cases,
    cluster_evidence,
    cluster_network,
    cluster_persons,
    cluster_summary,
    trace_coverage,
    trace_upstream,
)
from ..clusters._data import case_links
from ..disruption import key_players, removal_curves
from ..errors import PairBudgetError, ParameterError
from ..lifecycle import track_clusters
from ..linkage import resolve_persons
from ..money import cluster_money, collection_accounts, money_typologies
from ..options import tabular
from ..region_pairs import region_pairs
from ..regions import regions_table
from ..risk import hidden_demand, person_risk, region_risk
from ..temporal import window
from ..trends import change_points, indicators
from ..wastewater import wastewater_alarms, wastewater_loads
from .config import resolve_config

__all__ = ["Run", "cross_region_clusters", "release_memory"]

def release_memory() -> None:
    """Hand memory freed by the last step back to the system: glibc keeps freed pandas/numpy
    buffers in its heap and Arrow's pool keeps its own, so a run's resident size grew with every
    step (at the Beibu scale, 0.6 GB of it free memory). Called after each intermediate; a
    no-op where glibc's ``malloc_trim`` is not available."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:  # pragma: no cover - no C library by that name
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


_LIBC = _libc()


class intermediate(cached_property):  # noqa: N801 - used as a decorator, like cached_property
    """A cached property of :class:`Run` that releases the memory freed while computing it."""

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        fresh = self.attrname not in instance.__dict__
        value = super().__get__(instance, owner)
        if fresh:
            release_memory()
        return value


class Run:
    """The intermediates of one analysis of one dataset, each computed on first use.

    Parameters
    ----------
    data : Dataset or mapping of tables
        Validated tables (:func:`jinduanalytics.read_dataset`).
    config : dict, optional
        Parameters of every step (:data:`jinduanalytics.analyze.config.DEFAULTS`, which any
        subset overrides); ``window`` restricts the data to a period (:func:`jinduanalytics.temporal.window`).
    seed : int, optional
        Overrides the configuration's seed (default 7).
        Seed of every randomised step (clustering consensus, linkage u sample).
    engine : {"local", "dask"}
        Where the distributed stages run (:mod:`jinduanalytics.distributed`).
    client : distributed.Client, optional
        The Dask cluster, with ``engine="dask"``.
    """

    def __init__(self, data, *, config: dict | None = None, seed: int | None = None, engine: str = "local",
                 client=None):
        self.engine, self.client = engine, client
        self.config = resolve_config(config)
        if seed is not None:
            self.config["seed"] = seed
        self.seed = self.config["seed"]
        w = self.config["window"]
        #: a dataset folder the Dask workers read (``engine="dask"``); else tables in this process
        self.folder = distributed.is_folder(data)
        if self.folder and (w["from"] or w["to"]):
            raise ParameterError("a date window is applied to tables in this process: pass read_dataset(folder), "
                                 "or no window")
        self.data = window(data, w["from"] or None, w["to"] or None) if (w["from"] or w["to"]) else data
        #: why the person linkage was refused (its blocking over the pair budget), or None
        self.linkage_refused: str | None = None

    def has(self, table: str) -> bool:
        if self.folder:
            return distributed._table_path(self.data, table) is not None
        return table in self.data

    def table_rows(self) -> list[tuple[str, int]]:
        """(table, rows) of every table (a folder's: from the Parquet footers, nothing read)."""
        if self.folder:
            return distributed.folder_rows(self.data)
        return [(name, self.data[name].num_rows) for name in self.data]

    @intermediate
    def regions(self) -> pa.Table:
        """The dataset's regions table, or the shipped one."""
        if self.folder:
            found = distributed.folder_table(self.data, "regions")
            return regions_table({"regions": found} if found is not None else {})
        return regions_table(self.data)

    # --- evidence shared by several analyses ----------------------------------------------------
    @intermediate
    def case_links(self) -> pa.Table:
        """Every piece of evidence tying a case to what another case may share (every person kind)."""
        return case_links(self.data)

    @intermediate
    def trips(self) -> pa.Table | None:
        """Consignments reconstructed from the flow legs (None without a flows table)."""
        if not self.has("flows"):
            return None
        return routes.trips(distributed.folder_table(self.data, "flows") if self.folder else self.data)

    # --- 集群打零 ----------------------------------------------------------------------------------
    @intermediate
    def case_clusters(self) -> pa.Table:
        c = self.config["clusters"]
        return cluster_cases(self.data, seed=self.seed, links=None if self.folder else self.case_links,
                             density=c["density"], n_runs=c["n_runs"],
                             rarity=c["rarity"], max_cases=c["max_cases"], engine=self.engine, client=self.client)

    @intermediate
    def cluster_summary(self) -> pa.Table:
        return cluster_summary(self.data, self.case_clusters, evidence=self.cluster_evidence)

    @intermediate
    def cluster_evidence(self) -> pa.Table:
        return cluster_evidence(self.data, self.case_clusters, min_size=3, links=self.case_links)

    @intermediate
    def upstream_trace(self) -> pa.Table:
        c = self.config["trace"]
        return trace_upstream(self.data, self.case_clusters, links=self.case_links, top=c["top"],
                              contact_weight=c["contact_weight"], cluster_weight=c["cluster_weight"],
                              money_weight=c["money_weight"])

    @intermediate
    def trace_coverage(self) -> pa.Table:
        return trace_coverage(self.data, self.upstream_trace)

    @intermediate
    def top_cluster(self) -> tuple[int, pa.Table, pa.Table] | None:
        """The top-ranked cluster: (its id, its persons, the links between them)."""
        if not self.cluster_summary.num_rows:
            return None
        top = self.cluster_summary.column("cluster")[0].as_py()
        nodes, edges = cluster_persons(self.data, self.case_clusters, top)
        return top, nodes, edges

    @intermediate
    def top_cluster_network(self) -> tuple[pa.Table, pa.Table] | None:
        """The top-ranked cluster's cases and the evidence they share (nodes, edges)."""
        if self.top_cluster is None:
            return None
        return cluster_network(self.data, self.case_clusters, self.top_cluster[0], links=self.case_links)

    @intermediate
    def top_cluster_charts(self) -> list[tuple[int, pa.Table, pa.Table]]:
        """The three top-ranked clusters' cases and evidence (cluster id, nodes, edges), for their link charts."""
        top = self.cluster_summary.column("cluster").to_pylist()[:3]
        out = []
        for i, c in enumerate(top):
            nodes, edges = self.top_cluster_network if i == 0 else cluster_network(
                self.data, self.case_clusters, c, links=self.case_links)
            out.append((c, nodes, edges))
        return out

    # --- 环北部湾 ----------------------------------------------------------------------------------
    @intermediate
    def person_linkage(self) -> tuple[pa.Table | None, pa.Table | None]:
        """(record links, linked persons), or (None, None) without person records."""
        if not self.has("person_records"):
            return None, None
        c = self.config["linkage"]
        records = distributed._table_path(self.data, "person_records") if self.folder else self.data["person_records"]
        if isinstance(records, list):  # a partitioned folder: the workers read its files
            records = str(pathlib.Path(self.data) / "person_records")
        try:
            return resolve_persons(records, seed=self.seed, threshold=c["threshold"], across=c["across"],
                                   max_pairs=c["max_pairs"], engine=self.engine, client=self.client)
        except PairBudgetError as exc:  # the report says so; region pairs go on without person ties
            self.linkage_refused = str(exc)
            return None, None

    @intermediate
    def region_pairs(self) -> pa.Table:
        c = self.config["region_pairs"]
        return region_pairs(self.data, persons=self.person_linkage[1], clusters=self.case_clusters,
                            trips=self.trips, z_threshold=c["z_threshold"], two_way_min_share=c["two_way_min_share"],
                            robust=c["robust"], engine=self.engine, client=self.client)

    @intermediate
    def cross_region_clusters(self) -> pa.Table:
        return cross_region_clusters(self.cluster_summary)

    # --- channels: 寄递, substances, precursors ----------------------------------------------------
    @intermediate
    def substances(self) -> pa.Table:
        """Cases per region, period and drug."""
        return substance_table(self.data, period=self.config["channels"]["period"], by="drug", engine=self.engine,
                               client=self.client)

    @intermediate
    def substance_categories(self) -> pa.Table:
        """Cases per period and drug category, the whole dataset."""
        return substance_table(self.data, period=self.config["channels"]["period"], by="category", per_region=False,
                               engine=self.engine, client=self.client)

    @intermediate
    def parcel_evidence(self) -> pa.Table | None:
        return parcel_evidence(self.data) if self.has("parcels") else None

    @intermediate
    def parcel_channels(self) -> pa.Table | None:
        """Outlets, senders and receivers scored against their volume (None without parcels)."""
        if not self.has("parcels"):
            return None
        return parcel_channels(self.data, alpha=self.config["channels"]["alpha"])

    @intermediate
    def precursor_links(self) -> pa.Table:
        c = self.config["channels"]
        return precursor_links(self.data, window_days=c["window_days"], max_hops=c["max_hops"], links=self.case_links,
                               trips=self.trips)

    # --- over time ------------------------------------------------------------------------------
    @intermediate
    def indicators(self) -> pa.Table:
        return indicators(self.data, period=self.config["trends"]["period"], persons=self.person_linkage[1],
                          clusters=self.case_clusters)

    @intermediate
    def change_points(self) -> pa.Table:
        return change_points(self.indicators, alpha=self.config["trends"]["alpha"], seed=self.seed)

    @intermediate
    def lifecycle(self) -> tuple[pa.Table, pa.Table] | None:
        """Clusters per period tracked across periods (None when switched off)."""
        c = self.config
        if not c["trends"]["track_clusters"]:
            return None
        return track_clusters(self.data, period=c["trends"]["period"], seed=self.seed, links=self.case_links,
                              density=c["clusters"]["density"], n_runs=c["trends"]["n_runs"])

    # --- 毒情监测: wastewater, grading -----------------------------------------------------------
    @intermediate
    def wastewater_loads(self) -> pa.Table | None:
        return wastewater_loads(self.data, loq_rule=self.config["monitoring"]["loq_rule"]) if self.has("wastewater") else None

    @intermediate
    def wastewater_alarms(self) -> pa.Table | None:
        return wastewater_alarms(self.wastewater_loads) if self.wastewater_loads is not None else None

    @intermediate
    def hidden_demand(self) -> pa.Table | None:
        if self.wastewater_loads is None:
            return None
        return hidden_demand(self.data, loads=self.wastewater_loads, biomarker=self.config["monitoring"]["biomarker"])

    @intermediate
    def region_risk(self) -> pa.Table:
        c = self.config["monitoring"]
        same = c["period"] == self.config["trends"]["period"]  # then the over-time indicators serve again
        return region_risk(self.data, period=c["period"], loads=self.wastewater_loads, persons=self.person_linkage[1],
                           clusters=self.case_clusters, biomarker=c["biomarker"],
                           indicators_table=self.indicators if same else None)

    @intermediate
    def person_risk(self) -> pa.Table:
        """Persons graded as of the day after the last case (分类分级)."""
        last = pc.max(self.data["cases"].column("date")).as_py() if self.has("cases") else None
        as_of = (last + datetime.timedelta(days=1)).isoformat() if last else "1970-01-01"
        return person_risk(self.data, as_of=as_of, persons=self.person_linkage[1], clusters=self.case_clusters)

    # --- 毒资 ----------------------------------------------------------------------------------------
    @intermediate
    def collection_accounts(self) -> pa.Table | None:
        """Per cluster, where the money traced from its case accounts concentrates (None without transfers)."""
        if not self.has("transactions"):
            return None
        c = self.config["money"]
        return collection_accounts(self.data, self.case_clusters, max_delay_days=c["max_delay_days"],
                                   tolerance=c["tolerance"])

    @intermediate
    def cluster_money(self) -> pa.Table | None:
        if self.collection_accounts is None:
            return None
        return cluster_money(self.data, self.case_clusters, collection=self.collection_accounts)

    @intermediate
    def money_typologies(self) -> pa.Table | None:
        if not self.has("transactions") or not self.config["money"]["typologies"]:
            return None
        return money_typologies(self.data, max_delay_days=self.config["money"]["pass_through_days"],
                                tolerance=self.config["money"]["tolerance"])

    # --- routes, checkpoints, disruption ---------------------------------------------------------
    @intermediate
    def flow_legs(self) -> pa.Table | None:
        return routes.flow_legs(self.data) if self.has("flows") else None

    @intermediate
    def checkpoints(self) -> dict | None:
        """Leg checkpoints placed plainly and with rerouting in mind, and what rerouting does to
        the plain placement; None without flows."""
        if self.flow_legs is None or not self.flow_legs.num_rows:
            return None
        c = self.config["checkpoints"]
        kw = {"kind": c["kind"], "detour": c["detour"], "trips": self.trips}
        plain = place_checkpoints(self.data, c["k"], **kw)
        evasive = place_checkpoints(self.data, c["k"], evasive=True, **kw)
        moved = interception(self.data, plain, evasive=True, **kw)
        q = moved.column("quantity_g").to_numpy()
        kept = q[moved.column("intercepted").to_numpy(zero_copy_only=False)].sum() / max(q.sum(), 1e-12)
        return {"plain": plain, "evasive": evasive, "rerouted": moved.filter(moved.column("rerouted")),
                "plain_share_under_evasion": float(kept)}

    @intermediate
    def disruption(self) -> dict | None:
        """Removal curves and the key-player set of the top cluster's persons (None when it is too small)."""
        if self.top_cluster is None or self.top_cluster[2].num_rows < 3:
            return None
        edges = self.top_cluster[2]
        return {"curves": removal_curves(edges, modes=("sequential",), weightings=(False,), stop_at=2),
                "key_players": key_players(edges, min(3, edges.num_rows - 1))}


@tabular
def cross_region_clusters(summary: pa.Table) -> pa.Table:
    """Region pairs tied by case clusters: ``region_a``, ``region_b``, ``n_clusters`` (clusters
    with cases in both), ``n_cases`` (their cases). Observed counts only — the null model and
    significance are :func:`jinduanalytics.region_pairs.region_pairs`'.

    Parameters
    ----------
    summary : pyarrow.Table
        :func:`jinduanalytics.clusters.cluster_summary`.

    Returns
    -------
    pyarrow.Table
    """
    s = summary.select(["cluster", "regions", "n_cases"]).to_pandas()
    rows = []
    for regions, n in zip(s["regions"], s["n_cases"]):
        regs = sorted(regions)
        for i in range(len(regs)):
            for j in range(i + 1, len(regs)):
                rows.append((regs[i], regs[j], n))
    df = pd.DataFrame(rows, columns=["region_a", "region_b", "n"])
    out = df.groupby(["region_a", "region_b"], as_index=False).agg(n_clusters=("n", "size"), n_cases=("n", "sum"))
    out = out.astype({"n_clusters": np.int64, "n_cases": np.int64})
    return pa.Table.from_pandas(out.sort_values(["n_clusters", "region_a", "region_b"], ascending=[False, True, True])
                                .reset_index(drop=True), preserve_index=False)
