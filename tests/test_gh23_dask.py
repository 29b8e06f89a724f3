"""Issue 23: engine="dask" gives the in-process results bit for bit, on a LocalCluster of separate worker
processes, also when a worker is killed mid-run."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("distributed")

from jinduanalytics import distributed as jd  # noqa: E402
from jinduanalytics.clusters import case_links, cluster_cases  # noqa: E402
from jinduanalytics.errors import ParameterError  # noqa: E402
from jinduanalytics.graph import case_graph  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with jd.engine_client(n_workers=2, memory_limit="3GiB") as c:
        yield c


@pytest.fixture(scope="module")
def links(city):
    return case_links(city)


@pytest.mark.parametrize("options", [dict(max_cases=50), dict(max_cases="auto", rarity="adamic_adar",
                                                                kind_weights={"ip": 0.25, "person_phone": 0.5}),
                                     dict(max_cases=None, rarity="idf"), dict(max_cases=8, rarity="none")],
                         ids=["newman", "auto-adamic-adar-kinds", "idf-no-cap", "none-cap8"])
def test_distributed_projection_is_the_in_process_graph_bit_for_bit(city, links, client, options):
    cases = city.cases.select(["case_id"])
    local = case_graph(links, cases=cases, **options)
    dist = jd.case_graph(links, cases=cases, client=client, **options)
    assert local.n_edges > 10_000
    assert np.array_equal(local.indptr, dist.indptr) and np.array_equal(local.indices, dist.indices)
    assert np.array_equal(local.weights, dist.weights)  # the same floats, not merely close
    assert local.node_ids.equals(dist.node_ids)


def test_cluster_cases_on_dask_equals_in_process(city, links, client):
    local = cluster_cases(city, seed=3, links=links)
    dist = cluster_cases(city, seed=3, links=links, engine="dask", client=client)
    assert local.equals(dist)
    with pytest.raises(ParameterError, match="engine"):
        cluster_cases(city, engine="spark")


def test_a_worker_killed_mid_run_changes_nothing(city, links, tmp_path, monkeypatch):
    """The first task of the run kills its worker process (os._exit); Dask reruns the lost tasks."""
    marker = tmp_path / "killed"
    monkeypatch.setenv(jd._KILL_ONCE, str(marker))  # the workers started below inherit it
    local = cluster_cases(city, seed=3, links=links)
    with jd.engine_client(n_workers=2, memory_limit="3GiB") as c:
        before = set(c.run(os.getpid).values())
        dist = cluster_cases(city, seed=3, links=links, engine="dask", client=c)
    assert marker.exists(), "no worker was killed"
    assert int(marker.read_text()) in before
    assert local.equals(dist)


def test_jindu_analyze_with_the_dask_engine_writes_the_same_tables(tmp_path, client):
    """The CLI's --engine dask --scheduler ADDRESS, on the committed sample: every result table equal."""
    import json
    from pathlib import Path

    import pyarrow.parquet as pq

    from jinduanalytics.cli import main

    sample = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"
    a, b = tmp_path / "local", tmp_path / "dask"
    assert main(["analyze", str(sample), "--out", str(a), "--quiet"]) == 0
    assert main(["analyze", str(sample), "--out", str(b), "--quiet", "--engine", "dask",
                 "--scheduler", client.scheduler.address]) == 0
    manifest = json.loads((b / "manifest.json").read_text())
    assert manifest["engine"] == "dask"
    for name in manifest["outputs"]:
        if name.endswith(".parquet"):
            assert pq.read_table(a / name).equals(pq.read_table(b / name)), name


