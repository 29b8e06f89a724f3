"""Leiden and Louvain community detection (numba kernels, seeded, deterministic)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._checks import check_choice, check_int, check_positive, n_chunks
from .._kernels import leiden as K
from .._kernels.components import components_within
from .._kernels.csr import row_sums
from ..errors import GraphInputError
from ..graph.build import as_graph
from ..options import tabular
from ._common import (
    community_table,
    kernel_weights,
    labels_from,
    resolve_seed,
    sort_by_size,
    undirected,
    with_provenance,
)

__all__ = ["leiden", "louvain", "leiden_levels", "louvain_levels"]


def _optimise(g, **kwargs):
    """Run Louvain (refine=False) or Leiden; returns (final labels, list of per-level labels,
    empty unless keep_levels). An exception raised inside a kernel surfaces as a JinduError
    naming the algorithm, never as numba's bare SystemError."""
    try:
        return _optimise_levels(g, **kwargs)
    except SystemError as exc:
        from ..errors import JinduError

        raise JinduError(f"internal error in the {'Leiden' if kwargs.get('refine') else 'Louvain'} kernel on a graph "
                         f"of {g.n_nodes} nodes and {g.n_edges} edges ({exc}); please report it with the "
                         "input and the seed") from exc


def _optimise_levels(g, *, refine: bool, resolution: float, objective: str, n_iterations: int,
                     max_levels: int | None, rng: np.random.Generator, initial: np.ndarray | None = None,
                     keep_levels: bool = False):
    n = g.n_nodes
    w = kernel_weights(g)
    strength0 = row_sums(g.indptr, w)
    weight_dtype = _weight_dtype(K.all_integral(w), strength0)
    if objective == "modularity":
        node_w0 = strength0
        total = node_w0.sum()
        gamma_eff = resolution / total if total > 0 else 0.0
    else:
        node_w0 = np.ones(n, dtype=np.float64)
        gamma_eff = float(resolution)
    if n == 0:
        return np.empty(0, dtype=np.int64), []
    if objective == "modularity" and node_w0.sum() == 0:
        return np.arange(n, dtype=np.int64), [np.arange(n, dtype=np.int64)]
    labels = np.arange(n, dtype=np.int64) if initial is None else initial.astype(np.int64)
    levels: list[np.ndarray] = []
    iterations = 0
    while True:
        iterations += 1
        last = n_iterations > 0 and iterations >= n_iterations
        # the partition this pass starts from, to tell whether it changed it; not kept on the last
        # pass, nor for singletons (a pass changed those iff it merged anything)
        before = None if last or (initial is None and iterations == 1) else K.renumber(labels)[0]
        labels, levels, _, coarse = _one_pass(g.indptr, g.indices, w, node_w0, strength0, weight_dtype, labels,
                                              gamma_eff, refine, max_levels, rng, keep_levels)
        if last:
            break
        # stable = the same partition as the pass started from (aggregation always "moves" the
        # refined sub-communities back into their community, so moves alone never settle)
        after = K.renumber(labels)[0]
        if before is None:
            stable = after[-1] == n - 1 if n else True  # first-appearance ids: n-1 last iff all singletons
        else:
            stable = np.array_equal(before, after)
        if stable:
            break
    if refine:
        # Refinement guarantees connected communities; kept as a safety net (it never lowers
        # quality). Every node of the coarsest graph is a connected set of original nodes, so a
        # community is connected iff it is connected there: the check runs on that small graph.
        ip, ix, P, membership = coarse
        labels = components_within(ip, ix, P)[membership]
    return labels, levels


def _one_pass(indptr, indices, w, node_w0, strength0, weight_dtype, init, gamma_eff, refine, max_levels, rng,
              keep_levels):
    """One iteration: local moving, refinement and aggregation until nothing merges. Returns the
    labels of the original nodes, the per-level labels (if keep_levels), whether anything moved,
    and (coarsest CSR indptr, indices, its labels, original node -> coarsest node)."""
    n = node_w0.shape[0]
    P, _ = K.renumber(init)
    # every level in one storage (int32 ids, the run's weight dtype), so the kernels are
    # compiled for one array signature per run (see _weight_dtype); converted per pass rather
    # than once per run, so the level-0 copy is dropped at the first aggregation instead of
    # living through the coarse levels' peak
    ip, ix, iw = indptr, _as_int32(indices, n), w.astype(weight_dtype, copy=False)
    # init (int64[n], the caller's own array) is not read again: its buffer becomes membership,
    # original node -> node of the current level, so the pass holds one n-sized array less
    membership = init
    membership[:] = np.arange(n, dtype=np.int64)
    nw = node_w0
    # strength: each node's row sum, the next level's node weights under modularity
    strength = strength0
    levels = []
    changed = False
    level = 0
    while True:
        n_g = nw.shape[0]
        moves = K.local_moving(ip, ix, iw, nw, _sweep_order(n_g, rng), P, gamma_eff, _BATCH, n_chunks(per_thread=1))
        changed = changed or moves > 0
        P, k = K.renumber(P)
        if keep_levels:
            levels.append(P[membership])
        if k == n_g:
            break
        if refine:
            R, kr = K.renumber_within(K.refine(ip, ix, iw, nw, _sweep_order(n_g, rng), P, k,
                                               gamma_eff, n_chunks()), P, k)
        else:
            R, kr = P, k
        if kr == n_g:
            break
        level += 1
        if max_levels is not None and level >= max_levels:
            break
        strength_next = np.bincount(R, weights=strength, minlength=kr)
        ip, ix, iw = K.aggregate(ip, ix, iw, R, kr, n_chunks(), weight_dtype)
        nw = strength_next if nw is strength else np.bincount(R, weights=nw, minlength=kr)
        strength = strength_next
        P_next = np.empty(kr, dtype=np.int64)
        P_next[R] = P
        K.compose_into(membership, R)
        P = P_next
        changed = True
    return P[membership], levels, changed, (ip, ix, P, membership)


