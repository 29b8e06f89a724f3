"""Issue 24: open vocabularies, the parcels table, the online / precursor / parcel channels.

Scores on planted truth rest on our own generator (jinduanalytics.synthetic.channels); the null
model, the path search and the q-values are also checked against brute force and simulation.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics.channels import _widest_paths, parcel_channels, parcel_evidence, precursor_links, substance_table
from jinduanalytics.cli import main
from jinduanalytics.clusters import case_links, cluster_cases
from jinduanalytics.errors import JinduWarning, ParameterError, SchemaError
from jinduanalytics.metrics import ari, nmi
from jinduanalytics.stats import bh_qvalues
from jinduanalytics.vocabulary import default_vocabulary

ONLINE_KINDS = ("wechat", "qq", "alipay", "ip", "device_id", "waybill", "parcel_receiver", "courier_outlet")
NEW = {"drugs": ["依托咪酯", "笑气", "右美沙芬", "合成大麻素", "氟胺酮", "γ-羟丁酸", "曲马多", "麻黄碱类"],
       "case_types": ["非法买卖制毒物品", "走私制毒物品"],
       "entity_kinds": list(ONLINE_KINDS) + ["parcel_receiver"],
       "flow_modes": ["air", "courier"]}


# ----------------------------------------------------------------------------- vocabularies

def test_gh24_shipped_vocabulary_has_what_the_seeds_name():
    v = default_vocabulary()
    for name, values in NEW.items():
        assert set(values) <= set(v.values(name)), name
    assert v.category("依托咪酯") == "新精神活性物质" and v.category("笑气") == "非列管成瘾物质"
    assert v.category("麻黄碱类") == "易制毒化学品" and "冰毒" in dict((d, m) for d, _, m in v.drugs)["麻黄碱类"]
    assert set(v.drug_categories) >= {"传统毒品", "合成毒品", "新精神活性物质", "非列管成瘾物质", "易制毒化学品"}


def test_gh24_generated_dataset_uses_every_new_value_and_validates(channels_data, tmp_path):
    v = default_vocabulary()
    used = {"drugs": ("cases", "drug"), "case_types": ("cases", "case_type"), "roles": ("case_persons", "role"),
            "entity_kinds": ("case_entities", "kind"), "flow_modes": ("flows", "mode")}
    old = {"case_types": {"容留"}}  # a street value the generator has never written
    for name, (table, column) in used.items():
        present = set(pc.unique(channels_data[table].column(column)).to_pylist())
        assert set(v.values(name)) - present <= old.get(name, set()), name
    assert channels_data.parcels.num_rows > 10_000
    ja.write_dataset(channels_data, tmp_path / "ds")
    assert main(["validate", str(tmp_path / "ds")]) == 0


@pytest.fixture
def unknown_drug(tables):
    t = dict(tables)
    t["cases"] = t["cases"].set_column(4, "drug", pa.array(["冰毒", "新药X", "新药X"]))
    return t


def test_gh24_unknown_value_names_value_table_column_rows_and_the_fix(unknown_drug):
    with pytest.raises(SchemaError) as exc:
        ja.dataset_from_tables(unknown_drug)
    msg = str(exc.value)
    assert "table 'cases'" in msg and "column 'drug'" in msg and "'新药X' (2 rows)" in msg and "(rows 1, 2)" in msg
    assert "vocabulary file" in msg and '[drugs] "新药X" = { category =' in msg
    assert exc.value.problems[0].kind == "vocabulary"


def test_gh24_lenient_rejects_unknown_values_with_the_rows_own_value(unknown_drug):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JinduWarning)
        ds = ja.dataset_from_tables(unknown_drug, lenient=True)
    assert ds.cases.num_rows == 1
    rej = ds.rejected["cases"]
    assert rej.column("_row").to_pylist() == [1, 2]
    assert all("'新药X' is not in the vocabulary's drugs" in r for r in rej.column("_reason").to_pylist())


def test_gh24_vocabulary_file_argument_and_dataset_file_extend_it(unknown_drug, tmp_path, capsys):
    ext = {"drugs": {"新药X": {"category": "新精神活性物质"}}}
    ds = ja.dataset_from_tables(unknown_drug, vocabulary=ext)
    assert ds.cases.num_rows == 3 and ds.vocabulary.category("新药X") == "新精神活性物质"
    # on disk: rejected without the file, accepted with --vocabulary, and with vocabulary.toml in the folder
    folder = tmp_path / "ds"
    folder.mkdir()
    for name, t in unknown_drug.items():
        pq.write_table(t, folder / f"{name}.parquet")
    assert main(["validate", str(folder)]) == 2
    assert "新药X" in capsys.readouterr().err
    vocab = tmp_path / "extra.toml"
    vocab.write_text('[drugs]\n"新药X" = { category = "新精神活性物质" }\n', encoding="utf-8")
    assert main(["validate", str(folder), "--vocabulary", str(vocab)]) == 0
    assert "vocabulary: shipped + " in capsys.readouterr().out
    (folder / "vocabulary.toml").write_text(vocab.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["validate", str(folder)]) == 0
    assert ja.read_dataset(folder).vocabulary.category("新药X") == "新精神活性物质"
    # write_dataset keeps the vocabulary the tables need
    ja.write_dataset(ds, tmp_path / "copy")
    assert ja.read_dataset(tmp_path / "copy").cases.num_rows == 3


@pytest.mark.parametrize("ext, match", [
    ({"drugs": {"X": {"category": "神药"}}}, "category '神药', not one of"),
    ({"drugs": {"X": {"category": "易制毒化学品", "makes": ["Y"]}}}, r"makes \['Y'\]"),
    ({"lists": {"colours": ["red"]}}, "unknown key"),
    ({"lists": {"roles": "boss"}}, "must be a list of non-empty strings"),
    ({"evidence_weights": {"telegram": 0.5}}, "not an entity kind"),
    ({"evidence_weights": {"ip": -1}}, "must be a number >= 0"),
])
def test_gh24_bad_vocabulary_extensions_are_refused(ext, match):
    with pytest.raises(ParameterError, match=match):
        default_vocabulary().extend(ext)


def test_gh24_vocabulary_round_trips_through_toml():
    import tomllib

    v = default_vocabulary().extend(drugs={"新药X": "新精神活性物质"}, entity_kinds=["telegram"],
                                    evidence_weights={"telegram": 0.5})
    assert default_vocabulary().extend(tomllib.loads(v.to_toml())) == v
    assert "新药X" not in default_vocabulary().drug_names  # extend never changes the shipped one


# ----------------------------------------------------------------------------- parcels table

def test_gh24_parcels_are_pseudonymised_in_the_entity_domains(channels_data):
    key = "k" * 32
    ps = ja.pseudonymise(channels_data, key=key)
    raw_ev = parcel_evidence(channels_data)
    ps_ev = parcel_evidence(ps)
    assert ps_ev.num_rows == raw_ev.num_rows > 100  # seized waybills still find their parcels
    for col in ("waybill", "sender", "receiver"):
        vals = ps.parcels.column(col).drop_null()
        assert all(v.split(":")[0] in {"waybill", "parcel_sender", "parcel_receiver"} for v in vals.to_pylist()[:50])
    # courier outlets are businesses: kept as they are, in parcels and in case entities
    assert ps.parcels.column("origin_outlet").equals(channels_data.parcels.column("origin_outlet"))
    ce = ps.case_entities.filter(pc.equal(ps.case_entities.column("kind"), "courier_outlet"))
    assert ce.num_rows and all(v.startswith("OUT") for v in ce.column("value").to_pylist())


def test_gh24_parcels_validated_like_the_other_tables(channels_data):
    p = channels_data.parcels.slice(0, 5)
    bad = p.set_column(p.column_names.index("destination_region"), "destination_region",
                       pa.array(["NOWHERE"] + p.column("destination_region").to_pylist()[1:]))
    bad = bad.set_column(bad.column_names.index("weight_g"), "weight_g", pa.array([1.0, -2.0, 3.0, 4.0, 5.0]))
    with pytest.raises(SchemaError) as exc:
        ja.validate_dataset({"regions": channels_data.regions, "parcels": bad})
    msg = str(exc.value)
    assert "table 'parcels'" in msg and "destination_region': 1 values not found in regions.region_id (rows 0)" in msg
    assert "weight_g': 1 negative values (rows 1)" in msg
    assert bad.column("sender")[0].as_py() not in msg  # personal values never echoed


def test_gh24_case_links_add_the_ends_of_the_parcel_behind_a_seized_waybill():
    t = {"case_entities": pa.table({"case_id": ["a", "b"], "kind": ["waybill", "phone"], "value": ["W1", "P1"]}),
         "parcels": pa.table({"waybill": ["W1", "W2"], "sender": ["S1", "S2"], "receiver": ["R1", None]})}
    links = case_links(t, person_kinds=())
    rows = set(zip(*(links.column(c).to_pylist() for c in ("case_id", "kind", "value"))))
    assert rows == {("a", "waybill", "W1"), ("a", "parcel_sender", "S1"), ("a", "parcel_receiver", "R1"),
                    ("b", "phone", "P1")}
    assert case_links(t, person_kinds=(), parcel_endpoints=False).num_rows == 2


# ----------------------------------------------------------------------------- street results unchanged

def test_gh24_street_tables_are_untouched_by_the_channels(channels_data, city):
    """The channels draw from their own random stream: the city's people, contacts and money are
    the same rows, and its cases the same cases under new ids."""
    for name in ("contacts", "transactions", "checkpoints", "regions"):
        assert channels_data[name].equals(city[name]), name
    n = city.person_records.num_rows
    assert channels_data.person_records.slice(0, n).equals(city.person_records)
    assert channels_data.flows.slice(0, city.flows.num_rows).equals(city.flows)
    cols = ["region_id", "date", "case_type", "drug", "quantity_g"]
    a = city.cases.select(cols).to_pandas()
    b = channels_data.cases.select(cols).to_pandas()
    merged = a.merge(b.drop_duplicates(), on=cols, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


# ----------------------------------------------------------------------------- 集群打零 on online evidence

def _online_scores(data, clusters):
    cn = data.truth["case_network"].to_pandas()
    nets = data.truth["networks"].to_pandas()
    online = set(nets.loc[nets["channel"] == "online", "network"])
    df = clusters.to_pandas().merge(cn, on="case_id")
    sub = df[df["network"].isin(online)]
    street = df[(df["network"] >= 0) & ~df["network"].isin(online)]
    return nmi(sub["network"], sub["cluster"]), ari(sub["network"], sub["cluster"]), nmi(street["network"], street["cluster"])


def test_gh24_online_networks_recovered_and_the_gain_over_no_online_evidence(channels_data):
    with_online = _online_scores(channels_data, cluster_cases(channels_data, seed=7))
    off = {k: 0.0 for k in ONLINE_KINDS}
    without = _online_scores(channels_data, cluster_cases(channels_data, seed=7, kind_weights=off,
                                                          links=case_links(channels_data, parcel_endpoints=False)))
    print(f"online NMI {with_online[0]:.3f} ARI {with_online[1]:.3f}; without online evidence NMI "
          f"{without[0]:.3f} ARI {without[1]:.3f}; street NMI {with_online[2]:.3f}")
    assert with_online[0] >= 0.85
    assert with_online[1] > without[1] + 0.25  # NMI flatters singletons; the pair measure shows the gain
    assert with_online[2] >= 0.95  # the street networks of the same data stay recovered


# ----------------------------------------------------------------------------- 寄递 channel

def test_gh24_planted_drug_outlets_ranked_and_busy_outlets_not_flagged(channels_data):
    ch = parcel_channels(channels_data).to_pandas()
    truth = channels_data.truth["parcel_outlets"].to_pandas()
    planted = set(truth.loc[truth["planted"], "origin_outlet"])
    busy = set(truth.loc[truth["busy"], "origin_outlet"])
    outlets = ch[ch["endpoint"] == "origin_outlet"].sort_values("rank")
    k = len(planted)
    precision = len(set(outlets["value"].head(k)) & planted) / k
    print(f"outlets: {k} planted, precision@k {precision:.3f}, flagged {int(outlets['flagged'].sum())}")
    assert precision >= 0.8
    assert len(busy) >= 10 and not outlets.loc[outlets["value"].isin(busy), "flagged"].any()
    flagged = set(outlets.loc[outlets["flagged"], "value"])
    assert len(flagged & planted) / k >= 0.8  # and most planted outlets pass the FDR cut


def test_gh24_parcel_evidence_lists_the_cases_behind_each_parcel(channels_data):
    ev = parcel_evidence(channels_data).to_pandas()
    ce = channels_data.case_entities.to_pandas()
    wb = ce[ce["kind"] == "waybill"]
    row = ev[ev["by_waybill"]].iloc[0]
    assert set(wb.loc[wb["value"] == row["waybill"], "case_id"]) <= set(row["case_ids"])
    assert (ev["n_cases"] == ev["case_ids"].map(len)).all()
    assert (ev[["by_waybill", "by_sender", "by_receiver"]].any(axis=1)).all()


def _null_parcels(rng, n_outlets=150, rate=0.02):
    volume = np.maximum(rng.lognormal(4, 1.2, n_outlets).astype(int), 1)
    outlet = np.repeat([f"O{i}" for i in range(n_outlets)], volume)
    n = outlet.size
    tied = rng.random(n) < rate
    wb = np.array([f"W{i}" for i in range(n)], dtype=object)
    return {"parcels": pa.table({"waybill": wb, "origin_outlet": outlet, "origin_region": ["GD-ZJ"] * n,
                                 "destination_region": ["GX-BH"] * n, "sender": [f"S{i}" for i in range(n)],
                                 "receiver": [f"R{i}" for i in range(n)], "date": pa.array([0] * n, pa.date32())}),
            "case_entities": pa.table({"case_id": [f"c{i}" for i in range(int(tied.sum()))],
                                       "kind": ["waybill"] * int(tied.sum()), "value": wb[tied]})}


def test_gh24_parcel_channels_false_alarms_under_the_null_are_controlled():
    """Tied parcels spread by volume alone (no bad outlet): BH at 5% flags nothing in most worlds."""
    worlds_with_alarm = 0
    for seed in range(12):
        ch = parcel_channels(_null_parcels(np.random.default_rng(seed)), endpoints=("origin_outlet",)).to_pandas()
        worlds_with_alarm += bool(ch["flagged"].any())
    assert worlds_with_alarm <= 2


def test_gh24_parcel_channels_finds_one_bad_outlet_among_busy_ones():
    data = _null_parcels(np.random.default_rng(0))
    p = data["parcels"].to_pandas()
    quiet = p["origin_outlet"].value_counts().index[-40]  # a small outlet
    extra = p.index[p["origin_outlet"] == quiet][:8]
    ce = pd.concat([data["case_entities"].to_pandas(),
                    pd.DataFrame({"case_id": [f"x{i}" for i in range(len(extra))], "kind": "waybill",
                                  "value": p.loc[extra, "waybill"]})]).drop_duplicates("value")
    ch = parcel_channels({"parcels": data["parcels"], "case_entities": pa.Table.from_pandas(ce, preserve_index=False)},
                         endpoints=("origin_outlet",)).to_pandas()
    top = ch.sort_values("rank").iloc[0]
    assert top["value"] == quiet and top["flagged"]


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
def test_gh24_bh_qvalues_match_the_definition(p):
    q = bh_qvalues(p)
    p = np.asarray(p)
    n = p.size
    brute = np.array([min(1.0, min(p[p >= p[i]].size and n * p[j] / (np.sum(p <= p[j])) for j in range(n)
                                   if p[j] >= p[i])) for i in range(n)])
    assert np.allclose(q, brute)


# ----------------------------------------------------------------------------- substances

def test_gh24_substance_table_counts_shares_and_first_appearance(channels_data):
    t = substance_table(channels_data, period="quarter").to_pandas()
    assert t["cases"].sum() == channels_data.cases.num_rows
    assert np.allclose(t.groupby(["region_id", "period"])["share"].sum(), 1.0)
    c = channels_data.cases.to_pandas()
    c["q"] = pd.to_datetime(c["date"]).dt.to_period("Q").dt.start_time.dt.date
    first = c.groupby(["region_id", "drug"])["q"].min()
    got = t[t["first_seen"]].set_index(["region_id", "drug"])["period"]
    assert got.sort_index().equals(first.sort_index().rename("period"))
    cat = substance_table(channels_data, by="category", per_region=False).to_pandas()
    assert cat["region_id"].isna().all() and cat["cases"].sum() == channels_data.cases.num_rows
    assert {"新精神活性物质", "非列管成瘾物质", "易制毒化学品"} <= set(cat["category"])


def test_gh24_substance_categories_follow_an_extended_vocabulary(unknown_drug):
    ds = ja.dataset_from_tables(unknown_drug, vocabulary={"drugs": {"新药X": "非列管成瘾物质"}})
    t = substance_table(ds, by="category").to_pandas()
    assert t.loc[t["category"] == "非列管成瘾物质", "cases"].sum() == 2


# ----------------------------------------------------------------------------- precursor chains

def test_gh24_precursor_chains_linked_to_their_production_case(channels_data):
    truth = channels_data.truth["precursor_chains"].to_pandas()
    scores = {}
    for label, kw in (("all evidence", {}), ("without transport records", {"transport_weight": 0.0})):
        pl = precursor_links(channels_data, **kw).to_pandas()
        top = pl[pl["rank"] == 1].set_index("purchase_case")["production_case"]
        scores[label] = float((truth["purchase_case"].map(top) == truth["production_case"]).mean())
        decoys = set(top.index) - set(truth["purchase_case"])
        assert not decoys, f"{label}: unrelated purchases linked: {sorted(decoys)[:3]}"
    print("precursor purchases linked to their production case:", {k: round(v, 3) for k, v in scores.items()})
    assert scores["all evidence"] >= 0.8
    assert scores["without transport records"] >= 0.6


def test_gh24_precursor_links_respect_chemistry_and_time(channels_data):
    v = default_vocabulary()
    makes = {d: set(m) for d, _, m in v.drugs}
    pl = precursor_links(channels_data).to_pandas()
    assert len(pl)
    assert all(p in makes and prod in makes[p] for p, prod in zip(pl["precursor"], pl["product"]))
    assert pl["days_before"].between(-30, 365).all()


def _brute_widest(source, edges, allowed, max_hops, discount):
    nodes = {a for a, _ in edges} | {b for _, b in edges}
    best = {}
    for h in range(1, max_hops + 1):
        for mid in itertools.product(sorted(nodes), repeat=h - 1):
            for target in sorted(nodes):
                path = (source, *mid, target)
                if target == source or any(n == source for n in path[1:]) or not all(allowed(n) for n in path[1:]):
                    continue
                ws = [edges.get((path[i], path[i + 1])) for i in range(h)]
                if None in ws:
                    continue
                s = min(ws) * discount ** (h - 1)
                best[target] = max(best.get(target, 0.0), s)
    return best


@given(st.dictionaries(st.tuples(st.integers(0, 5), st.integers(0, 5)), st.floats(0.01, 3), max_size=14),
       st.integers(1, 3), st.sampled_from([0.5, 1.0]))
def test_gh24_widest_paths_match_brute_force(raw, max_hops, discount):
    edges = {}
    for (a, b), w in raw.items():
        if a != b:
            edges[(f"n{a}", f"n{b}")] = edges[(f"n{b}", f"n{a}")] = w
    neighbours = {}
    for (a, b), w in edges.items():
        neighbours.setdefault(a, []).append((b, w))
    allowed = lambda n: n != "n5"  # noqa: E731 - one node may not be passed or reached
    got = _widest_paths("n0", neighbours, allowed, max_hops, discount)
    want = _brute_widest("n0", edges, allowed, max_hops, discount)
    assert set(got) == set(want)
    for t, (score, path) in got.items():
        assert score == pytest.approx(want[t])
        assert path[0] == t and path[-1] == "n0"
        assert min(edges[(path[i], path[i + 1])] for i in range(len(path) - 1)) * discount ** (len(path) - 2) \
            == pytest.approx(score)


# ----------------------------------------------------------------------------- report

@pytest.mark.slow
def test_gh24_analyze_reports_the_channels(tmp_path):
    from jinduanalytics.analyze import analyze
    from jinduanalytics.synthetic import generate

    ds = generate("county", seed=3, online_networks=8, precursor_chains=6, courier_outlets=60)
    res = analyze(ds, tmp_path / "out", progress=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "新型毒品与寄递渠道" in html and "Precursor chains" in html
    for name in ("parcel_channels", "parcel_evidence", "precursor_links", "substances", "substance_categories"):
        assert (tmp_path / "out" / f"{name}.parquet").is_file(), name
    ch = pq.read_table(tmp_path / "out" / "parcel_channels.parquet")
    assert res["report"] and ch.num_rows > 0
