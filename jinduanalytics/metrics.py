"""Agreement between two partitions: NMI and ARI (label-permutation free)."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["nmi", "ari", "contingency"]


def _labels(a) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ParameterError(f"labels must be 1-d; got shape {arr.shape}")
    return np.unique(arr, return_inverse=True)[1].astype(np.int64)


def contingency(a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts n_ij of the non-empty cells, and the row and column sums.

    Parameters
    ----------
    a, b : array-like
        Two labelings of the same items.
    """
    x, y = _labels(a), _labels(b)
    if x.shape != y.shape:
        raise ParameterError(f"label arrays differ in length: {x.size} and {y.size}")
    key = x * (y.max(initial=0) + 1) + y
    _, counts = np.unique(key, return_counts=True)
    return counts, np.bincount(x), np.bincount(y)


def nmi(a, b) -> float:
    """Normalised mutual information, arithmetic-mean normalisation (sklearn's default).

    1 for identical partitions (up to relabelling); 1 when both have a single cluster.

    Parameters
    ----------
    a, b : array-like
        Two labelings of the same items.
    """
    nij, ai, bj = contingency(a, b)
    n = ai.sum()
    if n == 0:
        return 1.0

    def h(c):
        p = c[c > 0] / n
        return float(-(p * np.log(p)).sum())

    ha, hb = h(ai), h(bj)
    if ha == 0 and hb == 0:
        return 1.0
    x, y = _labels(a), _labels(b)
    key = x * (y.max(initial=0) + 1) + y
    uk, counts = np.unique(key, return_counts=True)
    ia, ib = uk // (y.max(initial=0) + 1), uk % (y.max(initial=0) + 1)
    mi = float((counts / n * np.log(counts * n / (ai[ia] * bj[ib]))).sum())
    return max(0.0, min(1.0, mi / ((ha + hb) / 2)))


def ari(a, b) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985).

    Parameters
    ----------
    a, b : array-like
        Two labelings of the same items.
    """
    nij, ai, bj = contingency(a, b)
    n = ai.sum()

    def c2(x):
        return (x * (x - 1) / 2.0).sum()

    if n < 2:
        return 1.0
    index, sa, sb = c2(nij), c2(ai), c2(bj)
    expected = sa * sb / (n * (n - 1) / 2.0)
    maximum = (sa + sb) / 2.0
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))
