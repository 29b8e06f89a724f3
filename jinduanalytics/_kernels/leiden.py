"""Leiden / Louvain steps over CSR arrays.

Conventions: the adjacency passed here stores every undirected edge in both rows and a
self-loop on the diagonal with **twice** its weight, so that node strength is the plain row
sum, aggregation is exactly ``S^T A S`` and modularity matches networkx/igraph.

The objective is written once for both modularity and CPM:

    gain(v -> C) = w(v, C) - gamma_eff * node_w[v] * comm_w[C]

with, for modularity, ``node_w`` = strength and ``gamma_eff = resolution / 2m``; for CPM,
``node_w`` = node size and ``gamma_eff = resolution``.
"""

import numpy as np
from numba import njit

from ._config import FASTMATH


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def local_moving(indptr, indices, weights, node_w, order, labels, gamma_eff):
    """Fast local moving (a queue of nodes to revisit). Mutates ``labels`` (int64[n], values
    in [0, n)). Returns the number of moves (int)."""
    n = indptr.shape[0] - 1
    comm_w = np.zeros(n, dtype=np.float64)
    comm_n = np.zeros(n, dtype=np.int64)
    for v in range(n):
        comm_w[labels[v]] += node_w[v]
        comm_n[labels[v]] += 1
    free = np.empty(n, dtype=np.int64)  # stack of empty community ids
    n_free = 0
    for c in range(n - 1, -1, -1):
        if comm_n[c] == 0:
            free[n_free] = c
            n_free += 1
    queue = np.empty(n, dtype=np.int64)
    in_queue = np.ones(n, dtype=np.bool_)
    for i in range(n):
        queue[i] = order[i]
    head = 0
    size = n
    neigh_w = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    moves = 0
    while size > 0:
        v = queue[head]
        head += 1
        if head == n:
            head = 0
        size -= 1
        in_queue[v] = False
        cv = labels[v]
        nt = 0
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if u == v:
                continue
            c = labels[u]
            if not seen[c]:
                seen[c] = True
                touched[nt] = c
                nt += 1
            neigh_w[c] += weights[e]
        wv = node_w[v]
        comm_w[cv] -= wv
        comm_n[cv] -= 1
        best = cv
        best_gain = neigh_w[cv] - gamma_eff * wv * comm_w[cv]
        for t in range(nt):
            c = touched[t]
            gain = neigh_w[c] - gamma_eff * wv * comm_w[c]
            if gain > best_gain:
                best_gain = gain
                best = c
        if best_gain < 0.0 and comm_n[cv] > 0:
            # alone is better than anywhere: take an empty community
            best = free[n_free - 1]
            n_free -= 1
        if comm_n[cv] == 0 and best != cv:
            free[n_free] = cv
            n_free += 1
        comm_w[best] += wv
        comm_n[best] += 1
        labels[v] = best
        for t in range(nt):
            c = touched[t]
            neigh_w[c] = 0.0
            seen[c] = False
        if best != cv:
            moves += 1
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if not in_queue[u] and labels[u] != best:
                    tail = head + size
                    if tail >= n:
                        tail -= n
                    queue[tail] = u
                    size += 1
                    in_queue[u] = True
    return moves


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def refine(indptr, indices, weights, node_w, order, labels, gamma_eff):
    """Leiden refinement inside each community of ``labels``: singletons merge greedily into
    well-connected refined sub-communities they have an edge to, so every refined community is
    connected. Returns refined labels (int64[n], ids in [0, n))."""
    n = indptr.shape[0] - 1
    ref = np.arange(n)
    ref_w = node_w.copy()
    ref_n = np.ones(n, dtype=np.int64)
    comm_total = np.zeros(n, dtype=np.float64)
    for v in range(n):
        comm_total[labels[v]] += node_w[v]
    ext = np.zeros(n, dtype=np.float64)  # weight from refined community r to the rest of its community
    for v in range(n):
        s = labels[v]
        acc = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if u != v and labels[u] == s:
                acc += weights[e]
        ext[v] = acc
    neigh_w = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    for i in range(n):
        v = order[i]
        if ref_n[ref[v]] != 1:
            continue
        s = labels[v]
        wv = node_w[v]
        if ext[v] < gamma_eff * wv * (comm_total[s] - wv):
            continue  # not well connected to its community: stays a singleton
        nt = 0
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if u == v or labels[u] != s:
                continue
            r = ref[u]
            if not seen[r]:
                seen[r] = True
                touched[nt] = r
                nt += 1
            neigh_w[r] += weights[e]
        rv = ref[v]
        best = rv
        best_gain = 0.0
        for t in range(nt):
            r = touched[t]
            if r == rv:
                continue
            if ext[r] < gamma_eff * ref_w[r] * (comm_total[s] - ref_w[r]):
                continue
            gain = neigh_w[r] - gamma_eff * wv * ref_w[r]
            if gain >= best_gain:
                if gain > best_gain or best == rv or r < best:
                    best_gain = gain
                    best = r
        if best != rv:
            w_vr = neigh_w[best]
            ext[best] = ext[best] + ext[rv] - 2.0 * w_vr
            ref_w[best] += wv
            ref_n[best] += 1
            ref_w[rv] = 0.0
            ref_n[rv] = 0
            ref[v] = best
        for t in range(nt):
            r = touched[t]
            neigh_w[r] = 0.0
            seen[r] = False
    return ref


@njit(cache=True, nogil=True)
def renumber(labels):
    """Dense labels 0..k-1 in order of first appearance. Returns (new_labels, k)."""
    n = labels.shape[0]
    remap = np.full(n, -1, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    k = 0
    for v in range(n):
        c = labels[v]
        if remap[c] < 0:
            remap[c] = k
            k += 1
        out[v] = remap[c]
    return out, k


@njit(cache=True, nogil=True)
def aggregate(indptr, indices, weights, labels, k):
    """Collapse communities: returns the k-node CSR (indptr, indices, weights) of S^T A S with
    sorted rows. ``labels`` must be dense in [0, k)."""
    n = indptr.shape[0] - 1
    cnt = np.zeros(k + 1, dtype=np.int64)
    for v in range(n):
        cnt[labels[v] + 1] += 1
    for c in range(k):
        cnt[c + 1] += cnt[c]
    members = np.empty(n, dtype=np.int64)
    pos = cnt[:-1].copy()
    for v in range(n):
        c = labels[v]
        members[pos[c]] = v
        pos[c] += 1
    out_ptr = np.zeros(k + 1, dtype=np.int64)
    out_idx = np.empty(indices.shape[0], dtype=np.int64)
    out_w = np.empty(indices.shape[0], dtype=np.float64)
    acc = np.zeros(k, dtype=np.float64)
    seen = np.zeros(k, dtype=np.bool_)
    nnz = 0
    for c in range(k):
        start = nnz
        for p in range(cnt[c], cnt[c + 1]):
            v = members[p]
            for e in range(indptr[v], indptr[v + 1]):
                d = labels[indices[e]]
                if not seen[d]:
                    seen[d] = True
                    out_idx[nnz] = d
                    nnz += 1
                acc[d] += weights[e]
        seg = out_idx[start:nnz]
        seg.sort()
        for t in range(start, nnz):
            d = out_idx[t]
            out_w[t] = acc[d]
            acc[d] = 0.0
            seen[d] = False
        out_ptr[c + 1] = nnz
    return out_ptr, out_idx[:nnz].copy(), out_w[:nnz].copy()
