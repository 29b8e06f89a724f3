"""Adapters between :class:`CSRGraph` and networkx / igraph, and Gephi exports.

networkx and igraph are imported inside the functions, so ``import jinduanalytics`` stays
fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import GraphInputError, MissingDependencyError
from .csr import CSRGraph

__all__ = ["to_networkx", "from_networkx", "to_igraph", "write_graphml", "write_gexf"]


def _node_attrs(g: CSRGraph) -> tuple[list, dict[str, list]]:
    ids = g.node_ids.to_pylist()
    attrs = {name: g.nodes.column(name).to_pylist() for name in g.nodes.column_names if name != "node_id"}
    return ids, attrs


def to_networkx(graph: CSRGraph):
    """A ``networkx.Graph`` (or ``DiGraph``) keyed by the analyst's node ids.

    Node attributes come from the node table; edges carry ``weight``.
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


def from_networkx(G, *, weight: str = "weight") -> CSRGraph:
    """A :class:`CSRGraph` from a networkx graph; missing weights count as 1.

    Node keys must be all strings or all integers. Node attributes that every node has
    with a simple type (str, int, float, bool) go to the node table. Multigraph edges
    between the same nodes are summed.
    """
    from .build import from_edges

    nodes = list(G.nodes)
    if nodes and not (all(isinstance(n, str) for n in nodes) or
                      all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in nodes)):
        raise GraphInputError("from_networkx: node keys must be all strings or all integers")
    key_type = pa.string() if nodes and isinstance(nodes[0], str) else pa.int64()
    src, dst, w = [], [], []
    for u, v, data in G.edges(data=True):
        src.append(u)
        dst.append(v)
        w.append(data.get(weight, 1.0))
    edges = pa.table({"source": pa.array(src, type=key_type), "target": pa.array(dst, type=key_type),
                      "weight": pa.array(w, type=pa.float64())})
    g = from_edges(edges, directed=G.is_directed(), nodes=pa.array(nodes, type=key_type), what="networkx graph")
    # node attributes shared by every node, in the graph's (sorted) node order
    order = g.node_ids.to_pylist()
    table = g.nodes
    names = set.intersection(*(set(d) for _, d in G.nodes(data=True))) if nodes else set()
    for name in sorted(names - {"node_id"}):
        values = [G.nodes[n][name] for n in order]
        if all(isinstance(v, (str, int, float, bool)) for v in values):
            try:
                table = table.append_column(name, pa.array(values))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                continue
    return CSRGraph(g.indptr, g.indices, g.weights, table, g.directed)


def to_igraph(graph: CSRGraph):
    """An ``igraph.Graph`` with vertex attribute ``name`` (the node id) and edge ``weight``."""
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
    """Write GraphML (Gephi, Cytoscape, yEd). Node ids are written as given."""
    import networkx as nx

    nx.write_graphml(_export_ready(graph), str(path))
    return Path(path)


def write_gexf(graph: CSRGraph, path) -> Path:
    """Write GEXF for Gephi."""
    import networkx as nx

    nx.write_gexf(_export_ready(graph), str(path))
    return Path(path)
