"""Region-pair linkage on planted truth; the null model's bookkeeping; trips from legs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from jinduanalytics.clusters import cluster_cases
from jinduanalytics.linkage import resolve_persons
from jinduanalytics.region_pairs import region_pairs
from jinduanalytics.routes import trips


@pytest.fixture(scope="module")
def city_pairs(city):
    ds = city
    _, persons = resolve_persons(ds.person_records)
    cl = cluster_cases(ds, seed=1, n_runs=2)
    rp = region_pairs(ds, persons=persons, clusters=cl).to_pandas()
    truth = ds.truth["region_links"].to_pandas()
    planted = set(zip(truth["region_a"], truth["region_b"]))
    two_way = set(zip(truth.loc[truth["n_two_way"] > 0, "region_a"], truth.loc[truth["n_two_way"] > 0, "region_b"]))
    rp["planted"] = [(a, b) in planted for a, b in zip(rp["region_a"], rp["region_b"])]
    rp["planted_two_way"] = [(a, b) in two_way for a, b in zip(rp["region_a"], rp["region_b"])]
    rp_all = region_pairs(ds, persons=persons, clusters=cl, robust=False).to_pandas()
    return ds, rp, rp_all


def test_planted_pairs_rank_on_top(city_pairs):
    _, rp, _ = city_pairs
    k = int(rp["planted"].sum())
    top = rp.sort_values("rank").head(k)
    sig_planted = (rp.loc[rp["planted"], "z"] >= 3).mean()
    sig_unplanted = (rp.loc[~rp["planted"], "z"] >= 3).mean()
    print(f"precision@{k} {top['planted'].mean():.3f}; planted z>=3 {sig_planted:.3f}; unplanted z>=3 {sig_unplanted:.3f}")
    assert top["planted"].mean() >= 0.8
    assert sig_unplanted <= 0.05
    assert sig_planted >= 0.75  # the issue asks for every planted pair; see the issue notes for why not


def test_two_way_flows_are_flagged(city_pairs):
    ds, rp, _ = city_pairs
    tw = rp[rp["planted_two_way"]]
    assert tw["two_way"].mean() >= 0.8
    # pairs flagged without a planted two-way network have networks going each way
    nets = ds.truth["networks"].to_pandas()
    cross = nets[nets["cross_province"]]
    for a, b in rp.loc[rp["two_way"] & ~rp["planted_two_way"], ["region_a", "region_b"]].itertuples(index=False):
        dirs = {(h, s) for h, s in zip(cross["home_region"], cross["second_region"]) if {h, s} == {a, b}}
        assert len(dirs) == 2, (a, b, dirs)


def test_null_model_spreads_ties_by_volume(city_pairs):
    ds, rp, rp_all = city_pairs
    types = [c[:-9] for c in rp.columns if c.endswith("_expected")]
    assert set(types) == {"persons", "entities", "clusters", "trips"}
    vol = ds.cases.to_pandas()["region_id"].value_counts()
    prod = rp["region_a"].map(vol) * rp["region_b"].map(vol)
    prod_all = rp_all["region_a"].map(vol) * rp_all["region_b"].map(vol)
    background = ~rp["significant"]
    for t in types:
        # plain null: every observed tie spread by volume
        assert rp_all[f"{t}_expected"].sum() == pytest.approx(rp_all[t].sum())
        assert np.allclose(rp_all[f"{t}_expected"] / prod_all, rp_all[t].sum() / prod_all.sum())
        # robust null: the rate of the background (non-significant) pairs
        rate = rp.loc[background, t].sum() / prod[background].sum()
        assert np.allclose(rp[f"{t}_expected"] / prod, rate)
    # more ties than expected -> positive z; none -> z near or below 0
    assert (rp.loc[rp["entities"] > 3 * rp["entities_expected"] + 2, "entities_z"] > 0).all()
    assert (rp.loc[rp["trips"] == 0, "trips_z"] <= 0.5).all()


def test_trips_chain_legs_of_one_consignment():
    d = dt.date(2024, 5, 1)
    flows = pa.table({
        "origin": ["GX-NN", "GD-XW", "HI-HK", "GD-GZ", "GX-NN"],
        "destination": ["GD-XW", "HI-HK", "HI-SY", "GD-ZJ", "GX-BH"],
        "mode": ["road", "sea", "road", "rail", "road"],
        "date": pa.array([d, d, d, d, d], pa.date32()),
        "quantity_g": [500.0, 500.0, 500.0, 80.0, 120.0],
    })
    t = trips(flows).to_pandas().sort_values("quantity_g").reset_index(drop=True)
    assert list(zip(t["origin"], t["destination"], t["n_legs"])) == [("GD-GZ", "GD-ZJ", 1), ("GX-NN", "GX-BH", 1),
                                                                     ("GX-NN", "HI-SY", 3)]
    assert t.loc[2, "route"] == "GX-NN>GD-XW>HI-HK>HI-SY" and t.loc[2, "modes"] == "road>sea>road"
    # two consignments with the same date and quantity that do not form one chain stay as legs
    clash = pa.concat_tables([flows, flows.slice(0, 1)])
    assert trips(clash).num_rows == 4 + 2  # the four legs of that date and quantity, and the other two
