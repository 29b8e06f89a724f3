"""Exception and warning types raised by jinduanalytics.

Every error the library raises on purpose is a :class:`JinduError`. The ones caused by
bad input also subclass :class:`ValueError`, so ``except ValueError`` keeps working.
Messages name tables, columns, counts and row positions; they never echo cell values of
case, person or record tables.
"""

from __future__ import annotations

__all__ = [
    "JinduError",
    "SchemaError",
    "GraphInputError",
    "ParameterError",
    "PairBudgetError",
    "MissingDependencyError",
    "OutputError",
    "JinduWarning",
]


class JinduError(Exception):
    """Base class of every error jinduanalytics raises on purpose."""


class SchemaError(JinduError, ValueError):
    """A table does not match its canonical schema (columns, types, keys, references).

    Parameters
    ----------
    message : str
        Names the table, column and offending rows.
    problems : list of Problem, optional
        Every problem found (:class:`jinduanalytics.validate.Problem`).
    """

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class GraphInputError(JinduError, ValueError):
    """An edge table or graph cannot be turned into a valid graph."""


class ParameterError(JinduError, ValueError):
    """A parameter value is out of range or not one of the allowed choices."""


class PairBudgetError(ParameterError):
    """Record linkage refused before forming its pairs: the blocking rules would form more candidate
    pairs than ``max_pairs`` (the message names each rule's count)."""


class MissingDependencyError(JinduError, ImportError):
    """An optional dependency needed by one function is not installed."""


class OutputError(JinduError, OSError):
    """An output folder cannot be written: it would overwrite an input or another run's files,
    or the disk is full or read-only. Nothing is left half-written."""


class JinduWarning(UserWarning):
    """Warnings issued by jinduanalytics (lenient loading, dropped rows on request...)."""
