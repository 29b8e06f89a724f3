import pytest

import jinduanalytics as ja
from jinduanalytics.pseudonymise import KEY_ENV

KEY = "test-key-0123456789abcdef"


def test_consistent_across_tables(tables):
    ds = ja.dataset_from_tables(tables)
    out = ja.pseudonymise(ds, key=KEY)
    phones = out.person_records.column("phone").to_pylist()
    assert phones[0] == phones[3] and phones[0].startswith("phone:") and phones[2] is None
    # the same phone in person_records and contacts is one pseudonym
    assert out.contacts.column("phone_a")[0].as_py() == phones[0]
    assert out.contacts.column("phone_b")[0].as_py() == phones[1]
    # case_entities use the kind as the domain: account 6200001 matches transactions.src_account
    ce = out.case_entities.to_pydict()
    assert ce["value"][2] == out.transactions.column("src_account")[0].as_py()
    assert ce["value"][0] == ce["value"][1]
    # nothing raw survives in personal columns
    flat = str(out.person_records.to_pydict()) + str(out.case_entities.to_pydict()) + str(out.contacts.to_pydict())
    for raw in ("19900000001", "990000199001010011", "甲", "6200001"):
        assert raw not in flat
    # other columns untouched, graph structure unchanged
    assert out.cases.equals(ds.cases)
    g1, g2 = ja.case_graph(ds.case_entities), ja.case_graph(out.case_entities)
    assert g1.n_edges == g2.n_edges


def test_keyed_and_deterministic(tables, monkeypatch):
    a = ja.pseudonymise_values(["x", "y"], "name", key=KEY)
    b = ja.pseudonymise_values(["x", "y"], "name", key=KEY)
    c = ja.pseudonymise_values(["x", "y"], "name", key=KEY + "!")
    d = ja.pseudonymise_values(["x", "y"], "phone", key=KEY)
    assert a.equals(b) and not a.equals(c)
    assert a[0].as_py()[5:] != d[0].as_py()[6:]
    monkeypatch.setenv(KEY_ENV, KEY)
    assert ja.pseudonymise_values(["x", "y"], "name").equals(a)
    out = ja.pseudonymise(dict(tables))
    assert isinstance(out, dict)


def test_key_required(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ja.ParameterError, match=KEY_ENV):
        ja.pseudonymise_values(["x"], "name")
    with pytest.raises(ja.ParameterError, match="at least 16 bytes; got 3"):
        ja.pseudonymise_values(["x"], "name", key="abc")


def test_pseudonyms_do_not_depend_on_the_slices_they_are_made_in(monkeypatch):
    """Distinct values are hashed a slice at a time (bounded memory): any slice size, the same pseudonyms,
    each the keyed HMAC of its domain and value."""
    import hashlib
    import hmac
    import importlib

    P = importlib.import_module("jinduanalytics.pseudonymise")  # (the package's name is the function)

    values = [f"R{i % 11}" for i in range(40)] + [None]
    key = b"k" * 16
    expected = [None if v is None else "record:" + hmac.new(key, b"record\x1f" + v.encode(), hashlib.sha256).hexdigest()[:16]
                for v in values]
    for size in (1, 3, 11, 1 << 16):
        monkeypatch.setattr(P, "_SLICE", size)
        assert P.pseudonymise_values(values, "record", key=key).to_pylist() == expected
