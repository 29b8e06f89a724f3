"""Weighted one-mode projection of a bipartite graph (row-by-row sparse product).

For rows a, b (cases) and columns e (entities): w(a, b) = sum over shared e of
entity_weight[e]. The product is computed row by row with a dense accumulator (Gustavson's
algorithm), two passes (count, then fill), in parallel over balanced row chunks. No list of
pairs is ever materialised, so a hub entity shared by k rows costs k^2 additions, not
k^2 stored pairs; hubs above the caller's cap get entity_weight 0 and are skipped.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _row_cost(row_ptr, row_col, col_ptr, col_weight):
    n = row_ptr.shape[0] - 1
    cost = np.zeros(n, dtype=np.int64)
    for a in range(n):
        c = 1
        for p in range(row_ptr[a], row_ptr[a + 1]):
            e = row_col[p]
            if col_weight[e] != 0.0:
                c += col_ptr[e + 1] - col_ptr[e]
        cost[a] = c
    return cost


@njit(cache=True, nogil=True)
def _chunk_bounds(cost, n_chunks):
    n = cost.shape[0]
    total = 0
    for a in range(n):
        total += cost[a]
    bounds = np.zeros(n_chunks + 1, dtype=np.int64)
    acc = 0
    k = 1
    for a in range(n):
        acc += cost[a]
        while k < n_chunks and acc * n_chunks >= total * k:
            bounds[k] = a + 1
            k += 1
    for j in range(k, n_chunks + 1):
        bounds[j] = n
    return bounds


@njit(cache=True, nogil=True, parallel=True)
def project(n_rows, row_ptr, row_col, col_ptr, col_row, col_weight, n_chunks):
    """Project rows through shared columns.

    row_ptr/row_col: CSR of rows -> columns (int64). col_ptr/col_row: CSR of columns ->
    rows (int64, sorted). col_weight: float64 per column; 0 skips the column.
    Returns indptr int64[n_rows + 1], indices int64[nnz], weights float64[nnz]: a symmetric
    matrix without diagonal, rows sorted.
    """
    cost = _row_cost(row_ptr, row_col, col_ptr, col_weight)
    bounds = _chunk_bounds(cost, n_chunks)
    nnz_row = np.zeros(n_rows, dtype=np.int64)
    # pass 1: count distinct neighbours per row
    for ch in prange(n_chunks):
        marker = np.full(n_rows, -1, dtype=np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            cnt = 0
            for p in range(row_ptr[a], row_ptr[a + 1]):
                e = row_col[p]
                if col_weight[e] == 0.0:
                    continue
                for q in range(col_ptr[e], col_ptr[e + 1]):
                    b = col_row[q]
                    if b != a and marker[b] != a:
                        marker[b] = a
                        cnt += 1
            nnz_row[a] = cnt
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for a in range(n_rows):
        indptr[a + 1] = indptr[a] + nnz_row[a]
    indices = np.empty(indptr[n_rows], dtype=np.int64)
    weights = np.empty(indptr[n_rows], dtype=np.float64)
    # pass 2: accumulate weights, write sorted rows
    for ch in prange(n_chunks):
        acc = np.zeros(n_rows, dtype=np.float64)
        marker = np.full(n_rows, -1, dtype=np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            start = indptr[a]
            fill = start
            for p in range(row_ptr[a], row_ptr[a + 1]):
                e = row_col[p]
                w = col_weight[e]
                if w == 0.0:
                    continue
                for q in range(col_ptr[e], col_ptr[e + 1]):
                    b = col_row[q]
                    if b == a:
                        continue
                    if marker[b] != a:
                        marker[b] = a
                        acc[b] = w
                        indices[fill] = b
                        fill += 1
                    else:
                        acc[b] += w
            seg = indices[start:fill]
            seg.sort()
            for t in range(start, fill):
                weights[t] = acc[indices[t]]
    return indptr, indices, weights
