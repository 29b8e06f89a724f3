"""Comparisons of a record pair, each with ordered agreement levels (0 = strongest agreement).

A comparison encodes its column(s) once for all records (``prepare``) and then maps candidate
pairs to a level per pair (``levels``; -1 = a value is missing, which carries no evidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import n_chunks
from .._kernels import strings as _k
from ..errors import ParameterError, SchemaError
from ..identifiers import MAX_COMPARE_CHARS
from .names import name_pinyin

#: pandas string dtype backed by Arrow: its .str methods run in Arrow compute kernels
STR = "string[pyarrow]"

__all__ = ["Comparison", "ExactMatch", "StringSimilarity", "DateComparison", "ChineseName", "IdNumber"]

_MISSING_DAY = np.iinfo(np.int64).min


def encode_strings(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Padded int32 code-point matrix and lengths (-1 for missing / empty).

    ASCII columns (ID numbers, phones) are read straight from the Arrow buffers; others are
    encoded once per distinct value and gathered.
    """
    arr = pa.array(values.astype(STR), pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # at most the first MAX_COMPARE_CHARS characters: the matrix is n x the longest value, so one
    # 1 MB cell made every comparison of the column slow (city linkage 0.8 s -> 53 s)
    longest = pc.max(pc.utf8_length(arr)).as_py() if len(arr) else None
    if longest is not None and longest > MAX_COMPARE_CHARS:
        arr = pc.utf8_slice_codeunits(arr, 0, MAX_COMPARE_CHARS)
    n = len(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    if n and pc.all(pc.fill_null(pc.string_is_ascii(arr), True)).as_py():
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1].astype(np.int64)
        data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
        lengths = np.diff(offsets)
        lengths[~valid] = 0
        width = max(1, int(lengths.max()))
        codes = _k.ascii_matrix(offsets[:-1], data, lengths, width)
    else:
        enc = pc.dictionary_encode(arr)
        uniq = enc.dictionary.to_pylist()
        ulen = np.array([len(u) for u in uniq], dtype=np.int64)
        width = max(1, int(ulen.max()) if len(ulen) else 1)
        ucodes = (np.array(uniq, dtype=f"<U{width}").view(np.int32).reshape(len(uniq), width)
                  if uniq else np.zeros((0, width), np.int32))
        idx = enc.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        codes = ucodes[idx] if len(uniq) else np.zeros((n, width), np.int32)
        lengths = ulen[idx] if len(uniq) else np.zeros(n, np.int64)
    lengths = lengths.astype(np.int64)
    lengths[~valid | (lengths == 0)] = -1
    return np.ascontiguousarray(codes), lengths


def factorize(values: pd.Series) -> np.ndarray:
    """int64 codes, -1 for missing (numbers and dates factorised as they are, text as Arrow strings)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        codes, _ = pd.factorize(values, use_na_sentinel=True)
    else:
        codes, _ = pd.factorize(values.astype(STR), use_na_sentinel=True)
    return codes.astype(np.int64)


@dataclass
class Comparison:
    """Base class: a named comparison over ``columns`` with ``n_levels`` agreement levels.

    The extension point for custom comparisons: subclass it, set ``labels`` (level 0 is the
    strongest agreement, the last level disagreement), and implement :meth:`~jinduanalytics.linkage.Comparison.prepare` (encode the
    records once) and :meth:`~jinduanalytics.linkage.Comparison.levels` (the level of each candidate pair). :func:`link_records`
    fits an m and a u probability per level and turns the level into a Bayes factor.

    Attributes
    ----------
    name : str
        Names the ``<name>_level`` and ``<name>_weight`` result columns.
    columns : tuple of str
        Record columns read; a blocking rule on one of them constrains the comparison.
    labels : tuple of str
        One label per level, strongest first (``("exact", "else")``).
    tf : bool
        Term-frequency adjustment of the exact level (rare values weigh more).
    blocked_by : tuple of str
        Derived blocking columns that also constrain it (left out of that rule's EM session).

    Examples
    --------
    >>> class SameSex(Comparison):
    ...     def __init__(self):
    ...         super().__init__("sex", ("sex",), ("same", "different"))
    ...     def prepare(self, df):
    ...         return factorize(df["sex"])
    ...     def levels(self, prep, ia, ib):
    ...         out = np.where(prep[ia] == prep[ib], 0, 1).astype(np.int8)
    ...         return np.where((prep[ia] < 0) | (prep[ib] < 0), -1, out).astype(np.int8)
    >>> c = SameSex()
    >>> c.levels(c.prepare(pd.DataFrame({"sex": ["M", "F", "M", None]})), np.array([0, 0, 0]), np.array([1, 2, 3]))
    array([ 1,  0, -1], dtype=int8)
    """

    name: str
    columns: tuple[str, ...]
    labels: tuple[str, ...] = field(default=())
    tf: bool = False  # term-frequency adjustment of the exact level
    blocked_by: tuple[str, ...] = field(default=())  # derived blocking columns that constrain it

    def constrained_by(self) -> set[str]:
        """Blocking columns whose equality constrains this comparison (its own columns and ``blocked_by``)."""
        return set(self.columns) | set(self.blocked_by)

    @property
    def n_levels(self) -> int:
        return len(self.labels)

    def check(self, df: pd.DataFrame) -> None:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise SchemaError(f"comparison '{self.name}': the records have no column(s) "
                              f"{', '.join(map(repr, missing))}; found: {', '.join(map(str, df.columns))}")

    def prepare(self, df: pd.DataFrame):  # pragma: no cover - abstract
        """Encode every record once, before any pair is compared.

        Parameters
        ----------
        df : pandas.DataFrame
            All records (left and right, in one frame), in the order :meth:`~jinduanalytics.linkage.Comparison.levels` indexes.

        Returns
        -------
        object
            Anything :meth:`~jinduanalytics.linkage.Comparison.levels` reads (typically numpy arrays: codes, lengths).
        """
        raise NotImplementedError

    def levels(self, prep, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """The agreement level of each candidate pair.

        Parameters
        ----------
        prep : object
            What :meth:`~jinduanalytics.linkage.Comparison.prepare` returned.
        ia, ib : numpy array of int64
            Row positions of the two records of each pair.

        Returns
        -------
        numpy array of int8
            One level per pair: 0 the strongest agreement ... ``n_levels - 1``; -1 when either
            value is missing (the comparison then adds no evidence).
        """
        raise NotImplementedError

    def tf_values(self, df: pd.DataFrame) -> np.ndarray:
        """Per record: a code of the value whose frequency adjusts the exact level (-1 none).

        Parameters
        ----------
        df : pandas.DataFrame
            The records.
        """
        return factorize(df[self.columns[0]])


class ExactMatch(Comparison):
    """Equal or not (after optional normalisation: stripped, lower-cased).

    Parameters
    ----------
    column : str
    name : str, optional
        The comparison's name (default: the column).
    tf : bool, default False
        Term-frequency adjustment of an exact match (rare values weigh more).
    """

    def __init__(self, column: str, *, name: str | None = None, tf: bool = False):
        super().__init__(name or column, (column,), ("exact", "else"), tf)

    def prepare(self, df):
        return factorize(df[self.columns[0]].astype(STR).str.strip().str.lower())

    def levels(self, prep, ia, ib):
        eq = _k.exact_pairs(prep, prep, ia, ib)
        return np.where(eq < 0, -1, np.where(eq == 1, 0, 1)).astype(np.int8)


class StringSimilarity(Comparison):
    """Exact, then Jaro-Winkler similarity at or above each threshold, else.

    Parameters
    ----------
    column : str
    thresholds : tuple of float, default (0.92, 0.85)
        Jaro-Winkler levels, highest first.
    name : str, optional
    tf : bool, default False
    """

    def __init__(self, column: str, thresholds=(0.92, 0.85), *, name: str | None = None, tf: bool = False):
        thresholds = tuple(float(t) for t in thresholds)
        if any(not 0 < t < 1 for t in thresholds) or list(thresholds) != sorted(thresholds, reverse=True):
            raise ParameterError(f"thresholds must be decreasing numbers in (0, 1); got {thresholds}")
        self.thresholds = thresholds
        super().__init__(name or column, (column,),
                         ("exact",) + tuple(f"jw>={t:g}" for t in thresholds) + ("else",), tf)

    def prepare(self, df):
        s = df[self.columns[0]].astype(STR).str.strip().str.lower()
        return encode_strings(s)

    def levels(self, prep, ia, ib):
        codes, lengths = prep
        sim = _k.jaro_winkler_pairs(codes, lengths, codes, lengths, ia, ib, n_chunks(ia.shape[0]))
        out = np.full(ia.shape[0], len(self.thresholds) + 1, dtype=np.int8)
        for lvl, t in reversed(list(enumerate(self.thresholds, start=1))):
            out[sim >= t] = lvl
        out[sim >= 1.0] = 0
        out[np.isnan(sim)] = -1
        return out


class DateComparison(Comparison):
    """Dates: exact, day/month swapped, same year and month, within a year, else.

    Parameters
    ----------
    column : str
    name : str, optional
    """

    def __init__(self, column: str, *, name: str | None = None):
        super().__init__(name or column, (column,), ("exact", "day-month swap", "same month", "within a year",
                                                     "else"))

    def prepare(self, df):
        col = df[self.columns[0]]
        if pd.api.types.is_integer_dtype(col) or pd.api.types.is_string_dtype(col) or col.dtype == object:
            d = pd.to_datetime(col.astype(STR), format="mixed", errors="coerce")
        else:
            d = pd.to_datetime(col, errors="coerce")
        days = d.to_numpy(dtype="datetime64[D]").astype(np.int64)
        miss = d.isna().to_numpy()
        days[miss] = _MISSING_DAY
        ymd = np.where(miss, 0, d.dt.year.fillna(0).to_numpy() * 10000 + d.dt.month.fillna(0).to_numpy() * 100
                       + d.dt.day.fillna(0).to_numpy()).astype(np.int64)
        return days, ymd

    def levels(self, prep, ia, ib):
        days, ymd = prep
        return _k.date_pairs(days, ymd, days, ymd, ia, ib)


class ChineseName(Comparison):
    """Chinese names: exact, same pinyin (a homophone), one character differs (a look-alike or
    a mistake), else. Pinyin uses surname readings for the first character (曾 zeng, 区 ou,
    覃 qin, 单 shan ...).

    Parameters
    ----------
    column : str, default "name"
    name : str, optional
    tf : bool, default True
    pinyin_column : str, optional
        A column already holding each name's pinyin (saves recomputing it).
    """

    def __init__(self, column: str = "name", *, name: str | None = None, tf: bool = True,
                 pinyin_column: str | None = None):
        super().__init__(name or column, (column,), ("exact", "same pinyin", "one char differs", "else"), tf)
        self.pinyin_column = pinyin_column  # a precomputed pinyin key (else computed here)

    def prepare(self, df):
        s = df[self.columns[0]].astype(STR).str.strip()
        codes, lengths = encode_strings(s)
        py = df[self.pinyin_column] if self.pinyin_column else name_pinyin(s)
        return codes, lengths, factorize(py)

    def levels(self, prep, ia, ib):
        codes, lengths, py = prep
        diff = _k.char_diff_pairs(codes, lengths, codes, lengths, ia, ib)
        same_py = _k.exact_pairs(py, py, ia, ib)
        out = np.full(ia.shape[0], 3, dtype=np.int8)
        out[diff == 1] = 2
        out[same_py == 1] = 1
        out[diff == 0] = 0
        out[diff < 0] = -1
        return out


class IdNumber(Comparison):
    """ID numbers (GB 11643): identical, equal where both are visible (masked), one digit
    differs (a typo: the check digit then usually fails), else.

    Parameters
    ----------
    column : str, default "id_number"
    name : str, optional
    """

    def __init__(self, column: str = "id_number", *, name: str | None = None):
        super().__init__(name or column, (column,), ("exact", "masked match", "one digit", "else"))

    def prepare(self, df):
        s = df[self.columns[0]].astype(STR).str.strip().str.upper()
        return encode_strings(s)

    def levels(self, prep, ia, ib):
        codes, lengths = prep
        out = _k.id_number_pairs(codes, lengths, codes, lengths, ia, ib, ord("*"))
        return out.astype(np.int8)
