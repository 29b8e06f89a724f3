"""Time-respecting reachability over dated edges (dates never go backwards along a path)."""

import numpy as np
from numba import njit

NEVER = np.iinfo(np.int64).max


@njit(cache=True, nogil=True, inline="always")
def _push(heap_t, heap_e, size, time, edge):
    """Add (time, edge) to the binary min-heap held in the first ``size`` slots; returns the new size.
    Ties in time go to the smaller edge index (deterministic order)."""
    i = size
    heap_t[i] = time
    heap_e[i] = edge
    while i > 0:
        p = (i - 1) // 2
        if heap_t[p] < heap_t[i] or (heap_t[p] == heap_t[i] and heap_e[p] <= heap_e[i]):
            break
        heap_t[p], heap_t[i] = heap_t[i], heap_t[p]
        heap_e[p], heap_e[i] = heap_e[i], heap_e[p]
        i = p
    return size + 1


@njit(cache=True, nogil=True)
def earliest_arrival(indptr, dst, t, is_source, sources, start, max_gap):
    """Earliest arrival over dated edges whose dates never go backwards, with a waiting limit.

    ``indptr``/``dst``/``t``: out-edges grouped by tail node, each node's sorted by time. Edges are
    activated in time order from a heap; an activated edge u->v at time t activates v's out-edges
    dated in [t, t + max_gap] (no upper bound when ``max_gap`` < 0; a source's from ``start`` on).
    Arrivals at a node come in time order, so a per-node pointer makes each out-edge scanned once:
    O(reached edges x log) instead of a pass over every edge.

    Returns (arrival int64[n] (NEVER when unreached; ``start`` at a source), first_edge int64[n]
    (the edge of the first arrival, -1), parent int64[m] (for an activated edge, the edge that
    activated it, -1 when it left a source; -2 never activated)), edge indices being positions
    in the grouped arrays.
    """
    n = indptr.shape[0] - 1
    m = dst.shape[0]
    arrival = np.full(n, NEVER, dtype=np.int64)
    first_edge = np.full(n, -1, dtype=np.int64)
    parent = np.full(m, -2, dtype=np.int64)
    done = indptr[:-1].copy()  # out-edges before this index are already activated
    heap_t = np.empty(m, dtype=np.int64)
    heap_e = np.empty(m, dtype=np.int64)
    size = 0
    for s in sources:
        arrival[s] = start
        lo = indptr[s]
        hi = indptr[s + 1]
        k = lo + np.searchsorted(t[lo:hi], start)
        for e in range(k, hi):
            parent[e] = -1
            size = _push(heap_t, heap_e, size, t[e], e)
        done[s] = hi
    while size > 0:
        tt = heap_t[0]
        e = heap_e[0]
        size -= 1
        heap_t[0] = heap_t[size]
        heap_e[0] = heap_e[size]
        i = 0
        while True:
            a = 2 * i + 1
            if a >= size:
                break
            b = a + 1
            c = a
            if b < size and (heap_t[b] < heap_t[a] or (heap_t[b] == heap_t[a] and heap_e[b] < heap_e[a])):
                c = b
            if heap_t[i] < heap_t[c] or (heap_t[i] == heap_t[c] and heap_e[i] <= heap_e[c]):
                break
            heap_t[c], heap_t[i] = heap_t[i], heap_t[c]
            heap_e[c], heap_e[i] = heap_e[i], heap_e[c]
            i = c
        v = dst[e]
        if is_source[v]:
            continue
        if arrival[v] == NEVER:
            arrival[v] = tt
            first_edge[v] = e
        lo = indptr[v]
        hi = indptr[v + 1]
        k = max(done[v], lo + np.searchsorted(t[lo:hi], tt))
        while k < hi and (max_gap < 0 or t[k] - tt <= max_gap):
            if parent[k] == -2:
                parent[k] = e
                size = _push(heap_t, heap_e, size, t[k], k)
            k += 1
        if k > done[v]:
            done[v] = k
    return arrival, first_edge, parent
