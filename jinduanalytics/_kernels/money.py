"""Money over dated, amount-weighted transfers: upstream tracing and pass-through hops.

Transfers are given as plain arrays (``src``, ``dst`` account indices, ``day`` int64, ``amount``
float64) plus the out-transfers of every account grouped in CSR form, each account's sorted by day
(``out_ptr``, ``out_tr``; ``out_day = day[out_tr]``).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _window(out_ptr, out_day, v, d0, d1):
    """Positions in ``out_tr`` of the out-transfers of ``v`` dated in [d0, d1]."""
    lo = out_ptr[v]
    hi = out_ptr[v + 1]
    a = lo + np.searchsorted(out_day[lo:hi], d0)
    b = lo + np.searchsorted(out_day[lo:hi], d1, side="right")
    return a, b


@njit(cache=True, nogil=True)
def trace(dst, day, amount, out_ptr, out_tr, out_day, seed_ptr, seeds, max_delay, keep, max_hops):
    """For each seed set, every transfer on a time-respecting, amount-aware path from its accounts.

    A path starts with any out-transfer of a seed account; after a transfer ``t`` into ``v`` it may
    go on with an out-transfer ``t2`` of ``v`` dated within ``[day[t], day[t] + max_delay]`` whose
    amount is at least ``keep * amount[t]`` (it can carry the money that arrived). Breadth first,
    so each reached transfer gets its fewest hops and the transfer before it on one such path.

    Returns flat arrays (set, transfer, hops, previous transfer or -1), set by set in BFS order.
    """
    m = dst.shape[0]
    stamp = np.full(m, -1, dtype=np.int64)
    out_set = []
    out_t = []
    out_h = []
    out_p = []
    queue = np.empty(m, dtype=np.int64)
    hops = np.empty(m, dtype=np.int64)
    for s in range(seed_ptr.shape[0] - 1):
        head = 0
        tail = 0
        for i in range(seed_ptr[s], seed_ptr[s + 1]):
            a = seeds[i]
            for k in range(out_ptr[a], out_ptr[a + 1]):
                t = out_tr[k]
                if stamp[t] != s:
                    stamp[t] = s
                    queue[tail] = t
                    hops[t] = 1
                    tail += 1
                    out_set.append(s)
                    out_t.append(t)
                    out_h.append(1)
                    out_p.append(-1)
        while head < tail:
            t = queue[head]
            head += 1
            if hops[t] >= max_hops:
                continue
            lo, hi = _window(out_ptr, out_day, dst[t], day[t], day[t] + max_delay)
            floor = keep * amount[t]
            for k in range(lo, hi):
                t2 = out_tr[k]
                if stamp[t2] == s or amount[t2] < floor:
                    continue
                stamp[t2] = s
                hops[t2] = hops[t] + 1
                queue[tail] = t2
                tail += 1
                out_set.append(s)
                out_t.append(t2)
                out_h.append(hops[t2])
                out_p.append(t)
    return (np.array(out_set, dtype=np.int64), np.array(out_t, dtype=np.int64), np.array(out_h, dtype=np.int64),
            np.array(out_p, dtype=np.int64))


@njit(cache=True, nogil=True)
def pass_through(dst, day, amount, out_ptr, out_tr, out_day, max_delay, lo_share, hi_share):
    """Pairs (t1, t2): ``t2`` leaves the account ``t1`` paid into, within ``[day[t1], day[t1] + max_delay]``,
    with an amount between ``lo_share`` and ``hi_share`` times ``t1``'s (it forwards what arrived)."""
    first = []
    second = []
    for t in range(dst.shape[0]):
        lo, hi = _window(out_ptr, out_day, dst[t], day[t], day[t] + max_delay)
        a0 = lo_share * amount[t]
        a1 = hi_share * amount[t]
        for k in range(lo, hi):
            x = amount[out_tr[k]]
            if x >= a0 and x <= a1 and out_tr[k] != t:
                first.append(t)
                second.append(out_tr[k])
    return np.array(first, dtype=np.int64), np.array(second, dtype=np.int64)


