"""The one graph type of jinduanalytics: CSR arrays plus a node table."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from .._kernels.csr import coo_to_csr
from ..errors import GraphInputError

__all__ = ["CSRGraph"]


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """A weighted graph in compressed sparse row form.

    Attributes
    ----------
    indptr : int64[n_nodes + 1]
    indices : int64[nnz]
        Neighbours of node ``i`` are ``indices[indptr[i]:indptr[i + 1]]``, strictly increasing.
    weights : float64[nnz]
        Edge weights, finite and >= 0.
    nodes : pyarrow.Table
        One row per node, in dense-id order. Column ``node_id`` holds the analyst's keys;
        builders add attributes (``node_type``, ``kind``, ``region_id`` ...).
    directed : bool
        Undirected graphs store every edge in both rows; a self-loop is stored once.

    Parameters
    ----------
    indptr : numpy array of int64, shape (n + 1,)
    indices : numpy array of int64, shape (m,)
        Neighbours, each row sorted; undirected graphs store both directions.
    weights : numpy array of float64, shape (m,)
    nodes : pyarrow.Table
        One row per node: ``node_id`` (the analyst's key) and any node attributes.
    directed : bool, default False
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    nodes: pa.Table
    directed: bool = False

    def __post_init__(self):
        indptr, indices, weights = self.indptr, self.indices, self.weights
        for name, arr, dtype in (("indptr", indptr, np.int64), ("indices", indices, np.int64),
                                 ("weights", weights, np.float64)):
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
                raise GraphInputError(f"CSRGraph.{name} must be a 1-d numpy {np.dtype(dtype).name} array; "
                                      f"got {getattr(arr, 'dtype', type(arr).__name__)}")
        n = indptr.shape[0] - 1
        if n < 0 or indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
            raise GraphInputError("CSRGraph.indptr must start at 0, be non-decreasing and end at len(indices)")
        if weights.shape != indices.shape:
            raise GraphInputError(f"CSRGraph.weights has {weights.shape[0]} entries, indices {indices.shape[0]}")
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise GraphInputError(f"CSRGraph.indices must lie in [0, {n}); found values outside")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise GraphInputError("CSRGraph.weights must be finite and >= 0")
        if "node_id" not in self.nodes.column_names or self.nodes.num_rows != n:
            raise GraphInputError(f"CSRGraph.nodes must have a 'node_id' column and {n} rows; "
                                  f"got {self.nodes.num_rows} rows, columns {self.nodes.column_names}")

    # -- sizes ---------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return self.indptr.shape[0] - 1

    @property
    def n_edges(self) -> int:
        """Number of edges; an undirected edge counts once, a self-loop once."""
        if self.directed:
            return int(self.indices.shape[0])
        loops = int(np.count_nonzero(self.indices == self.sources()))
        return (int(self.indices.shape[0]) - loops) // 2 + loops

    @property
    def node_ids(self) -> pa.Array:
        return self.nodes.column("node_id").combine_chunks()

    def sources(self) -> np.ndarray:
        """Row index of every stored entry (int64[nnz])."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    def degree(self) -> np.ndarray:
        """Number of stored neighbours per node (int64[n]); a self-loop counts once."""
        return np.diff(self.indptr)

    def strength(self) -> np.ndarray:
        """Weighted degree per node (float64[n]); a self-loop counts twice (networkx convention)."""
        src = self.sources()
        s = np.bincount(src, weights=self.weights, minlength=self.n_nodes).astype(np.float64)
        loops = src == self.indices
        if loops.any() and not self.directed:
            s += np.bincount(src[loops], weights=self.weights[loops], minlength=self.n_nodes)
        return s

    def total_weight(self) -> float:
        """Sum of edge weights, each undirected edge once."""
        if self.directed:
            return float(self.weights.sum())
        return float(self.strength().sum() / 2.0)

    def edges(self) -> pa.Table:
        """Edge table ``source``, ``target``, ``weight`` with the analyst's node keys.

        Undirected edges appear once, with ``source`` the lower dense id.
        """
        src = self.sources()
        keep = np.ones(src.shape[0], dtype=bool) if self.directed else src <= self.indices
        ids = self.node_ids
        return pa.table({
            "source": ids.take(pa.array(src[keep])),
            "target": ids.take(pa.array(self.indices[keep])),
            "weight": pa.array(self.weights[keep]),
        })

    def subgraph(self, nodes: np.ndarray) -> CSRGraph:
        """Induced subgraph on dense node ids ``nodes`` (kept in the given order).

        Parameters
        ----------
        nodes : numpy.ndarray of int
            Dense node ids (0 .. n_nodes - 1), not keys.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        remap = np.full(self.n_nodes, -1, dtype=np.int64)
        remap[nodes] = np.arange(nodes.size, dtype=np.int64)
        src = self.sources()
        keep = (remap[src] >= 0) & (remap[self.indices] >= 0)

        indptr, indices, weights = coo_to_csr(nodes.size, remap[src[keep]], remap[self.indices[keep]],
                                              self.weights[keep])
        return CSRGraph(indptr, indices, weights, self.nodes.take(pa.array(nodes)), self.directed)

    def digest(self) -> str:
        """SHA-256 of the structure, weights and node keys (for provenance); computed once per graph."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        h = hashlib.sha256()
        for arr in (self.indptr, self.indices, self.weights):
            h.update(memoryview(np.ascontiguousarray(arr)))
        for buf in self.node_ids.buffers():
            if buf is not None:
                h.update(buf)
        h.update(b"D" if self.directed else b"U")
        return h.hexdigest()

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return f"CSRGraph({kind}, n_nodes={self.n_nodes}, n_edges={self.n_edges})"
