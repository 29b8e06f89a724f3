"""Seeded benchmark inputs shared by the suites."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def planted_partition(n: int, *, avg_degree: float = 12.0, community_size: int = 100, mu: float = 0.3,
                      seed: int = 20240601) -> tuple[pa.Table, np.ndarray]:
    """Edge table (int64 source/target, no self-loops) and the planted community of every node.

    Communities of ``community_size`` nodes; each edge leaves its community with probability mu.
    """
    rng = np.random.default_rng(seed)
    k = max(1, n // community_size)
    perm = rng.permutation(n)
    comm = np.empty(n, dtype=np.int64)
    comm[perm] = np.arange(n) // community_size % k
    sizes = np.bincount(comm, minlength=k)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    members = np.argsort(comm, kind="stable")
    m = int(n * avg_degree / 2)
    src = rng.integers(0, n, m)
    out = rng.random(m) < mu
    dst = np.empty(m, dtype=np.int64)
    dst[out] = rng.integers(0, n, int(out.sum()))
    c = comm[src[~out]]
    dst[~out] = members[start[c] + (rng.random(c.size) * sizes[c]).astype(np.int64)]
    keep = src != dst
    return pa.table({"source": src[keep], "target": dst[keep]}), comm
