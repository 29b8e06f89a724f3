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
    total = 0
    skipped_blocks = 0
    skipped_records = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and key_sorted[e] == key_sorted[s]:
            e += 1
        size = e - s
        if size > max_block:
            skipped_blocks += 1
            skipped_records += size
        elif size > 1:
            for a in range(s, e):
                for b in range(a + 1, e):
                    if group[order[a]] != group[order[b]]:
                        total += 1
        s = e
    ia = np.empty(total, dtype=np.int64)
    ib = np.empty(total, dtype=np.int64)
    k = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and key_sorted[e] == key_sorted[s]:
            e += 1
        size = e - s
        if 1 < size <= max_block:
            for a in range(s, e):
                for b in range(a + 1, e):
                    i, j = order[a], order[b]
                    if group[i] != group[j]:
                        if i < j:
                            ia[k], ib[k] = i, j
                        else:
                            ia[k], ib[k] = j, i
                        k += 1
        s = e
    return ia, ib, skipped_blocks, skipped_records
