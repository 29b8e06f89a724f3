"""Assemble CSR arrays from coordinate (COO) edge lists."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def coo_to_csr(n_nodes, rows, cols, weights):
    """Sort COO entries into CSR, summing duplicate (row, col) entries.

    rows, cols: int64[m] in [0, n_nodes); weights: float64[m].
    Returns indptr int64[n_nodes + 1], indices int64[nnz], weights float64[nnz] with
    every row's indices strictly increasing. Duplicates are summed in input order.
    """
    m = rows.shape[0]
    counts = np.zeros(n_nodes + 1, dtype=np.int64)
    for e in range(m):
        counts[rows[e] + 1] += 1
    for i in range(n_nodes):
        counts[i + 1] += counts[i]
    pos = counts[:-1].copy()
    tmp_cols = np.empty(m, dtype=np.int64)
    tmp_w = np.empty(m, dtype=np.float64)
    for e in range(m):
        r = rows[e]
        p = pos[r]
        tmp_cols[p] = cols[e]
        tmp_w[p] = weights[e]
        pos[r] = p + 1
    out_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    out_idx = np.empty(m, dtype=np.int64)
    out_w = np.empty(m, dtype=np.float64)
    nnz = 0
    for i in range(n_nodes):
        start = counts[i]
        stop = counts[i + 1]
        if stop > start:
            seg = tmp_cols[start:stop]
            order = np.argsort(seg, kind="mergesort")
            last = -1
            for j in range(order.shape[0]):
                c = seg[order[j]]
                w = tmp_w[start + order[j]]
                if c == last:
                    out_w[nnz - 1] += w
                else:
                    out_idx[nnz] = c
                    out_w[nnz] = w
                    nnz += 1
                    last = c
        out_ptr[i + 1] = nnz
    return out_ptr, out_idx[:nnz].copy(), out_w[:nnz].copy()


@njit(cache=True, nogil=True)
def transpose_pattern(n_rows, n_cols, indptr, indices):
    """Transpose a CSR pattern: returns (indptr_t, indices_t) with sorted rows."""
    counts = np.zeros(n_cols + 1, dtype=np.int64)
    for e in range(indices.shape[0]):
        counts[indices[e] + 1] += 1
    for j in range(n_cols):
        counts[j + 1] += counts[j]
    pos = counts[:-1].copy()
    out = np.empty(indices.shape[0], dtype=np.int64)
    for i in range(n_rows):  # rows visited in order -> each column's list is sorted
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            out[pos[j]] = i
            pos[j] += 1
    return counts, out
