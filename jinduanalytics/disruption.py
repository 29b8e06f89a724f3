"""Disruption: remove the most central nodes and watch the largest connected component shrink.

Strategies (scores recomputed on the graph that remains):

* ``degree``: degree, or strength (sum of weights) when ``weighted``;
* ``betweenness``: Brandes betweenness; weighted = the weight is a *length* (shortest paths
  prefer light edges — networkx's convention, kept so published results reproduce);
* ``katz``: the solution of ``(I - alpha A) x = 1`` with ``A`` the (weighted) adjacency,
  normalised to unit length with the sign of its sum (as ``networkx.katz_centrality_numpy``);
* ``collective_influence`` (ℓ = 1, Morone & Makse 2015): ``CI(v) = (k_v - 1) * sum over
  neighbours u of (k_u - 1)``, with strengths for ``k`` when ``weighted``.

Modes: ``sequential`` recomputes after every removal; ``block`` removes the top ``block``
nodes at once, then recomputes. Ties: scores equal within ``tie_tolerance`` (relative) are
broken by ``tie_order`` — the node that comes *later* in it is removed first (default: the
order in which nodes first appear in the edge table, the insertion order of a networkx graph
built from it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ._checks import check_choice, check_int, n_chunks
from ._kernels import centrality as _c
from .errors import GraphInputError, ParameterError
from .graph import as_graph
from .options import tabular

__all__ = ["STRATEGIES", "DIRECTED_STRATEGIES", "removal_curve", "removal_curves", "degree_centralization",
           "key_players", "betweenness"]

STRATEGIES = ("degree", "betweenness", "katz", "collective_influence")
#: Strategies on directed graphs (``directed=True``): the LCC is then the largest *strongly*
#: connected component.
DIRECTED_STRATEGIES = ("in_degree", "out_degree", "in_strength", "out_strength")


class _Graph:
    """Undirected graph from an edge table: later rows overwrite the weight of a repeated pair.

    Why not :class:`~jinduanalytics.graph.CSRGraph`: the published removal curves this module
    reproduces (Cavallaro et al. 2020 on the Montagna networks; the CAVIAR curves of Anastasiadis
    & Antoniou 2024) were computed with networkx, whose node order is the order nodes first appear
    in the edge list and whose repeated edges keep the last weight. Ties between equal scores are
    broken by that order, so the curves depend on it. ``CSRGraph`` orders nodes by sorted key and
    sums repeated edges (what every other analysis wants); this class keeps networkx's order and
    overwrite rule, and hands the same plain CSR arrays to the same kernels.
    """

    def __init__(self, edges, source: str, target: str, weight: str | None):
        df = edges.to_pandas() if isinstance(edges, pa.Table) else pd.DataFrame(edges)
        for col in (source, target):
            if col not in df.columns:
                raise GraphInputError(f"edges: missing column '{col}'; found: {', '.join(map(str, df.columns))}")
        if df[[source, target]].isna().any().any():
            rows = np.flatnonzero(df[[source, target]].isna().any(axis=1).to_numpy())[:5].tolist()
            raise GraphInputError(f"edges: null node keys in rows {rows}")
        w = df[weight].to_numpy(float) if weight and weight in df.columns else np.ones(len(df))
        if not np.all(np.isfinite(w)) or (w <= 0).any():
            rows = np.flatnonzero(~np.isfinite(w) | (w <= 0))[:5].tolist()
            raise GraphInputError(f"edges: column '{weight}' must be finite and > 0; bad rows {rows}")
        a, b = df[source].to_numpy(), df[target].to_numpy()
        order = pd.unique(np.ravel(np.column_stack([a, b])))  # first appearance, row by row
        self.keys = order
        pos = {k: i for i, k in enumerate(order)}
        ia = np.array([pos[x] for x in a], dtype=np.int64)
        ib = np.array([pos[x] for x in b], dtype=np.int64)
        keep = ia != ib
        pair = {}
        for u, v, x in zip(ia[keep], ib[keep], w[keep]):
            pair[(min(u, v), max(u, v))] = x  # the later row wins
        n = len(order)
        us = np.array([p[0] for p in pair], dtype=np.int64)
        vs = np.array([p[1] for p in pair], dtype=np.int64)
        ws = np.array(list(pair.values()), dtype=np.float64)
        rows = np.concatenate([us, vs])
        cols = np.concatenate([vs, us])
        ww = np.concatenate([ws, ws])
        o = np.lexsort((cols, rows))
        self.indices, self.weights = cols[o], ww[o]
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(self.indptr, rows + 1, 1)
        self.indptr = np.cumsum(self.indptr)
        self.n = n
        self.src = np.repeat(np.arange(n), np.diff(self.indptr))  # source node of every stored entry

    def degree(self, alive: np.ndarray, weighted: bool) -> np.ndarray:
        ok = alive[self.src] & alive[self.indices]
        vals = self.weights[ok] if weighted else np.ones(int(ok.sum()))
        return np.bincount(self.src[ok], weights=vals, minlength=self.n)

    def lcc(self, alive: np.ndarray) -> int:
        _, sizes = _c.component_sizes(self.indptr, self.indices, alive)
        return int(sizes.max()) if sizes.size else 0


class _DiGraph:
    """Directed graph from an edge table (arcs source -> target; a repeated arc keeps its later weight)."""

    def __init__(self, edges, source: str, target: str, weight: str | None, nodes=None):
        df = edges.to_pandas() if isinstance(edges, pa.Table) else pd.DataFrame(edges)
        for col in (source, target):
            if col not in df.columns:
                raise GraphInputError(f"edges: missing column '{col}'; found: {', '.join(map(str, df.columns))}")
        w = df[weight].to_numpy(float) if weight and weight in df.columns else np.ones(len(df))
        order = list(nodes) if nodes is not None else list(pd.unique(np.ravel(np.column_stack(
            [df[source].to_numpy(), df[target].to_numpy()]))))
        pos = {k: i for i, k in enumerate(order)}
        missing = [k for k in pd.unique(np.r_[df[source].to_numpy(), df[target].to_numpy()]) if k not in pos]
        if missing:
            raise GraphInputError(f"edges: {len(missing)} node(s) missing from the node list, e.g. {missing[:3]}")
        arcs = {}
        for a, b, x in zip(df[source], df[target], w):
            if a != b:
                arcs[(pos[a], pos[b])] = x
        self.keys = np.array(order, dtype=object)
        self.n = len(order)
        self.src = np.array([a for a, _ in arcs], dtype=np.int64)
        self.dst = np.array([b for _, b in arcs], dtype=np.int64)
        self.w = np.array(list(arcs.values()), dtype=np.float64)

    def scores(self, alive: np.ndarray, strategy: str) -> np.ndarray:
        ok = alive[self.src] & alive[self.dst]
        end = self.dst if strategy.startswith("in_") else self.src
        vals = self.w[ok] if strategy.endswith("strength") else np.ones(int(ok.sum()))
        return np.bincount(end[ok], weights=vals, minlength=self.n)

    def strong_components(self, alive: np.ndarray) -> tuple[int, int]:
        """(size of the largest strongly connected component, number of them) among alive nodes."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        idx = np.flatnonzero(alive)
        pos = np.full(self.n, -1)
        pos[idx] = np.arange(idx.size)
        ok = alive[self.src] & alive[self.dst]
        m = coo_matrix((np.ones(int(ok.sum())), (pos[self.src[ok]], pos[self.dst[ok]])), shape=(idx.size, idx.size))
        n_comp, labels = connected_components(m.tocsr(), directed=True, connection="strong")
        return int(np.bincount(labels).max()) if idx.size else 0, int(n_comp)


