"""Routes: flows of goods between regions (the start of the routes module)."""

from __future__ import annotations

import pyarrow as pa

from .clusters._data import get_table

__all__ = ["flow_legs", "trips", "od_matrix", "flow_imbalance", "route_usage", "outflow_trafficking",
           "shortest_route"]


def flow_legs(data) -> pa.Table:
    """One row per (origin, destination, mode) leg: ``n_flows`` and total ``quantity_g``.

    ``data`` is a Dataset / mapping with a ``flows`` table, or the ``flows`` table itself.
    Sorted by quantity, largest first.
    """
    flows = data if isinstance(data, pa.Table) else get_table(
        data, "flows", columns=("origin", "destination", "mode", "quantity_g"))
    legs = flows.group_by(["origin", "destination", "mode"], use_threads=False).aggregate(
        [("quantity_g", "count"), ("quantity_g", "sum")])
    legs = pa.table({"origin": legs["origin"], "destination": legs["destination"], "mode": legs["mode"],
                     "n_flows": legs["quantity_g_count"], "quantity_g": legs["quantity_g_sum"]})
    return legs.sort_by([("quantity_g", "descending"), ("origin", "ascending"), ("destination", "ascending"),
                         ("mode", "ascending")])


def trips(data) -> pa.Table:
    """Consignments reconstructed from legs: legs of one date and quantity that chain
    (one leg's destination is the next one's origin) form one trip.

    The canonical ``flows`` table records legs (a shipment to Hainan is three: road to 徐闻,
    sea to 海口, road on). Without a consignment id, a trip is the chain of legs sharing date
    and ``quantity_g``; a group that does not form one simple chain is left as separate
    one-leg trips (never guessed).

    Returns
    -------
    pyarrow.Table
        ``origin``, ``destination``, ``date``, ``quantity_g``, ``n_legs``, ``route``
        (regions joined by ``>``), ``modes`` (joined by ``>``).
    """
    import pandas as pd

    flows = data if isinstance(data, pa.Table) else get_table(
        data, "flows", columns=("origin", "destination", "mode", "date", "quantity_g"))
    f = flows.select(["origin", "destination", "mode", "date", "quantity_g"]).to_pandas()
    rows = []
    for (date, qty), g in f.groupby(["date", "quantity_g"], sort=True):
        if len(g) == 1:
            r = g.iloc[0]
            rows.append((r.origin, r.destination, date, qty, 1, f"{r.origin}>{r.destination}", r["mode"]))
            continue
        nxt = dict(zip(g["origin"], zip(g["destination"], g["mode"])))
        simple = g["origin"].is_unique and g["destination"].is_unique
        starts = set(g["origin"]) - set(g["destination"])
        if simple and len(starts) == 1:
            node = starts.pop()
            route, modes = [node], []
            while node in nxt and len(route) <= len(g):
                node, mode = nxt[node]
                route.append(node)
                modes.append(mode)
            if len(modes) == len(g):
                rows.append((route[0], route[-1], date, qty, len(g), ">".join(route), ">".join(modes)))
                continue
        for r in g.itertuples(index=False):
            rows.append((r.origin, r.destination, date, qty, 1, f"{r.origin}>{r.destination}", r.mode))
    df = pd.DataFrame(rows, columns=["origin", "destination", "date", "quantity_g", "n_legs", "route", "modes"])
    return pa.Table.from_pandas(df, preserve_index=False)


def od_matrix(data) -> pa.Table:
    """Origin-destination flows of consignments (trips): ``origin``, ``destination``, ``n_trips``,
    ``quantity_g``, sorted by grams."""
    t = trips(data).to_pandas()
    od = t.groupby(["origin", "destination"], as_index=False).agg(n_trips=("quantity_g", "size"),
                                                                   quantity_g=("quantity_g", "sum"))
    od = od.sort_values(["quantity_g", "origin", "destination"], ascending=[False, True, True])
    return pa.Table.from_pandas(od.reset_index(drop=True), preserve_index=False)


def _distance_km(regions, a, b):
    from .regions import haversine_km

    r = regions.set_index("region_id")
    return haversine_km(r.loc[a, "lon"].to_numpy(float), r.loc[a, "lat"].to_numpy(float),
                        r.loc[b, "lon"].to_numpy(float), r.loc[b, "lat"].to_numpy(float))