def _weight_dtype(integral: bool, strength: np.ndarray):
    """How every level's weights are stored: float32 when that is exact for all of them (all input
    weights integers, so every aggregated weight is an integer no larger than the total
    strength, which is below 2**24), else float64. The kernels accumulate in float64 either
    way, so results are bit-identical. One dtype for all levels (and int32 ids, ``_as_int32``)
    means one compiled version of each kernel per run instead of one per (id, weight) storage
    met: the first Leiden call on a 1M-node graph compiled three (int64/float64 at level 0,
    int32/uint16 and int32/float32 above; issue 22). float32 also cuts the memory traffic of the
    level-0 sweeps; the price is a level-0 copy of the adjacency (8 bytes an entry), dropped
    after the first aggregation. Graphs under ``_NARROW_FROM`` nodes keep float64 (little to
    save there), so analyses that only meet such graphs compile the kernels once."""
    if strength.size >= _NARROW_FROM and integral and float(strength.sum()) < 2.0 ** 24:
        return np.float32
    return np.float64


_NARROW_FROM = 100_000  # nodes


def _as_int32(indices: np.ndarray, n: int) -> np.ndarray:
    """Node ids (all < n) as int32; CSRGraph holds them as int64."""
    if n >= 2**31 - 1:
        raise GraphInputError(f"a graph of {n} nodes: the community kernels take fewer than 2**31 - 1")
    return indices.astype(np.int32, copy=False)


