"""Expand pairs of groups into pairs of members."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def expand_pairs(group_a, group_b, ptr, members, total):
    """For every k, every member of group_a[k] paired with every member of group_b[k].

    ptr/members: CSR of group -> member (int64). total: the number of pairs (int).
    Returns (left int64[total], right int64[total]).
    """
    left = np.empty(total, dtype=np.int64)
    right = np.empty(total, dtype=np.int64)
    t = 0
    for k in range(group_a.shape[0]):
        a = group_a[k]
        b = group_b[k]
        for i in range(ptr[a], ptr[a + 1]):
            for j in range(ptr[b], ptr[b + 1]):
                left[t] = members[i]
                right[t] = members[j]
                t += 1
    return left, right