def flow_imbalance(data, *, value: str = "n_trips", min_km: float = 10.0) -> pa.Table:
    """Each region pair's flows against a gravity baseline; 双向 (two-way) pairs flagged.

    Baseline: ``E_ij = exp(a) * O_i * D_j / d_ij^beta`` (O = a region's total outflow, D its
    total inflow, d the great-circle distance, at least ``min_km``), ``a`` and ``beta`` fitted by
    Poisson maximum likelihood over every ordered pair of regions that send or receive (zeros
    included). ``ratio = observed / expected``; ``z`` the Poisson mid-p z of the observed count.

    Returns
    -------
    pyarrow.Table
        ``origin``, ``destination``, ``observed``, ``expected``, ``ratio``, ``z``,
        ``reverse_observed``, ``two_way`` (both directions above their baseline), sorted by z;
        metadata ``jindu.gravity`` = fitted a and beta.
    """
    import json

    import numpy as np
    import pandas as pd

    from .clusters._data import get_table
    from .linkage.regions import _poisson_z
    from .regions import beibu_regions

    if value not in ("n_trips", "quantity_g"):
        from .errors import ParameterError

        raise ParameterError(f"value must be 'n_trips' or 'quantity_g'; got {value!r}")
    od = od_matrix(data).to_pandas()
    od = od[od["origin"] != od["destination"]]
    regions = get_table(data, "regions", required=False) if not isinstance(data, pa.Table) else None
    regions = (regions if regions is not None else beibu_regions()).to_pandas()
    nodes = sorted(set(od["origin"]) | set(od["destination"]))
    grid = pd.DataFrame([(a, b) for a in nodes for b in nodes if a != b], columns=["origin", "destination"])
    grid = grid.merge(od[["origin", "destination", value]], how="left").fillna({value: 0.0})
    y = grid[value].to_numpy(float)
    out_tot = grid.groupby("origin")[value].sum()
    in_tot = grid.groupby("destination")[value].sum()
    O = np.maximum(grid["origin"].map(out_tot).to_numpy(float), 1e-9)
    D = np.maximum(grid["destination"].map(in_tot).to_numpy(float), 1e-9)
    d = np.maximum(_distance_km(regions, grid["origin"], grid["destination"]), min_km)
    offset = np.log(O) + np.log(D)
    X = np.column_stack([np.ones(len(y)), -np.log(d)])
    theta = np.array([np.log(max(y.sum(), 1e-9) / np.exp(offset).sum()), 0.0])
    for _ in range(100):  # Newton on the Poisson log-likelihood
        mu = np.exp(np.clip(offset + X @ theta, -700, 700))
        grad = X.T @ (y - mu)
        hess = X.T @ (X * mu[:, None])
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    exp = np.exp(offset + X @ theta)
    grid["observed"] = y
    grid["expected"] = exp
    grid["ratio"] = y / exp
    grid["z"], _ = _poisson_z(y, exp)
    rev = grid.set_index(["origin", "destination"])["observed"]
    grid["reverse_observed"] = [rev.get((b, a), 0.0) for a, b in zip(grid["origin"], grid["destination"])]
    above = grid.set_index(["origin", "destination"])["ratio"] > 1.0
    grid["two_way"] = [bool(above.get((a, b), False) and above.get((b, a), False) and o > 0 and r > 0)
                       for a, b, o, r in zip(grid["origin"], grid["destination"], grid["observed"],
                                             grid["reverse_observed"])]
    grid = grid.drop(columns=[value]).sort_values(["z", "origin", "destination"], ascending=[False, True, True])
    t = pa.Table.from_pandas(grid.reset_index(drop=True), preserve_index=False)
    return t.replace_schema_metadata({b"jindu.gravity": json.dumps({"a": theta[0], "beta": theta[1]}).encode()})


def route_usage(data) -> pa.Table:
    """Most-used routes: ``route`` (regions joined by ``>``), ``modes``, ``n_trips``, ``quantity_g``."""
    t = trips(data).to_pandas()
    u = t.groupby(["route", "modes"], as_index=False).agg(n_trips=("quantity_g", "size"),
                                                           quantity_g=("quantity_g", "sum"))
    return pa.Table.from_pandas(u.sort_values(["n_trips", "quantity_g"], ascending=False).reset_index(drop=True),
                                preserve_index=False)


