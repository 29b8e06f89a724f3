"""Significance against a null model, shared by the analyses that score counts against chance
(region pairs, flow imbalance)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, poisson

__all__ = ["poisson_z", "bh_qvalues"]


def poisson_z(observed, expected) -> tuple[np.ndarray, np.ndarray]:
    """Mid-p upper tail of a Poisson count and its normal quantile.

    ``p = P(X > O) + P(X = O) / 2`` with ``X ~ Poisson(E)`` (mid-p keeps a count of 0 near
    ``z = 0`` instead of ``-inf``); ``z = Phi^-1(1 - p)``, clipped to +-38.

    Parameters
    ----------
    observed : array of float
        Observed counts ``O``.
    expected : array of float
        Expected counts ``E`` under the null (floored at 1e-12).

    Returns
    -------
    (z, p) : tuple of numpy arrays

    Examples
    --------
    >>> z, p = poisson_z([0, 10], [2.0, 2.0])
    >>> round(float(p[0]), 3), bool(z[1] > 4)
    (0.932, True)
    """
    obs = np.asarray(observed, dtype=np.float64)
    mu = np.maximum(np.asarray(expected, dtype=np.float64), 1e-12)
    p = poisson.sf(obs, mu) + 0.5 * poisson.pmf(obs, mu)
    return np.clip(norm.isf(np.clip(p, 1e-300, 1.0)), -38.0, 38.0), p


def bh_qvalues(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): flag ``q < alpha`` to keep the expected
    share of false discoveries among the flagged at most ``alpha``.

    Parameters
    ----------
    p : array of float
        p-values.

    Examples
    --------
    >>> [round(float(q), 3) for q in bh_qvalues([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    if n == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out
