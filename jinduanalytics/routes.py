"""Routes: flows of goods between regions — legs, consignments (trips), the leg network and its
shortest paths, origin-destination imbalance, 外流 trafficking."""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import ParameterError
from .options import tabular
from .regions import haversine_km, regions_table
from .stats import poisson_z
from .tables import get_table

__all__ = ["flow_legs", "trips", "od_matrix", "flow_imbalance", "route_usage", "outflow_trafficking",
           "shortest_route", "LegNetwork"]


@tabular
def flow_legs(data) -> pa.Table:
    """One row per (origin, destination, mode) leg: ``n_flows`` and total ``quantity_g``.

    ``data`` is a Dataset / mapping with a ``flows`` table, or the ``flows`` table itself.
    Sorted by quantity, largest first.

    Parameters
    ----------
    data : Dataset, mapping of tables, or the ``flows`` table
    """
    flows = data if isinstance(data, pa.Table) else get_table(
        data, "flows", columns=("origin", "destination", "mode", "quantity_g"))
    legs = flows.group_by(["origin", "destination", "mode"], use_threads=False).aggregate(
        [("quantity_g", "count"), ("quantity_g", "sum")])
    legs = pa.table({"origin": legs["origin"], "destination": legs["destination"], "mode": legs["mode"],
                     "n_flows": legs["quantity_g_count"], "quantity_g": legs["quantity_g_sum"]})
    return legs.sort_by([("quantity_g", "descending"), ("origin", "ascending"), ("destination", "ascending"),
                         ("mode", "ascending")])


@tabular
def trips(data) -> pa.Table:
    """Consignments reconstructed from legs: legs of one date and quantity that chain
    (one leg's destination is the next one's origin) form one trip.

    The canonical ``flows`` table records legs (a shipment to Hainan is three: road to 徐闻,
    sea to 海口, road on). Without a consignment id, a trip is the chain of legs sharing date
    and ``quantity_g``; a group that does not form one simple chain is left as separate
    one-leg trips (never guessed).

    Parameters
    ----------
    data : Dataset, mapping of tables, or the ``flows`` table

    Returns
    -------
    pyarrow.Table
        ``origin``, ``destination``, ``date``, ``quantity_g``, ``n_legs``, ``route``
        (regions joined by ``>``), ``modes`` (joined by ``>``).
    """
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


@tabular
def od_matrix(data) -> pa.Table:
    """Origin-destination flows of consignments (trips): ``origin``, ``destination``, ``n_trips``,
    ``quantity_g``, sorted by grams.

    Parameters
    ----------
    data : Dataset, mapping of tables, or the ``flows`` table
    """
    t = trips(data).to_pandas()
    od = t.groupby(["origin", "destination"], as_index=False).agg(n_trips=("quantity_g", "size"),
                                                                   quantity_g=("quantity_g", "sum"))
    od = od.sort_values(["quantity_g", "origin", "destination"], ascending=[False, True, True])
    return pa.Table.from_pandas(od.reset_index(drop=True), preserve_index=False)


def _distance_km(regions, a, b):
    r = regions.set_index("region_id")
    return haversine_km(r.loc[a, "lon"].to_numpy(float), r.loc[a, "lat"].to_numpy(float),
                        r.loc[b, "lon"].to_numpy(float), r.loc[b, "lat"].to_numpy(float))


