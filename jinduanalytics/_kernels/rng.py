"""A tiny explicit random state for kernels (splitmix64); never np.random inside kernels."""

import numpy as np
from numba import njit

_MASK = (1 << 64) - 1


@njit(cache=True, nogil=True)
def next_u64(state):
    """Advance ``state`` (uint64[1]) and return a uint64."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def next_below(state, k):
    """Uniform int in [0, k)."""
    return np.int64(next_u64(state) % np.uint64(k))


@njit(cache=True, nogil=True)
def shuffle(state, arr):
    """Fisher-Yates shuffle of arr in place."""
    for i in range(arr.shape[0] - 1, 0, -1):
        j = next_below(state, i + 1)
        t = arr[i]
        arr[i] = arr[j]
        arr[j] = t
