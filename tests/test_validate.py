import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics.errors import JinduError, JinduWarning, SchemaError
from jinduanalytics.schema import TABLE_ORDER
from tests.conftest import tiny_tables


def _replace(table: pa.Table, column: str, values) -> pa.Table:
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(values, type=table.schema.field(i).type if values and
                                                not isinstance(values, pa.Array) else None) if not isinstance(values, pa.Array) else values)


def test_valid_dataset_passes(tables):
    ds = ja.dataset_from_tables(tables)
    assert set(ds) == set(TABLE_ORDER) - {"parcels", "wastewater"}  # the fixture has neither (optional tables)
    assert ds.cases.schema.field("quantity_g").type == pa.float64()
    assert all(r.num_rows == 0 for r in ds.rejected.values())


def test_missing_column_suggests_column_map(tables):
    t = tables["case_persons"].rename_columns(["case_id", "pid", "role"])
    with pytest.raises(SchemaError, match=r"(?s)table 'case_persons'.*missing column 'record_id'") as exc:
        ja.validate_table(t, "case_persons")
    assert "column_map={'pid': 'record_id'}" in str(exc.value)
    fixed = ja.validate_table(t, "case_persons", column_map={"pid": "record_id"})
    assert fixed.table.column_names == ["case_id", "record_id", "role"]


def test_wrong_type_names_column(tables):
    t = tables["case_persons"].set_column(2, "role", pa.array([1, 2, 3, 4], pa.int32()))
    with pytest.raises(SchemaError, match=r"column 'role': type int32, expected string"):
        ja.validate_table(t, "case_persons")


def test_personal_column_as_integer_is_rejected_with_hint(tables):
    t = tables["person_records"]
    t = t.set_column(t.column_names.index("phone"), "phone", pa.array([1, 2, None, 4], pa.int64()))
    with pytest.raises(SchemaError, match="leading zeros"):
        ja.validate_table(t, "person_records")


def test_null_and_blank_keys(tables):
    t = tables["cases"].set_column(0, "case_id", pa.array(["c1", None, "  "]))
    with pytest.raises(SchemaError, match=r"column 'case_id': 2 nulls or blanks \(rows 1, 2\)"):
        ja.validate_table(t, "cases")


def test_duplicate_keys(tables):
    t = tables["cases"].set_column(0, "case_id", pa.array(["c1", "c1", "c1"]))
    with pytest.raises(SchemaError, match=r"key \(case_id\): 2 duplicate rows \(rows 1, 2\)"):
        ja.validate_table(t, "cases")


def test_duplicate_composite_key(tables):
    t = pa.concat_tables([tables["case_persons"], tables["case_persons"].slice(0, 1)])
    with pytest.raises(SchemaError, match=r"key \(case_id, record_id\): 1 duplicate rows \(rows 4\)"):
        ja.validate_table(t, "case_persons")


def test_reference_to_missing_record(tables):
    tables["case_persons"] = tables["case_persons"].set_column(1, "record_id", pa.array(["r1", "r2", "r9", "r3"]))
    with pytest.raises(SchemaError, match=r"(?s)table 'case_persons'.*column 'record_id': 1 values not found in "
                                          r"person_records.record_id \(rows 2\)"):
        ja.dataset_from_tables(tables)


def test_self_reference(tables):
    t = tables["regions"].set_column(4, "parent_id", pa.array([None, "XX", None]))
    with pytest.raises(SchemaError, match=r"parent_id': 1 values not found in regions.region_id"):
        ja.validate_table(t, "regions")


def test_negative_quantity_and_nan(tables):
    t = tables["cases"].set_column(5, "quantity_g", pa.array([-1.0, float("nan"), 2.0]))
    with pytest.raises(SchemaError) as exc:
        ja.validate_table(t, "cases")
    msg = str(exc.value)
    assert "column 'quantity_g': 1 negative values (rows 0)" in msg
    assert "column 'quantity_g': 1 NaN or infinite values (rows 1)" in msg
    assert "(2 problems" in msg


def test_coordinates_off_the_map(tables):
    t = tables["regions"].set_column(5, "lon", pa.array([113.3, 10.0, 109.1]))
    with pytest.raises(SchemaError, match=r"column 'lon': 1 coordinates off the map \(rows 1\)"):
        ja.validate_table(t, "regions")