def _write_partitioned(tables: dict, folder, parts: int):
    """A dataset folder with every table but regions cut into ``parts`` partitions (regions whole)."""
    from jinduanalytics.io import write_dataset

    for i in range(parts):
        write_dataset({name: t.slice(i * (t.num_rows // parts + 1), t.num_rows // parts + 1)
                       for name, t in tables.items() if name != "regions"}, folder, partition=f"shard={i:05d}")
    write_dataset({"regions": tables["regions"]}, folder)
    return folder


@pytest.fixture(scope="module")
def city_folder(city, tmp_path_factory):
    """The city preset as a dataset folder, every table in 3 partitions."""
    return _write_partitioned(city.tables, tmp_path_factory.mktemp("folder") / "city", 3)


def test_a_dataset_folder_is_clustered_by_the_workers(city, links, client, city_folder):
    """engine="dask" on a partitioned folder: the workers build the evidence rows from the partition files
    (entities, persons, ID numbers, phones, transfers) — the same clusters as the in-process run."""
    folder = city_folder
    local = cluster_cases(city, seed=3, links=links)
    dist = cluster_cases(folder, seed=3, engine="dask", client=client)
    assert local.equals(dist)
    with pytest.raises(ParameterError, match="engine='dask'"):
        cluster_cases(folder)


def test_without_dask_the_cli_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    import sys
    from pathlib import Path

    from jinduanalytics.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    sample = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"
    assert main(["analyze", str(sample), "--out", str(tmp_path / "o"), "--quiet", "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'jinduanalytics[national]'" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def person_linkage(city):
    from jinduanalytics.linkage import resolve_persons

    return resolve_persons(city.person_records, seed=3)


def _same_linkage(local, dist):
    from jinduanalytics.linkage import linkage_model

    (ll, lp), (dl, dp) = local, dist
    assert ll.num_rows > 500
    assert ll.equals(dl), "links differ"  # every weight the same float
    assert linkage_model(ll) == linkage_model(dl)  # m, u, prior, EM sessions, blocking counts
    assert lp.equals(dp), "persons differ"


def test_person_linkage_on_dask_equals_in_process(city, person_linkage, client):
    """Blocking as shuffles, comparisons per partition, EM on summed pattern counts: the same links,
    model and persons; also from shuffled rows in a different number of partitions."""
    from jinduanalytics.linkage import resolve_persons

    _same_linkage(person_linkage, resolve_persons(city.person_records, seed=3, engine="dask", client=client))
    shuffled = city.person_records.take(np.random.default_rng(0).permutation(city.person_records.num_rows))
    _same_linkage(person_linkage, resolve_persons(shuffled, seed=3, engine="dask", client=client, npartitions=5))


def test_person_linkage_reads_a_partitioned_folder(city, person_linkage, client, tmp_path):
    from jinduanalytics.io import write_dataset
    from jinduanalytics.linkage import resolve_persons

    records = city.person_records
    third = records.num_rows // 3 + 1
    for i in range(3):
        write_dataset({"person_records": records.slice(i * third, third)}, tmp_path, partition=f"shard={i:05d}")
    _same_linkage(person_linkage, resolve_persons(tmp_path / "person_records", seed=3, engine="dask", client=client))


def test_person_linkage_on_dask_names_bad_input(city, client):
    from jinduanalytics.errors import SchemaError
    from jinduanalytics.linkage import resolve_persons

    with pytest.raises(SchemaError, match="missing column.*'phone'"):
        resolve_persons(city.person_records.drop_columns(["phone"]), engine="dask", client=client)
    dup = pa.concat_tables([city.person_records.slice(0, 50), city.person_records.slice(10, 5)])
    with pytest.raises(SchemaError, match="'record_id' has 5 duplicate ids"):
        resolve_persons(dup, engine="dask", client=client)


def test_a_worker_killed_during_person_linkage_changes_nothing(city, person_linkage, tmp_path, monkeypatch):
    from jinduanalytics.linkage import resolve_persons

    marker = tmp_path / "killed"
    monkeypatch.setenv(jd._KILL_ONCE, str(marker))
    with jd.engine_client(n_workers=2, memory_limit="3GiB") as c:
        dist = resolve_persons(city.person_records, seed=3, engine="dask", client=c)
    assert marker.exists(), "no worker was killed"
    _same_linkage(person_linkage, dist)


@pytest.mark.parametrize("max_cases", ["auto", 8, None])
def test_region_pairs_on_dask_equal_in_process(city, person_linkage, links, client, city_folder, max_cases):
    """Ties counted on the cluster (persons, entities under the hub cap, clusters; trips here): the same
    scored table, from the tables in this process and from the partitioned folder."""
    from jinduanalytics.region_pairs import region_pairs

    persons = person_linkage[1]
    clusters = cluster_cases(city, seed=3, links=links)
    local = region_pairs(city, persons=persons, clusters=clusters, max_cases=max_cases)
    assert local.num_rows > 50 and local.column("significant").to_numpy(zero_copy_only=False).any()
    for data in (city, city_folder):
        dist = region_pairs(data, persons=persons, clusters=clusters, max_cases=max_cases, engine="dask",
                            client=client)
        assert local.equals(dist), data if not hasattr(data, "tables") else "in-memory"


def _planted_folder(city, folder):
    """The city preset in 3 partitions per table with problems planted: a case id repeated in a later
    partition, an unknown drug (its case's persons and entities then point at a rejected case), a
    case_persons row naming no case, a person record without a name."""

    tabs = dict(city.tables)
    cases = tabs["cases"]
    held = set(tabs["case_entities"].column("case_id").to_pylist()) & set(tabs["case_persons"].column("case_id")
                                                                          .to_pylist())
    at = next(i for i, c in enumerate(cases.column("case_id").to_pylist()) if c in held and i > 5)
    drug = cases.column("drug").to_pylist()
    drug[at] = "no-such-drug"
    cases = cases.set_column(cases.schema.get_field_index("drug"), "drug", pa.array(drug))
    tabs["cases"] = pa.concat_tables([cases, cases.slice(5, 1)])
    cp = tabs["case_persons"]
    tabs["case_persons"] = cp.set_column(0, "case_id", pa.array(["NOPE"] + cp.column("case_id").to_pylist()[1:]))
    pr = tabs["person_records"]
    names = pr.column("name").to_pylist()
    names[-3] = None
    tabs["person_records"] = pr.set_column(pr.schema.get_field_index("name"), "name", pa.array(names, pa.string()))
    _write_partitioned(tabs, folder, 3)
    return cases.column("case_id")[at].as_py()


def test_validation_on_dask_rejects_what_the_in_process_validation_rejects(city, client, tmp_path):
    """Per-partition checks, duplicates across partitions and references as distributed joins, cascaded
    in table order: the same rejected rows (file, row) as read_dataset(lenient=True); strict mode names
    the files and rows; lenient mode writes each partition's rejected rows."""
    import warnings

    import pyarrow.parquet as pq

    from jinduanalytics.errors import SchemaError
    from jinduanalytics.io import read_dataset

    folder = tmp_path / "city"
    bad_case = _planted_folder(city, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = read_dataset(folder, lenient=True)
    want = {name: {(f"{name}/{f}", r) for f, r in zip(t.column("_file").to_pylist(), t.column("_file_row").to_pylist())}
            for name, t in expected.rejected.items() if t is not None and t.num_rows}
    assert set(want) >= {"cases", "case_persons", "case_entities", "person_records"}  # the cascade reached them
    out = tmp_path / "rejected"
    got = jd.validate_folder(folder, lenient=True, rejected_to=out, client=client)
    have: dict = {}
    for row in got.to_pylist():
        have.setdefault(row["table"], set()).update((row["file"], r) for r in row["rows"])
    written: dict = {}
    for f in out.rglob("*.parquet"):
        rel = str(f.relative_to(out))
        t = pq.read_table(f)
        written.setdefault(rel.split("/")[0], set()).update((rel, r) for r in t.column("_row").to_pylist())
        if rel.startswith("cases/"):
            assert bad_case in t.column("case_id").to_pylist() or t.num_rows == 1
    assert have == want
    assert written == want
    with pytest.raises(SchemaError, match=r"cases \(cases/shard=00002/part-0.parquet\): key \(case_id\) already"):
        jd.validate_folder(folder, client=client)
    assert jd.validate_folder(_clean_folder(city, tmp_path / "clean"), client=client).num_rows == 0


def _clean_folder(city, folder):
    return _write_partitioned(city.tables, folder, 2)


def test_jindu_validate_with_the_dask_engine(city, client, tmp_path, capsys):
    from jinduanalytics.cli import main

    folder = tmp_path / "city"
    _planted_folder(city, folder)
    addr = ["--engine", "dask", "--scheduler", client.scheduler.address]
    assert main(["validate", str(folder), *addr]) == 2
    err = capsys.readouterr().err
    assert "case_persons (case_persons/shard=00000/part-0.parquet)" in err and "Traceback" not in err
    out = tmp_path / "rejected"
    assert main(["validate", str(folder), *addr, "--lenient", "--rejected", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rejected rows" in printed and (out / "rejected.json").is_file()
    assert (out / "cases" / "shard=00002" / "part-0.parquet").is_file()


@pytest.mark.parametrize("options", [dict(), dict(by="category", period="quarter"), dict(per_region=False)],
                         ids=["drug-month", "category-quarter", "whole-dataset"])
def test_per_region_period_counts_on_dask_equal_in_process(city, client, city_folder, options):
    """Cases and grams per region, period and drug: grouped on the workers, each group summed in the table's
    row order — the same floats as in-process, from the tables here and from the partitioned folder."""
    from jinduanalytics.channels import substance_table

    local = substance_table(city, **options)
    assert local.num_rows > 10
    for data in (city, city_folder):
        assert local.equals(substance_table(data, engine="dask", client=client, **options))
    with pytest.raises(ParameterError, match="engine='dask'"):
        substance_table(city_folder)


def test_jindu_analyze_a_folder_on_dask(city_folder, city, client, tmp_path, capsys):
    """--engine dask --folder: nothing read whole into this process; the distributed stages' tables (equal to
    in-process) and a report with their sections."""
    import json

    import pyarrow.parquet as pq

    from jinduanalytics.channels import substance_table
    from jinduanalytics.cli import main

    out = tmp_path / "out"
    assert main(["analyze", str(city_folder), "--out", str(out), "--quiet", "--engine", "dask", "--folder",
                 "--scheduler", client.scheduler.address]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "dask" and manifest["input_rows"]["cases"] == city.cases.num_rows
    from jinduanalytics.linkage import resolve_persons

    assert pq.read_table(out / "linked_persons.parquet").equals(resolve_persons(city.person_records, seed=7)[1])
    assert pq.read_table(out / "substances.parquet").equals(substance_table(city))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "of 3 cases or more" in html and "Cross-region linkage" in html and "Substances" in html
    assert main(["analyze", str(city_folder), "--out", str(tmp_path / "o2"), "--folder"]) == 2
    assert "--engine dask" in capsys.readouterr().err


def test_a_blocking_over_the_pair_budget_is_refused_before_any_pair(city, person_linkage, client):
    """The rules' pairs are counted from the block sizes on the workers — the counts the in-process
    kernel forms — and a run over ``max_pairs`` is refused with the same message in both engines."""
    from jinduanalytics.linkage import linkage_model, resolve_persons

    per_rule = {r["rule"]: r["pairs"] for r in linkage_model(person_linkage[0])["blocking"]}
    total = sum(per_rule.values())
    with pytest.raises(ParameterError) as local:
        resolve_persons(city.person_records, seed=3, max_pairs=total - 1)
    with pytest.raises(ParameterError) as dist:
        resolve_persons(city.person_records, seed=3, max_pairs=total - 1, engine="dask", client=client)
    assert str(dist.value) == str(local.value)
    assert f"would form {total:,d} candidate pairs" in str(dist.value)
    for rule, pairs in per_rule.items():
        assert f"{rule}: {pairs:,d} pairs" in str(dist.value)
    # at the budget: runs, unchanged
    _same_linkage(person_linkage, resolve_persons(city.person_records, seed=3, max_pairs=total, engine="dask",
                                                  client=client))
