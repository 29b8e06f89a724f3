"""Compile every numba kernel once, on tiny inputs."""

from __future__ import annotations

import time

import pyarrow as pa

from .community import connected_components, label_propagation, leiden, louvain
from .graph import case_graph, person_graph

__all__ = ["warmup"]


def warmup() -> float:
    """Compile (or load from numba's on-disk cache) every kernel; returns the seconds it took.

    The first call in a fresh environment compiles, which takes tens of seconds; later
    processes load the cached machine code. Call it at the start of a batch job or notebook so
    no analysis step pays the compile time.

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