def test_impossible_dates(tables):
    future = dt.date.today() + dt.timedelta(days=30)
    t = tables["cases"].set_column(2, "date", pa.array([dt.date(1970, 1, 1), future, dt.date(2020, 1, 1)]))
    with pytest.raises(SchemaError, match=r"column 'date': 2 impossible dates \(rows 0, 1\)"):
        ja.validate_table(t, "cases")


def test_unparseable_date_strings(tables):
    t = tables["cases"].set_column(2, "date", pa.array(["2023-01-01", "2023-13-45", "yesterday"]))
    with pytest.raises(SchemaError, match=r"column 'date': 2 values are not dates 'YYYY-MM-DD' \(rows 1, 2\)"):
        ja.validate_table(t, "cases")
    ok = ja.validate_table(t.slice(0, 1), "cases")
    assert ok.table.column("date").type == pa.date32()


def test_contact_date_order_and_self_contact(tables):
    t = tables["contacts"].set_column(4, "last_date", pa.array([dt.date(2022, 1, 1)]))
    t = t.set_column(1, "phone_b", t.column("phone_a"))
    with pytest.raises(SchemaError) as exc:
        ja.validate_table(t, "contacts")
    assert "columns 'first_date' > 'last_date' on 1 rows" in str(exc.value)
    assert "columns 'phone_a' and 'phone_b' are equal on 1 rows" in str(exc.value)


def test_bad_choice_shows_value_only_for_non_personal(tables):
    t = tables["case_persons"].set_column(2, "role", pa.array(["seller", "boss", "user", "user"]))
    with pytest.raises(SchemaError, match=r"column 'role': 1 values not in the vocabulary's roles: 'boss' \(1 row\)"):
        ja.validate_table(t, "case_persons")


def test_messages_never_echo_personal_values(tables):
    t = tables["person_records"]
    t = t.set_column(0, "record_id", pa.array(["r1", "r1", "r3", None]))
    t = t.set_column(t.column_names.index("birth_date"), "birth_date",
                     pa.array(["1990-01-01", "not-a-date", None, "1850-01-01"]))
    with pytest.raises(SchemaError) as exc:
        ja.validate_table(t, "person_records")
    msg = str(exc.value)
    for value in ("甲", "乙", "19900000001", "990000199001010011", "not-a-date", "1850"):
        assert value not in msg


def test_unknown_table_name():
    with pytest.raises(ja.ParameterError, match="table must be one of"):
        ja.validate_table(pa.table({"a": [1]}), "casez")


def test_column_map_of_absent_column(tables):
    with pytest.raises(SchemaError, match="column_map renames columns that are not in the table: pid"):
        ja.validate_table(tables["cases"], "cases", column_map={"pid": "record_id"})


def test_pandas_input_and_extra_columns_kept(tables):
    df = tables["cases"].to_pandas()
    df["analyst_note"] = ["x", "y", "z"]
    res = ja.validate_table(df, "cases")
    assert res.table.column_names[-1] == "analyst_note"
    assert res.table.column_names[:6] == ja.TABLES["cases"].column_names


def test_lenient_cascades_to_referencing_rows(tables):
    tables["cases"] = tables["cases"].set_column(5, "quantity_g", pa.array([-1.0, 0.3, None]))
    with pytest.warns(JinduWarning, match="rejected"):
        ds = ja.dataset_from_tables(tables, lenient=True)
    assert ds.cases.num_rows == 2 and ds.rejected["cases"].num_rows == 1
    # c1 was rejected, so its two case_persons rows and its case_entities row go too
    assert ds.rejected["case_persons"].column("_row").to_pylist() == [0, 1]
    assert "not found in cases.case_id" in ds.rejected["case_persons"].column("_reason")[0].as_py()
    for name, t in tables.items():
        assert ds[name].num_rows + ds.rejected[name].num_rows == t.num_rows


def test_lenient_missing_column_rejects_every_row(tables):
    t = tables["cases"].drop(["drug"])
    with pytest.warns(JinduWarning):
        res = ja.validate_table(t, "cases", lenient=True)
    assert res.table.num_rows == 0 and res.rejected.num_rows == 3
    assert res.table.schema.equals(ja.TABLES["cases"].arrow_schema())