def degree_centralization(edges, *, direction: str = "in", nodes=None, source: str = "source",
                          target: str = "target") -> float:
    """Freeman degree centralization ``sum_i (c_max - c_i) / (n - 2)`` with ``c_i = degree_i / (n - 1)``
    (in- or out-degree of a directed graph; ``nodes`` keeps isolated nodes in ``n``).

    Parameters
    ----------
    edges : pyarrow.Table or pandas.DataFrame
        A directed edge table.
    direction : {"in", "out"}, default "in"
    nodes : sequence, optional
        Every node (isolated ones included); default the nodes of the edges.
    source, target : str
        Column names.
    """
    check_choice("direction", direction, ("in", "out"))
    g = _DiGraph(edges, source, target, None, nodes=nodes)
    if g.n <= 2:
        return 0.0
    c = g.scores(np.ones(g.n, dtype=bool), f"{direction}_degree") / (g.n - 1)
    return float((c.max() - c).sum() / (g.n - 2))


def _directed_curve(edges, strategy, stop_at, tie_order, nodes, source, target, weight) -> pa.Table:
    g = _DiGraph(edges, source, target, weight, nodes=nodes)
    rank_of = np.arange(g.n, dtype=np.int64)
    if tie_order is not None:
        tie = {k: i for i, k in enumerate(tie_order)}
        rank_of = np.array([tie[k] for k in g.keys], dtype=np.int64)
    alive = np.ones(g.n, dtype=bool)
    lcc0, _ = g.strong_components(alive)
    removed, lccs, comps, nexts = [], [], [], []
    k = 0
    while alive.sum() > stop_at:
        lcc, nc = g.strong_components(alive)
        v = _pick(g.scores(alive, strategy), alive, rank_of, 1, 0.0)[0]
        alive[v] = False
        removed.append(k)
        lccs.append(lcc)
        comps.append(nc)
        nexts.append(str(g.keys[v]))
        k += 1
    lcc_arr = np.array(lccs, dtype=np.int64)
    return pa.table({"removed": pa.array(removed, pa.int64()), "lcc": pa.array(lcc_arr),
                     "rho": pa.array(lcc_arr / lcc0 if lcc0 else np.zeros(len(lccs))),
                     "n_components": pa.array(comps, pa.int64()), "next_removed": pa.array(nexts, pa.string())})


