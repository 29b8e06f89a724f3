"""查控堵截卡点布局: where k checkpoints intercept the most drug flow.

Consignments (trips, :func:`jinduanalytics.routes.trips`) follow routes of legs. A checkpoint is
a region (``kind="node"``: every trip whose route passes through it) or a crossing
(``kind="leg"``: the hop between two regions by one mode, in either direction, named
``"A>B:mode"`` with A before B; :func:`crossing`), or a site of the dataset's ``checkpoints``
table (``kind="site"``: it stops the consignments that arrive at or leave its region by its mode;
candidates are the sites, named by ``checkpoint_id``; several sites of one region and mode cover
the same trips, so greedy takes a second one only when nothing else pays). Interception is a maximum coverage
problem: choose k checkpoints to maximise the grams on intercepted trips.

* ``greedy``: add the checkpoint with the largest marginal gain, k times (ties: the first
  candidate in sorted order). The objective is monotone submodular, so greedy gets at least
  (1 - 1/e) of the optimum (Nemhauser, Wolsey & Fisher 1978). Gains are kept in a heap and only
  the top one is recomputed until it stays on top (lazy greedy, CELF: Minoux 1978, Leskovec et al.
  2007): the same placements as rescoring every candidate every round. Greedy stops before k
  when no further checkpoint intercepts anything more, so none is spent for nothing (with
  evasion, where a checkpoint that adds nothing alone may pay with the next, it never takes a
  second site of a region and mode already held).
* ``exact``: the integer program ``max sum q_t y_t  s.t.  y_t <= sum_{c on t} x_c,
  sum x_c <= k, x binary, 0 <= y <= 1`` (scipy.optimize.milp, HiGHS) — for small instances.
* ``degree`` / ``random``: baselines (the k busiest nodes or legs by number of legs touching
  them / k at random).
* ``evasive=True``: traffickers reroute. A trip whose route meets a checkpoint takes the
  shortest other route in the observed leg network that avoids every checkpoint, if it is at
  most ``(1 + detour)`` times as long (great-circle length); only trips with no such route
  are intercepted. Greedy then places each checkpoint knowing the others will be avoided. Each
  route's current detour is kept: a candidate reroutes again only the routes whose detour passes
  it (a shortest path that avoids the new checkpoint stays the shortest one), so a round costs a
  few shortest-path searches per candidate instead of one per intercepted route.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from . import routes
from ._checks import as_generator, check_choice, check_int, check_nonnegative
from .errors import ParameterError
from .options import tabular
from .regions import regions_table
from .routes import LegNetwork
from .tables import get_table
from .vocabulary import vocabulary_of

__all__ = ["place_checkpoints", "interception", "crossing", "METHODS", "KINDS"]

METHODS = ("greedy", "exact", "degree", "random")
#: What a checkpoint is: a region, a crossing between two regions by one mode, or a site of the
#: dataset's ``checkpoints`` table (its region and mode).
KINDS = ("node", "leg", "site")


class _Network:
    def __init__(self, data, kind: str, modes, trip_table: pa.Table | None = None):
        if modes is not None:
            modes = [modes] if isinstance(modes, str) else list(modes)
            known = vocabulary_of(data).flow_modes
            unknown = sorted(set(modes) - set(known))
            if unknown:
                raise ParameterError(f"modes must be among {', '.join(repr(m) for m in known)}; "
                                     f"got {', '.join(repr(m) for m in unknown)}.")
        t = (trip_table if trip_table is not None else routes.trips(data)).to_pandas()
        if t.empty:
            raise ParameterError("no flows to intercept (the flows table is empty)")
        self.trips = t
        # identical routes are scored once, with their grams summed
        t = t.groupby(["route", "modes"], as_index=False, sort=True).agg(quantity_g=("quantity_g", "sum"))
        self.route_of_trip = self.trips.set_index(["route", "modes"]).index.map(
            {k: i for i, k in enumerate(zip(t["route"], t["modes"]))}.get).to_numpy()
        self.kind = kind
        if kind == "site":  # the checkpoints table's sites: one covers the legs of its mode at its region
            sites = get_table(data, "checkpoints", columns=("checkpoint_id", "region_id", "mode")).to_pydict()
            self.site = dict(zip(sites["checkpoint_id"], zip(sites["region_id"], sites["mode"])))
            self.site_at: dict[tuple[str, str], list[str]] = {}
            for sid, at in sorted(self.site.items()):
                self.site_at.setdefault(at, []).append(sid)
        route_nodes = t["route"].str.split(">")
        modes_l = t["modes"].str.split(">")
        self.q = t["quantity_g"].to_numpy(float)
        self.paths = []  # per trip: list of checkpoint candidates it passes
        self.legs = []  # per trip: list of (a, b, mode)
        for nodes, ms in zip(route_nodes, modes_l):
            legs = [(a, b, m) for a, b, m in zip(nodes[:-1], nodes[1:], ms)]
            self.legs.append(legs)
            if kind == "node":
                self.paths.append(list(dict.fromkeys(nodes)))
            elif kind == "site":
                self.paths.append(list(dict.fromkeys(s for a, b, m in legs if modes is None or m in modes
                                                     for s in self.sites_on(a, b, m))))
            else:
                self.paths.append(list(dict.fromkeys(crossing(a, b, m) for a, b, m in legs
                                                     if modes is None or m in modes)))
        cands = sorted({c for p in self.paths for c in p})
        self.cands = cands
        self.index = {c: i for i, c in enumerate(cands)}
        self.cover = [[self.index[c] for c in p] for p in self.paths]
        # the leg network traffickers can use (every observed leg, either way; a leg with an end
        # off the regions table counts 1 km, so it is never a reason to reroute)
        self.network = LegNetwork((leg for legs in self.legs for leg in legs), regions_table(data), unknown_km=1.0)

    def sites_on(self, a: str, b: str, mode: str) -> list[str]:
        """Sites that stop a leg: those of its mode at either end."""
        return self.site_at.get((a, mode), []) + self.site_at.get((b, mode), [])

    def blocked_legs(self, blocked: set) -> set:
        """The crossings the checkpoints ``blocked`` close to traffic (sites: every crossing of
        their mode at their region)."""
        if self.kind != "site":
            return blocked
        return {crossing(r, w, m) for sid in blocked for r, m in [self.site[sid]]
                for w, m2, _ in self.network.adj.get(r, ()) if m2 == m}

    def route_length(self, legs) -> float:
        return sum(self.network.km(a, b) for a, b, _ in legs)

    def limit(self, t: int, tolerance: float) -> float:
        """The longest route trip t takes instead of its own: its length plus the tolerance."""
        return self.route_length(self.legs[t]) * (1.0 + tolerance) + 1e-9

    def detour_path(self, t: int, blocked: set, limit: float):
        """Legs ``(a, b, mode, km)`` of trip t's shortest route avoiding ``blocked`` within ``limit``
        km, or None (always None when a blocked region is where it starts or ends)."""
        legs = self.legs[t]
        src, dst = legs[0][0], legs[-1][1]
        if self.kind == "node":
            if src in blocked or dst in blocked:
                return None
            return self.network.shortest_path(src, dst, blocked_nodes=blocked, limit=limit)
        return self.network.shortest_path(src, dst, blocked_legs=self.blocked_legs(blocked), limit=limit)

    def detour(self, t: int, blocked: set, tolerance: float):
        """Shortest alternative route of trip t avoiding ``blocked`` within the tolerance, or None."""
        path = self.detour_path(t, blocked, self.limit(t, tolerance))
        if not path:
            return None
        route = [path[0][0]] + [b for _, b, _, _ in path]
        return ">".join(route), ">".join(m for _, _, m, _ in path)

    def intercepted(self, chosen: set, evasive: bool, tolerance: float) -> tuple[np.ndarray, dict]:
        hit = np.array([any(self.cands[c] in chosen for c in cov) for cov in self.cover], dtype=bool)
        rerouted = {}
        if evasive and chosen:
            for t in np.flatnonzero(hit):
                alt = self.detour(int(t), chosen, tolerance)
                if alt is not None:
                    hit[t] = False
                    rerouted[int(t)] = alt
        return hit, rerouted


def _greedy_coverage(net: _Network, k: int) -> list[int]:
    """Greedy maximum coverage, lazily (CELF: Minoux 1978; Leskovec et al. 2007). Coverage is
    submodular, so a candidate's gain only falls as others are chosen: gains wait in a heap and
    only the top one is recomputed until a fresh gain stays on top. The same placements as
    scoring every candidate every round (ties: the lowest candidate), at a fraction of the cost."""
    covered = np.zeros(len(net.q), dtype=bool)

    def gain(c: int) -> float:
        return math.fsum(net.q[t] for t in net.by_cand[c] if not covered[t])

    heap = [(-gain(c), c) for c in range(len(net.cands))]
    heapq.heapify(heap)
    scored_in = [0] * len(net.cands)  # the round each heap entry's gain was computed in
    chosen: list[int] = []
    for r in range(min(k, len(net.cands))):
        while True:
            g, c = heapq.heappop(heap)
            if scored_in[c] == r:
                break
            scored_in[c] = r
            heapq.heappush(heap, (-gain(c), c))
        if -g <= 1e-12:  # nothing left to gain: a further checkpoint would be spent for nothing
            break
        chosen.append(c)
        covered[net.by_cand[c]] = True
    return chosen


class _Evasion:
    """Where each route goes when the current checkpoints block it, kept up to date as checkpoints
    are added: only routes whose current detour passes a new checkpoint are rerouted again (a
    shortest path that avoids the new checkpoint stays the shortest one, tie order included)."""

    def __init__(self, net: _Network, tolerance: float):
        self.net = net
        self.limit = [net.limit(t, tolerance) for t in range(len(net.legs))]
        self.blocked: set[str] = set()
        n = len(net.legs)
        self.hit = np.zeros(n, dtype=bool)
        self.path = [self._search(t, self.blocked) for t in range(n)]
        self.users: dict[str, set[int]] = {}
        for t in range(n):
            self._index(t)

    def _search(self, t: int, blocked: set):
        return self.net.detour_path(t, blocked, self.limit[t])

    def _keys(self, t: int) -> set[str]:
        """Checkpoints that would block route t's current detour."""
        path = self.path[t]
        if path is None:
            return set()
        legs = self.net.legs[t]
        if self.net.kind == "node":
            return {legs[0][0], legs[-1][1]} | {b for _, b, _, _ in path}
        if self.net.kind == "site":
            return {s for a, b, m, _ in path for s in self.net.sites_on(a, b, m)}
        return {crossing(a, b, m) for a, b, m, _ in path}

    def _index(self, t: int) -> None:
        for key in self._keys(t):
            self.users.setdefault(key, set()).add(t)

    def intercepted_with(self, c: int) -> list[int]:
        """Routes intercepted if candidate ``c`` joins the current checkpoints."""
        key = self.net.cands[c]
        newly = set(self.net.by_cand[c])
        out = [t for t in range(len(self.path)) if self.path[t] is None and (self.hit[t] or t in newly)]
        blocked = self.blocked | {key}
        for t in self.users.get(key, ()):
            if self.hit[t] or t in newly:
                if self._search(t, blocked) is None:
                    out.append(t)
        return out

    def add(self, c: int) -> None:
        key = self.net.cands[c]
        self.blocked.add(key)
        self.hit[self.net.by_cand[c]] = True
        for t in sorted(self.users.get(key, ())):
            for old in self._keys(t):
                self.users[old].discard(t)
            self.path[t] = self._search(t, self.blocked)
            self._index(t)

    def intercepted(self) -> np.ndarray:
        return self.hit & np.array([p is None for p in self.path], dtype=bool)