# --- property: inject defects, lenient counts add up, strict raises only our errors -------

DEFECTS = ["null_key", "dup_key", "neg_qty", "bad_ref", "bad_choice", "off_map", "future_date", "drop_col",
           "wrong_type", "blank_ref"]


def _inject(tables: dict, defect: str, row: int) -> dict:
    t = dict(tables)
    if defect == "null_key":
        ids = t["cases"].column("case_id").to_pylist()
        ids[row % len(ids)] = None
        t["cases"] = t["cases"].set_column(0, "case_id", pa.array(ids, pa.string()))
    elif defect == "dup_key":
        t["person_records"] = pa.concat_tables([t["person_records"], t["person_records"].slice(row % 4, 1)])
    elif defect == "neg_qty":
        q = t["flows"].column("quantity_g").to_pylist()
        q[0] = -5.0
        t["flows"] = t["flows"].set_column(4, "quantity_g", pa.array(q))
    elif defect == "bad_ref":
        r = t["case_persons"].column("record_id").to_pylist()
        r[row % len(r)] = "ghost"
        t["case_persons"] = t["case_persons"].set_column(1, "record_id", pa.array(r))
    elif defect == "bad_choice":
        k = t["case_entities"].column("kind").to_pylist()
        k[row % len(k)] = "pigeon"
        t["case_entities"] = t["case_entities"].set_column(1, "kind", pa.array(k))
    elif defect == "off_map":
        t["checkpoints"] = t["checkpoints"].set_column(4, "lat", pa.array([95.0]))
    elif defect == "future_date":
        t["transactions"] = t["transactions"].set_column(3, "date", pa.array([dt.date(2999, 1, 1)]))
    elif defect == "drop_col":
        t["contacts"] = t["contacts"].drop(["count"])
    elif defect == "wrong_type":
        t["cases"] = t["cases"].set_column(4, "drug", pa.array([1.0, 2.0, 3.0]))
    elif defect == "blank_ref":
        c = t["case_entities"].column("case_id").to_pylist()
        c[row % len(c)] = ""
        t["case_entities"] = t["case_entities"].set_column(0, "case_id", pa.array(c))
    return t


@given(defects=st.lists(st.tuples(st.sampled_from(DEFECTS), st.integers(0, 10)), min_size=0, max_size=4,
                        unique_by=lambda d: d[0]),
       as_pandas=st.booleans())
def test_property_injected_defects(defects, as_pandas):
    tables = tiny_tables()
    for defect, row in defects:
        tables = _inject(tables, defect, row)
    inputs = {k: (v.to_pandas() if as_pandas and k in ("cases", "flows") else v) for k, v in tables.items()}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JinduWarning)
        ds = ja.dataset_from_tables(inputs, lenient=True)
    for name, t in tables.items():
        assert ds[name].num_rows + ds.rejected[name].num_rows == t.num_rows
        assert set(ds.rejected[name].column("_row").to_pylist()).isdisjoint(range(0))
        assert ds[name].schema.remove_metadata().equals(ja.TABLES[name].arrow_schema()) or \
            ds[name].column_names[: len(ja.TABLES[name].columns)] == ja.TABLES[name].column_names
    if defects:
        assert sum(r.num_rows for r in ds.rejected.values()) > 0
    try:
        ja.dataset_from_tables(inputs)
    except JinduError as exc:
        assert isinstance(exc, SchemaError) and defects
    else:
        assert not defects


def test_validation_of_a_million_rows_is_vectorised():
    # not a timing test: checks counts on a table big enough that per-row Python would be obvious
    n = 200_000
    rng = np.random.default_rng(1)
    t = pa.table({"case_id": pa.array(rng.integers(0, 50_000, n).astype(str)),
                  "kind": pa.array(np.array(["phone", "account", "x"])[rng.integers(0, 3, n)]),
                  "value": pa.array(rng.integers(0, 10**6, n).astype(str))})
    with pytest.warns(JinduWarning):
        res = ja.validate_table(t, "case_entities", lenient=True)
    assert res.table.num_rows + res.rejected.num_rows == n
    assert res.rejected.num_rows >= int(np.sum(t.column("kind").to_numpy(zero_copy_only=False) == "x"))
