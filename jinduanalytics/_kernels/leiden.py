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


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gather_short(v, indptr, indices, weights, labels, out_c, out_w, start):
    """``_gather`` for a node of low degree: each neighbour's community is looked up in the short
    list gathered so far (in cache) instead of in n-sized scratch (a random read and write per
    edge). Same output, same summation order."""
    nt = 0
    for e in range(indptr[v], indptr[v + 1]):
        u = indices[e]
        if u == v:
            continue
        c = labels[u]
        t = start
        end = start + nt
        while t < end and out_c[t] != c:
            t += 1
        if t == end:
            out_c[t] = c
            out_w[t] = weights[e]
            nt += 1
        else:
            out_w[t] += weights[e]
    own = 0.0
    cv = labels[v]
    for t in range(start, start + nt):
        if out_c[t] == cv:
            own = out_w[t]
            break
    return nt, own


_SHORT = 32  # degree up to which neighbour communities are gathered by a linear search


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gather_any(v, indptr, indices, weights, labels, neigh_w, seen, out_c, out_w, start):
    if indptr[v + 1] - indptr[v] <= _SHORT:
        return _gather_short(v, indptr, indices, weights, labels, out_c, out_w, start)
    return _gather(v, indptr, indices, weights, labels, neigh_w, seen, out_c, out_w, start)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _decide(cv, wv, nt, own, cs, ws, start, comm_w, gamma_eff):
    """Best move of a node in community cv (node weight wv) given its neighbouring communities
    cs/ws[start:start + nt] and ``own`` = its weight to cv: (community, gain). Staying wins ties;
    among other communities the first listed wins. Weights are >= 0, so a community's gain is at
    most the node's weight to it: one whose weight does not beat the best gain so far cannot win,
    and its (randomly placed) comm_w is not read."""
    best = cv
    best_gain = own - gamma_eff * wv * (comm_w[cv] - wv)
    for t in range(start, start + nt):
        w = ws[t]
        if w <= best_gain:
            continue
        c = cs[t]
        if c == cv:
            continue
        gain = w - gamma_eff * wv * comm_w[c]
        if gain > best_gain:
            best_gain = gain
            best = c
    return best, best_gain