def _stops(net: _Network, c: int):
    """What candidate ``c`` stops: its region and mode for a site, else itself."""
    return net.site[net.cands[c]] if net.kind == "site" else net.cands[c]


def _greedy_evasive(net: _Network, k: int, tolerance: float) -> list[int]:
    """Greedy with rerouting: every round, every candidate is scored by the grams that stay
    intercepted once traffickers reroute around it and the checkpoints already chosen (the
    objective is not submodular, so no laziness); :class:`_Evasion` reroutes only what a
    candidate changes. The same placements as rerouting every route from scratch."""
    ev = _Evasion(net, tolerance)
    chosen: list[int] = []
    taken: set = set()  # what the chosen checkpoints stop (a second site of one region and mode adds nothing)
    for _ in range(min(k, len(net.cands))):
        best, best_gain = -1, -1.0
        for c in range(len(net.cands)):
            if c in chosen or _stops(net, c) in taken:
                continue
            gain = math.fsum(net.q[t] for t in ev.intercepted_with(c))
            if gain > best_gain + 1e-12:
                best, best_gain = c, gain
        if best < 0:
            break
        # (a checkpoint that adds nothing now may pay with the next one: evasion is not submodular)
        chosen.append(best)
        taken.add(_stops(net, best))
        ev.add(best)
    return chosen


