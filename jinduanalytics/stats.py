"""Significance against a null model, shared by the analyses that score counts against chance
(region pairs, flow imbalance)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, poisson

__all__ = ["poisson_z"]


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
