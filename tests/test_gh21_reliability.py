"""Issue 21: nothing lost, nothing silently wrong. Each test failed before the fix it names."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import tiny_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics import analyze as analyze_mod
from jinduanalytics.checkpoints import interception, place_checkpoints
from jinduanalytics.cli import main
from jinduanalytics.disruption import betweenness
from jinduanalytics.errors import GraphInputError, ParameterError, SchemaError
from jinduanalytics.linkage import resolve_persons

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def dataset(tmp_path) -> Path:
    d = tmp_path / "ds"
    shutil.copytree(SAMPLE, d)
    return d


@pytest.fixture(scope="module")
def earlier_output(tmp_path_factory) -> Path:
    """One analyze run's output folder, copied by the tests that rerun into it."""
    out = tmp_path_factory.mktemp("earlier") / "out"
    assert main(["analyze", str(SAMPLE), "--out", str(out), "--quiet"]) == 0
    return out


# --- data loss and half-written output -------------------------------------------------------------

@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_gh21_analyze_refuses_an_out_that_overlaps_the_input(dataset, where, capsys):
    """`--out DS` overwrote the input's checkpoints.parquet with the result table of that name."""
    out = {"same": dataset, "inside": dataset / "results", "parent": dataset.parent}[where]
    before = _digests(dataset)
    assert main(["analyze", str(dataset), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "OutputError" in err and "input" in err and "Traceback" not in err
    assert _digests(dataset) == before
    assert main(["validate", str(dataset)]) == 0


def test_gh21_non_empty_out_needs_force_and_earlier_runs_are_replaced_whole(dataset, earlier_output, tmp_path, capsys):
    """Same-named files of the user or an earlier run were silently overwritten, others kept."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my own notes")
    assert main(["analyze", str(dataset), "--out", str(mine), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (mine / "report.html").read_text() == "my own notes"
    # an earlier jindu output is replaced whole: a stale file of that run does not survive
    again = tmp_path / "again"
    shutil.copytree(earlier_output, again)
    (again / "stale_table.parquet").write_bytes(b"from an earlier version")
    assert main(["analyze", str(dataset), "--out", str(again), "--quiet"]) == 0
    assert not (again / "stale_table.parquet").exists()
    manifest = json.loads((again / "manifest.json").read_text())
    assert sorted(p.name for p in again.iterdir()) == sorted(manifest["outputs"])
    # --force replaces a folder that is not a jindu output
    assert main(["analyze", str(dataset), "--out", str(mine), "--quiet", "--force"]) == 0
    assert not (mine / "report.html").read_text().startswith("my own")
    assert not list(tmp_path.glob(".*jindu-*")), "no temporary folder left behind"


def test_gh21_interrupted_run_leaves_the_earlier_output_and_exits_130(dataset, earlier_output, tmp_path,
                                                                       monkeypatch, capsys):
    """A Ctrl-C during the run left new tables beside an old report and manifest."""
    out = tmp_path / "out"
    shutil.copytree(earlier_output, out)
    before = _digests(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(analyze_mod, "render_report", interrupted)  # after the tables are written
    assert main(["analyze", str(dataset), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "interrupted" in err and "Traceback" not in err
    assert _digests(out) == before
    assert not list(tmp_path.glob(".*jindu-*"))


def test_gh21_full_disk_is_a_clear_error_and_nothing_is_half_written(dataset, tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(args[1]))

    monkeypatch.setattr(analyze_mod.pq, "write_table", full)
    out = tmp_path / "out"
    assert main(["analyze", str(dataset), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "OutputError" in err and "No space left on device" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*jindu-*"))


def test_gh21_manifest_hashes_every_input_file_before_the_run_csv_too(dataset, tmp_path):
    """Input hashes were taken over *.parquet after the run (so over an overwritten input, never CSV)."""
    for name in ("cases", "flows"):
        t = pq.read_table(dataset / f"{name}.parquet")
        (dataset / f"{name}.parquet").unlink()
        pacsv.write_csv(t, dataset / f"{name}.csv")
    before = _digests(dataset)
    out = tmp_path / "out"
    assert main(["analyze", str(dataset), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input_sha256"] == before  # every file of the dataset, truth included
    assert "cases.csv" in manifest["input_sha256"]


def test_gh21_validate_lenient_never_writes_into_the_input(dataset, tmp_path, capsys):
    t = pq.read_table(dataset / "cases.parquet")
    q = t.column("quantity_g").to_pylist()
    q[0] = -5.0
    pq.write_table(t.set_column(t.column_names.index("quantity_g"), "quantity_g", pa.array(q)),
                   dataset / "cases.parquet")
    before = _digests(dataset)
    assert main(["validate", str(dataset), "--lenient"]) == 0
    assert "--rejected DIR" in capsys.readouterr().out
    assert _digests(dataset) == before
    assert main(["validate", str(dataset), "--lenient", "--rejected", str(dataset / "rej")]) == 2
    assert _digests(dataset) == before
    rej = tmp_path / "rej"
    assert main(["validate", str(dataset), "--lenient", "--rejected", str(rej)]) == 0
    assert pq.read_table(rej / "cases.parquet").column("_row").to_pylist()[:1] == [0]
    # a rerun replaces the earlier rejected rows whole (no stale files of another run)
    (rej / "flows.parquet").write_bytes(b"stale")
    assert main(["validate", str(dataset), "--lenient", "--rejected", str(rej)]) == 0
    assert not (rej / "flows.parquet").exists()


def test_gh21_validate_says_which_files_were_read_ignored_or_missing(dataset, capsys):
    (dataset / "contacts.parquet").rename(dataset / "notes.parquet")
    (dataset / "checkpoints.parquet").unlink()
    assert main(["validate", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "ignored: notes.parquet" in out and "missing: contacts, parcels, wastewater, checkpoints" in out
    assert "read:" in out and "cases.parquet" in out


def test_gh21_misnamed_or_doubled_table_files_are_refused(dataset, capsys):
    (dataset / "cases.parquet").rename(dataset / "case.parquet")
    with pytest.raises(SchemaError, match=r"case\.parquet is not a canonical table name; did you mean cases\.parquet"):
        ja.read_dataset(dataset)
    (dataset / "case.parquet").rename(dataset / "cases.parquet")
    pacsv.write_csv(pq.read_table(dataset / "cases.parquet"), dataset / "cases.csv")
    assert main(["validate", str(dataset)]) == 2
    assert "table 'cases' has 2 files (cases.parquet, cases.csv)" in capsys.readouterr().err


# --- silent wrong answers --------------------------------------------------------------------------

@pytest.mark.parametrize("table,column", [("cases", "quantity_g"), ("flows", "quantity_g"),
                                          ("transactions", "amount"), ("regions", "lon")])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_gh21_infinities_are_rejected_like_nan(tables, table, column, value):
    t = tables[table]
    vals = t.column(column).to_pylist()
    last = len(vals) - 1  # (the last region is nobody's parent)
    vals[last] = value
    t = t.set_column(t.column_names.index(column), column, pa.array(vals, pa.float64()))
    with pytest.raises(SchemaError, match=rf"column '{column}': 1 NaN or infinite values \(rows {last}\)"):
        ja.validate_table(t, table)
    with pytest.warns(ja.JinduWarning, match="1 of"):
        res = ja.validate_table(t, table, lenient=True)
    assert res.rejected.column("_row").to_pylist() == [last] and res.table.num_rows == t.num_rows - 1


@pytest.mark.parametrize("fn", [ja.leiden, ja.louvain, ja.label_propagation])
def test_gh21_weights_whose_total_overflows_are_refused(fn):
    """1e308 weights made leiden/louvain return all singletons with NaN modularity, no error."""
    edges = pa.table({"source": [0, 1, 2, 3], "target": [1, 2, 0, 4], "weight": [1e308] * 4})
    with pytest.raises(GraphInputError, match="total edge weight is inf"):
        fn(edges, seed=1)
    scaled = edges.set_column(2, "weight", pa.array([1.0] * 4))
    assert fn(scaled, seed=1).num_rows == 5


def test_gh21_lenient_cascades_rejections_inside_a_table(tables):
    """A rejected parent region left its child regions with a dangling parent_id."""
    r = tables["regions"]
    r = pa.table({"region_id": ["GD", "GD-ZJ", "GD-ZJ-1", "GX-BH"], "name": ["a", "b", "c", "d"],
                  "province": ["广东"] * 3 + ["广西"], "level": ["province", "city", "county", "city"],
                  "parent_id": [None, "GD", "GD-ZJ", None], "lon": [200.0, 110.3, 110.4, 109.1],
                  "lat": [23.1, 21.2, 21.3, 21.4]})
    res = ja.validate_table(r, "regions", lenient=True)
    assert res.table.column("region_id").to_pylist() == ["GX-BH"]
    assert res.rejected.column("_row").to_pylist() == [0, 1, 2]
    assert "points at a rejected row" in res.rejected.column("_reason")[2].as_py()
    ja.validate_table(res.table, "regions")  # the accepted rows pass strict validation


_CORRUPTIONS = ("null", "blank", "nan", "inf", "negative", "dangling", "duplicate", "far")


@pytest.mark.filterwarnings("ignore::jinduanalytics.errors.JinduWarning")
@settings(max_examples=40)
@given(data=st.data())
def test_gh21_accepted_rows_of_any_lenient_run_pass_strict_validation(data):
    tables = tiny_tables()
    for _ in range(data.draw(st.integers(1, 6))):
        name = data.draw(st.sampled_from(sorted(tables)))
        t = tables[name]
        col = data.draw(st.sampled_from(t.column_names))
        row = data.draw(st.integers(0, t.num_rows - 1))
        how = data.draw(st.sampled_from(_CORRUPTIONS))
        vals = t.column(col).to_pylist()
        typ = t.schema.field(col).type
        if how == "null":
            vals[row] = None
        elif how == "duplicate":
            t = pa.concat_tables([t, t.slice(row, 1)])
            tables[name] = t
            continue
        elif pa.types.is_floating(typ):
            vals[row] = {"nan": float("nan"), "inf": float("inf"), "negative": -1.0, "far": 500.0}.get(how, None)
        elif pa.types.is_string(typ):
            vals[row] = {"blank": "  ", "dangling": "no-such-key"}.get(how, "x")
        elif pa.types.is_integer(typ):
            vals[row] = -1
        else:
            vals[row] = dt.date(1800, 1, 1)
        tables[name] = t.set_column(t.column_names.index(col), col, pa.array(vals, typ))
    n_in = {n: t.num_rows for n, t in tables.items()}
    ds = ja.dataset_from_tables(tables, lenient=True)
    for n in n_in:
        assert ds[n].num_rows + ds.rejected[n].num_rows == n_in[n], n
    ja.dataset_from_tables(dict(ds.tables))  # strict: raises if anything dangles


def test_gh21_strict_validation_reports_references_into_a_failed_table(tables):
    """A dangling case_persons.record_id surfaced only after person_records' own problem was fixed."""
    pr = tables["person_records"]
    tables["person_records"] = pr.set_column(2, "name", pa.array([None, "乙", "丙", "丁"]))
    tables["case_persons"] = tables["case_persons"].set_column(1, "record_id", pa.array(["r1", "r2", "r9", "r3"]))
    with pytest.raises(SchemaError) as exc:
        ja.dataset_from_tables(tables)
    msg = str(exc.value)
    assert "table 'person_records'" in msg and "column 'name': 1 nulls" in msg
    assert "column 'record_id': 1 values not found in person_records.record_id (rows 2)" in msg


# --- crashes and tracebacks ------------------------------------------------------------------------

def test_gh21_no_person_records_or_empty_tables_give_empty_results(dataset, tmp_path):
    ds = ja.read_dataset(dataset)
    links, persons = resolve_persons(ds.person_records.slice(0, 0))
    assert links.num_rows == 0 and persons.num_rows == 0 and "id_l" in links.column_names
    links, persons = resolve_persons(ds.person_records.slice(0, 1))
    assert links.num_rows == 0 and persons.num_rows == 1
    empty = ja.dataset_from_tables({n: t.slice(0, 0) for n, t in ds.tables.items()})
    res = analyze_mod.analyze(empty, tmp_path / "out", progress=False)
    assert res["case_clusters"].num_rows == 0 and res["cluster_summary"].num_rows == 0
    assert "</html>" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize("damage", ["truncated", "zero-bytes", "not-parquet"])
def test_gh21_unreadable_parquet_names_table_and_file(dataset, damage, capsys):
    f = dataset / "case_entities.parquet"
    raw = f.read_bytes()
    f.write_bytes({"truncated": raw[: len(raw) // 2], "zero-bytes": b"", "not-parquet": b"case_id,kind\n1,2\n"}[damage])
    assert main(["validate", str(dataset)]) == 2
    err = capsys.readouterr().err
    assert "table 'case_entities'" in err and "case_entities.parquet" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


@pytest.mark.parametrize("header", ["ascii", "chinese"])
def test_gh21_gbk_csv_is_decoded(tables, tmp_path, header):
    df = tables["regions"].to_pandas()
    cmap = None
    if header == "chinese":
        cmap = {"编号": "region_id", "名称": "name", "省份": "province", "级别": "level", "上级": "parent_id",
                "经度": "lon", "纬度": "lat"}
        df = df.rename(columns={v: k for k, v in cmap.items()})
    path = tmp_path / "regions.csv"
    df.to_csv(path, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    t = ja.read_table(path, "regions", column_map=cmap)
    assert t.column("name").to_pylist() == ["广东", "湛江", "北海"]


def test_gh21_uint64_out_of_range_is_a_row_error(tables):
    c = tables["contacts"]
    t = c.set_column(2, "count", pa.array([2 ** 64 - 1], pa.uint64()))
    with pytest.raises(SchemaError, match=r"column 'count': 1 values are out of the int64 range \(rows 0\)"):
        ja.validate_table(t, "contacts")
    ok = c.set_column(2, "count", pa.array([7], pa.uint64()))
    assert ja.validate_table(ok, "contacts").table.column("count").to_pylist() == [7]


def test_gh21_duplicate_column_names_are_refused(tables):
    t = tables["cases"]
    dup = pa.Table.from_arrays(list(t.columns) + [t.column("date")], names=t.column_names + ["date"])
    with pytest.raises(SchemaError, match="table 'cases': duplicate column names 'date'"):
        ja.validate_table(dup, "cases")
    df = t.to_pandas()
    df = pd.concat([df, df[["case_id"]]], axis=1)
    with pytest.raises(SchemaError, match="duplicate column names 'case_id'"):
        ja.validate_table(df, "cases")
    renamed = t.append_column("caseid", t.column("case_id"))
    with pytest.raises(SchemaError, match="column_map gives two columns the name 'case_id'"):
        ja.validate_table(renamed, "cases", column_map={"caseid": "case_id"})


def test_gh21_mixed_type_dataframe_column_is_a_schema_error():
    df = pd.DataFrame({"case_id": ["c1", "c2"], "record_id": ["r1", 5], "role": ["seller", "user"]})
    with pytest.raises(SchemaError, match="column 'record_id' mix types"):
        ja.validate_table(df, "case_persons")


def test_gh21_betweenness_of_an_empty_graph_is_empty():
    e = pa.table({"source": pa.array([], pa.string()), "target": pa.array([], pa.string())})
    assert betweenness(e).num_rows == 0
    assert betweenness(e, samples=3).num_rows == 0


def test_gh21_unknown_values_are_refused_with_the_known_ones_listed():
    ds = ja.read_dataset(SAMPLE)
    with pytest.raises(ParameterError, match=r"kind_weights keys must be evidence kinds \('phone'.*got 'bogus'"):
        ja.case_graph(ds.case_entities, kind_weights={"bogus": 1.0})
    with pytest.raises(ParameterError, match=r"modes must be among 'road', 'rail', 'sea', 'post', 'air', 'courier'; got 'bogus'"):
        place_checkpoints(ds, 2, kind="leg", modes=["bogus"])
    for kind in ("node", "leg"):
        with pytest.raises(ParameterError, match=rf"1 checkpoint\(s\) not on the {kind} network: 'no-such"):
            interception(ds, ["no-such-checkpoint"], kind=kind)
    placed = place_checkpoints(ds, 2, kind="leg")
    assert interception(ds, placed, kind="leg").num_rows > 0


# --- core algorithm parameters ---------------------------------------------------------------------

def test_gh21_leiden_until_stable_terminates_on_the_graph_atlas():
    """n_iterations=-1 hung on a triangle; 1_000_000 hung on 6 nodes (moves never settle)."""
    for i, graph in enumerate(nx.graph_atlas_g()):
        if graph.number_of_edges() == 0:
            continue
        edges = pa.table({"source": [u for u, _ in graph.edges()], "target": [v for _, v in graph.edges()]})
        stable = ja.leiden(edges, n_iterations=-1, seed=i)
        assert ja.leiden(edges, n_iterations=1_000_000, seed=i).equals(stable)
        assert ja.modularity(edges, stable) >= ja.modularity(edges, ja.leiden(edges, n_iterations=2, seed=i)) - 1e-12


@settings(max_examples=30)
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(5, 60), p=st.floats(0.05, 0.5))
def test_gh21_leiden_until_stable_on_random_graphs(seed, n, p):
    graph = nx.gnp_random_graph(n, p, seed=seed)
    if graph.number_of_edges() == 0:
        return
    edges = pa.table({"source": [u for u, _ in graph.edges()], "target": [v for _, v in graph.edges()]})
    part = ja.leiden(edges, n_iterations=-1, seed=seed)
    comm = dict(zip(part.column("node_id").to_pylist(), part.column("community").to_pylist()))
    groups = {}
    for v, c in comm.items():
        groups.setdefault(c, set()).add(v)
    assert all(nx.is_connected(graph.subgraph(g)) for g in groups.values())
    q = ja.modularity(edges, part)
    assert np.isclose(q, nx.community.modularity(graph.subgraph(comm), groups.values()), atol=1e-9)
    assert q >= ja.modularity(edges, ja.leiden(edges, n_iterations=2, seed=seed)) - 1e-12


# --- leaks -----------------------------------------------------------------------------------------

def _raw_identifiers(ds) -> set[str]:
    """Every personal value of a dataset: names, ID numbers, phones, accounts, entity values."""
    raw: set[str] = set()
    pr, ce = ds.person_records, ds.case_entities
    for col in ("name", "id_number", "phone"):
        raw |= {v for v in pr.column(col).to_pylist() if v}
    raw |= {v for v in ce.column("value").to_pylist() if v}
    for t, cols in (("contacts", ("phone_a", "phone_b")), ("transactions", ("src_account", "dst_account"))):
        for col in cols:
            raw |= {v for v in ds[t].column(col).to_pylist() if v}
    for t in ds.truth.values():
        if "value" in t.column_names:
            raw |= {v for v in t.column("value").to_pylist() if v}
    return raw


def _cells(table: pa.Table) -> set[str]:
    out: set[str] = set()
    for col in table.columns:
        out |= {str(v) for v in col.to_pylist() if v is not None}
    return out


def test_gh21_pseudonymised_dataset_writes_no_raw_identifier(tmp_path):
    """birth_date stayed raw; truth/noise_entities kept raw phones/accounts; rejected rows and extra
    columns kept raw identifiers."""
    clean = ja.read_dataset(SAMPLE)
    tables = dict(clean.tables)
    pr = tables["person_records"]
    tables["person_records"] = pr.append_column("wechat_nick", pr.column("name"))  # an extra, personal column
    bad = pr.column("sex").to_pylist()
    bad[:3] = ["X", "X", "X"]  # three rows rejected with their raw names, ID numbers, phones
    tables["person_records"] = tables["person_records"].set_column(
        tables["person_records"].column_names.index("sex"), "sex", pa.array(bad))
    with pytest.warns(ja.JinduWarning):
        ds = ja.dataset_from_tables(tables, lenient=True, truth=clean.truth)
    assert ds.rejected["person_records"].num_rows >= 3
    raw = _raw_identifiers(clean)
    birth = {d for d in clean.person_records.column("birth_date").to_pylist() if d}
    with pytest.warns(ja.JinduWarning, match=r"dropped 1 column\(s\) outside the canonical schema \(wechat_nick\)"):
        out = ja.pseudonymise(ds, key="k" * 32)
    folder = ja.write_dataset(out, tmp_path / "pseudo")
    rej = tmp_path / "pseudo" / "rejected"
    rej.mkdir()
    for name, t in out.rejected.items():
        pq.write_table(t, rej / f"{name}.parquet")
    files = sorted(p for p in folder.rglob("*.parquet"))
    assert len(files) >= 9 + len(clean.truth) + 1
    for f in files:
        leaked = _cells(pq.read_table(f)) & raw
        assert not leaked, f"{f.name}: {len(leaked)} raw identifiers"
    dates = out.person_records.column("birth_date").to_pylist()
    assert all(d is None or (d.month, d.day) == (1, 1) for d in dates)
    assert any(d not in birth for d in dates if d)
    # the graph the analysis sees is unchanged
    assert ja.case_graph(out.case_entities).n_edges == ja.case_graph(clean.case_entities).n_edges


def test_gh21_birth_dates_by_month_or_dropped(tables):
    ds = ja.dataset_from_tables(tables)
    by_month = ja.pseudonymise(ds, key="k" * 16, birth_dates="month").person_records.column("birth_date")
    assert by_month.to_pylist() == [dt.date(1990, 1, 1), None, dt.date(1985, 5, 1), None]
    dropped = ja.pseudonymise(ds, key="k" * 16, birth_dates="drop").person_records.column("birth_date")
    assert dropped.null_count == 4
    with pytest.raises(ParameterError, match="birth_dates must be one of 'year', 'month', 'drop'; got 'day'"):
        ja.pseudonymise(ds, key="k" * 16, birth_dates="day")


def test_gh21_record_links_do_not_depend_on_row_order():
    """match_weight, the per-comparison weights and the l/r orientation changed with a shuffle."""
    pr = ja.read_dataset(SAMPLE).person_records
    links, persons = resolve_persons(pr, seed=3)
    assert links.num_rows > 20
    for s in (1, 2):
        shuffled = pr.take(pa.array(np.random.default_rng(s).permutation(pr.num_rows)))
        links2, persons2 = resolve_persons(shuffled, seed=3)
        key = [("id_l", "ascending"), ("id_r", "ascending")]
        assert links2.sort_by(key).equals(links.sort_by(key))
        assert persons2.sort_by("record_id").equals(persons.sort_by("record_id"))
    ids_l, ids_r = links.column("id_l").to_pylist(), links.column("id_r").to_pylist()
    assert all(a < b for a, b in zip(ids_l, ids_r))


# --- unicode and size ------------------------------------------------------------------------------

_TRADITIONAL = str.maketrans("陈张刘杨黄赵吴邓许冯韩萧叶罗梁钟谢郑", "陳張劉楊黃趙吳鄧許馮韓蕭葉羅梁鍾謝鄭")


def _written_elsewhere(value, how):
    """A record's identifiers as another system writes them (not the project's generator)."""
    if value is None:
        return None
    if how == "inner_space":
        return value[0] + " " + value[1:]
    if how == "traditional":
        return value.translate(_TRADITIONAL)
    if how == "fullwidth":
        return value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    if how == "id15":
        return value[:6] + value[8:17] if len(value) == 18 and value[6:8] == "19" and "*" not in value else value
    if how == "phone":
        return f"+86 {value[:3]}-{value[3:7]}-{value[7:]}" if len(value) == 11 else value
    if how == "zero_width":
        return value + "\u200b"
    raise AssertionError(how)


_COLUMN = {"inner_space": "name", "traditional": "name", "fullwidth": "id_number", "id15": "id_number",
           "phone": "phone", "zero_width": "id_number"}


@pytest.fixture(scope="module")
def copies():
    """200 records of one region and their copies in a new system's region (same persons)."""
    pr = ja.read_dataset(SAMPLE).person_records
    df = pr.to_pandas()
    df = df[df["id_number"].notna() & df["phone"].notna()]
    df = df[df["id_number"].str.slice(6, 8) == "19"].head(200).copy()
    df["source_region"] = df["source_region"].iloc[0]
    return df


@pytest.mark.parametrize("how", sorted(_COLUMN))
def test_gh21_identifiers_written_as_other_systems_write_them_still_link(copies, how):
    """Recall fell to 0.54 (inner space), 0.82 (full-width digits), 0.87 (15-digit IDs), 0.91 (+86 phones)."""
    other = copies.copy()
    other["record_id"] = "X" + other["record_id"]
    other["source_region"] = "OTHER-SYSTEM"
    col = _COLUMN[how]
    other[col] = [_written_elsewhere(v, how) for v in other[col]]
    assert (other[col] != copies[col]).mean() > 0.3  # the variant changed most records
    records = pa.Table.from_pandas(pd.concat([copies, other], ignore_index=True), preserve_index=False)
    links, _ = resolve_persons(records)
    found = set(zip(links.column("id_l").to_pylist(), links.column("id_r").to_pylist()))
    pairs = {(min(a, "X" + a), max(a, "X" + a)) for a in copies["record_id"]}
    recall = len(pairs & found) / len(pairs)
    assert recall >= 0.99, recall


def test_gh21_validation_normalises_identifiers(tables):
    pr = tables["person_records"]
    ids = ["９９００００１９９００１０１００１１", None, "\u200b", None]
    phones = ["+86 199-0000-0001", "19900000002", None, "0086 19900000001"]
    pr = pr.set_column(3, "id_number", pa.array(ids)).set_column(6, "phone", pa.array(phones))
    t = ja.validate_table(pr, "person_records").table
    assert t.column("id_number").to_pylist() == ["990000199001010011", None, None, None]
    assert t.column("phone").to_pylist() == ["19900000001", "19900000002", None, "19900000001"]
    ce = tables["case_entities"].set_column(2, "value", pa.array(["199 0000 0009", "19900000009", "6200001"]))
    assert ja.validate_table(ce, "case_entities").table.column("value").to_pylist()[:2] == ["19900000009"] * 2
    assert ja.case_graph(ja.validate_table(ce, "case_entities").table).n_edges == 1  # c1 - c2, one phone


def test_gh21_absurdly_long_cells_are_rejected_and_cannot_slow_linkage(copies):
    pr = ja.read_dataset(SAMPLE).person_records
    huge = "张" * 1_000_000
    names = pr.column("name").to_pylist()
    ids = pr.column("id_number").to_pylist()
    names[5], names[9], ids[7] = huge, huge, "1" * 1_000_000
    bad = pr.set_column(2, "name", pa.array(names)).set_column(3, "id_number", pa.array(ids))
    with pytest.raises(SchemaError) as exc:
        ja.validate_table(bad, "person_records")
    assert "column 'name': 2 values longer than 64 characters (rows 5, 9)" in str(exc.value)
    assert "column 'id_number': 1 values longer than 32 characters (rows 7)" in str(exc.value)
    assert huge not in str(exc.value)
    # the generic engine on raw frames compares at most the first 64 characters: it stays fast
    import time

    t0 = time.perf_counter()
    resolve_persons(pr)
    normal = time.perf_counter() - t0
    t0 = time.perf_counter()
    links, persons = resolve_persons(bad)
    assert time.perf_counter() - t0 < 5 * normal + 2.0
    assert persons.num_rows == pr.num_rows


# --- any corruption: a JinduError naming the table, or accepted + rejected = input --------------------

@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    from jinduanalytics.synthetic import generate

    folder = tmp_path_factory.mktemp("small") / "ds"
    ja.write_dataset(generate("county", seed=11, n_networks=4), folder)
    return folder


_CELL = ("null", "blank", "nan", "inf", "-inf", "1e308", "huge", "bad_date", "duplicate", "zero_width")
_FILE = ("truncate", "garbage", "empty", "delete", "misname")


def _corrupt_cell(folder: Path, data) -> str:
    name = data.draw(st.sampled_from(sorted(p.stem for p in folder.glob("*.parquet"))))
    try:
        t = pq.read_table(folder / f"{name}.parquet")
    except (pa.ArrowException, OSError):  # an earlier corruption already broke the file
        return name
    if t.num_rows == 0:
        return name
    how = data.draw(st.sampled_from(_CELL))
    row = data.draw(st.integers(0, t.num_rows - 1))
    if how == "duplicate":
        t = pa.concat_tables([t, t.slice(row, 1)])
    else:
        col = data.draw(st.sampled_from(t.column_names))
        typ = t.schema.field(col).type
        vals = t.column(col).to_pylist()
        if pa.types.is_floating(typ) or pa.types.is_integer(typ):
            value = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "1e308": 1e308}.get(how)
            typ = pa.float64() if value is not None else typ
        elif pa.types.is_string(typ):
            value = {"blank": "   ", "huge": "码" * 100_000, "zero_width": "\u200b"}.get(how, vals[row])
        else:  # dates: a string column of its own now
            typ, vals = pa.string(), [None if v is None else v.isoformat() for v in vals]
            value = "2023-02-30" if how == "bad_date" else None
        vals[row] = None if how == "null" else value
        t = t.set_column(t.column_names.index(col), pa.field(col, typ), pa.array(vals, typ))
    pq.write_table(t, folder / f"{name}.parquet")
    return name


def _corrupt_file(folder: Path, data) -> str:
    f = data.draw(st.sampled_from(sorted(folder.glob("*.parquet"))))
    how = data.draw(st.sampled_from(_FILE))
    raw = f.read_bytes()
    if how == "truncate" and len(raw) > 1:
        f.write_bytes(raw[: data.draw(st.integers(1, len(raw) - 1))])
    elif how == "garbage":
        f.write_bytes(b"\x00\x01not parquet at all" * 10)
    elif how == "empty":
        f.write_bytes(b"")
    elif how == "delete":
        f.unlink()
    else:
        f.rename(folder / f"{f.stem[:-1]}.parquet")
    return f.stem


@pytest.mark.filterwarnings("ignore::jinduanalytics.errors.JinduWarning")
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])  # capsys is read out
@given(data=st.data())                                                                   # at each example's start
def test_gh21_any_corruption_gives_a_clear_error_or_a_complete_accounting(small_dataset, data, capsys):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ds"
        shutil.copytree(small_dataset, folder)
        for _ in range(data.draw(st.integers(1, 3))):
            (_corrupt_file if data.draw(st.integers(0, 3)) == 0 else _corrupt_cell)(folder, data)
        capsys.readouterr()
        rc = main(["validate", str(folder)])
        err = capsys.readouterr().err
        assert rc in (0, 2)
        if rc == 2:
            assert err.startswith("jindu: ") and "Traceback" not in err
            assert "table '" in err or "dataset folder" in err
        try:
            ds = ja.read_dataset(folder, lenient=True)
        except ja.JinduError as exc:
            assert "table '" in str(exc) or "dataset folder" in str(exc)
        else:
            for name, f in ds.files.read.items():
                n_in = pq.read_table(f).num_rows
                assert ds[name].num_rows + ds.rejected[name].num_rows == n_in, name
        out = Path(tmp) / "out"
        rc_analyze = main(["analyze", str(folder), "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert rc_analyze in (0, 2), err
        if rc_analyze == 0:
            manifest = json.loads((out / "manifest.json").read_text())
            assert sorted(p.name for p in out.iterdir()) == sorted(manifest["outputs"])
            assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
        else:
            assert not out.exists() and "Traceback" not in err
        assert not list(Path(tmp).glob(".*jindu-*"))


def test_gh21_a_kernel_failure_is_a_jindu_error_not_a_system_error(monkeypatch):
    from jinduanalytics.community import multilevel as leiden_mod

    def broken(*args, **kwargs):
        raise SystemError("CPUDispatcher(<function _aggregate_into>) returned a result with an exception set")

    monkeypatch.setattr(leiden_mod, "_one_pass", broken)
    edges = pa.table({"source": [0, 1, 2], "target": [1, 2, 0]})
    with pytest.raises(ja.JinduError, match=r"internal error in the Leiden kernel on a graph of 3 nodes"):
        ja.leiden(edges, seed=1)


def test_gh21_generate_never_replaces_a_users_dataset_folder(dataset, tmp_path, capsys):
    """A folder of the user's own tables is not an earlier generator output: refused without --force."""
    before = _digests(dataset)
    assert main(["generate", "--out", str(dataset), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err and _digests(dataset) == before
    fresh = tmp_path / "fresh"
    assert main(["generate", "--out", str(fresh), "--quiet"]) == 0
    assert json.loads((fresh / "generated.json").read_text())["preset"] == "county"
    assert main(["generate", "--out", str(fresh), "--quiet", "--seed", "3"]) == 0  # its own output: replaced
    assert json.loads((fresh / "generated.json").read_text())["seed"] == 3
    assert main(["validate", str(fresh)]) == 0


def test_gh21_other_csv_encodings_are_named_and_can_be_forced(tables, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"region_id,name\n" + bytes([0x81, 0x30, 0xFF, 0xFF]) * 10 + b"\n")
    with pytest.raises(SchemaError, match="neither UTF-8 nor GB18030/GBK text; pass encoding="):
        ja.read_table(bad, "regions")
    path = tmp_path / "regions.csv"
    tables["regions"].to_pandas().to_csv(path, index=False, encoding="utf-16")
    assert ja.read_table(path, "regions", encoding="utf-16").column("name").to_pylist() == ["广东", "湛江", "北海"]
