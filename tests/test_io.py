import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import jinduanalytics as ja
from jinduanalytics.errors import SchemaError


def test_write_read_roundtrip(tmp_path, tables):
    ds = ja.dataset_from_tables(tables, truth={"networks": pa.table({"case_id": ["c1"], "network": [0]})})
    ja.write_dataset(ds, tmp_path / "d")
    back = ja.read_dataset(tmp_path / "d")
    for name in tables:
        assert back[name].equals(ds[name])
    assert back.truth["networks"].num_rows == 1
    assert back.summary().column("rows").to_pylist() == [t.num_rows for t in ds.tables.values()]
    assert "cases=3" in repr(back)


def test_write_is_byte_deterministic(tmp_path, tables):
    ds = ja.dataset_from_tables(tables)
    ja.write_dataset(ds, tmp_path / "a")
    ja.write_dataset(ds, tmp_path / "b")
    for name in tables:
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()


def test_read_table_from_every_source(tmp_path, tables):
    t = tables["person_records"]
    pq.write_table(t, tmp_path / "p.parquet")
    feather.write_feather(t, tmp_path / "p.feather")
    pacsv.write_csv(t, tmp_path / "p.csv")
    for src in (tmp_path / "p.parquet", tmp_path / "p.feather", tmp_path / "p.csv", t, t.to_pandas()):
        out = ja.read_table(src, "person_records")
        assert out.column("phone").to_pylist() == t.column("phone").to_pylist()
        assert out.column("birth_date").type == pa.date32()


def test_csv_keeps_leading_zeros(tmp_path):
    (tmp_path / "c.csv").write_text("phone_a,phone_b,count,first_date,last_date\n"
                                    "0771000001,0771000002,2,2023-01-01,2023-01-02\n")
    out = ja.read_table(tmp_path / "c.csv", "contacts")
    assert out.column("phone_a").to_pylist() == ["0771000001"]


def test_csv_with_column_map(tmp_path):
    (tmp_path / "cp.csv").write_text("case_id,pid,role\nc1,007,seller\n")
    out = ja.read_table(tmp_path / "cp.csv", "case_persons", column_map={"pid": "record_id"})
    assert out.column("record_id").to_pylist() == ["007"]


def test_read_errors(tmp_path):
    with pytest.raises(SchemaError, match="dataset folder not found"):
        ja.read_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="has none of the canonical tables"):
        ja.read_dataset(tmp_path / "empty")
    with pytest.raises(SchemaError, match="file not found"):
        ja.read_table(tmp_path / "x.parquet", "cases")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(SchemaError, match="unknown file type '.xlsx'"):
        ja.read_table(tmp_path / "x.xlsx", "cases")
    with pytest.raises(SchemaError, match="unknown table names"):
        ja.dataset_from_tables({"casez": pa.table({"a": [1]})})
    with pytest.raises(KeyError, match="dataset has no table 'flows'"):
        ja.dataset_from_tables({})["flows"]