def _betweenness_bfs(indptr, indices, sources, alive) -> np.ndarray:
    """Unweighted Brandes scores from ``sources`` over ``alive`` nodes (parallel kernel)."""
    chunks = n_chunks(len(sources))
    return _c.betweenness_from_sources(indptr, indices, sources, alive, chunks)


def _scores(g: _Graph, alive: np.ndarray, strategy: str, weighted: bool, katz_alpha: float) -> np.ndarray:
    if strategy == "degree":
        return g.degree(alive, weighted)
    if strategy == "collective_influence":
        k = g.degree(alive, weighted)
        ok = alive[g.src] & alive[g.indices]
        s = np.bincount(g.src[ok], weights=k[g.indices[ok]] - 1.0, minlength=g.n)
        return (k - 1.0) * s
    if strategy == "betweenness":
        if weighted:
            return _c.weighted_betweenness(g.indptr, g.indices, g.weights, alive)
        return _betweenness_bfs(g.indptr, g.indices, np.flatnonzero(alive).astype(np.int64), alive)
    idx = np.flatnonzero(alive)  # katz on the alive subgraph, dense (small graphs)
    pos = np.full(g.n, -1)
    pos[idx] = np.arange(idx.size)
    A = np.zeros((idx.size, idx.size))
    ok = alive[g.src] & alive[g.indices]
    A[pos[g.src[ok]], pos[g.indices[ok]]] = g.weights[ok] if weighted else 1.0
    x = np.linalg.solve(np.eye(idx.size) - katz_alpha * A.T, np.ones(idx.size))
    norm = np.sign(x.sum()) * np.linalg.norm(x)
    out = np.full(g.n, -np.inf)
    out[idx] = x / norm
    return out


