"""Label propagation and connected components."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._checks import check_int
from .._kernels import components as CK
from .._kernels import csr as CSR
from .._kernels import lpa as LPA
from ..graph.build import as_graph
from ..options import tabular
from ._common import community_table, kernel_weights, resolve_seed, undirected

__all__ = ["label_propagation", "connected_components"]


@tabular
def label_propagation(graph, *, max_sweeps: int = 100, seed=0) -> pa.Table:
    """Asynchronous weighted label propagation (Raghavan et al. 2007).

    Each node, in a fresh random order every sweep, adopts the label carrying the most edge
    weight among its neighbours (random tie-break, keeping its own label when tied). Fast,
    parameter-free, less stable than :func:`leiden`.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Undirected; tables need ``source`` and ``target`` columns, optionally ``weight``.
    max_sweeps : int, default 100
        Stop after this many sweeps even if labels still change (the number run is in the provenance).
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same table; None draws fresh entropy (recorded in the provenance).

    Returns
    -------
    pyarrow.Table
        ``node_id``, ``community`` (0 = largest), provenance in metadata.
    """
    check_int("max_sweeps", max_sweeps, minimum=1)
    g = undirected(as_graph(graph), "label_propagation")
    rng, seed_used = resolve_seed(seed)
    state = np.array([rng.integers(0, 2**63 - 1)], dtype=np.uint64)
    labels, sweeps = LPA.label_propagation(g.indptr, g.indices, kernel_weights(g), state, max_sweeps)
    return community_table(g, labels, algorithm="label_propagation", seed=seed_used,
                           params=dict(max_sweeps=max_sweeps, sweeps_run=int(sweeps)))


@tabular
def connected_components(graph) -> pa.Table:
    """Connected components (weakly connected for a directed graph).

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Edge tables need ``source`` and ``target``; a directed graph gives weakly connected components.

    Returns
    -------
    pyarrow.Table
        ``node_id``, ``community`` (component; 0 = largest, ties to the smallest node).

    Examples
    --------
    >>> import pyarrow as pa
    >>> connected_components(pa.table({"source": ["a", "c", "d"], "target": ["b", "d", "e"]})
    ...                      ).column("community").to_pylist()
    [1, 1, 0, 0, 0]
    """
    g = as_graph(graph)
    indptr, indices = g.indptr, g.indices
    if g.directed:
        src = g.sources()
        indptr, indices, _ = CSR.coo_to_csr(g.n_nodes, np.concatenate([src, indices]),
                                            np.concatenate([indices, src]), np.ones(2 * src.size))
    labels = CK.components(indptr, indices)
    return community_table(g, labels, algorithm="connected_components", seed=None, params={})
