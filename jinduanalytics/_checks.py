"""Small parameter checks shared by the public functions. Messages echo the parameter."""

from __future__ import annotations

import datetime as _dt
import numbers
from collections.abc import Iterable

import numba
import numpy as np

from .errors import ParameterError


def check_positive(**params: float) -> None:
    for name, value in params.items():
        if not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name} must be a finite number > 0; got {value!r}.")


def check_nonnegative(**params: float) -> None:
    for name, value in params.items():
        if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
            raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")


def check_int(name: str, value, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer; got {value!r}.")
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {value!r}.")
    return int(value)


def check_choice(name: str, value, choices: Iterable) -> None:
    choices = tuple(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name} must be one of {allowed}; got {value!r}.")


def as_generator(seed) -> np.random.Generator:
    """One numpy Generator per call, from an int, a Generator or None (fresh entropy).

    The seed convention, for every public function that draws: ``seed`` is an int >= 0, a
    numpy Generator or None, and defaults to 0, so the same call gives the same table; None
    draws fresh entropy (community results record the seed drawn in their provenance). The
    synthetic presets, the analysis run (``analyze`` and its configuration) and the ``jindu``
    commands default to seed 7 (the committed datasets).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be a non-negative int, a numpy Generator or None; got {seed!r}.")
    return np.random.default_rng(int(seed))


def n_chunks(n_items: int | None = None, *, per_thread: int = 4) -> int:
    """How many pieces parallel kernels split their work into: ``per_thread`` (4: enough to even
    out uneven pieces; 1 for a kernel that wants one piece per worker) per numba thread, never
    more than there are items, at least 1. The one rule every wrapper of a ``parallel=True``
    kernel uses; results never depend on it."""
    chunks = per_thread * numba.get_num_threads()
    if n_items is not None:
        chunks = min(chunks, n_items)
    return max(1, chunks)


def check_date(value, name: str) -> _dt.date | None:
    """``value`` as a date (a date, a datetime or "YYYY-MM-DD"; None or "" for an open side)."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise ParameterError(f"{name} must be a date 'YYYY-MM-DD'; got {value!r}") from None
