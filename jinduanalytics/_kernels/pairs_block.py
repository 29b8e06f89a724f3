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


@nb.njit(cache=True)
def block_pair_count(order, key_sorted, group, max_block):
    """The pairs :func:`block_pairs` would form with these arguments, without forming them: a kept
    block of ``s`` records, ``s_g`` of them in group ``g``, forms ``(s*s - sum s_g*s_g) / 2``.
    Returns ``(pairs, largest kept block)``."""
    n = order.shape[0]
    total = 0
    largest = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and key_sorted[e] == key_sorted[s]:
            e += 1
        size = e - s
        if size > max_block or size < 2:
            pass
        elif size <= 64:  # small blocks (nearly all): the pairs across groups, one by one
            for a in range(s, e):
                for b in range(a + 1, e):
                    if group[order[a]] != group[order[b]]:
                        total += 1
        else:  # by group sizes: (s*s - sum s_g*s_g) / 2
            g = np.sort(group[order[s:e]])
            same = 0
            run = 1
            for i in range(1, size):
                if g[i] == g[i - 1]:
                    run += 1
                else:
                    same += run * run
                    run = 1
            same += run * run
            total += (size * size - same) // 2
        if size <= max_block and size > largest:
            largest = size
        s = e
    return total, largest
