"""Routes: OD matrix, gravity baseline (recovers planted parameters), two-way pairs, outflow."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest

from jinduanalytics.regions import beibu_regions
from jinduanalytics.routes import flow_imbalance, od_matrix, outflow_trafficking, route_usage, trips


def test_gravity_fit_recovers_planted_distance_decay():
    rng = np.random.default_rng(3)
    r = beibu_regions().to_pandas()
    r = r[r["level"] == "city"]
    ids = r["region_id"].tolist()
    mass = dict(zip(ids, rng.uniform(1, 5, len(ids))))
    from jinduanalytics.routes import _distance_km

    rows = []
    for a in ids:
        for b in ids:
            if a != b:
                d = max(float(_distance_km(r, [a], [b])[0]), 10.0)
                lam = 40.0 * mass[a] * mass[b] / d ** 1.2
                rows += [(a, b)] * int(rng.poisson(lam))
    day = dt.date(2024, 1, 1)
    flows = pa.table({"origin": [a for a, _ in rows], "destination": [b for _, b in rows],
                      "mode": ["road"] * len(rows), "date": pa.array([day + dt.timedelta(days=i) for i in range(len(rows))]),
                      "quantity_g": [1.0] * len(rows)})
    fi = flow_imbalance({"flows": flows, "regions": beibu_regions()})
    beta = json.loads(fi.schema.metadata[b"jindu.gravity"])["beta"]
    assert beta == pytest.approx(1.2, abs=0.15)
    df = fi.to_pandas()
    assert (df["z"] >= 3).mean() < 0.05  # no planted excess: few pairs stand out
    assert df["observed"].sum() == len(rows) == od_matrix({"flows": flows})["n_trips"].to_numpy().sum()


def test_planted_two_way_pairs_stand_out(city):
    ds = city
    fi = flow_imbalance(ds).to_pandas()
    truth = ds.truth["region_links"].to_pandas()
    tw = set(zip(truth.loc[truth["n_two_way"] > 0, "region_a"], truth.loc[truth["n_two_way"] > 0, "region_b"]))
    flagged = {tuple(sorted(p)) for p in zip(fi.loc[fi["two_way"], "origin"], fi.loc[fi["two_way"], "destination"])}
    assert len(tw & flagged) >= 0.7 * len(tw)
    assert route_usage(ds)["n_trips"].to_numpy().sum() == trips(ds).num_rows
    out = outflow_trafficking(ds).to_pandas()
    assert out["share_elsewhere"].between(0, 1).all() and out["persons"].sum() > 0


def test_shortest_route_crosses_the_strait_and_matches_networkx(city):
    import networkx as nx

    from jinduanalytics.regions import haversine_km
    from jinduanalytics.routes import flow_legs, shortest_route

    ds = city
    sr = shortest_route(ds, "GX-NN", "HI-SY").to_pandas()
    assert sr["origin"].iloc[0] == "GX-NN" and sr["destination"].iloc[-1] == "HI-SY"
    assert "sea" in set(sr["mode"])  # Hainan is reached across the 琼州海峡
    r = beibu_regions().to_pandas().set_index("region_id")
    G = nx.Graph()
    for a, b in zip(*[flow_legs(ds).column(c).to_pylist() for c in ("origin", "destination")]):
        G.add_edge(a, b, km=float(haversine_km(r.loc[a, "lon"], r.loc[a, "lat"], r.loc[b, "lon"], r.loc[b, "lat"])))
    assert sr["km"].sum() == pytest.approx(nx.shortest_path_length(G, "GX-NN", "HI-SY", weight="km"))
    assert shortest_route(ds, "GX-NN", "GX-NN").num_rows == 0
