"""Asynchronous weighted label propagation."""

import numpy as np
from numba import njit

from .leiden import _gather
from .rng import next_below, shuffle


@njit(cache=True, nogil=True)
def label_propagation(indptr, indices, weights, state, max_sweeps):
    """Each node, in a random order per sweep, takes the label with the largest total edge
    weight among its neighbours (ties broken at random, keeping its own label when it is among
    the best). Stops when a sweep changes nothing. Returns (labels int64[n], sweeps int)."""
    n = indptr.shape[0] - 1
    labels = np.arange(n)
    order = np.arange(n)
    acc = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    tw = np.empty(n, dtype=np.float64)  # weight to each touched label
    ties = np.empty(n, dtype=np.int64)
    sweeps = 0
    for _ in range(max_sweeps):
        sweeps += 1
        shuffle(state, order)
        changed = 0
        for i in range(n):
            v = order[i]
            nt, _ = _gather(v, indptr, indices, weights, labels, acc, seen, touched, tw, 0)
            if nt > 0:
                best = -1.0
                for t in range(nt):
                    if tw[t] > best:
                        best = tw[t]
                nties = 0
                own_best = False
                for t in range(nt):
                    c = touched[t]
                    if tw[t] == best:
                        ties[nties] = c
                        nties += 1
                        if c == labels[v]:
                            own_best = True
                if not own_best and best > 0.0:
                    labels[v] = ties[next_below(state, nties)]
                    changed += 1
        if changed == 0:
            break
    return labels, sweeps
