"""Connected components of an undirected CSR graph, optionally within given groups."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def components_within(indptr, indices, labels):
    """Label each node with its connected piece inside its group ``labels`` (int64[n]); pieces
    are numbered in order of their smallest node. Returns int64[n]. The CSR must be symmetric."""
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
                if out[u] < 0 and labels[u] == labels[v]:
                    out[u] = k
                    stack[top] = u
                    top += 1
        k += 1
    return out


def components(indptr, indices):
    """Connected components: int64[n], numbered in order of the smallest node."""
    return components_within(indptr, indices, np.zeros(indptr.shape[0] - 1, dtype=np.int64))
