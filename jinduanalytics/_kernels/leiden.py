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
from numba import njit, prange

from ._config import FASTMATH
from .csr import group_rows
from .projection import _chunk_bounds


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gather(v, indptr, indices, weights, labels, neigh_w, seen, out_c, out_w, start):
    """Weight from node v to each neighbouring community, in order of first appearance among
    v's edges, into out_c/out_w[start:]; returns the count and the weight to v's own community.
    ``neigh_w``/``seen`` are zero/False on entry and on exit."""
    nt = 0
    for e in range(indptr[v], indptr[v + 1]):
        u = indices[e]
        if u == v:
            continue
        c = labels[u]
        if not seen[c]:
            seen[c] = True
            out_c[start + nt] = c
            nt += 1
        neigh_w[c] += weights[e]
    own = neigh_w[labels[v]]
    for t in range(nt):
        c = out_c[start + t]
        out_w[start + t] = neigh_w[c]
        neigh_w[c] = 0.0
        seen[c] = False
    return nt, own


@njit(cache=True, nogil=True, fastmath=FASTMATH, parallel=True)
def local_moving(indptr, indices, weights, node_w, order, labels, gamma_eff, batch, n_chunks):
    """Fast local moving (a queue of nodes to revisit). Mutates ``labels`` (int64[n], values
    in [0, n)). Returns the number of moves (int).

    The queue is served in batches of ``batch`` nodes: the weights from each node of the batch to
    its neighbouring communities are gathered in parallel (the memory-bound part) from the labels
    at the start of the batch; then the nodes decide and move one by one, in queue order, exactly
    as the serial algorithm does. A node with a neighbour that moved earlier in the same batch
    has its weights gathered again at its turn. So the result is the serial algorithm's, bit for
    bit, at any thread count.
    """
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
    # scratch: one (neigh_w, seen) pair per parallel chunk; the re-gathers (serial) reuse chunk 0's
    neigh_w = np.zeros((n_chunks, n), dtype=np.float64)
    seen = np.zeros((n_chunks, n), dtype=np.bool_)
    dirty = np.full(n, -1, dtype=np.int32)  # batch number in which a neighbour of the node moved
    b_node = np.empty(batch, dtype=np.int64)
    b_off = np.zeros(batch + 1, dtype=np.int64)
    b_cnt = np.zeros(batch, dtype=np.int64)
    b_own = np.zeros(batch, dtype=np.float64)
    cap = 1024
    out_c = np.empty(cap, dtype=np.int64)
    out_w = np.empty(cap, dtype=np.float64)
    max_deg = 0
    for v in range(n):
        max_deg = max(max_deg, indptr[v + 1] - indptr[v])
    re_c = np.empty(max_deg, dtype=np.int64)
    re_w = np.empty(max_deg, dtype=np.float64)
    moves = 0
    n_batch = 0
    while size > 0:
        nb = min(batch, size)
        for j in range(nb):
            v = queue[head]
            head += 1
            if head == n:
                head = 0
            b_node[j] = v
            b_off[j + 1] = b_off[j] + indptr[v + 1] - indptr[v]
        size -= nb
        if b_off[nb] > cap:
            cap = max(2 * cap, b_off[nb])
            out_c = np.empty(cap, dtype=np.int64)
            out_w = np.empty(cap, dtype=np.float64)
        for ch in prange(n_chunks):
            for j in range(ch * nb // n_chunks, (ch + 1) * nb // n_chunks):
                b_cnt[j], b_own[j] = _gather(b_node[j], indptr, indices, weights, labels, neigh_w[ch], seen[ch],
                                             out_c, out_w, b_off[j])
        for j in range(nb):
            v = b_node[j]
            in_queue[v] = False
            cv = labels[v]
            if dirty[v] == n_batch:
                nt, own = _gather(v, indptr, indices, weights, labels, neigh_w[0], seen[0],
                                  re_c, re_w, 0)
                cs = re_c
                ws = re_w
                start = 0
            else:
                nt, own = b_cnt[j], b_own[j]
                cs = out_c
                ws = out_w
                start = b_off[j]
            wv = node_w[v]
            comm_w[cv] -= wv
            comm_n[cv] -= 1
            best = cv
            best_gain = own - gamma_eff * wv * comm_w[cv]
            for t in range(start, start + nt):
                c = cs[t]
                gain = ws[t] - gamma_eff * wv * comm_w[c]
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
            if best != cv:
                moves += 1
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    dirty[u] = n_batch
                    if not in_queue[u] and labels[u] != best:
                        tail = head + size
                        if tail >= n:
                            tail -= n
                        queue[tail] = u
                        size += 1
                        in_queue[u] = True
        n_batch += 1
    return moves


@njit(cache=True, nogil=True)
def _members(labels, k, order):
    """Nodes grouped by label (CSR: ptr int64[k + 1], members int64[n]); within a group, nodes
    come in the order they appear in ``order``."""
    return group_rows(k, labels[order], order)


@njit(cache=True, nogil=True)
def _group_chunks(ptr, members, indptr, n_chunks):
    """Split groups into n_chunks runs of about equal edge counts. Returns bounds
    (int64[n_chunks + 1]) and each group's number of edge entries (int64[k])."""
    k = ptr.shape[0] - 1
    cost = np.zeros(k, dtype=np.int64)
    for c in range(k):
        acc = 0
        for p in range(ptr[c], ptr[c + 1]):
            v = members[p]
            acc += indptr[v + 1] - indptr[v]
        cost[c] = acc
    return _chunk_bounds(cost + (ptr[1:] - ptr[:-1]) + 1, n_chunks), cost


@njit(cache=True, nogil=True, fastmath=FASTMATH, parallel=True)
def refine(indptr, indices, weights, node_w, order, labels, k, gamma_eff, n_chunks):
    """Leiden refinement inside each community of ``labels`` (dense in [0, k)): singletons merge
    greedily into well-connected refined sub-communities they have an edge to, so every refined
    community is connected. Returns refined labels (int64[n], ids in [0, n)).

    Communities do not interact here, so they are refined in parallel (runs of communities per
    thread); inside a community nodes are visited in the order they appear in ``order``, which is
    the serial algorithm's order restricted to the community: the result does not depend on the
    number of threads. Scratch arrays are shared, indexed by node ids (refined ids are node ids),
    so threads touch disjoint entries.
    """
    n = indptr.shape[0] - 1
    ref = np.arange(n)
    ref_w = node_w.copy()
    ref_n = np.ones(n, dtype=np.int64)
    comm_total = np.zeros(k, dtype=np.float64)
    for v in range(n):
        comm_total[labels[v]] += node_w[v]
    ext = np.zeros(n, dtype=np.float64)  # weight from refined community r to the rest of its community
    for v in prange(n):
        s = labels[v]
        acc = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if u != v and labels[u] == s:
                acc += weights[e]
        ext[v] = acc
    ptr, members = _members(labels, k, order)
    bounds, _ = _group_chunks(ptr, members, indptr, n_chunks)
    neigh_w = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)  # community s uses touched[ptr[s]:ptr[s + 1]]
    for ch in prange(n_chunks):
        for s in range(bounds[ch], bounds[ch + 1]):
            t0 = ptr[s]
            total_s = comm_total[s]
            for i in range(ptr[s], ptr[s + 1]):
                v = members[i]
                if ref_n[ref[v]] != 1:
                    continue
                wv = node_w[v]
                if ext[v] < gamma_eff * wv * (total_s - wv):
                    continue  # not well connected to its community: stays a singleton
                nt = 0
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    if u == v or labels[u] != s:
                        continue
                    r = ref[u]
                    if not seen[r]:
                        seen[r] = True
                        touched[t0 + nt] = r
                        nt += 1
                    neigh_w[r] += weights[e]
                rv = ref[v]
                best = rv
                best_gain = 0.0
                for t in range(nt):
                    r = touched[t0 + t]
                    if r == rv:
                        continue
                    if ext[r] < gamma_eff * ref_w[r] * (total_s - ref_w[r]):
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
                    r = touched[t0 + t]
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