def _sweep_order(n: int, rng: np.random.Generator) -> np.ndarray:
    """The order local moving sweeps the nodes in, and refinement visits each community's members
    in: runs of _RUN consecutive node ids, the runs in random order. Consecutive ids make the
    adjacency reads sequential (a full random permutation made local moving ~2x slower at 1M
    nodes, and drawing one cost ~0.12 s per level at 3M nodes); graphs of at most _RUN nodes get
    a full permutation."""
    if n <= _RUN:
        return rng.permutation(n).astype(np.int64)
    n_runs = -(-n // _RUN)
    starts = rng.permutation(n_runs).astype(np.int64) * _RUN
    order = (starts[:, None] + np.arange(_RUN, dtype=np.int64)).ravel()
    return order[order < n]


_RUN = 64
_BATCH = 4096  # nodes per batch of local moving (the result does not depend on it)


def _check(resolution, objective, n_iterations, max_levels):
    check_positive(resolution=resolution)
    check_choice("objective", objective, ("modularity", "cpm"))
    check_int("n_iterations", n_iterations, minimum=-1)
    if n_iterations == 0:
        from ..errors import ParameterError

        raise ParameterError("n_iterations must be >= 1, or -1 to iterate until nothing changes; got 0.")
    if max_levels is not None:
        check_int("max_levels", max_levels, minimum=1)


def _initial(g, initial):
    return None if initial is None else labels_from(g, initial)


@tabular
def leiden(graph, *, resolution: float = 1.0, objective: str = "modularity", n_iterations: int = 2,
           max_levels: int | None = None, initial=None, seed=0) -> pa.Table:
    """Partition a graph into communities with the Leiden algorithm.

    Leiden adds a refinement step to Louvain-style local moving so that every community is
    connected [1]_. Local moving sweeps the nodes in a seeded random order of runs of
    consecutive nodes, revisiting only nodes whose neighbourhood changed (vertex pruning, as
    the paper's queue does; the runs keep memory reads sequential); refinement merges
    singletons greedily into well-connected sub-communities; aggregation collapses the
    refined partition. The whole procedure runs ``n_iterations`` times, each starting from
    the previous result.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table or pandas.DataFrame
        Undirected. Tables need ``source`` and ``target`` columns, optionally ``weight``.
    resolution : float, default 1.0
        γ > 0. Higher values give more, smaller communities.
    objective : {"modularity", "cpm"}, default "modularity"
    n_iterations : int, default 2
        Iterations of the whole algorithm; -1 iterates until nothing changes.
    max_levels : int, optional
        Stop aggregating after this many levels.
    initial : result table or int array, optional
        Start from this partition.
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same table (at any thread count, for any input row order);
        None draws fresh entropy (the seed drawn is recorded in the provenance).

    Returns
    -------
    pyarrow.Table
        One row per node: ``node_id`` and ``community`` (int64, 0 = largest; ties go to the
        community holding the smallest node). Provenance is in the schema metadata; see
        :func:`jinduanalytics.provenance`.

    References
    ----------
    .. [1] Traag, Waltman & van Eck (2019). From Louvain to Leiden: guaranteeing
       well-connected communities. Sci Rep 9, 5233.

    Examples
    --------
    >>> import pyarrow as pa
    >>> edges = pa.table({"source": ["a", "a", "b", "x", "x", "y", "c"],
    ...                   "target": ["b", "c", "c", "y", "z", "z", "x"]})
    >>> leiden(edges, seed=1).column("community").to_pylist()
    [0, 0, 0, 1, 1, 1]
    """
    _check(resolution, objective, n_iterations, max_levels)
    g = undirected(as_graph(graph), "leiden")
    rng, seed_used = resolve_seed(seed)
    labels, _ = _optimise(g, refine=True, resolution=resolution, objective=objective, n_iterations=n_iterations,
                          max_levels=max_levels, rng=rng, initial=_initial(g, initial))
    return community_table(g, labels, algorithm="leiden", seed=seed_used,
                           params=dict(resolution=resolution, objective=objective, n_iterations=n_iterations,
                                       max_levels=max_levels, initial=initial is not None))


@tabular
def louvain(graph, *, resolution: float = 1.0, objective: str = "modularity", max_levels: int | None = None,
            seed=0) -> pa.Table:
    """Partition a graph with the Louvain method (Blondel et al. 2008): local moving and
    aggregation until no node moves. Communities may be internally disconnected; prefer
    :func:`leiden`. Same parameters and result as :func:`leiden`.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Undirected; tables need ``source`` and ``target`` columns, optionally ``weight``.
    resolution : float, default 1.0
        Must be > 0. Higher values give more, smaller communities.
    objective : {"modularity", "cpm"}, default "modularity"
    max_levels : int, optional
        Stop aggregating after this many levels.
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same table; None draws fresh entropy (recorded in the provenance).

    Examples
    --------
    >>> import pyarrow as pa
    >>> edges = pa.table({"source": [1, 1, 2, 4, 4, 5], "target": [2, 3, 3, 5, 6, 6]})
    >>> louvain(edges, seed=0).column("community").to_pylist()
    [0, 0, 0, 1, 1, 1]
    """
    _check(resolution, objective, 1, max_levels)
    g = undirected(as_graph(graph), "louvain")
    rng, seed_used = resolve_seed(seed)
    labels, _ = _optimise(g, refine=False, resolution=resolution, objective=objective, n_iterations=1,
                          max_levels=max_levels, rng=rng)
    return community_table(g, labels, algorithm="louvain", seed=seed_used,
                           params=dict(resolution=resolution, objective=objective, max_levels=max_levels))


def _levels_table(g, levels, algorithm, seed, params):
    n = g.n_nodes
    ids = g.node_ids
    parts = [pa.table({"node_id": ids, "level": pa.array(np.full(n, i, dtype=np.int64)),
                       "community": pa.array(sort_by_size(lab), pa.int64())}) for i, lab in enumerate(levels)]
    t = pa.concat_tables(parts) if parts else pa.table({"node_id": ids.slice(0, 0), "level": pa.array([], pa.int64()),
                                                        "community": pa.array([], pa.int64())})
    return with_provenance(t, algorithm=algorithm, seed=seed, params=params, digest=g.digest())


def _levels(graph, refine: bool, name: str, resolution, objective, seed) -> pa.Table:
    _check(resolution, objective, 1, None)
    g = undirected(as_graph(graph), name)
    rng, seed_used = resolve_seed(seed)
    _, levels = _optimise(g, refine=refine, resolution=resolution, objective=objective, n_iterations=1,
                          max_levels=None, rng=rng, keep_levels=True)
    return _levels_table(g, levels, name, seed_used, dict(resolution=resolution, objective=objective))


@tabular
def leiden_levels(graph, *, resolution: float = 1.0, objective: str = "modularity", seed=0) -> pa.Table:
    """Every level of one Leiden pass: rows ``node_id``, ``level`` (0 = finest), ``community``.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Undirected; tables need ``source`` and ``target`` columns, optionally ``weight``.
    resolution : float, default 1.0
    objective : {"modularity", "cpm"}, default "modularity"
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same table; None draws fresh entropy (recorded in the provenance).
    """
    return _levels(graph, True, "leiden_levels", resolution, objective, seed)


@tabular
def louvain_levels(graph, *, resolution: float = 1.0, objective: str = "modularity", seed=0) -> pa.Table:
    """Every level of Louvain (the dendrogram): rows ``node_id``, ``level``, ``community``.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Undirected; tables need ``source`` and ``target`` columns, optionally ``weight``.
    resolution : float, default 1.0
    objective : {"modularity", "cpm"}, default "modularity"
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same table; None draws fresh entropy (recorded in the provenance).
    """
    return _levels(graph, False, "louvain_levels", resolution, objective, seed)
