"""Small parameter checks shared by the public functions. Messages echo the parameter."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

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
    """One numpy Generator per call, from an int, a Generator or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be a non-negative int, a numpy Generator or None; got {seed!r}.")
    return np.random.default_rng(int(seed))
