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
    # the same stable counting sort for both: a row's columns and weights stay paired
    counts, tmp_cols = group_rows(n_nodes, rows, cols)
    _, tmp_w = group_rows(n_nodes, rows, weights)
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
def group_rows(n_rows, rows, cols):
    """Counting sort of ``cols`` by ``rows``: ptr int64[n_rows + 1] and the grouped values (the
    dtype of ``cols``); within a row, values keep their input order."""
    m = rows.shape[0]
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    for e in range(m):
        ptr[rows[e] + 1] += 1
    for i in range(n_rows):
        ptr[i + 1] += ptr[i]
    pos = ptr[:-1].copy()
    out = np.empty(m, dtype=cols.dtype)
    for e in range(m):
        r = rows[e]
        out[pos[r]] = cols[e]
        pos[r] += 1
    return ptr, out


@njit(cache=True, nogil=True)
def coo_pattern(n_rows, rows, cols):
    """CSR pattern (no weights) of COO entries, duplicate (row, col) entries dropped.

    Returns indptr int64[n_rows + 1] and indices (the dtype of ``cols``) with every row's
    indices strictly increasing.
    """
    m = rows.shape[0]
    counts, out = group_rows(n_rows, rows, cols)
    indptr = np.empty(n_rows + 1, dtype=np.int64)
    indptr[0] = 0
    nnz = 0
    for i in range(n_rows):
        lo = counts[i]
        hi = counts[i + 1]
        if hi - lo <= 32:
            for t in range(lo + 1, hi):
                v = out[t]
                j = t - 1
                while j >= lo and out[j] > v:
                    out[j + 1] = out[j]
                    j -= 1
                out[j + 1] = v
        else:
            out[lo:hi] = np.sort(out[lo:hi])
        for t in range(lo, hi):
            if t == lo or out[t] != out[t - 1]:
                out[nnz] = out[t]
                nnz += 1
        indptr[i + 1] = nnz
    if nnz == m:
        return indptr, out
    return indptr, out[:nnz].copy()


@njit(cache=True, nogil=True)
def transpose_pattern(n_rows, n_cols, indptr, indices):
    """Transpose a CSR pattern: returns (indptr_t, indices_t) with sorted rows.

    indices_t holds row ids in the dtype of ``indices`` (the caller keeps n_rows within it).
    """
    counts = np.zeros(n_cols + 1, dtype=np.int64)
    for e in range(indices.shape[0]):
        counts[indices[e] + 1] += 1
    for j in range(n_cols):
        counts[j + 1] += counts[j]
    pos = counts[:-1].copy()
    out = np.empty(indices.shape[0], dtype=indices.dtype)
    for i in range(n_rows):  # rows visited in order -> each column's list is sorted
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            out[pos[j]] = i
            pos[j] += 1
    return counts, out


@njit(cache=True, nogil=True)
def bfs_order(indptr, indices):
    """A breadth-first visiting order of all nodes (components in order of their smallest node).
    Returns int64[n]: order[i] = the node visited i-th. Neighbours of a node end up close."""
    n = indptr.shape[0] - 1
    order = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    head = 0
    tail = 0
    for s in range(n):
        if seen[s]:
            continue
        seen[s] = True
        order[tail] = s
        tail += 1
        while head < tail:
            v = order[head]
            head += 1
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if not seen[u]:
                    seen[u] = True
                    order[tail] = u
                    tail += 1
    return order


@njit(cache=True, nogil=True)
def permute(indptr, indices, weights, order):
    """The same graph with node order[i] renamed i. Rows stay sorted."""
    n = indptr.shape[0] - 1
    inv = np.empty(n, dtype=np.int64)
    for i in range(n):
        inv[order[i]] = i
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        v = order[i]
        out_ptr[i + 1] = out_ptr[i] + indptr[v + 1] - indptr[v]
    out_idx = np.empty(indices.shape[0], dtype=np.int64)
    out_w = np.empty(indices.shape[0], dtype=np.float64)
    for i in range(n):
        v = order[i]
        start = out_ptr[i]
        deg = indptr[v + 1] - indptr[v]
        seg = np.empty(deg, dtype=np.int64)
        for t in range(deg):
            seg[t] = inv[indices[indptr[v] + t]]
        o = np.argsort(seg)
        for t in range(deg):
            out_idx[start + t] = seg[o[t]]
            out_w[start + t] = weights[indptr[v] + o[t]]
    return out_ptr, out_idx, out_w


@njit(cache=True, nogil=True)
def has_self_loop(indptr, indices):
    """Whether any row holds its own index."""
    for i in range(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if indices[e] == i:
                return True
    return False


@njit(cache=True, nogil=True)
def double_self_loops(indptr, indices, weights):
    """A copy of ``weights`` with the diagonal entries doubled."""
    out = weights.copy()
    for i in range(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if indices[e] == i:
                out[e] *= 2.0
    return out


@njit(cache=True, nogil=True)
def row_sums(indptr, weights):
    """Sum of each row's weights (float64[n])."""
    n = indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.float64)
    for i in range(n):
        acc = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            acc += weights[e]
        out[i] = acc
    return out
