"""Shared plumbing of the community functions: kernel inputs, result tables, provenance."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from .._checks import as_generator
from .._kernels.csr import double_self_loops, has_self_loop
from .._kernels.leiden import renumber
from .._version import __version__
from ..errors import GraphInputError, ParameterError
from ..graph.csr import CSRGraph
from ..options import tabular

PROVENANCE_KEYS = ("algorithm", "params", "seed", "version", "input_digest")


def undirected(g: CSRGraph, what: str) -> CSRGraph:
    if g.directed:
        raise GraphInputError(f"{what} needs an undirected graph; build it with directed=False "
                              "(or symmetrise the edge table first)")
    return g


def kernel_weights(g: CSRGraph) -> np.ndarray:
    """Weights with the self-loop diagonal doubled (row sums = strength, networkx convention).

    The graph's own array (read only in the kernels) when there is no self-loop: no copy."""
    w = g.weights if not has_self_loop(g.indptr, g.indices) else double_self_loops(g.indptr, g.indices, g.weights)
    with np.errstate(over="ignore"):
        total = float(np.sum(w))
    if not total <= _MAX_TOTAL_WEIGHT:  # also catches an overflow to inf
        raise GraphInputError(f"the graph's total edge weight is {total:.3g}, too large to compute with "
                              f"(products of two node strengths must stay finite; limit {_MAX_TOTAL_WEIGHT:.0e}); "
                              "divide the weights by one constant first: modularity and the partition it "
                              "finds do not change")
    return w


# Quality gains multiply two community strengths; above ~1e154 their product overflows to inf and
# every gain turns NaN (1e308 weights gave all-singleton partitions with NaN modularity, no error).
_MAX_TOTAL_WEIGHT = 1e150


def resolve_seed(seed) -> tuple[np.random.Generator, int | None]:
    """A Generator and the integer seed to record (a fresh one is drawn when seed is None)."""
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, np.random.Generator):
        return seed, None
    return as_generator(seed), int(seed)


def sort_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel so community 0 is the largest; ties go to the community with the smallest node index.

    O(n): renumbering by first appearance makes "smallest node index" the same as "smallest
    label", so a stable sort of the k community sizes settles the order.
    """
    if labels.size == 0:
        return labels.astype(np.int64)
    shifted = np.ascontiguousarray(labels, dtype=np.int64) - int(labels.min())
    if shifted.max() >= labels.size:  # sparse label values: make them fit renumber's range first
        shifted = np.unique(shifted, return_inverse=True)[1].astype(np.int64)
    dense, k = renumber(shifted)
    counts = np.bincount(dense, minlength=k)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k, dtype=np.int64)
    return rank[dense]


def community_table(g: CSRGraph, labels: np.ndarray, *, algorithm: str, seed, params: dict,
                    extra: dict[str, np.ndarray] | None = None) -> pa.Table:
    """One row per node: node_id, community (0 = largest) [, extra columns]; provenance in metadata."""
    cols = {"node_id": g.node_ids, "community": pa.array(sort_by_size(np.asarray(labels)), pa.int64())}
    for k, v in (extra or {}).items():
        cols[k] = pa.array(v)
    t = pa.table(cols)
    return with_provenance(t, algorithm=algorithm, seed=seed, params=params, digest=g.digest())


def with_provenance(t: pa.Table, *, algorithm: str, seed, params: dict, digest: str) -> pa.Table:
    meta = {
        b"jindu.algorithm": algorithm.encode(),
        b"jindu.params": json.dumps(params, sort_keys=True, default=str).encode(),
        b"jindu.seed": json.dumps(seed).encode(),
        b"jindu.version": __version__.encode(),
        b"jindu.input_digest": digest.encode(),
    }
    return t.replace_schema_metadata({**(t.schema.metadata or {}), **meta})


@tabular
def provenance(table: pa.Table) -> dict:
    """Read back how a result table was made: algorithm, params, seed, version, input_digest, and
    window (the date window of a windowed dataset, :func:`jinduanalytics.temporal.window`; else None).

    Parameters
    ----------
    table : pyarrow.Table
        A result table of jinduanalytics (communities, clusters...).

    Examples
    --------
    >>> import pyarrow as pa, jinduanalytics as ja
    >>> t = ja.leiden(pa.table({"source": ["a", "b"], "target": ["b", "c"]}), seed=3)
    >>> ja.provenance(t)["seed"], ja.provenance(t)["algorithm"]
    (3, 'leiden')
    """
    meta = table.schema.metadata or {}
    if b"jindu.algorithm" not in meta:
        raise ParameterError("this table carries no jinduanalytics provenance (was it made by jinduanalytics?)")
    return {
        "algorithm": meta[b"jindu.algorithm"].decode(),
        "params": json.loads(meta[b"jindu.params"]),
        "seed": json.loads(meta[b"jindu.seed"]),
        "version": meta[b"jindu.version"].decode(),
        "input_digest": meta[b"jindu.input_digest"].decode(),
        "window": json.loads(meta[b"jindu.window"]) if b"jindu.window" in meta else None,
    }


def labels_from(g: CSRGraph, partition) -> np.ndarray:
    """Dense int64 labels in graph node order from a result table or an array."""
    if isinstance(partition, pa.Table):
        if "node_id" not in partition.column_names or "community" not in partition.column_names:
            raise ParameterError("partition table needs 'node_id' and 'community' columns")
        import pyarrow.compute as pc

        idx = pc.index_in(g.node_ids, value_set=partition.column("node_id").combine_chunks())
        if idx.null_count:
            raise ParameterError(f"partition table misses {idx.null_count} of the graph's nodes")
        labels = partition.column("community").combine_chunks().take(idx).to_numpy(zero_copy_only=False)
    else:
        labels = np.asarray(partition)
        if labels.shape != (g.n_nodes,):
            raise ParameterError(f"partition must have one label per node ({g.n_nodes}); got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ParameterError(f"community labels must be integers; got {labels.dtype}")
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)