@njit(cache=True, nogil=True, parallel=True)
def aggregate(indptr, indices, weights, labels, k, n_chunks):
    """Collapse communities: returns the k-node CSR (indptr, indices, weights) of S^T A S with
    sorted rows. ``labels`` must be dense in [0, k).

    Two passes over runs of communities in parallel (count each row's distinct neighbours, then
    fill), so the output is allocated at its exact size; each row's weights are summed over its
    members in node order, whatever the number of threads.
    """
    n = indptr.shape[0] - 1
    ptr, members = _members(labels, k, np.arange(n))
    bounds, cost = _group_chunks(ptr, members, indptr, n_chunks)
    deg = np.zeros(k + 1, dtype=np.int64)
    for ch in prange(n_chunks):
        seen = np.zeros(k, dtype=np.bool_)
        longest = 0
        for c in range(bounds[ch], bounds[ch + 1]):
            longest = max(longest, cost[c])
        touched = np.empty(longest, dtype=np.int64)
        for c in range(bounds[ch], bounds[ch + 1]):
            nt = 0
            for p in range(ptr[c], ptr[c + 1]):
                v = members[p]
                for e in range(indptr[v], indptr[v + 1]):
                    d = labels[indices[e]]
                    if not seen[d]:
                        seen[d] = True
                        touched[nt] = d
                        nt += 1
            for t in range(nt):
                seen[touched[t]] = False
            deg[c + 1] = nt
    for c in range(k):
        deg[c + 1] += deg[c]
    out_ptr = deg
    nnz = out_ptr[k]
    out_idx = np.empty(nnz, dtype=np.int64)
    out_w = np.empty(nnz, dtype=np.float64)
    for ch in prange(n_chunks):
        acc = np.zeros(k, dtype=np.float64)
        seen = np.zeros(k, dtype=np.bool_)
        for c in range(bounds[ch], bounds[ch + 1]):
            fill = out_ptr[c]
            for p in range(ptr[c], ptr[c + 1]):
                v = members[p]
                for e in range(indptr[v], indptr[v + 1]):
                    d = labels[indices[e]]
                    if not seen[d]:
                        seen[d] = True
                        out_idx[fill] = d
                        fill += 1
                    acc[d] += weights[e]
            seg = out_idx[out_ptr[c]:fill]
            seg.sort()
            for t in range(out_ptr[c], fill):
                d = out_idx[t]
                out_w[t] = acc[d]
                acc[d] = 0.0
                seen[d] = False
    return out_ptr, out_idx, out_w