@tabular
def flow_imbalance(data, *, value: str = "n_trips", min_km: float = 10.0) -> pa.Table:
    """Each region pair's flows against a gravity baseline; 双向 (two-way) pairs flagged.

    Baseline: ``E_ij = exp(a) * O_i * D_j / d_ij^beta`` (O = a region's total outflow, D its
    total inflow, d the great-circle distance, at least ``min_km``), ``a`` and ``beta`` fitted by
    Poisson maximum likelihood over every ordered pair of regions that send or receive (zeros
    included). ``ratio = observed / expected``; ``z`` the Poisson mid-p z of the observed count.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``flows``; ``regions`` for distances (default the shipped Beibu regions).
    value : {"n_trips", "quantity_g"}, default "n_trips"
    min_km : float, default 10.0
        Distances are at least this (neighbouring regions).

    Returns
    -------
    pyarrow.Table
        ``origin``, ``destination``, ``observed``, ``expected``, ``ratio``, ``z``,
        ``reverse_observed``, ``two_way`` (both directions above their baseline), sorted by z;
        metadata ``jindu.gravity`` = fitted a and beta.
    """
    if value not in ("n_trips", "quantity_g"):
        raise ParameterError(f"value must be 'n_trips' or 'quantity_g'; got {value!r}")
    od = od_matrix(data).to_pandas()
    od = od[od["origin"] != od["destination"]]
    regions = regions_table(None if isinstance(data, pa.Table) else data).to_pandas()
    nodes = sorted(set(od["origin"]) | set(od["destination"]))
    grid = pd.DataFrame([(a, b) for a in nodes for b in nodes if a != b], columns=["origin", "destination"])
    grid = grid.merge(od[["origin", "destination", value]], how="left").fillna({value: 0.0})
    y = grid[value].to_numpy(float)
    out_tot = grid.groupby("origin")[value].sum()
    in_tot = grid.groupby("destination")[value].sum()
    O = np.maximum(grid["origin"].map(out_tot).to_numpy(float), 1e-9)  # noqa: E741 - the formula's O_i
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
    grid["z"], _ = poisson_z(y, exp)
    rev = grid.set_index(["origin", "destination"])["observed"]
    grid["reverse_observed"] = [rev.get((b, a), 0.0) for a, b in zip(grid["origin"], grid["destination"])]
    above = grid.set_index(["origin", "destination"])["ratio"] > 1.0
    grid["two_way"] = [bool(above.get((a, b), False) and above.get((b, a), False) and o > 0 and r > 0)
                       for a, b, o, r in zip(grid["origin"], grid["destination"], grid["observed"],
                                             grid["reverse_observed"])]
    grid = grid.drop(columns=[value]).sort_values(["z", "origin", "destination"], ascending=[False, True, True])
    t = pa.Table.from_pandas(grid.reset_index(drop=True), preserve_index=False)
    return t.replace_schema_metadata({b"jindu.gravity": json.dumps({"a": theta[0], "beta": theta[1]}).encode()})


@tabular
def route_usage(data) -> pa.Table:
    """Most-used routes: ``route`` (regions joined by ``>``), ``modes``, ``n_trips``, ``quantity_g``.

    Parameters
    ----------
    data : Dataset, mapping of tables, or the ``flows`` table
    """
    t = trips(data).to_pandas()
    u = t.groupby(["route", "modes"], as_index=False).agg(n_trips=("quantity_g", "size"),
                                                           quantity_g=("quantity_g", "sum"))
    return pa.Table.from_pandas(u.sort_values(["n_trips", "quantity_g"], ascending=False).reset_index(drop=True),
                                preserve_index=False)


@tabular
def outflow_trafficking(data, *, roles=("supplier", "wholesaler", "seller", "courier")) -> pa.Table:
    """外流贩毒: per home region, how many of its natives deal in other regions, and where.

    From ``case_persons`` (roles in ``roles``), ``person_records.home_region`` and the case's
    region. Returns ``home_region``, ``case_region``, ``persons`` (distinct records), with
    ``share_elsewhere`` (of the home region's dealers) on every row; sorted by persons.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``case_persons``, ``person_records``, ``cases``.
    roles : tuple of str
        Roles that count as dealing.
    """
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