def outflow_trafficking(data, *, roles=("supplier", "wholesaler", "seller", "courier")) -> pa.Table:
    """外流贩毒: per home region, how many of its natives deal in other regions, and where.

    From ``case_persons`` (roles in ``roles``), ``person_records.home_region`` and the case's
    region. Returns ``home_region``, ``case_region``, ``persons`` (distinct records), with
    ``share_elsewhere`` (of the home region's dealers) on every row; sorted by persons.
    """
    import pandas as pd

    from .clusters._data import get_table

    cp = get_table(data, "case_persons", columns=("case_id", "record_id", "role")).to_pandas()
    pr = get_table(data, "person_records", columns=("record_id", "home_region")).to_pandas()
    cases = get_table(data, "cases", columns=("case_id", "region_id")).to_pandas()
    x = cp[cp["role"].isin(list(roles))].merge(pr[["record_id", "home_region"]], on="record_id") \
        .merge(cases[["case_id", "region_id"]], on="case_id").dropna(subset=["home_region"])
    x = x.drop_duplicates(["record_id", "region_id"])
    g = x.groupby(["home_region", "region_id"], as_index=False)["record_id"].nunique()
    g = g.rename(columns={"region_id": "case_region", "record_id": "persons"})
    tot = x.groupby("home_region")["record_id"].nunique()
    away = x[x["home_region"] != x["region_id"]].groupby("home_region")["record_id"].nunique()
    g["share_elsewhere"] = g["home_region"].map(away).fillna(0) / g["home_region"].map(tot)
    g = g.sort_values(["persons", "home_region"], ascending=[False, True])
    return pa.Table.from_pandas(g.reset_index(drop=True), preserve_index=False)


def shortest_route(data, origin: str, destination: str, *, modes=None) -> pa.Table:
    """Shortest route between two regions over the observed leg network (great-circle km).

    Legs may be travelled either way; ``modes`` restricts them. Returns one row per leg:
    ``step``, ``origin``, ``destination``, ``mode``, ``km``; empty when unreachable.
    """
    import heapq

    from .clusters._data import get_table
    from .errors import ParameterError
    from .regions import beibu_regions, haversine_km

    legs = flow_legs(data).to_pandas()
    if modes is not None:
        legs = legs[legs["mode"].isin(list(modes))]
    regions = None if isinstance(data, pa.Table) else get_table(data, "regions", required=False)
    r = (regions if regions is not None else beibu_regions()).to_pandas().set_index("region_id")
    for name, reg in (("origin", origin), ("destination", destination)):
        if reg not in r.index:
            raise ParameterError(f"{name} {reg!r} is not in the regions table")
    adj: dict = {}
    for a, b, m in zip(legs["origin"], legs["destination"], legs["mode"]):
        if a in r.index and b in r.index:
            km = float(haversine_km(r.loc[a, "lon"], r.loc[a, "lat"], r.loc[b, "lon"], r.loc[b, "lat"]))
            adj.setdefault(a, []).append((b, m, km))
            adj.setdefault(b, []).append((a, m, km))
    best, prev, heap = {origin: 0.0}, {}, [(0.0, origin)]
    while heap:
        d, v = heapq.heappop(heap)
        if v == destination or d > best.get(v, float("inf")):
            continue
        for w, m, km in sorted(adj.get(v, ())):
            if d + km < best.get(w, float("inf")):
                best[w] = d + km
                prev[w] = (v, m, km)
                heapq.heappush(heap, (d + km, w))
    rows = []
    if destination in best and destination != origin:
        v = destination
        while v != origin:
            u, m, km = prev[v]
            rows.append((u, v, m, km))
            v = u
        rows.reverse()
    return pa.table({"step": pa.array(range(1, len(rows) + 1), pa.int64()),
                     "origin": pa.array([x[0] for x in rows], pa.string()),
                     "destination": pa.array([x[1] for x in rows], pa.string()),
                     "mode": pa.array([x[2] for x in rows], pa.string()),
                     "km": pa.array([x[3] for x in rows], pa.float64())})
