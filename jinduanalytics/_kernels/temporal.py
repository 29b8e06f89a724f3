"""Time-respecting reachability over dated edges (dates never go backwards along a path)."""

import numpy as np
from numba import njit

NEVER = np.iinfo(np.int64).max


@njit(cache=True, nogil=True)
def earliest_arrival(src, dst, t, n, is_source, start, max_gap):
    """One pass over edges sorted by time (Wu et al. 2014, with a waiting limit).

    ``src``, ``dst`` int64[m], ``t`` int64[m] nondecreasing; ``is_source`` bool[n]; a path leaves a
    source at or after ``start`` and waits at most ``max_gap`` (< 0: no limit) at any other node
    between arriving and leaving. Edges of one time step chain within the step (iterated to a fixed
    point). A node's latest arrival so far is the best one to leave from (arrivals only move
    forward in time), so keeping it is exact for reachability with a waiting limit.

    Returns (arrival int64[n] (NEVER when unreached; ``start`` at a source), first_edge int64[n]
    (the edge of the first arrival, -1), parent int64[m] (for an edge that carried a path: the
    edge that brought it to the edge's tail, -1 when it left a source)).
    """
    m = src.shape[0]
    arrival = np.full(n, NEVER, dtype=np.int64)
    latest = np.full(n, -NEVER, dtype=np.int64)
    latest_edge = np.full(n, -1, dtype=np.int64)
    first_edge = np.full(n, -1, dtype=np.int64)
    parent = np.full(m, -2, dtype=np.int64)  # -2: never carried a path
    for v in range(n):
        if is_source[v]:
            arrival[v] = start
    i = 0
    while i < m:
        j = i
        while j < m and t[j] == t[i]:
            j += 1
        if t[i] >= start:
            changed = True
            while changed:
                changed = False
                for k in range(i, j):
                    u = src[k]
                    tt = t[k]
                    if is_source[u]:
                        prev = -1
                    elif latest[u] != -NEVER and (max_gap < 0 or tt - latest[u] <= max_gap):
                        prev = latest_edge[u]
                    else:
                        continue
                    v = dst[k]
                    if parent[k] == -2:
                        parent[k] = prev
                    if is_source[v]:
                        continue
                    if arrival[v] == NEVER:
                        arrival[v] = tt
                        first_edge[v] = k
                        changed = True
                    if latest[v] < tt:
                        latest[v] = tt
                        latest_edge[v] = k
                        changed = True
        i = j
    return arrival, first_edge, parent