def _pick(scores: np.ndarray, alive: np.ndarray, rank_of: np.ndarray, k: int, tol: float) -> list[int]:
    """The k alive nodes of highest score; scores within ``tol`` (relative to the largest)
    are ties, broken by the later tie rank."""
    idx = np.flatnonzero(alive)
    s = scores[idx]
    if tol > 0:
        scale = max(float(np.max(np.abs(s))) if s.size else 1.0, 1e-300)
        q = np.round(s / scale / tol) * tol
    else:
        q = s
    order = np.lexsort((-rank_of[idx], -q))
    return idx[order[:k]].tolist()


@tabular
def removal_curve(edges, *, strategy: str, mode: str = "sequential", block: int = 5, weighted: bool = False,
                  stop_at: int = 5, tie_order=None, tie_tolerance: float = 1e-9, katz_alpha: float = 0.1,
                  directed: bool = False, nodes=None, source: str = "source",
                  target: str = "target", weight: str | None = "weight") -> pa.Table:
    """Remove nodes by ``strategy`` until ``stop_at`` nodes remain; the LCC after each step.

    Parameters
    ----------
    edges : table
        ``source``, ``target`` and optionally ``weight`` (> 0). Undirected; a pair listed
        twice keeps the weight of its later row; self-loops are dropped.
    strategy : str
        Which node goes next: one of :data:`STRATEGIES` (undirected; recomputed after each
        removal in sequential mode) or :data:`DIRECTED_STRATEGIES` (``directed=True``).
    mode : {"sequential", "block"}
    block : int
        Nodes removed at once in block mode.
    weighted : bool
        Use edge weights (strength instead of degree; distances ``1 / weight`` for betweenness).
    stop_at : int
        Stop when this many nodes remain.
    tie_order : sequence of node keys, optional
        Priority among tied scores: later wins (default: first appearance in ``edges``).
    tie_tolerance : float
        Scores within this fraction of the largest score are ties (0: exact comparison —
        then ties that only rounding noise separates are decided by that noise).
    katz_alpha : float
        Attenuation of the ``katz`` strategy (below the inverse of the largest eigenvalue).
    directed : bool
        Directed graph: strategies :data:`DIRECTED_STRATEGIES`, sequential only, ``lcc`` is
        the largest strongly connected component and ``n_components`` the number of them.
    nodes : sequence, optional
        Directed graphs: every node (isolated ones count), in the order used for ties.
    source, target, weight : str
        Column names of ``edges`` (``weight=None``: unweighted).

    Returns
    -------
    pyarrow.Table
        One row per recorded step: ``removed`` (nodes removed before it), ``lcc`` (size of the
        largest component), ``rho`` (``lcc / lcc_0``), ``next_removed`` (the node(s) removed
        right after, comma-joined).
    """
    if directed:
        check_choice("strategy", strategy, DIRECTED_STRATEGIES)
        check_int("stop_at", stop_at, minimum=0)
        if mode != "sequential":
            raise ParameterError("directed removal curves are sequential only")
        return _directed_curve(edges, strategy, stop_at, tie_order, nodes, source, target, weight)
    check_choice("strategy", strategy, STRATEGIES)
    check_choice("mode", mode, ("sequential", "block"))
    check_int("block", block, minimum=1)
    check_int("stop_at", stop_at, minimum=0)
    g = _Graph(edges, source, target, weight)
    rank_of = np.arange(g.n, dtype=np.int64)
    if tie_order is not None:
        tie = {k: i for i, k in enumerate(tie_order)}
        missing = [k for k in g.keys if k not in tie]
        if missing:
            raise ParameterError(f"tie_order misses {len(missing)} node(s), e.g. {missing[:3]}")
        rank_of = np.array([tie[k] for k in g.keys], dtype=np.int64)
    alive = np.ones(g.n, dtype=bool)
    lcc0 = g.lcc(alive)
    removed, lccs, nexts = [], [], []
    n_removed = 0
    step = 1 if mode == "sequential" else block
    while alive.sum() > stop_at:
        lcc = g.lcc(alive)
        picks = _pick(_scores(g, alive, strategy, weighted, katz_alpha), alive, rank_of, step, tie_tolerance)
        taken = []
        for v in picks:
            if alive.sum() <= stop_at:
                break
            alive[v] = False
            taken.append(v)
        removed.append(n_removed)
        lccs.append(lcc)
        nexts.append(",".join(str(g.keys[v]) for v in taken))
        n_removed += len(taken)
    lcc_arr = np.array(lccs, dtype=np.int64)
    return pa.table({"removed": pa.array(removed, pa.int64()), "lcc": pa.array(lcc_arr),
                     "rho": pa.array(1.0 - np.abs(lcc_arr - lcc0) / lcc0 if lcc0 else np.zeros(len(lccs))),
                     "next_removed": pa.array(nexts, pa.string())})