@njit(cache=True, nogil=True)
def cycles(src, dst, day, pair_ptr, pair_next, max_len, max_days):
    """Temporal cycles along pass-through pairs: t1 -> t2 -> ... -> tL with ``dst[tL] == src[t1]``,
    3 <= L <= ``max_len``, spanning at most ``max_days``, every account once. Dates never go backwards
    along the pairs, so a cycle is found from its first transfer; one whose transfers share one date
    is found from each of them (the caller keeps one). Returns (cycle id, transfer) pairs."""
    out_c = []
    out_t = []
    path = np.empty(max_len, dtype=np.int64)
    it = np.empty(max_len, dtype=np.int64)
    n_found = 0
    for t1 in range(src.shape[0]):
        if pair_ptr[t1] == pair_ptr[t1 + 1]:
            continue
        path[0] = t1
        it[0] = pair_ptr[t1]
        depth = 0
        while depth >= 0:
            if it[depth] >= pair_ptr[path[depth] + 1]:
                depth -= 1
                continue
            t2 = pair_next[it[depth]]
            it[depth] += 1
            if day[t2] - day[t1] > max_days:
                continue
            repeat = False
            for i in range(depth + 1):
                if src[path[i]] == dst[t2] and dst[t2] != src[t1]:
                    repeat = True
                if path[i] == t2:
                    repeat = True
            if repeat:
                continue
            if dst[t2] == src[t1]:
                if depth + 2 >= 3:
                    for i in range(depth + 1):
                        out_c.append(n_found)
                        out_t.append(path[i])
                    out_c.append(n_found)
                    out_t.append(t2)
                    n_found += 1
                continue
            if depth + 2 < max_len:
                depth += 1
                path[depth] = t2
                it[depth] = pair_ptr[t2]
    return np.array(out_c, dtype=np.int64), np.array(out_t, dtype=np.int64)


@njit(cache=True, nogil=True)
def fan_windows(ptr, order, other, day, amount, window, k, o_ptr, o_day, o_cum, delay, share, incoming, balanced,
                n_acc, lookback):
    """Windows in which one account meets ``k``+ distinct counterparties within ``window`` days.

    ``ptr``/``order``: every account's transfers on this side (in-transfers for a fan-in, out for a
    fan-out), sorted by day; ``other``: the counterparty of each transfer; ``o_ptr``/``o_day``/``o_cum``:
    the account's transfers on the other side, their days and the running sum of their amounts.
    Windows are taken greedily from the earliest transfer and extended as far as ``window`` allows.
    With ``balanced``, a window counts only when the money passes through the account: for a fan-in,
    the money leaving it in ``[first day, last day + delay]`` is at least ``share`` of the window's;
    for a fan-out, the money arriving in ``[first day - lookback, last day]`` is at least ``share`` of
    the window's and the window's at least ``share`` of it.

    Returns (account, first position, last position) per window, positions in ``order``.
    """
    cnt = np.zeros(n_acc, dtype=np.int64)
    out_a = []
    out_lo = []
    out_hi = []
    for a in range(n_acc):
        lo = ptr[a]
        hi = ptr[a + 1]
        if hi - lo < k:
            continue
        j = lo
        i = lo
        distinct = 0
        while i < hi:
            o = other[order[i]]
            if cnt[o] == 0:
                distinct += 1
            cnt[o] += 1
            while day[order[i]] - day[order[j]] > window:
                oj = other[order[j]]
                cnt[oj] -= 1
                if cnt[oj] == 0:
                    distinct -= 1
                j += 1
            if distinct >= k:
                e = i
                while e + 1 < hi and day[order[e + 1]] - day[order[j]] <= window:
                    e += 1
                total = 0.0
                for x in range(j, e + 1):
                    total += amount[order[x]]
                d0 = day[order[j]]
                d1 = day[order[e]]
                ok = True
                if balanced:
                    s0 = o_ptr[a]
                    s1 = o_ptr[a + 1]
                    if incoming:
                        p0 = s0 + np.searchsorted(o_day[s0:s1], d0)
                        p1 = s0 + np.searchsorted(o_day[s0:s1], d1 + delay, side="right")
                        ok = o_cum[p1] - o_cum[p0] >= share * total
                    else:
                        p0 = s0 + np.searchsorted(o_day[s0:s1], d0 - lookback)
                        p1 = s0 + np.searchsorted(o_day[s0:s1], d1, side="right")
                        arrived = o_cum[p1] - o_cum[p0]
                        ok = arrived >= share * total and total >= share * arrived
                if ok:
                    out_a.append(a)
                    out_lo.append(j)
                    out_hi.append(e)
                    for x in range(j, i + 1):
                        cnt[other[order[x]]] = 0
                    distinct = 0
                    i = e + 1
                    j = i
                    continue
            i += 1
        for x in range(j, hi):
            cnt[other[order[x]]] = 0
    return (np.array(out_a, dtype=np.int64), np.array(out_lo, dtype=np.int64), np.array(out_hi, dtype=np.int64))
