"""Quality functions of a partition: modularity and CPM."""

from __future__ import annotations

import numpy as np

from .._checks import check_positive
from ..graph.build import as_graph
from ..options import tabular
from ._common import kernel_weights, labels_from, undirected

__all__ = ["modularity", "cpm_quality"]


@tabular
def modularity(graph, partition, *, resolution: float = 1.0) -> float:
    """Newman–Girvan modularity with resolution γ (networkx/igraph conventions).

    .. math:: Q = \\sum_c \\left[ \\frac{L_c}{m} - \\gamma \\left(\\frac{d_c}{2m}\\right)^2 \\right]

    ``L_c`` is the weight inside community c (a self-loop counts once), ``d_c`` its total
    strength (a self-loop counts twice) and ``m`` the total weight. 0 for a graph without weight.

    Parameters
    ----------
    graph : CSRGraph or edge table
    partition : result table (``node_id``, ``community``) or int array in node order
    resolution : float
        γ (> 0).

    Returns
    -------
    float
    """
    check_positive(resolution=resolution)
    g = undirected(as_graph(graph), "modularity")
    labels = labels_from(g, partition)
    w = kernel_weights(g)
    two_m = w.sum()
    if two_m == 0:
        return 0.0
    src = g.sources()
    internal = w[labels[src] == labels[g.indices]].sum()
    d = np.bincount(labels, weights=np.bincount(src, weights=w, minlength=g.n_nodes))
    return float(internal / two_m - resolution * np.sum((d / two_m) ** 2))


@tabular
def cpm_quality(graph, partition, *, resolution: float = 1.0, node_sizes=None) -> float:
    """Constant Potts Model quality (Traag, Van Dooren & Nesterov 2011).

    .. math:: H = \\sum_c \\left[ e_c - \\gamma \\binom{n_c}{2} \\right]

    ``e_c`` is the weight inside community c and ``n_c`` its size (sum of ``node_sizes``,
    default 1 per node). leidenalg's ``CPMVertexPartition.quality()`` reports twice this value
    for undirected graphs.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
        Undirected; tables need ``source`` and ``target`` columns, optionally ``weight``.
    partition : pyarrow.Table or array
        A result table (``node_id``, ``community``) or one label per node in the graph's node order.
    resolution : float, default 1.0
    node_sizes : array, optional
        Node weights (default 1 each).
    """
    check_positive(resolution=resolution)
    g = undirected(as_graph(graph), "cpm_quality")
    labels = labels_from(g, partition)
    src = g.sources()
    same = labels[src] == labels[g.indices]
    loops = src == g.indices
    internal = (g.weights[same & ~loops].sum() / 2.0) + g.weights[same & loops].sum()
    sizes = np.ones(g.n_nodes) if node_sizes is None else np.asarray(node_sizes, dtype=np.float64)
    n_c = np.bincount(labels, weights=sizes)
    return float(internal - resolution * np.sum(n_c * (n_c - 1) / 2.0))
