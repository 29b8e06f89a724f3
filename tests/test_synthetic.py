import numpy as np
import pyarrow.compute as pc
import pytest

import jinduanalytics as ja
from jinduanalytics.errors import ParameterError
from jinduanalytics.synthetic import generate, preset_config
from jinduanalytics.synthetic import identity as idt


@pytest.fixture(scope="module")
def city():
    return generate("city", seed=11)


@pytest.fixture(scope="module")
def county():
    return generate("county", seed=3)


def test_same_seed_byte_identical_parquet(tmp_path):
    a = ja.write_dataset(generate("county", seed=5), tmp_path / "a")
    b = ja.write_dataset(generate("county", seed=5), tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
    assert len(files) == 9 + 6
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    c = ja.write_dataset(generate("county", seed=6), tmp_path / "c")
    assert (a / "cases.parquet").read_bytes() != (c / "cases.parquet").read_bytes()


def test_output_passes_validation_with_zero_rejected(tmp_path, county):
    ja.write_dataset(county, tmp_path / "d")
    back = ja.read_dataset(tmp_path / "d", lenient=True)
    assert all(t.num_rows == 0 for t in back.rejected.values())
    for name in county:
        assert back[name].num_rows == county[name].num_rows


def test_synthetic_identifiers_cannot_be_real(city):
    pr = city.person_records
    ids = pc.drop_null(pr.column("id_number")).to_pylist()
    assert ids and all(i.startswith("99") and len(i) == 18 for i in ids)
    phones = pc.drop_null(pr.column("phone")).to_pylist() + city.contacts.column("phone_a").to_pylist()
    assert all(p.startswith("104") and len(p) == 11 for p in phones)
    ce = city.case_entities.to_pandas()
    assert ce.loc[ce.kind == "phone", "value"].str.startswith("104").all()
    assert ce.loc[ce.kind == "account", "value"].str.startswith("9990").all()


def test_id_check_digit_algorithm():
    # the GB 11643-1999 textbook example
    digits = np.array([[int(c) for c in "11010519491231002"]])
    assert idt.id_check_digit(digits)[0] == "X"


def test_primary_records_have_valid_checksums(city):
    pr = city.person_records.to_pandas().merge(city.truth["record_person"].to_pandas(), on="record_id")
    clean = pr[pr.is_primary & pr.id_number.notna() & ~pr.id_number.str.contains(r"\*", na=False)]
    digits = np.array([[int(c) for c in s[:17]] for s in clean.id_number])
    assert (idt.id_check_digit(digits) == clean.id_number.str[17].to_numpy()).all()


def test_planted_networks_share_entities(city):
    g = ja.case_graph(city.case_entities, cases=city.cases)
    net = dict(zip(city.truth["case_network"].column("case_id").to_pylist(),
                   city.truth["case_network"].column("network").to_pylist()))
    labels = np.array([net[c] for c in g.node_ids.to_pylist()])
    src = g.sources()
    same = (labels[src] == labels[g.indices]) & (labels[src] >= 0)
    within = g.weights[same].sum() / g.weights.sum()
    assert within > 0.8, within
    # background cases link to nothing but hubs: with the hub cap they are mostly isolated
    bg = labels == -1
    assert np.mean(g.degree()[bg] == 0) > 0.7


def test_case_persons_match_truth(city):
    cp = city.case_persons.to_pandas()
    cp = cp.merge(city.truth["record_person"].to_pandas(), on="record_id")
    cp = cp.merge(city.truth["persons"].to_pandas(), on="person_id")
    cp = cp.merge(city.truth["case_network"].to_pandas().rename(columns={"network": "case_net"}), on="case_id")
    assert (cp.network == cp.case_net).all()
    # every upstream link stays inside its network
    persons = city.truth["persons"].to_pandas().set_index("person_id")
    up = persons[persons.upstream.notna()]
    assert (persons.loc[up.upstream, "network"].to_numpy() == up.network.to_numpy()).all()


def test_cross_region_networks_span_provinces(city):
    nets = city.truth["networks"].to_pandas()
    cases = city.cases.to_pandas().merge(city.truth["case_network"].to_pandas(), on="case_id")
    prov = dict(zip(city.regions.column("region_id").to_pylist(), city.regions.column("province").to_pylist()))
    cases["province"] = cases.region_id.map(prov)
    spans = cases[cases.network >= 0].groupby("network").province.nunique()
    cross = nets.set_index("network").cross_province
    assert (spans[~cross.loc[spans.index]] == 1).all()
    assert (spans[cross.loc[spans.index]] >= 2).mean() > 0.7
    links = city.truth["region_links"].to_pandas()
    assert links.n_networks.sum() == cross.sum()
    # two-way networks have flows in both directions between their regions
    fl = city.flows.to_pandas()
    pairs = set(zip(fl.origin, fl.destination))
    for _, n in nets[nets.two_way].iterrows():
        a, b = n.home_region, n.second_region
        reach = {d for o, d in pairs if o == b} | {d for o, d in pairs if o == a}
        assert reach, n


def test_strait_crossing_is_sea(city):
    fl = city.flows.to_pandas()
    prov = dict(zip(city.regions.column("region_id").to_pylist(), city.regions.column("province").to_pylist()))
    cross_legs = fl[(fl.origin.map(prov) == "海南") != (fl.destination.map(prov) == "海南")]
    assert len(cross_legs) > 0
    assert set(zip(cross_legs.origin, cross_legs.destination)) <= {("GD-XW", "HI-HK"), ("HI-HK", "GD-XW")}
    assert (cross_legs["mode"] == "sea").all()


def test_noise_rates_match_parameters(city):
    cfg = preset_config("city")
    pr = city.person_records.to_pandas().merge(city.truth["record_person"].to_pandas(), on="record_id")
    n = len(pr)
    ids = pr.id_number
    assert abs(ids.isna().mean() - cfg.id_missing) < 0.02
    assert abs(ids.str.contains(r"\*", na=False).mean() - cfg.id_masked) < 0.02
    assert abs(pr.birth_date.isna().mean() - cfg.dob_missing) < 0.02
    assert abs(pr.phone.isna().mean() - cfg.phone_missing) < 0.02
    primary = pr[pr.is_primary].set_index("person_id")
    dup = pr[~pr.is_primary].copy()
    assert len(dup) > 300, "the city preset should plant several hundred cross-region duplicates"
    dup["p_name"] = primary.loc[dup.person_id, "name"].to_numpy()
    assert abs((dup.name != dup.p_name).mean() - cfg.name_confusion) < 0.05
    dup["p_phone"] = primary.loc[dup.person_id, "phone"].to_numpy()
    both = dup[dup.phone.notna() & dup.p_phone.notna()]
    assert abs((both.phone != both.p_phone).mean() - cfg.phone_changed) < 0.06
    # the primary record is never noisy in its name
    assert n == city.person_records.num_rows
    # hub entities are touched by about hub_rate of all cases
    hubs = city.truth["noise_entities"].to_pandas()
    ce = city.case_entities.to_pandas()
    hub_cases = ce[ce.value.isin(hubs[hubs.noise == "hub"].value)].case_id.nunique()
    assert abs(hub_cases / city.cases.num_rows - cfg.hub_rate) < 0.02


def test_overrides_and_errors():
    ds = generate("county", seed=1, hub_rate=0.0, recycled_burner_share=0.0)
    assert ds.truth["noise_entities"].filter(pc.equal(ds.truth["noise_entities"].column("noise"),
                                                      "recycled_burner")).num_rows == 0
    with pytest.raises(ParameterError, match=r"unknown generator parameters \['hub_ratio'\]"):
        generate("county", hub_ratio=0.1)
    with pytest.raises(ParameterError, match="preset must be one of"):
        generate("town")
    with pytest.raises(ParameterError, match="hub_rate is a probability"):
        generate("county", hub_rate=1.5)
    with pytest.raises(ParameterError, match="n_networks must be >= 1"):
        generate("county", n_networks=0)


def test_committed_sample_is_the_county_preset():
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"
    ds = ja.read_dataset(sample)
    fresh = generate("county", seed=7)
    for name in fresh:
        assert ds[name].equals(fresh[name]), name