class LegNetwork:
    """The leg network traffickers can use: every observed leg, travelled either way, with its
    great-circle length in km. One shortest-path search serves :func:`shortest_route` and the
    rerouting of consignments around checkpoints (:mod:`jinduanalytics.checkpoints`).

    Parameters
    ----------
    legs : iterable of (origin, destination, mode)
    regions : pyarrow.Table
        Region coordinates (``region_id``, ``lon``, ``lat``).
    unknown_km : float or None
        Length of a leg with an end that has no coordinates; None leaves such legs out.
    """

    def __init__(self, legs: Iterable[tuple[str, str, str]], regions: pa.Table, *, unknown_km: float | None = None):
        r = regions.select(["region_id", "lon", "lat"]).to_pydict()
        coord = {rid: (lon, lat) for rid, lon, lat in zip(r["region_id"], r["lon"], r["lat"])}
        adj: dict[str, set] = {}
        for a, b, m in legs:
            if a in coord and b in coord:
                km = float(haversine_km(*coord[a], *coord[b]))
            elif unknown_km is None:
                continue
            else:
                km = float(unknown_km)
            adj.setdefault(a, set()).add((b, m, km))
            adj.setdefault(b, set()).add((a, m, km))
        # neighbours in sorted order: ties between equally short paths are broken the same way every run
        self.adj = {v: sorted(nbrs) for v, nbrs in adj.items()}
        self.coord = coord
        self._unknown_km = unknown_km

    def km(self, a: str, b: str) -> float:
        """Great-circle length of a leg (``unknown_km`` when an end has no coordinates).

        Parameters
        ----------
        a, b : str
            The leg's two regions.
        """
        if a in self.coord and b in self.coord:
            return float(haversine_km(*self.coord[a], *self.coord[b]))
        return float(self._unknown_km if self._unknown_km is not None else math.nan)

    def shortest_path(self, origin: str, destination: str, *, blocked_nodes=frozenset(), blocked_legs=frozenset(),
                      limit: float = math.inf) -> list[tuple[str, str, str, float]] | None:
        """Dijkstra from ``origin`` to ``destination``: the legs ``(a, b, mode, km)`` in order, ``[]``
        when they are the same region, None when no path within ``limit`` km avoids the blocked
        regions and legs (a blocked leg ``"a>b:mode"`` is blocked both ways).

        Parameters
        ----------
        origin, destination : str
            Regions.
        blocked_nodes : set of str
            Regions the path may not enter.
        blocked_legs : set of str
            Legs ``"a>b:mode"`` the path may not use.
        limit : float
            The longest acceptable path, in km.
        """
        if origin == destination:
            return []
        best, prev, heap = {origin: 0.0}, {}, [(0.0, origin)]
        while heap:
            d, v = heapq.heappop(heap)
            if v == destination:
                break
            if d > best.get(v, math.inf) or d > limit:
                continue
            for w, m, km in self.adj.get(v, ()):
                if w in blocked_nodes or (blocked_legs and (f"{v}>{w}:{m}" in blocked_legs
                                                            or f"{w}>{v}:{m}" in blocked_legs)):
                    continue
                nd = d + km
                if nd < best.get(w, math.inf) and nd <= limit:
                    best[w] = nd
                    prev[w] = (v, m, km)
                    heapq.heappush(heap, (nd, w))
        if destination not in best:
            return None
        path, v = [], destination
        while v != origin:
            u, m, km = prev[v]
            path.append((u, v, m, km))
            v = u
        return path[::-1]


@tabular
def shortest_route(data, origin: str, destination: str, *, modes=None) -> pa.Table:
    """Shortest route between two regions over the observed leg network (great-circle km).

    Parameters
    ----------
    data : Dataset or mapping of tables, or the ``flows`` table
    origin, destination : str
        Region ids.
    modes : list of str, optional
        Only legs of these modes.

    Returns
    -------
    pyarrow.Table
        One row per leg: ``step``, ``origin``, ``destination``, ``mode``, ``km``; empty when
        unreachable.
    """
    legs = flow_legs(data).to_pandas()
    if modes is not None:
        legs = legs[legs["mode"].isin(list(modes))]
    regions = regions_table(None if isinstance(data, pa.Table) else data)
    known = set(regions.column("region_id").to_pylist())
    for name, reg in (("origin", origin), ("destination", destination)):
        if reg not in known:
            raise ParameterError(f"{name} {reg!r} is not in the regions table")
    net = LegNetwork(zip(legs["origin"], legs["destination"], legs["mode"]), regions)
    rows = net.shortest_path(origin, destination) or []
    return pa.table({"step": pa.array(range(1, len(rows) + 1), pa.int64()),
                     "origin": pa.array([x[0] for x in rows], pa.string()),
                     "destination": pa.array([x[1] for x in rows], pa.string()),
                     "mode": pa.array([x[2] for x in rows], pa.string()),
                     "km": pa.array([x[3] for x in rows], pa.float64())})
