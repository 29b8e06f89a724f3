"""Fixed hashes of Arrow strings, and (kind, value) codes in order of first appearance.

Strings are passed as their Arrow ``offsets`` (int32, sliced to the array's rows, length
n + 1) and ``data`` (uint8) buffers. The hash (FNV-1a over the bytes, then the murmur3
finaliser) is the same on every machine and every run.
"""

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _mix(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(cache=True, nogil=True)
def string_hashes(offsets, data):
    """uint64 hash of every string."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for r in range(n):
        lo, hi = offsets[r], offsets[r + 1]
        h = _FNV_OFFSET ^ np.uint64(hi - lo)
        for i in range(lo, hi):
            h = (h ^ np.uint64(data[i])) * _FNV_PRIME
        out[r] = _mix(h)
    return out


@njit(cache=True, nogil=True)
def pair_hashes(h1, h2, c1, c2):
    """Hash of each pair (c1[i], c2[i]) of codes into the hash tables h1, h2 (order matters)."""
    out = np.empty(c1.shape[0], dtype=np.uint64)
    for i in range(c1.shape[0]):
        out[i] = _mix(h1[c1[i]] * _FNV_PRIME ^ h2[c2[i]])
    return out


@njit(cache=True, nogil=True)
def dense_pair_codes(a, b, n_b, n_pairs_max):
    """Codes of the pairs (a[i], b[i]) in order of first appearance, through a dense table of
    size max(a) * n_b + n_b (the caller bounds it). Returns codes int64[n], first_a, first_b
    (int64[d]: the pair of each code)."""
    n = a.shape[0]
    table = np.full(n_pairs_max, -1, dtype=np.int32)  # the caller keeps n < 2**31
    codes = np.empty(n, dtype=np.int64)
    fa = np.empty(n, dtype=np.int64)
    fb = np.empty(n, dtype=np.int64)
    nd = 0
    for i in range(n):
        key = np.int64(a[i]) * n_b + b[i]
        d = table[key]
        if d < 0:
            table[key] = nd
            fa[nd] = a[i]
            fb[nd] = b[i]
            d = nd
            nd += 1
        codes[i] = d
    return codes, fa[:nd].copy(), fb[:nd].copy()


@njit(cache=True, nogil=True)
def sorted_run_codes(offsets, data):
    """If the strings are in non-decreasing (bytewise) order: the code of every string (0, 1, ...
    counting distinct values) and the first row of each; else two empty arrays (stops at the
    first string smaller than its predecessor)."""
    n = offsets.shape[0] - 1
    codes = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    nd = 0
    for r in range(n):
        if r > 0:
            a, b = offsets[r - 1], offsets[r]
            la, lb = b - a, offsets[r + 1] - b
            cmp = 0
            for i in range(min(la, lb)):
                x, y = data[a + i], data[b + i]
                if x != y:
                    cmp = 1 if y > x else -1
                    break
            if cmp == 0:
                cmp = 1 if lb > la else (-1 if lb < la else 0)
            if cmp < 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
            if cmp == 0:
                codes[r] = nd - 1
                continue
        first[nd] = r
        codes[r] = nd
        nd += 1
    return codes, first[:nd].copy()