@tabular
def removal_curves(edges, *, strategies=STRATEGIES, modes=("sequential", "block"), weightings=(False, True),
                   **options) -> pa.Table:
    """:func:`removal_curve` for every strategy, mode and weighting: long table with
    ``strategy``, ``mode``, ``weighted`` columns added (ready for ``plot.disruption_curve``).

    Parameters
    ----------
    edges : pyarrow.Table or pandas.DataFrame
    strategies, modes, weightings : tuples
        Every combination is run.
    **options
        Passed to :func:`removal_curve`.
    """
    parts = []
    for mode in modes:
        for weighted in weightings:
            for strategy in strategies:
                t = removal_curve(edges, strategy=strategy, mode=mode, weighted=weighted, **options)
                n = t.num_rows
                parts.append(t.append_column("strategy", pa.array([strategy] * n))
                             .append_column("mode", pa.array([mode] * n))
                             .append_column("weighted", pa.array([weighted] * n)))
    return pa.concat_tables(parts)


def _fragmentation(g: _Graph, alive: np.ndarray) -> float:
    """Borgatti's fragmentation of the alive subgraph: 1 - sum s(s-1) / (n(n-1)), s = component sizes."""
    n = int(alive.sum())
    if n < 2:
        return 1.0
    _, sizes = _c.component_sizes(g.indptr, g.indices, alive)
    s = sizes.astype(np.float64)
    return float(1.0 - (s * (s - 1)).sum() / (n * (n - 1.0)))