def crossing(a: str, b: str, mode: str) -> str:
    """A leg checkpoint's name: the crossing between two regions by one mode, ``"A>B:mode"`` with
    the regions in sorted order. A checkpoint on a crossing stops traffic both ways, so the two
    directions are one candidate (two of k checkpoints are never spent on one crossing).

    Parameters
    ----------
    a, b : str
        The two regions, either order.
    mode : str
    """
    return f"{a}>{b}:{mode}" if a <= b else f"{b}>{a}:{mode}"


def _canonical(name: str) -> str:
    """A leg checkpoint name given either way round, as :func:`crossing` writes it."""
    ends, sep, mode = str(name).rpartition(":")
    a, arrow, b = ends.partition(">")
    return crossing(a, b, mode) if sep and arrow else str(name)


def _network(data, kind: str, modes, trips: pa.Table | None = None) -> _Network:
    """The routes, candidates and leg network of a placement, with ``by_cand``: the routes each
    candidate covers."""
    net = _Network(data, kind, modes, trips)
    net.by_cand = [[] for _ in net.cands]
    for t, cov in enumerate(net.cover):
        for c in cov:
            net.by_cand[c].append(t)
    return net


def _exact(net: _Network, k: int) -> list[int]:
    nc, nt = len(net.cands), len(net.q)
    c = np.r_[np.zeros(nc), -net.q]  # minimise -sum q y
    A = lil_matrix((nt + 1, nc + nt))
    for t, cov in enumerate(net.cover):  # y_t - sum x_c <= 0
        A[t, nc + t] = 1.0
        for j in cov:
            A[t, j] -= 1.0
    A[nt, :nc] = 1.0  # sum x <= k
    ub = np.r_[np.zeros(nt), k]
    res = milp(c, constraints=LinearConstraint(A.tocsr(), -np.inf, ub), bounds=Bounds(0, 1),
               integrality=np.r_[np.ones(nc), np.zeros(nt)])
    if not res.success:  # pragma: no cover - HiGHS always solves these bounded problems
        raise ParameterError(f"exact placement failed: {res.message}")
    x = res.x[:nc]
    return [int(i) for i in np.argsort(-x, kind="stable")[:k] if x[i] > 0.5]


