"""Compile the graph and community kernels once, on tiny inputs."""

from __future__ import annotations

import time

import pyarrow as pa

from .community import connected_components, label_propagation, leiden, louvain
from .graph import case_graph, person_graph

__all__ = ["warmup"]


def warmup() -> float:
    """Compile (or load from numba's on-disk cache) the graph builders' and community detection's
    kernels; returns the seconds it took.

    The first call in a fresh environment compiles (~30 s on a 2-core machine); later processes
    load the cached machine code (~0.3 s). Call it at the start of a batch job or notebook so the
    first analysis step does not pay the compile time. It covers graphs of any weights under
    100,000 nodes; community detection on a larger graph with integer weights runs its kernels
    on float32 weights and compiles that version on its first call (~15 s, once per machine).

    Examples
    --------
    >>> warmup() >= 0
    True
    """
    t = time.perf_counter()
    edges = pa.table({"source": ["a", "a", "b", "c", "x"], "target": ["b", "c", "c", "x", "y"]})
    leiden(edges, seed=0)
    leiden(edges, seed=0, objective="cpm", resolution=0.1)
    louvain(edges, seed=0)
    label_propagation(edges, seed=0)
    connected_components(edges)
    ce = pa.table({"case_id": ["1", "2", "3"], "kind": ["phone"] * 3, "value": ["p", "p", "q"]})
    case_graph(ce)
    person_graph(pa.table({"case_id": ["1", "1"], "record_id": ["r1", "r2"]}),
                 person_records=pa.table({"record_id": ["r1", "r2"], "phone": ["p1", "p2"]}),
                 contacts=pa.table({"phone_a": ["p1"], "phone_b": ["p2"]}))
    return time.perf_counter() - t