@njit(cache=True, nogil=True, fastmath=FASTMATH, parallel=True)
def local_moving(indptr, indices, weights, node_w, order, labels, gamma_eff, batch, n_chunks):
    """Local moving with vertex pruning. Mutates ``labels`` (int64[n], values in [0, n)).
    Returns the number of moves (int). Weights must be >= 0.

    Sweeps visit the nodes in ``order``, each sweep only the nodes marked pending: all at first,
    then those with a neighbour that moved to a community other than their own since their last
    visit (a node marked after its position in a sweep waits for the next sweep). A visited node
    moves to the neighbouring community of highest gain if that beats staying (ties: stay, else
    the first listed), or to an empty community if every gain is negative. Sweeps repeat until
    no node is pending.

    Speed: a sweep is served in batches, a run of positions [i, i_end) holding ``batch`` nodes
    pending at its start (fewer on dense graphs, so few of them see a neighbour move before their
    turn). The weights from each of them to its neighbouring communities are gathered in
    parallel (the memory-bound part) from the labels at the start of the batch; then the
    positions are walked in order and pending nodes decide and move one by one, exactly as the
    serial sweep does. A node whose neighbour moved earlier in the batch (or that became pending
    during it) is gathered again at its turn. So the result is the serial algorithm's, bit for
    bit, at any batch size and thread count. A cache-friendly ``order`` (runs of consecutive node
    ids) makes the gathers read the adjacency arrays in sequence.
    """
    n = indptr.shape[0] - 1
    nnz = indices.shape[0]
    if n > 0 and nnz > 0:  # ~1/4 of a batch's nodes would have a neighbour in it
        batch = max(16, min(batch, (n * n) // (4 * nnz)))
    lab = np.empty(n, dtype=np.int32)  # int32 halves the randomly read working set
    for v in range(n):
        lab[v] = labels[v]
    comm_w = np.zeros(n, dtype=np.float64)
    comm_n = np.zeros(n, dtype=np.int32)
    for v in range(n):
        comm_w[lab[v]] += node_w[v]
        comm_n[lab[v]] += 1
    free = np.empty(n, dtype=np.int32)  # stack of empty community ids, smallest on top
    n_free = 0
    for c in range(n - 1, -1, -1):
        if comm_n[c] == 0:
            free[n_free] = c
            n_free += 1
    # state[v]: -1 = not pending; otherwise pending, and == stamp when a neighbour of v moved
    # after v's weights were gathered in the batch being served (stamp = batch number)
    state = np.zeros(n, dtype=np.int32)
    n_pending = n
    # scratch for high-degree nodes: one (neigh_w, seen) pair per parallel chunk; the serial
    # re-gathers reuse chunk 0's
    max_deg = 0
    for v in range(n):
        max_deg = max(max_deg, indptr[v + 1] - indptr[v])
    dense = max_deg > _SHORT
    neigh_w = np.zeros((n_chunks if dense else 1, n if dense else 0), dtype=np.float64)
    seen = np.zeros((n_chunks if dense else 1, n if dense else 0), dtype=np.bool_)
    b_node = np.empty(batch, dtype=np.int32)
    b_off = np.zeros(batch + 1, dtype=np.int64)
    b_cnt = np.zeros(batch, dtype=np.int64)
    b_own = np.zeros(batch, dtype=np.float64)
    cap = 1024
    out_c = np.empty(cap, dtype=np.int32)
    out_w = np.empty(cap, dtype=np.float64)
    re_c = np.empty(max_deg, dtype=np.int32)
    re_w = np.empty(max_deg, dtype=np.float64)
    moves = 0
    stamp = 0
    while n_pending > 0:
        i = 0
        while i < n:
            stamp += 1
            nb = 0
            i_end = i
            while i_end < n and nb < batch:
                v = order[i_end]
                i_end += 1
                if state[v] >= 0:
                    b_node[nb] = v
                    b_off[nb + 1] = b_off[nb] + indptr[v + 1] - indptr[v]
                    nb += 1
            if b_off[nb] > cap:
                cap = max(2 * cap, b_off[nb])
                out_c = np.empty(cap, dtype=np.int32)
                out_w = np.empty(cap, dtype=np.float64)
            for ch in prange(n_chunks):
                for j in range(ch * nb // n_chunks, (ch + 1) * nb // n_chunks):
                    b_cnt[j], b_own[j] = _gather_any(b_node[j], indptr, indices, weights, lab, neigh_w[ch],
                                                     seen[ch], out_c, out_w, b_off[j])
            jb = 0
            for p in range(i, i_end):
                v = order[p]
                st = state[v]
                if st < 0:
                    continue
                gathered = jb < nb and b_node[jb] == v
                if gathered:
                    jb += 1
                cv = lab[v]
                wv = node_w[v]
                if gathered and st != stamp:
                    best, best_gain = _decide(cv, wv, b_cnt[jb - 1], b_own[jb - 1], out_c, out_w, b_off[jb - 1],
                                              comm_w, gamma_eff)
                else:
                    nt, own = _gather_any(v, indptr, indices, weights, lab, neigh_w[0], seen[0], re_c, re_w, 0)
                    best, best_gain = _decide(cv, wv, nt, own, re_c, re_w, 0, comm_w, gamma_eff)
                state[v] = -1
                n_pending -= 1
                if best_gain < 0.0 and comm_n[cv] > 1:
                    # alone is better than anywhere: take an empty community
                    best = free[n_free - 1]
                    n_free -= 1
                if best == cv:
                    continue
                comm_w[cv] -= wv
                comm_n[cv] -= 1
                if comm_n[cv] == 0:
                    free[n_free] = cv
                    n_free += 1
                comm_w[best] += wv
                comm_n[best] += 1
                lab[v] = best
                moves += 1
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    if state[u] >= 0:
                        state[u] = stamp  # pending: gather again if its turn comes in this batch
                    elif lab[u] != best:
                        state[u] = stamp
                        n_pending += 1
            i = i_end
    for v in range(n):
        labels[v] = lab[v]
    return moves


@njit(cache=True, nogil=True)
def _members(labels, k, order):
    """Nodes grouped by label (CSR: ptr int64[k + 1], members int32[n]); within a group, nodes
    come in the order they appear in ``order`` (node order when ``order`` is empty)."""
    n = labels.shape[0]
    ptr = np.zeros(k + 1, dtype=np.int64)
    for v in range(n):
        ptr[labels[v] + 1] += 1
    for c in range(k):
        ptr[c + 1] += ptr[c]
    pos = ptr[:-1].copy()
    members = np.empty(n, dtype=np.int32)
    by_order = order.shape[0] > 0
    for i in range(n):
        v = order[i] if by_order else i
        c = labels[v]
        members[pos[c]] = v
        pos[c] += 1
    return ptr, members


@njit(cache=True, nogil=True)
def _group_chunks(ptr, labels, indptr, n_chunks):
    """Split groups (``ptr`` from ``_members``) into n_chunks runs of about equal edge counts.
    Returns bounds (int64[n_chunks + 1]) and each group's number of edge entries (int64[k]),
    summed in node order (sequential reads)."""
    k = ptr.shape[0] - 1
    cost = np.zeros(k, dtype=np.int64)
    for v in range(labels.shape[0]):
        cost[labels[v]] += indptr[v + 1] - indptr[v]
    return _chunk_bounds(cost + (ptr[1:] - ptr[:-1]) + 1, n_chunks), cost


@njit(cache=True, nogil=True, fastmath=FASTMATH, parallel=True)
def refine(indptr, indices, weights, node_w, order, labels, k, gamma_eff, n_chunks):
    """Leiden refinement inside each community of ``labels`` (dense in [0, k)): singletons merge
    greedily into well-connected refined sub-communities they have an edge to, so every refined
    community is connected. Returns refined labels (int32[n], ids in [0, n)).

    Communities do not interact here, so they are refined in parallel (runs of communities per
    thread); inside a community nodes are visited in the order they appear in ``order``, which is
    the serial algorithm's order restricted to the community: the result does not depend on the
    number of threads. Scratch arrays are shared, indexed by node ids (refined ids are node ids),
    so threads touch disjoint entries.
    """
    n = indptr.shape[0] - 1
    ref = np.arange(n).astype(np.int32)  # read at random: int32 halves the working set
    labels = labels.astype(np.int32)
    ref_w = node_w.copy()
    ref_n = np.ones(n, dtype=np.int32)
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
    bounds, _ = _group_chunks(ptr, labels, indptr, n_chunks)
    neigh_w = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int32)  # community s uses touched[ptr[s]:ptr[s + 1]]
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
def all_integral(weights):
    """Whether every weight is a whole number."""
    for e in range(weights.shape[0]):
        if weights[e] != np.floor(weights[e]):
            return False
    return True


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


def aggregate(indptr, indices, weights, labels, k, n_chunks, weight_dtype=np.float64):
    """Collapse communities: returns the k-node CSR (indptr int64, indices int32, weights of
    ``weight_dtype``) of S^T A S with sorted rows. ``labels`` must be dense in [0, k).
    float32 weights only when the caller knows every sum is exactly representable.

    Peak memory is about the output, not the input: the buffers are sized by the input's
    entries, but only pages written are touched; each run's block of rows is moved down and the
    pages it leaves are given back at once, and the tail is cut off at the end.
    """
    buf_idx = np.empty(indices.shape[0], dtype=np.int32)
    buf_w = np.empty(indices.shape[0], dtype=weight_dtype)
    deg, starts, used, dests = _aggregate_into(indptr, indices, weights, labels, k, n_chunks, buf_idx, buf_w)
    for src, size, dst in zip(starts.tolist(), used.tolist(), dests.tolist()):
        if src != dst and size:  # blocks move down in order: never onto one not yet moved
            for buf in (buf_idx, buf_w):
                _move_down(buf, src, dst, size)
                lo = max(src, dst + size) * buf.itemsize
                _release(buf, lo, (src + size) * buf.itemsize)
    nnz = int(deg[k])
    buf_idx.resize(nnz, refcheck=False)  # realloc: gives back the tail (mremap on Linux)
    buf_w.resize(nnz, refcheck=False)
    return deg, buf_idx, buf_w


@njit(cache=True, nogil=True)
def _move_down(a, src, dst, size):
    """a[dst:dst + size] = a[src:src + size] for dst < src (overlap allowed), no temporary."""
    for t in range(size):
        a[dst + t] = a[src + t]


def _madvise():
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_MADVISE = _madvise()
_MADV_DONTNEED = 4  # Linux: the pages read back as zeros and stop counting towards RSS
_PAGE = 4096


def _release(buf, lo, hi):
    """Give the whole pages inside bytes [lo, hi) of ``buf`` back to the OS (contents are lost;
    only done on ranges that are dead)."""
    if _MADVISE is None:
        return
    base = buf.ctypes.data
    start = -(-(base + lo) // _PAGE) * _PAGE
    end = (base + hi) // _PAGE * _PAGE
    if end > start:
        _MADVISE(start, end - start, _MADV_DONTNEED)


@njit(cache=True, nogil=True, parallel=True)
def _aggregate_into(indptr, indices, weights, labels, k, n_chunks, buf_idx, buf_w):
    """``aggregate``'s kernel. One pass over runs of communities in parallel: each run writes
    its rows one after another from the start of its own region of the buffers (regions sized
    by the members' degree sums, so none overflows). Each row's weights are summed over its
    members in node order, whatever the number of threads. Returns the output indptr and, per
    run, where its block starts, its size and where it belongs in the output."""
    n = indptr.shape[0] - 1
    ptr, members = _members(labels, k, np.empty(0, dtype=np.int64))
    bounds, cost = _group_chunks(ptr, labels, indptr, n_chunks)
    room = np.zeros(n_chunks + 1, dtype=np.int64)  # each run's region of the buffers
    for ch in range(n_chunks):
        total = 0
        for c in range(bounds[ch], bounds[ch + 1]):
            total += cost[c]
        room[ch + 1] = room[ch] + total
    deg = np.zeros(k + 1, dtype=np.int64)
    used = np.zeros(n_chunks, dtype=np.int64)
    lab = labels.astype(np.int32)  # read at random: int32 halves the working set
    for ch in prange(n_chunks):
        acc = np.zeros(k, dtype=np.float64)
        seen = np.zeros(k, dtype=np.bool_)
        fill = room[ch]
        for c in range(bounds[ch], bounds[ch + 1]):
            start = fill
            for p in range(ptr[c], ptr[c + 1]):
                v = members[p]
                for e in range(indptr[v], indptr[v + 1]):
                    d = lab[indices[e]]
                    if not seen[d]:
                        seen[d] = True
                        buf_idx[fill] = d
                        fill += 1
                    acc[d] += weights[e]
            if 64 * (fill - start) > k:  # dense row: a scan of the marks emits it sorted
                t = start
                for d in range(k):
                    if seen[d]:
                        buf_idx[t] = d
                        buf_w[t] = acc[d]
                        acc[d] = 0.0
                        seen[d] = False
                        t += 1
            else:
                seg = buf_idx[start:fill]
                seg.sort()
                for t in range(start, fill):
                    d = buf_idx[t]
                    buf_w[t] = acc[d]
                    acc[d] = 0.0
                    seen[d] = False
            deg[c + 1] = fill - start
        used[ch] = fill - room[ch]
    for c in range(k):
        deg[c + 1] += deg[c]
    dests = np.empty(n_chunks, dtype=np.int64)
    for ch in range(n_chunks):
        dests[ch] = deg[bounds[ch]]
    return deg, room[:n_chunks], used, dests