@tabular
def key_players(edges, k: int, *, n_starts: int = 5, seed: int = 0, compare=("degree", "betweenness"),
                source: str = "source", target: str = "target", weight: str | None = "weight") -> pa.Table:
    """KPP-Neg (Borgatti 2006): the k nodes whose removal fragments the network most.

    Fragmentation after removing a set: ``F = 1 - sum_c s_c (s_c - 1) / (n (n - 1))`` over the
    components of what remains (0 = one component, 1 = all isolated). Search: greedy start,
    then swaps (a member for a non-member) while F improves; the best over ``n_starts`` starts
    (the first greedy, the others random) and the compared top-k sets as starts too, so the
    result is never worse than any of them.

    Parameters
    ----------
    edges : pyarrow.Table or pandas.DataFrame
    k : int
        Size of the key-player set (smaller than the number of nodes).
    n_starts : int, default 5
        Random starts of the swap search; the best is kept.
    seed : int, default 0
    compare : tuple of str
        Centralities whose top-k sets are reported beside it.
    source, target, weight : str
        Column names of the edge table.

    Returns
    -------
    pyarrow.Table
        One row per set: ``method`` (``kpp`` and each of ``compare``: top-k by that centrality,
        computed once on the whole graph), ``nodes`` (comma-joined keys), ``fragmentation``,
        ``lcc`` (largest component left).
    """
    check_int("k", k, minimum=1)
    check_int("n_starts", n_starts, minimum=1)
    g = _Graph(edges, source, target, weight)
    if k >= g.n:
        raise ParameterError(f"k = {k} must be smaller than the number of nodes ({g.n})")
    rng = np.random.default_rng(seed)

    def frag(members) -> float:
        alive = np.ones(g.n, dtype=bool)
        alive[list(members)] = False
        return _fragmentation(g, alive)

    alive0 = np.ones(g.n, dtype=bool)
    baselines = {strategy: _pick(_scores(g, alive0, strategy, False, 0.1), alive0, np.arange(g.n), k, 1e-9)
                 for strategy in compare}
    starts = list(range(n_starts)) + list(baselines)  # the compared sets are starts too: KPP is never worse
    best_set, best_f = None, -1.0
    for start in starts:
        if isinstance(start, str):
            cur = list(baselines[start])
        elif start == 0:
            cur: list[int] = []
            for _ in range(k):
                cand = [v for v in range(g.n) if v not in cur]
                cur.append(max(cand, key=lambda v: (frag(cur + [v]), -v)))
        else:
            cur = rng.choice(g.n, size=k, replace=False).tolist()
        f = frag(cur)
        improved = True
        while improved:
            improved = False
            for i in range(k):
                for v in range(g.n):
                    if v in cur:
                        continue
                    trial = cur[:i] + [v] + cur[i + 1:]
                    ft = frag(trial)
                    if ft > f + 1e-12:
                        cur, f, improved = trial, ft, True
        if f > best_f + 1e-12:
            best_set, best_f = sorted(cur), f
    rows = [("kpp", best_set, best_f)] + [(s_, sorted(top), frag(top)) for s_, top in baselines.items()]
    out = {"method": [], "nodes": [], "fragmentation": [], "lcc": []}
    for method, members, f in rows:
        a = np.ones(g.n, dtype=bool)
        a[members] = False
        out["method"].append(method)
        out["nodes"].append(",".join(str(g.keys[v]) for v in members))
        out["fragmentation"].append(f)
        out["lcc"].append(g.lcc(a))
    return pa.table({"method": out["method"], "nodes": out["nodes"],
                     "fragmentation": pa.array(out["fragmentation"], pa.float64()),
                     "lcc": pa.array(out["lcc"], pa.int64())})


@tabular
def betweenness(graph, *, samples: int | None = None, seed: int = 0, normalized: bool = True) -> pa.Table:
    """Betweenness centrality of an undirected, unweighted graph; exact or by source sampling.

    With ``samples`` (Brandes & Pich 2007), shortest-path dependencies are accumulated from
    ``samples`` sources drawn uniformly without replacement and scaled by ``n / samples``: an
    unbiased estimate whose error shrinks as 1/sqrt(samples); the top of the ranking settles
    first. Exact (``samples=None``) costs one BFS per node. Normalised as networkx does for
    undirected graphs (``2 / ((n-1)(n-2))`` times the pair count).

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table or pandas.DataFrame
        Undirected; weights are ignored.
    samples : int, optional
        Sources to sample (default: every node, exact).
    seed : int, default 0
    normalized : bool, default True

    Returns
    -------
    pyarrow.Table
        ``node_id``, ``betweenness``; metadata ``jindu.samples``.
    """
    g = as_graph(graph)
    n = g.n_nodes
    rng = np.random.default_rng(seed)
    if samples is None or samples >= n:
        sources = np.arange(n, dtype=np.int64)
    else:
        check_int("samples", samples, minimum=1)
        sources = np.sort(rng.choice(n, size=samples, replace=False)).astype(np.int64)
    bc = _betweenness_bfs(g.indptr, g.indices, sources, np.ones(n, dtype=bool))
    bc *= n / max(len(sources), 1)  # an empty graph has no source: an empty table
    bc /= 2.0  # each unordered pair was counted from both ends
    if normalized and n > 2:
        bc *= 2.0 / ((n - 1) * (n - 2))
    t = pa.table({"node_id": g.node_ids, "betweenness": pa.array(bc)})
    return t.replace_schema_metadata({b"jindu.samples": str(len(sources)).encode()})
