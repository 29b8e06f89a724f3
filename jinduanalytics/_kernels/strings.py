"""String and identifier comparisons for record linkage, over encoded arrays.

Strings arrive as a padded int32 code-point matrix ``codes[n, width]`` with ``lengths[n]``
(-1 = missing). Each kernel takes two record index arrays (the candidate pairs) and returns
one value per pair.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def _jaro_winkler(a, la, b, lb, flags_a, flags_b, prefix_scale):
    if la == 0 and lb == 0:
        return 1.0
    if la == 0 or lb == 0:
        return 0.0
    window = max(la, lb) // 2 - 1
    if window < 0:
        window = 0
    for i in range(la):
        flags_a[i] = False
    for j in range(lb):
        flags_b[j] = False
    m = 0
    for i in range(la):
        lo = max(0, i - window)
        hi = min(lb, i + window + 1)
        for j in range(lo, hi):
            if not flags_b[j] and a[i] == b[j]:
                flags_a[i] = True
                flags_b[j] = True
                m += 1
                break
    if m == 0:
        return 0.0
    t = 0
    k = 0
    for i in range(la):
        if flags_a[i]:
            while not flags_b[k]:
                k += 1
            if a[i] != b[k]:
                t += 1
            k += 1
    t = t // 2  # half the transpositions, rounded down as in Winkler's strcmp95
    jaro = (m / la + m / lb + (m - t) / m) / 3.0
    if jaro <= 0.7:  # Winkler's boost threshold
        return jaro
    p = 0
    for i in range(min(4, la, lb)):
        if a[i] == b[i]:
            p += 1
        else:
            break
    return jaro + p * prefix_scale * (1.0 - jaro)


def jaro_winkler_pairs(codes_a, len_a, codes_b, len_b, ia, ib, n_chunks=1):
    """Jaro-Winkler similarity per pair; NaN when either side is missing (length -1). The pairs
    are split into ``n_chunks`` parallel pieces (the caller's thread-chunk rule)."""
    return _jaro_winkler_chunks(codes_a, len_a, codes_b, len_b, ia, ib, max(1, n_chunks))


@nb.njit(cache=True, parallel=True)
def _jaro_winkler_chunks(codes_a, len_a, codes_b, len_b, ia, ib, n_chunks):
    n = ia.shape[0]
    out = np.empty(n, dtype=np.float64)
    width = max(codes_a.shape[1], codes_b.shape[1]) + 1
    for c in nb.prange(n_chunks):
        fa = np.zeros(width, dtype=np.bool_)
        fb = np.zeros(width, dtype=np.bool_)
        lo = c * n // n_chunks
        hi = (c + 1) * n // n_chunks
        for k in range(lo, hi):
            i, j = ia[k], ib[k]
            la, lb = len_a[i], len_b[j]
            if la < 0 or lb < 0:
                out[k] = np.nan
            else:
                out[k] = _jaro_winkler(codes_a[i], la, codes_b[j], lb, fa, fb, 0.1)
    return out


@nb.njit(cache=True, parallel=True)
def exact_pairs(codes_a, codes_b, ia, ib):
    """1 equal, 0 different, -1 missing (code < 0) per pair."""
    n = ia.shape[0]
    out = np.empty(n, dtype=np.int8)
    for k in nb.prange(n):
        x, y = codes_a[ia[k]], codes_b[ib[k]]
        if x < 0 or y < 0:
            out[k] = -1
        elif x == y:
            out[k] = 1
        else:
            out[k] = 0
    return out


@nb.njit(cache=True, parallel=True)
def char_diff_pairs(codes_a, len_a, codes_b, len_b, ia, ib):
    """Number of positions that differ when both strings have one length; -1 missing, 99 lengths differ."""
    n = ia.shape[0]
    out = np.empty(n, dtype=np.int32)
    for k in nb.prange(n):
        i, j = ia[k], ib[k]
        la, lb = len_a[i], len_b[j]
        if la < 0 or lb < 0:
            out[k] = -1
        elif la != lb:
            out[k] = 99
        else:
            d = 0
            for p in range(la):
                if codes_a[i, p] != codes_b[j, p]:
                    d += 1
            out[k] = d
    return out


@nb.njit(cache=True, parallel=True)
def id_number_pairs(codes_a, len_a, codes_b, len_b, ia, ib, mask_code):
    """Compare ID numbers position by position, ``mask_code`` (the ``*``) matching anything.

    Returns per pair: 0 identical and unmasked, 1 equal on every position visible in both
    (one side masked), 2 exactly one visible digit differs, 3 different, -1 missing.
    """
    n = ia.shape[0]
    out = np.empty(n, dtype=np.int8)
    for k in nb.prange(n):
        i, j = ia[k], ib[k]
        la, lb = len_a[i], len_b[j]
        if la < 0 or lb < 0:
            out[k] = -1
            continue
        if la != lb:
            out[k] = 3
            continue
        diff = 0
        masked = False
        for p in range(la):
            x, y = codes_a[i, p], codes_b[j, p]
            if x == mask_code or y == mask_code:
                masked = True
            elif x != y:
                diff += 1
        if diff == 0:
            out[k] = 1 if masked else 0
        elif diff == 1 and not masked:
            out[k] = 2
        else:
            out[k] = 3
    return out


@nb.njit(cache=True, parallel=True)
def date_pairs(days_a, ymd_a, days_b, ymd_b, ia, ib):
    """Dates: 0 equal, 1 day and month swapped, 2 same year and month, 3 within a year,
    4 different, -1 missing (days == INT64_MIN). ``ymd`` = year*10000 + month*100 + day."""
    n = ia.shape[0]
    out = np.empty(n, dtype=np.int8)
    missing = np.iinfo(np.int64).min
    for k in nb.prange(n):
        i, j = ia[k], ib[k]
        da, db = days_a[i], days_b[j]
        if da == missing or db == missing:
            out[k] = -1
            continue
        if da == db:
            out[k] = 0
            continue
        ya, yb = ymd_a[i] // 10000, ymd_b[j] // 10000
        ma, mb = (ymd_a[i] // 100) % 100, (ymd_b[j] // 100) % 100
        dda, ddb = ymd_a[i] % 100, ymd_b[j] % 100
        if ya == yb and ma == ddb and dda == mb:
            out[k] = 1
        elif ya == yb and ma == mb:
            out[k] = 2
        elif abs(da - db) <= 366:
            out[k] = 3
        else:
            out[k] = 4
    return out


@nb.njit(cache=True)
def ascii_matrix(offsets, data, lengths, width):
    """Padded code matrix of ASCII strings stored Arrow-style (offsets into one byte buffer)."""
    n = lengths.shape[0]
    out = np.zeros((n, width), dtype=np.int32)
    for i in range(n):
        o = offsets[i]
        for j in range(lengths[i]):
            out[i, j] = data[o + j]
    return out
