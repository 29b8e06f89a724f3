"""From :class:`CSRGraph` to networkx / igraph, and Gephi exports (the way in is
:mod:`jinduanalytics.graph.build`: ``from_edges``, ``from_networkx``, ``as_graph``).

networkx and igraph are imported inside the functions, so ``import jinduanalytics`` stays
fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError
from .csr import CSRGraph

__all__ = ["to_networkx", "to_igraph", "write_graphml", "write_gexf"]


def _node_attrs(g: CSRGraph) -> tuple[list, dict[str, list]]:
    ids = g.node_ids.to_pylist()
    attrs = {name: g.nodes.column(name).to_pylist() for name in g.nodes.column_names if name != "node_id"}
    return ids, attrs


def to_networkx(graph: CSRGraph):
    """A ``networkx.Graph`` (or ``DiGraph``) keyed by the analyst's node ids.

    Node attributes come from the node table; edges carry ``weight``.

    Parameters
    ----------
    graph : CSRGraph
    """
    import networkx as nx

    g = graph
    G = nx.DiGraph() if g.directed else nx.Graph()
    ids, attrs = _node_attrs(g)
    for i, node in enumerate(ids):
        G.add_node(node, **{k: v[i] for k, v in attrs.items() if v[i] is not None})
    src = g.sources()
    keep = np.ones(src.shape[0], dtype=bool) if g.directed else src <= g.indices
    s, t, w = src[keep], g.indices[keep], g.weights[keep]
    G.add_weighted_edges_from((ids[a], ids[b], float(c)) for a, b, c in zip(s.tolist(), t.tolist(), w.tolist()))
    return G


def to_igraph(graph: CSRGraph):
    """An ``igraph.Graph`` with vertex attribute ``name`` (the node id) and edge ``weight``.

    Parameters
    ----------
    graph : CSRGraph
    """
    try:
        import igraph as ig
    except ImportError as exc:  # pragma: no cover - igraph is a core dependency
        raise MissingDependencyError('to_igraph needs python-igraph; pip install igraph') from exc
    g = graph
    src = g.sources()
    keep = np.ones(src.shape[0], dtype=bool) if g.directed else src <= g.indices
    G = ig.Graph(n=g.n_nodes, edges=np.column_stack([src[keep], g.indices[keep]]).tolist(), directed=g.directed)
    G.es["weight"] = g.weights[keep].tolist()
    ids, attrs = _node_attrs(g)
    G.vs["name"] = ids
    for k, v in attrs.items():
        G.vs[k] = v
    return G


def _export_ready(graph: CSRGraph):
    G = to_networkx(graph)
    for _, data in G.nodes(data=True):
        for k, v in list(data.items()):
            if not isinstance(v, (str, int, float, bool)):
                data[k] = str(v)
    return G


def write_graphml(graph: CSRGraph, path) -> Path:
    """Write GraphML (Gephi, Cytoscape, yEd). Node ids are written as given.

    Parameters
    ----------
    graph : CSRGraph
    path : str or pathlib.Path
        The file to write.
    """
    import networkx as nx

    nx.write_graphml(_export_ready(graph), str(path))
    return Path(path)


def write_gexf(graph: CSRGraph, path) -> Path:
    """Write GEXF for Gephi.

    Parameters
    ----------
    graph : CSRGraph
    path : str or pathlib.Path
        The file to write.
    """
    import networkx as nx

    nx.write_gexf(_export_ready(graph), str(path))
    return Path(path)
