"""Connected components of an undirected CSR graph."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def components(indptr, indices):
    """Label each node with its component, numbered in order of the smallest node.
    Returns int64[n]. The CSR must be symmetric."""
    n = indptr.shape[0] - 1
    out = np.full(n, -1, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    k = 0
    for s in range(n):
        if out[s] >= 0:
            continue
        out[s] = k
        stack[0] = s
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if out[u] < 0:
                    out[u] = k
                    stack[top] = u
                    top += 1
        k += 1
    return out
