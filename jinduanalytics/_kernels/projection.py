"""Weighted one-mode projection of a bipartite graph (row-by-row sparse product).

For rows a, b (cases) and columns e (entities): w(a, b) = sum over shared e of
entity_weight[e]. Only the upper triangle is computed, row by row, in parallel over balanced row chunks; a
hub entity shared by k rows costs k(k-1)/2 candidate entries in a scratch buffer that is
reduced in place (never a Python list of pairs); hubs above the caller's cap get
entity_weight 0 and are skipped.
"""

import numpy as np
from numba import njit, prange


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


@njit(cache=True, nogil=True)
def _first_above(col_row, lo, hi, a):
    """First position p in the sorted col_row[lo:hi] with col_row[p] > a."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if col_row[mid] <= a:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _sort_pairs(idx, w, lo, hi):
    """Stable sort of idx[lo:hi] (and w alongside) by idx: insertion sort for short runs."""
    if hi - lo <= 48:
        for i in range(lo + 1, hi):
            ki = idx[i]
            wi = w[i]
            j = i - 1
            while j >= lo and idx[j] > ki:
                idx[j + 1] = idx[j]
                w[j + 1] = w[j]
                j -= 1
            idx[j + 1] = ki
            w[j + 1] = wi
    else:
        order = np.argsort(idx[lo:hi], kind="mergesort")
        si = idx[lo:hi][order]
        sw = w[lo:hi][order]
        idx[lo:hi] = si
        w[lo:hi] = sw


@njit(cache=True, nogil=True, parallel=True)
def _project(n_rows, row_ptr, row_col, col_ptr, col_row, col_weight, n_chunks):
    """Project rows through shared columns.

    row_ptr/row_col: CSR of rows -> columns (int64). col_ptr/col_row: CSR of columns ->
    rows (int64, each list sorted). col_weight: float64 per column; 0 skips the column.
    Returns indptr int64[n_rows + 1], indices int64[nnz], weights float64[nnz]: a symmetric
    matrix without diagonal, rows sorted.

    Only the upper triangle (b > a) is computed: each entity's row list is sorted, so a
    binary search skips b <= a. Each row gathers its (b, weight) candidates into its own slice
    of a scratch buffer, stable-sorts and reduces them there (no random access into n-sized
    arrays), in parallel over balanced row chunks. The lower triangle is the mirror, so
    w(a, b) and w(b, a) are the same float; sums run in increasing column order.
    """
    # exact number of candidates b > a per row
    ucost = np.zeros(n_rows, dtype=np.int64)
    for a in prange(n_rows):
        c = 0
        for p in range(row_ptr[a], row_ptr[a + 1]):
            e = row_col[p]
            if col_weight[e] != 0.0:
                c += col_ptr[e + 1] - _first_above(col_row, col_ptr[e], col_ptr[e + 1], a)
        ucost[a] = c
    off = np.zeros(n_rows + 1, dtype=np.int64)
    for a in range(n_rows):
        off[a + 1] = off[a] + ucost[a]
    bounds = _chunk_bounds(ucost + 1, n_chunks)
    # memory: candidate row ids are held as int32 (callers keep n_rows < 2**31); ucost is reused for up_cnt
    tmp_idx = np.empty(off[n_rows], dtype=np.int32)
    tmp_w = np.empty(off[n_rows], dtype=np.float64)
    up_cnt = ucost
    for ch in prange(n_chunks):
        for a in range(bounds[ch], bounds[ch + 1]):
            fill = off[a]
            for p in range(row_ptr[a], row_ptr[a + 1]):
                e = row_col[p]
                w = col_weight[e]
                if w == 0.0:
                    continue
                for q in range(_first_above(col_row, col_ptr[e], col_ptr[e + 1], a), col_ptr[e + 1]):
                    tmp_idx[fill] = col_row[q]
                    tmp_w[fill] = w
                    fill += 1
            lo = off[a]
            if fill - lo > 1:
                _sort_pairs(tmp_idx, tmp_w, lo, fill)
            k = lo - 1
            for t in range(lo, fill):
                if k >= lo and tmp_idx[t] == tmp_idx[k]:
                    tmp_w[k] += tmp_w[t]
                else:
                    k += 1
                    tmp_idx[k] = tmp_idx[t]
                    tmp_w[k] = tmp_w[t]
            up_cnt[a] = k - lo + 1
    # mirror: row a = [lower part (rows r < a holding a), sorted] + [upper part]
    lo_cnt = np.zeros(n_rows, dtype=np.int64)
    for a in range(n_rows):
        for t in range(off[a], off[a] + up_cnt[a]):
            lo_cnt[tmp_idx[t]] += 1
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for a in range(n_rows):
        indptr[a + 1] = indptr[a] + lo_cnt[a] + up_cnt[a]
    nnz = indptr[n_rows]
    indices = np.empty(nnz, dtype=np.int64)
    weights = np.empty(nnz, dtype=np.float64)
    lo_pos = lo_cnt  # reused: the lower part of row a starts at indptr[a]
    for a in range(n_rows):
        lo_pos[a] = indptr[a]
    for r in range(n_rows):  # rows in increasing order -> each lower part is sorted
        for t in range(off[r], off[r] + up_cnt[r]):
            b = tmp_idx[t]
            indices[lo_pos[b]] = r
            weights[lo_pos[b]] = tmp_w[t]
            lo_pos[b] += 1
    for a in prange(n_rows):
        dst = indptr[a + 1] - up_cnt[a]
        for t in range(off[a], off[a] + up_cnt[a]):
            indices[dst] = tmp_idx[t]
            weights[dst] = tmp_w[t]
            dst += 1
    return indptr, indices, weights


def project(n_rows, row_ptr, row_col, col_ptr, col_row, col_weight, n_chunks):
    """See :func:`_project`; rows are held as int32 inside, so fewer than 2**31 - 1 of them."""
    if n_rows >= 2**31 - 1:
        raise ValueError(f"projection of {n_rows} rows: more than the int32 row ids the kernel uses")
    return _project(n_rows, row_ptr, row_col, col_ptr, col_row, col_weight, n_chunks)


@njit(cache=True, nogil=True)
def segment_sums(a, b, w):
    """Sums of ``w`` over runs of equal ``(a, b)`` (the input sorted by them), added one at a time in
    the given order — the projection kernel's accumulation, for the distributed engine."""
    n = a.shape[0]
    ra = np.empty(n, dtype=np.int64)
    rb = np.empty(n, dtype=np.int64)
    rw = np.empty(n, dtype=np.float64)
    k = -1
    for t in range(n):
        if k >= 0 and a[t] == ra[k] and b[t] == rb[k]:
            rw[k] += w[t]
        else:
            k += 1
            ra[k] = a[t]
            rb[k] = b[t]
            rw[k] = w[t]
    return ra[:k + 1], rb[:k + 1], rw[:k + 1]