@tabular
def place_checkpoints(data, k: int, *, kind: str = "node", method: str = "greedy", modes=None,
                      evasive: bool = False, detour: float = 0.25, seed: int = 0,
                      trips: pa.Table | None = None) -> pa.Table:
    """Choose ``k`` checkpoints; returns them in the order chosen with the share intercepted.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``flows`` (and ``regions`` for distances; default the shipped Beibu regions).
    k : int
        How many checkpoints (>= 1).
    kind : {"node", "leg", "site"}
        A region, a crossing, or a site of the ``checkpoints`` table (see the module docstring).
    method : {"greedy", "exact", "degree", "random"}
    modes : list of str, optional
        Leg checkpoints only on these modes (road, rail, sea, post).
    evasive : bool
        Score with rerouting (see the module docstring); ``exact`` ignores evasion.
    detour : float
        Longest acceptable detour, as a share of the route's length.
    seed : int
        For ``method="random"``.
    trips : pyarrow.Table, optional
        :func:`jinduanalytics.routes.trips` of ``data``, when already computed.

    Returns
    -------
    pyarrow.Table
        ``order``, ``checkpoint``, ``intercepted_g`` (cumulative grams on intercepted trips),
        ``intercepted_share`` (of all grams), ``n_routes`` (cumulative distinct routes hit). Greedy
        returns fewer than ``k`` rows when further checkpoints would intercept nothing more
        (none at all when every candidate is evaded).
    """
    check_int("k", k, minimum=1)
    check_choice("kind", kind, KINDS)
    check_choice("method", method, METHODS)
    check_nonnegative(detour=detour)
    net = _network(data, kind, modes, trips)
    if method == "greedy":
        chosen = _greedy_evasive(net, k, detour) if evasive else _greedy_coverage(net, k)
    elif method == "exact":
        chosen = _exact(net, k)
    elif method == "degree":
        deg = pd.Series(0, index=range(len(net.cands)))
        for legs in net.legs:
            for a, b, m in legs:
                keys = [a, b] if kind == "node" else net.sites_on(a, b, m) if kind == "site" else [crossing(a, b, m)]
                for key in keys:
                    if key in net.index:
                        deg[net.index[key]] += 1
        chosen = deg.sort_values(ascending=False, kind="mergesort").index[:k].tolist()
    else:
        chosen = as_generator(seed).permutation(len(net.cands))[:k].tolist()
    rows = []
    total = float(net.q.sum())
    ev = _Evasion(net, detour) if evasive else None
    hit = np.zeros(len(net.q), dtype=bool)
    for i, c in enumerate(chosen, start=1):  # the interception of each prefix, built up one checkpoint at a time
        if ev is not None:
            ev.add(c)
            hit = ev.intercepted()
        else:
            hit[net.by_cand[c]] = True
        rows.append((i, net.cands[c], float(net.q[hit].sum()), float(net.q[hit].sum()) / total, int(hit.sum())))
    return pa.Table.from_pandas(pd.DataFrame(rows, columns=["order", "checkpoint", "intercepted_g",
                                                            "intercepted_share", "n_routes"]), preserve_index=False)


