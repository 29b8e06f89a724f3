"""Issue 23 (first part): partitioned datasets, and presets written shard by shard in bounded memory."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jinduanalytics.cli import main
from jinduanalytics.errors import ParameterError, SchemaError
from jinduanalytics.io import read_dataset, write_dataset
from jinduanalytics.synthetic import generate, generate_sharded


@pytest.fixture(scope="module")
def county():
    return generate("county", seed=7)


def _split(ds, folder, name, cuts):
    """``ds`` written with table ``name`` as partitions cut at ``cuts`` (shard=00000, 00001 ...)."""
    write_dataset({k: t for k, t in ds.tables.items() if k != name}, folder)
    t = ds[name]
    bounds = [0, *cuts, t.num_rows]
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        write_dataset({name: t.slice(lo, hi - lo)}, folder, partition=f"shard={i:05d}")


def test_a_partitioned_table_reads_as_the_one_table(county, tmp_path):
    _split(county, tmp_path / "d", "cases", [300, 700])
    back = read_dataset(tmp_path / "d")
    assert back.cases.drop_columns(["shard"]).equals(county.cases)
    assert back.cases.column("shard").unique().to_pylist() == ["00000", "00001", "00002"]
    for name in county.tables:
        if name != "cases":
            assert back[name].equals(county[name]), name
    assert back.files.read["cases"].is_dir()


def test_partition_errors_name_the_file(county, tmp_path):
    d = tmp_path / "d"
    _split(county, d, "cases", [300])
    (d / "cases" / "shard=00001" / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(SchemaError, match=r"partition shard=00001/part-0.parquet"):
        read_dataset(d)
    _split(county, d, "cases", [300])
    t = county.cases.slice(300)
    pq.write_table(t.drop_columns(["drug"]), d / "cases" / "shard=00001" / "part-0.parquet")
    with pytest.raises(SchemaError, match=r"partition shard=00001/part-0.parquet has columns"):
        read_dataset(d)
    pq.write_table(county.cases, d / "cases.parquet")
    with pytest.raises(SchemaError, match="has 2 sources"):
        read_dataset(d)


def test_bad_rows_name_their_partition(county, tmp_path):
    d = tmp_path / "d"
    _split(county, d, "cases", [300])
    t = county.cases.slice(300)
    qty = t.column("quantity_g").to_pylist()
    qty[5] = -1.0  # row 5 of the second file, row 305 of the table
    pq.write_table(t.set_column(t.schema.get_field_index("quantity_g"), "quantity_g", pa.array(qty)),
                   d / "cases" / "shard=00001" / "part-0.parquet")
    with pytest.raises(SchemaError) as err:
        read_dataset(d)
    assert "shard=00001/part-0.parquet rows 300-" in str(err.value) and "quantity_g" in str(err.value)
    lenient = read_dataset(d, lenient=True)
    rej = lenient.rejected["cases"]
    assert rej.column("_file").to_pylist() == ["shard=00001/part-0.parquet"]
    assert rej.column("_file_row").to_pylist() == [5] and rej.column("_row").to_pylist() == [305]


def test_sharded_generation_is_deterministic_unique_and_bounded(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    info = generate_sharded("national", a, n_networks=25, shard_networks=10, seed=3)
    generate_sharded("national", b, n_networks=25, shard_networks=10, seed=3)
    generate_sharded("national", c, n_networks=10, shard_networks=10, seed=3)
    assert info["shards"] == 3
    files = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.parquet"))
    for f in files:  # the same seed writes the same bytes
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # a shard does not depend on how many shards follow it
    for f in sorted(p.relative_to(c) for p in c.rglob("*.parquet")):
        assert (a / f).read_bytes() == (c / f).read_bytes(), f
    ds = read_dataset(a)
    for table, col in (("cases", "case_id"), ("person_records", "record_id")):
        assert pc.count_distinct(ds[table].column(col)).as_py() == ds[table].num_rows
    # no phone is shared across shards: each shard has its own number range
    phones = ds.person_records.select(["phone", "shard"]).filter(pc.is_valid(ds.person_records["phone"]))
    per = phones.group_by("phone").aggregate([("shard", "count_distinct")])
    assert pc.max(per.column("shard_count_distinct")).as_py() == 1
    nets = ds.truth["networks"].column("network").to_pylist()
    assert sorted(nets) == list(range(25))
    rp = ds.truth["record_person"]
    assert set(rp.column("record_id").to_pylist()) == set(ds.person_records.column("record_id").to_pylist())
    assert ds.regions.num_rows == generate("county").regions.num_rows  # written once
    with pytest.raises(ParameterError, match="at most 90"):
        generate_sharded("national", tmp_path / "x", shard_networks=100)
    with pytest.raises(ParameterError, match="shard by shard"):
        generate("national")


def test_cli_generates_national_shard_by_shard_and_analyzes_it(tmp_path, capsys):
    out = tmp_path / "nat"
    assert main(["generate", "--preset", "national", "--out", str(out), "--set", "n_networks=24",
                 "--shard-networks", "12", "--quiet"]) == 0
    assert "2 shards" in capsys.readouterr().out
    assert json.loads((out / "generated.json").read_text())["shard_networks"] == 12
    assert (out / "cases" / "shard=00001" / "part-0.parquet").is_file()
    assert main(["validate", str(out)]) == 0
    assert "cases/" in capsys.readouterr().out
    res = tmp_path / "res"
    assert main(["analyze", str(out), "--out", str(res), "--quiet"]) == 0
    manifest = json.loads((res / "manifest.json").read_text())
    assert len(manifest["input_sha256"]["cases"]) == 64


def test_the_workers_read_the_folder_as_read_dataset_maps_it(county, tmp_path):
    """The Dask engine finds a folder's tables as read_dataset does: one source per table, Parquet only."""
    from jinduanalytics import distributed as jd

    _split(county, tmp_path / "d", "cases", [300, 700])
    assert jd.folder_table(tmp_path / "d", "cases").equals(county.cases)  # the files as written
    assert jd.folder_table(tmp_path / "d", "regions").equals(county.regions)
    assert jd.folder_table(tmp_path / "d", "no_such_table") is None
    pq.write_table(county.cases, tmp_path / "d" / "cases.parquet")  # a second source for one table
    with pytest.raises(SchemaError, match="table 'cases' has 2 sources"):
        jd.folder_table(tmp_path / "d", "cases")
    (tmp_path / "csv").mkdir()
    county.cases.to_pandas().to_csv(tmp_path / "csv" / "cases.csv", index=False)
    with pytest.raises(ParameterError, match=r"cases\.csv: the Dask engine's workers read Parquet"):
        jd.folder_table(tmp_path / "csv", "cases")
