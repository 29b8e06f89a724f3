"""Candidate pairs from blocking keys (records sorted by key; pairs within equal-key runs)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def block_pairs(order, key_sorted, group, max_block):
    """Pairs (i < j) of records with equal key and different ``group``.

    ``order`` sorts records by key (missing keys removed beforehand); runs longer than
    ``max_block`` are skipped and counted. Returns ``(ia, ib, n_skipped_blocks,
    n_skipped_records)``.
    """
    n = order.shape[0]
    # run boundaries once: run r is order[bounds[r]:bounds[r + 1]]
    bounds = np.empty(n + 1, dtype=np.int64)
    n_runs = 0
    for i in range(n):
        if i == 0 or key_sorted[i] != key_sorted[i - 1]:
            bounds[n_runs] = i
            n_runs += 1
    bounds[n_runs] = n
    # pass 1: count the pairs of the runs kept; pass 2: fill them
    total = 0
    skipped_blocks = 0
    skipped_records = 0
    for r in range(n_runs):
        s, e = bounds[r], bounds[r + 1]
        if e - s > max_block:
            skipped_blocks += 1
            skipped_records += e - s
            continue
        for a in range(s, e):
            for b in range(a + 1, e):
                if group[order[a]] != group[order[b]]:
                    total += 1
    ia = np.empty(total, dtype=np.int64)
    ib = np.empty(total, dtype=np.int64)
    k = 0
    for r in range(n_runs):
        s, e = bounds[r], bounds[r + 1]
        if e - s > max_block:
            continue
        for a in range(s, e):
            for b in range(a + 1, e):
                i, j = order[a], order[b]
                if group[i] != group[j]:
                    ia[k], ib[k] = min(i, j), max(i, j)
                    k += 1
    return ia, ib, skipped_blocks, skipped_records