@tabular
def interception(data, checkpoints, *, kind: str = "node", evasive: bool = False, detour: float = 0.25,
                 modes=None, trips: pa.Table | None = None) -> pa.Table:
    """Per trip: is it intercepted by ``checkpoints``, or does it reroute (and where to)?

    Parameters
    ----------
    data : Dataset or mapping of tables
    checkpoints : pyarrow.Table or list of str
        :func:`place_checkpoints`' result (its ``checkpoint`` column) or checkpoint names.
    kind, evasive, detour, modes
        As in :func:`place_checkpoints`.
    trips : pyarrow.Table, optional
        :func:`jinduanalytics.routes.trips` of ``data``, when already computed.

    Returns
    -------
    pyarrow.Table
        The trips (``origin``, ``destination``, ``date``, ``quantity_g``, ``route``,
        ``modes``) plus ``intercepted``, ``rerouted``, ``new_route``, ``new_modes``.
    """
    check_choice("kind", kind, KINDS)
    net = _Network(data, kind, modes, trips)
    chosen = set(checkpoints.column("checkpoint").to_pylist() if isinstance(checkpoints, pa.Table) else checkpoints)
    if kind == "node":
        known = set(net.cands)
    elif kind == "site":  # any site of the table, also one no trip passes today: it can block a detour
        known = set(net.site)
    else:  # a leg checkpoint may sit on a crossing no trip takes today: it can still block a detour
        chosen = {_canonical(c) for c in chosen}
        known = {crossing(a, b, m) for a, nbrs in net.network.adj.items() for b, m, _ in nbrs}
    unknown = sorted(chosen - known)
    if unknown:
        shown = ", ".join(repr(c) for c in sorted(known)[:8])
        raise ParameterError(f"{len(unknown)} checkpoint(s) not on the {kind} network: "
                             f"{', '.join(repr(c) for c in unknown[:5])}; known {kind}s include {shown}"
                             f"{' …' if len(known) > 8 else ''} (see place_checkpoints' 'checkpoint' column).")
    hit, rerouted = net.intercepted(chosen, evasive, detour)
    t = net.trips.copy()
    r = net.route_of_trip
    t["intercepted"] = hit[r]
    t["rerouted"] = [int(i) in rerouted for i in r]
    t["new_route"] = [rerouted[int(i)][0] if int(i) in rerouted else None for i in r]
    t["new_modes"] = [rerouted[int(i)][1] if int(i) in rerouted else None for i in r]
    return pa.Table.from_pandas(t, preserve_index=False)
