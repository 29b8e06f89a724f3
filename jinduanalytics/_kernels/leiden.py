"""Leiden / Louvain steps over CSR arrays.

Conventions: the adjacency passed here stores every undirected edge in both rows and a
self-loop on the diagonal with **twice** its weight, so that node strength is the plain row
sum, aggregation is exactly ``S^T A S`` and modularity matches networkx/igraph.

The objective is written once for both modularity and CPM:

    gain(v -> C) = w(v, C) - gamma_eff * node_w[v] * comm_w[C]

with, for modularity, ``node_w`` = strength and ``gamma_eff = resolution / 2m``; for CPM,
``node_w`` = node size and ``gamma_eff = resolution``.
"""

import ctypes

import numpy as np
from numba import njit, prange

from ._config import FASTMATH
from .csr import group_rows
from .prefetch import prefetch, prefetch_members
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


@njit(cache=True, nogil=True)
def _select(order, state, indptr, i, n, batch, b_node, b_off):
    """Pending nodes at positions [i, i_end) until ``batch`` of them: their ids into b_node and
    their offsets (by degree) into b_off. Returns (i_end, count)."""
    nb = 0
    i_end = i
    while i_end < n and nb < batch:
        v = order[i_end]
        i_end += 1
        if state[v] >= 0:
            b_node[nb] = v
            b_off[nb + 1] = b_off[nb] + indptr[v + 1] - indptr[v]
            nb += 1
    return i_end, nb


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gather_copy(v, indptr, indices, weights, lab, neigh_w, seen, tmp_c, tmp_w, out_c, out_w, off):
    """Gather into the worker's own scratch, then copy into the batch's slots: two workers that
    gather the same node write the same bytes (if it is not stale) in any interleaving. Long rows
    too: gathered straight into the slots, a stale gather racing a fresh one of the same node
    would leave a different list there, and ``_gather`` clears its scratch by the list it reads
    back, so the worker's scratch would stay dirty (seen on a 3M graph's level 5)."""
    nt, own = _gather_any(v, indptr, indices, weights, lab, neigh_w, seen, tmp_c, tmp_w, 0)
    for t in range(nt):
        out_c[off + t] = tmp_c[t]
        out_w[off + t] = tmp_w[t]
    return nt, own


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _serial(indptr, indices, weights, node_w, order, lab, comm_w, comm_n, free, state, gamma_eff, i, i_end, nb,
            b_node, b_off, b_cnt, b_own, out_c, out_w, stale_from, stamp, neigh_w, seen, re_c, re_w, cnt):
    """Walk positions [i, i_end) in order: every pending node decides and moves, exactly as the
    serial sweep. A node's gathered weights are used if it is in b_node and no neighbour of it
    moved since its gather could have started (state < stale_from); else it is gathered again.
    Moves mark neighbours with ``stamp``. cnt: [moves, pending, free]."""
    jb = 0
    for p in range(i, i_end):
        v = order[p]
        st = state[v]
        if st < 0:
            continue
        gathered = jb < nb and b_node[jb] == v
        if gathered:
            jb += 1
            ahead = jb + 3  # what a node a few turns ahead will read when it decides and moves
            if ahead < nb and b_cnt[ahead] <= _SHORT:
                for t in range(b_off[ahead], b_off[ahead] + b_cnt[ahead]):
                    prefetch(comm_w, out_c[t])
        cv = lab[v]
        wv = node_w[v]
        if gathered and st < stale_from:
            best, best_gain = _decide(cv, wv, b_cnt[jb - 1], b_own[jb - 1], out_c, out_w, b_off[jb - 1], comm_w,
                                      gamma_eff)
        else:
            nt, own = _gather_any(v, indptr, indices, weights, lab, neigh_w, seen, re_c, re_w, 0)
            best, best_gain = _decide(cv, wv, nt, own, re_c, re_w, 0, comm_w, gamma_eff)
        state[v] = -1
        cnt[1] -= 1
        if best_gain < 0.0 and comm_n[cv] > 1:
            best = free[cnt[2] - 1]
            cnt[2] -= 1
        if best == cv:
            continue
        comm_w[cv] -= wv
        comm_n[cv] -= 1
        if comm_n[cv] == 0:
            free[cnt[2]] = cv
            cnt[2] += 1
        comm_w[best] += wv
        comm_n[best] += 1
        lab[v] = best
        cnt[0] += 1
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            su = state[u]
            if su >= 0:
                if su != stamp:
                    state[u] = stamp
            elif lab[u] != best:
                state[u] = stamp
                cnt[1] += 1


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

    Speed: a sweep is served in batches, a run of positions holding ``batch`` pending nodes
    (fewer on dense graphs, so few of them see a neighbour move before their turn). The weights
    from each of them to its neighbouring communities are gathered ahead (the memory-bound
    part); then the positions are walked in order and pending nodes decide and move one by one,
    exactly as the serial sweep does. The walk is serial, so it is pipelined: while one thread
    walks batch b, the other gathers batch b + 1 from its far end, and the first joins in from
    the near end when its walk is done. A node is gathered again at its turn if a neighbour
    moved since its gather may have started (moves stamp their pending neighbours with the
    batch number) or if it became pending too late to be gathered. So the result is the serial
    algorithm's, bit for bit, at any batch size and thread count. A cache-friendly ``order``
    (runs of consecutive node ids) makes the gathers read the adjacency arrays in sequence.
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
    cnt = np.zeros(3, dtype=np.int64)  # moves, pending nodes, free ids (shared with _serial)
    for c in range(n - 1, -1, -1):
        if comm_n[c] == 0:
            free[cnt[2]] = c
            cnt[2] += 1
    # state[v]: -1 = not pending; otherwise pending, holding the stamp (batch number) of the
    # batch in which a neighbour of v last moved (0 = none yet)
    state = np.zeros(n, dtype=np.int32)
    cnt[1] = n
    max_deg = 0
    for v in range(n):
        max_deg = max(max_deg, indptr[v + 1] - indptr[v])
    dense = max_deg > _SHORT
    # scratch for high-degree nodes: one (neigh_w, seen) pair per parallel chunk (at least one per
    # pipelined worker); the serial walk's re-gathers reuse the first
    n_scr = max(n_chunks, 2)
    neigh_w = np.zeros((n_scr if dense else 1, n if dense else 0), dtype=np.float64)
    seen = np.zeros((n_scr if dense else 1, n if dense else 0), dtype=np.bool_)
    b_node = np.empty((2, batch), dtype=np.int32)
    b_off = np.zeros((2, batch + 1), dtype=np.int64)
    b_cnt = np.zeros((2, batch), dtype=np.int64)
    b_own = np.zeros((2, batch), dtype=np.float64)
    cap = 1024
    out_c = np.empty((2, cap), dtype=np.int32)
    out_w = np.empty((2, cap), dtype=np.float64)
    re_c = np.empty(max(max_deg, 1), dtype=np.int32)
    re_w = np.empty(max(max_deg, 1), dtype=np.float64)
    tmp_c = np.empty((2, max(max_deg, 1)), dtype=np.int32)
    tmp_w = np.empty((2, max(max_deg, 1)), dtype=np.float64)
    prog = np.zeros(2, dtype=np.int64)  # pipelined gather: next slot from the front, last from the back
    stamp = 0
    while cnt[1] > 0:
        # a sweep; its first batch is selected and gathered by all threads
        stamp += 1
        cur = 0
        i_start = n - n  # an int64, not the literal 0: _serial is then compiled once, not twice
        i, nb = _select(order, state, indptr, 0, n, batch, b_node[0], b_off[0])
        if b_off[0, nb] > cap:
            cap = max(2 * cap, b_off[0, nb])
            out_c = np.empty((2, cap), dtype=np.int32)
            out_w = np.empty((2, cap), dtype=np.float64)
        for ch in prange(n_chunks):
            for j in range(ch * nb // n_chunks, (ch + 1) * nb // n_chunks):
                b_cnt[0, j], b_own[0, j] = _gather_any(b_node[0, j], indptr, indices, weights, lab, neigh_w[ch],
                                                       seen[ch], out_c[0], out_w[0], b_off[0, j])
        stale_from = stamp
        while True:
            # batch cur = positions [i_start, i), stamp `stamp`; the next one is selected now
            nxt = 1 - cur
            i_next = i
            nb_next = 0
            if i < n:
                i_next, nb_next = _select(order, state, indptr, i, n, batch, b_node[nxt], b_off[nxt])
                if b_off[nxt, nb_next] > cap:
                    new_cap = max(2 * cap, b_off[nxt, nb_next])
                    oc = np.empty((2, new_cap), dtype=np.int32)
                    ow = np.empty((2, new_cap), dtype=np.float64)
                    oc[cur, :cap] = out_c[cur]
                    ow[cur, :cap] = out_w[cur]
                    out_c = oc
                    out_w = ow
                    cap = new_cap
            prog[0] = 0
            prog[1] = nb_next
            for wk in prange(2):
                if wk == 0:
                    _serial(indptr, indices, weights, node_w, order, lab, comm_w, comm_n, free, state, gamma_eff,
                            i_start, i, nb, b_node[cur], b_off[cur], b_cnt[cur], b_own[cur], out_c[cur], out_w[cur],
                            stale_from, stamp, neigh_w[0], seen[0], re_c, re_w, cnt)
                    j = prog[0]
                    while j < prog[1]:
                        b_cnt[nxt, j], b_own[nxt, j] = _gather_copy(b_node[nxt, j], indptr, indices, weights, lab,
                                                                    neigh_w[0], seen[0], tmp_c[0], tmp_w[0],
                                                                    out_c[nxt], out_w[nxt], b_off[nxt, j])
                        j += 1
                        prog[0] = j
                else:
                    j = prog[1] - 1
                    while j >= prog[0]:
                        b_cnt[nxt, j], b_own[nxt, j] = _gather_copy(b_node[nxt, j], indptr, indices, weights, lab,
                                                                    neigh_w[1], seen[1], tmp_c[1], tmp_w[1],
                                                                    out_c[nxt], out_w[nxt], b_off[nxt, j])
                        prog[1] = j
                        j -= 1
            if i >= n:
                break
            stale_from = stamp  # this batch's moves may have raced with the next one's gather
            stamp += 1
            i_start = i
            i = i_next
            nb = nb_next
            cur = nxt
    for v in range(n):
        labels[v] = lab[v]
    return cnt[0]


@njit(cache=True, nogil=True)
def _members(labels, k, order):
    """Nodes grouped by label (CSR: ptr int64[k + 1], members int32[n]); within a group, nodes
    come in the order they appear in ``order`` (node order when ``order`` is empty)."""
    if order.shape[0] == 0:
        return group_rows(k, labels, np.arange(labels.shape[0], dtype=np.int32))
    return group_rows(k, labels[order], order.astype(np.int32))


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
    community is connected. Returns refined labels (int32[n]): each refined community is named
    by one of its nodes (the singleton the others joined).

    Communities do not interact here, so they are refined in parallel (runs of communities per
    thread); inside a community nodes are visited in the order they appear in ``order``, which is
    the serial algorithm's order restricted to the community: the result does not depend on the
    number of threads.

    Speed: a community's members sit in one range of ``members`` and all refinement state is
    kept by position in that range, so while a community is refined its state stays in cache;
    the one random read per edge is the neighbour's position, which also tells whether it is in
    the community (its position falls in the range). The members' rows and their neighbours'
    positions are prefetched a few members ahead (``prefetch_members``).
    """
    n = indptr.shape[0] - 1
    comm_total = np.zeros(k, dtype=np.float64)
    for v in range(n):
        comm_total[labels[v]] += node_w[v]
    ptr, members = _members(labels, k, order)
    bounds, _ = _group_chunks(ptr, labels, indptr, n_chunks)
    pos = np.empty(n, dtype=np.int32)  # node -> its position in members
    for i in prange(n):
        pos[members[i]] = i
    # state by position p (refined communities are named by the position of their singleton):
    ref = np.empty(n, dtype=np.int32)  # refined community of the node at p
    ref_w = np.empty(n, dtype=np.float64)  # weight / size of refined community p
    ref_n = np.empty(n, dtype=np.int32)
    ext = np.empty(n, dtype=np.float64)  # weight from refined community p to the rest of its community
    neigh_w = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int32)  # community s uses touched[ptr[s]:ptr[s + 1]]
    out = np.empty(n, dtype=np.int32)
    for ch in prange(n_chunks):
        for s in range(bounds[ch], bounds[ch + 1]):
            lo = ptr[s]
            hi = ptr[s + 1]
            for i in range(lo, hi):
                v = members[i]
                prefetch_members(members, i, indptr, indices, weights, pos)
                acc = 0.0
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    p = pos[u]
                    if u != v and lo <= p < hi:
                        acc += weights[e]
                ext[i] = acc
                ref[i] = i
                ref_w[i] = node_w[v]
                ref_n[i] = 1
            total_s = comm_total[s]
            for i in range(lo, hi):
                prefetch_members(members, i, indptr, indices, weights, pos)
                if ref_n[ref[i]] != 1:
                    continue
                v = members[i]
                wv = node_w[v]
                if ext[i] < gamma_eff * wv * (total_s - wv):
                    continue  # not well connected to its community: stays a singleton
                nt = 0
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    p = pos[u]
                    if u == v or p < lo or p >= hi:
                        continue
                    r = ref[p]
                    if not seen[r]:
                        seen[r] = True
                        touched[lo + nt] = r
                        nt += 1
                    neigh_w[r] += weights[e]
                rv = i
                best = rv
                best_gain = 0.0
                for t in range(nt):
                    r = touched[lo + t]
                    if r == rv:
                        continue
                    if ext[r] < gamma_eff * ref_w[r] * (total_s - ref_w[r]):
                        continue
                    gain = neigh_w[r] - gamma_eff * wv * ref_w[r]
                    if gain >= best_gain:  # ties: the community named by the smaller node id
                        if gain > best_gain or best == rv or members[r] < members[best]:
                            best_gain = gain
                            best = r
                if best != rv:
                    w_vr = neigh_w[best]
                    ext[best] = ext[best] + ext[rv] - 2.0 * w_vr
                    ref_w[best] += wv
                    ref_n[best] += 1
                    ref_w[rv] = 0.0
                    ref_n[rv] = 0
                    ref[i] = best
                for t in range(nt):
                    r = touched[lo + t]
                    neigh_w[r] = 0.0
                    seen[r] = False
            for i in range(lo, hi):
                out[members[i]] = members[ref[i]]
    return out


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


@njit(cache=True, nogil=True)
def compose_into(membership, labels):
    """``membership[v] = labels[membership[v]]`` in place: node v's community at the next level."""
    for v in range(membership.shape[0]):
        membership[v] = labels[membership[v]]


@njit(cache=True, nogil=True)
def renumber_within(refined, labels, k):
    """Dense ids for the refined communities (``refined``: ids in [0, n), each inside one
    community of ``labels``, dense in [0, k)), grouped by community: community 0's refined
    communities first, and so on; within a community, in order of first appearance. The next
    level's nodes then sit next to the other nodes of their community, so its local moving,
    refinement and aggregation read labels, weights and rows close together.
    Returns (new_labels, number of refined communities)."""
    n = refined.shape[0]
    remap = np.full(n, -1, dtype=np.int64)
    count = np.zeros(k + 1, dtype=np.int64)
    for v in range(n):
        r = refined[v]
        if remap[r] < 0:
            remap[r] = 0
            count[labels[v] + 1] += 1
    for c in range(k):
        count[c + 1] += count[c]
    kr = count[k]
    for v in range(n):
        remap[refined[v]] = -1
    out = np.empty(n, dtype=np.int64)
    for v in range(n):
        r = refined[v]
        if remap[r] < 0:
            c = labels[v]
            remap[r] = count[c]
            count[c] += 1
        out[v] = remap[r]
    return out, kr


def aggregate(indptr, indices, weights, labels, k, n_chunks, weight_dtype=np.float64):
    """Collapse communities: returns the k-node CSR (indptr int64, indices int32, weights of
    ``weight_dtype``) of S^T A S. ``labels`` must be dense in [0, k). Within a row, neighbours
    come in order of first appearance over the members' rows in node order: fixed by the input,
    whatever the number of threads (sorting them cost ~0.3 s at 1M nodes and decided nothing).
    Narrower weights (uint16, float32) only when the caller knows every sum is exactly representable.

    Peak memory is about the output, not the input: the buffers are sized by the input's
    entries, but only pages written are touched; each run's block of rows is moved down and the
    pages it leaves are given back at once, and the tail is cut off at the end.
    """
    buf_idx = np.empty(indices.shape[0], dtype=np.int32)
    buf_w = np.empty(indices.shape[0], dtype=weight_dtype)
    for buf in (buf_idx, buf_w):  # numpy asks for huge pages: one byte written would commit 2 MB
        _advise(buf, 0, buf.nbytes, _MADV_NOHUGEPAGE)
    deg, starts, used, dests = _aggregate_into(indptr, indices, weights, labels, k, n_chunks, buf_idx, buf_w)
    nnz = int(deg[k])
    for src, size, dst in zip(starts.tolist(), used.tolist(), dests.tolist()):
        if src != dst and size:  # blocks move down in order: never onto one not yet moved
            for buf in (buf_idx, buf_w):
                b = buf.itemsize
                ctypes.memmove(buf.ctypes.data + dst * b, buf.ctypes.data + src * b, size * b)
                # the pages it leaves are given back at once (keeping those below the output's
                # end for the next blocks saved ~0.04 s at 1M nodes but raised the peak ~4 MB)
                _advise(buf, max(src, dst + size) * b, (src + size) * b, _MADV_DONTNEED)
    buf_idx.resize(nnz, refcheck=False)  # realloc: gives back the tail (mremap on Linux)
    buf_w.resize(nnz, refcheck=False)
    return deg, buf_idx, buf_w


def _madvise():
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
_MADV_NOHUGEPAGE = 15
_PAGE = 4096


def _advise(buf, lo, hi, advice):
    """madvise the whole pages inside bytes [lo, hi) of ``buf`` (Linux; a no-op elsewhere).
    MADV_DONTNEED loses the contents: only for ranges that are dead."""
    if _MADVISE is None:
        return
    base = buf.ctypes.data
    start = -(-(base + lo) // _PAGE) * _PAGE
    end = (base + hi) // _PAGE * _PAGE
    if end > start:
        _MADVISE(start, end - start, advice)


@njit(cache=True, nogil=True, parallel=True)
def _aggregate_into(indptr, indices, weights, labels, k, n_chunks, buf_idx, buf_w):
    """``aggregate``'s kernel. One pass over runs of communities in parallel: each run writes
    its rows one after another from the start of its own region of the buffers (regions sized
    by the members' degree sums, so none overflows). Each row's weights are summed over its
    members in node order, whatever the number of threads (members' rows and their neighbours'
    labels are prefetched a few members ahead). Returns the output indptr and, per
    run, where its block starts, its size and where it belongs in the output."""
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
                prefetch_members(members, p, indptr, indices, weights, lab)
                for e in range(indptr[v], indptr[v + 1]):
                    d = lab[indices[e]]
                    if not seen[d]:
                        seen[d] = True
                        buf_idx[fill] = d
                        fill += 1
                    acc[d] += weights[e]
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
