"""Random walk with restart, pushed locally (Andersen, Chung & Lang 2006).

The graph is a CSR of transition probabilities: the out-entries of ``u`` are
``indices[indptr[u]:indptr[u + 1]]`` with probabilities ``prob[...]`` summing to 1 (a node without
out-entries keeps whatever reaches it).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def push_ppr(indptr, indices, prob, seeds, alpha, eps):
    """Personalised PageRank from ``seeds`` (equal restart mass), to residual ``eps`` per out-entry.

    Each node ``u`` whose residual ``r[u]`` is at least ``eps * max(1, out-degree)`` keeps
    ``alpha * r[u]`` and passes the rest along its out-entries; what stays in residuals when no node
    qualifies is at most ``eps`` times the entries of the touched nodes. Work is bounded by
    ``1 / (eps * alpha)`` entry visits, whatever the graph's size.

    Returns (touched nodes in first-touch order, their score, their residual).
    """
    n = indptr.shape[0] - 1
    p = np.zeros(n)
    r = np.zeros(n)
    seen = np.zeros(n, dtype=np.bool_)
    queued = np.zeros(n, dtype=np.bool_)
    touched = []
    queue = []
    for s in seeds:
        r[s] += 1.0 / seeds.shape[0]
        if not seen[s]:
            seen[s] = True
            touched.append(s)
        if not queued[s]:
            queued[s] = True
            queue.append(s)
    head = 0
    while head < len(queue):
        u = queue[head]
        head += 1
        queued[u] = False
        lo = indptr[u]
        hi = indptr[u + 1]
        ru = r[u]
        if ru < eps * max(1, hi - lo):
            continue
        r[u] = 0.0
        if hi == lo:
            p[u] += ru
            continue
        p[u] += alpha * ru
        rest = (1.0 - alpha) * ru
        for e in range(lo, hi):
            v = indices[e]
            r[v] += rest * prob[e]
            if not seen[v]:
                seen[v] = True
                touched.append(v)
            if not queued[v] and r[v] >= eps * max(1, indptr[v + 1] - indptr[v]):
                queued[v] = True
                queue.append(v)
        if head > 1 << 20:  # keep the queue list short
            queue = queue[head:]
            head = 0
    t = np.empty(len(touched), dtype=np.int64)
    for i in range(len(touched)):
        t[i] = touched[i]
    return t, p[t], r[t]
