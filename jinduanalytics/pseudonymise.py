"""Keyed pseudonymisation of personal identifiers (HMAC-SHA256).

Names, ID numbers, phones, accounts and the values of seized entities are replaced by
``<domain>:<16 hex digits>`` where the digits are the first 64 bits of
``HMAC-SHA256(key, domain + "\\x1f" + value)``. The same value in the same domain gets
the same pseudonym in every table of a dataset (a phone in ``person_records.phone``, in
``case_entities`` with ``kind == "phone"`` and in ``contacts`` stays one node of the
graph), and values of different domains never collide by accident.

The key comes from the caller or from the environment variable
``JINDU_PSEUDONYM_KEY``; it is never stored, logged or written to a result.

Note: pseudonyms hide the structure of a value, so record linkage that compares names or
ID numbers character by character must run *before* pseudonymisation (or on features
derived from the raw values inside a trusted environment).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import JinduWarning, ParameterError
from .io import Dataset
from .schema import PERSONAL_DOMAINS, TABLES
from .vocabulary import vocabulary_of

__all__ = ["pseudonymise", "pseudonymise_values", "KEY_ENV", "BIRTH_DATES"]

KEY_ENV = "JINDU_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(KEY_ENV)
        if not key:
            raise ParameterError(f"pseudonymisation needs a key: pass key=... or set the environment "
                                 f"variable {KEY_ENV} (at least {_MIN_KEY_BYTES} bytes).")
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_BYTES:
        raise ParameterError(f"the pseudonymisation key must be at least {_MIN_KEY_BYTES} bytes; "
                             f"got {len(raw)} bytes.")
    return raw


#: Distinct values hashed per slice (bounded memory for tens of millions of ids)
_SLICE = 1 << 16


def pseudonymise_values(values, domain: str, *, key: str | bytes | None = None) -> pa.Array:
    """Pseudonymise one array of strings in one domain. Nulls stay null.

    Each distinct value is hashed once, so the cost follows the number of distinct values.

    Parameters
    ----------
    values : sequence of str, pyarrow.Array or ChunkedArray
    domain : str
        ``name``, ``id_number``, ``phone``, ``account`` or an entity kind: the same value gets the
        same pseudonym within one domain only.
    key : str or bytes, optional
        Secret key, at least 16 bytes; default the ``JINDU_PSEUDONYM_KEY`` environment variable.

    Examples
    --------
    >>> a = pseudonymise_values(["13800000000", None, "13800000000"], "phone", key="k" * 16)
    >>> a[0] == a[2], a[1].is_valid
    (True, False)
    """
    k = _key_bytes(key)
    arr = pa.array(values, type=pa.string()) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.string())
    enc = pc.dictionary_encode(arr)
    prefix = domain.encode("utf-8") + b"\x1f"
    # the distinct values a slice at a time: Python strings for all 31.5M record ids of a national run at
    # once (the values and their pseudonyms) are ~5 GB; a slice's are a few MB, the result is Arrow
    chunks = [pa.array([f"{domain}:{hmac.new(k, prefix + v.encode('utf-8'), hashlib.sha256).hexdigest()[:16]}"
                        for v in enc.dictionary.slice(start, _SLICE).to_pylist()], type=pa.string())
              for start in range(0, len(enc.dictionary), _SLICE)]
    mapped = pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string())
    return pa.DictionaryArray.from_arrays(enc.indices, mapped).cast(pa.string())


BIRTH_DATES = ("year", "month", "drop")


def pseudonymise(tables, *, key: str | bytes | None = None, birth_dates: str = "year",
                 keep_columns=()):
    """Replace personal identifiers consistently across the tables of a dataset.

    What is done to each kind of column:

    * names, ID numbers, phones, accounts, waybills and parcel parties (every column of
      :data:`~jinduanalytics.schema.PERSONAL_DOMAINS`) and the values of ``case_entities`` (the
      entity kind is the domain) are replaced by keyed pseudonyms, the same value in one domain
      getting the same pseudonym everywhere; entity kinds the vocabulary lists as public (a
      courier outlet: a business, not a person) are kept;
    * ``person_records.birth_date`` is generalised: to the first day of its year (default),
      of its month, or dropped (``birth_dates="drop"``, the column then holds nulls);
    * columns outside the canonical schema are dropped with a warning, unless named in
      ``keep_columns`` (their content is unknown, so it may be personal);
    * the same rules cover the rejected rows of a lenient load (``dataset.rejected``) and the
      truth tables of synthetic data (their entity values and identifiers).

    Parameters
    ----------
    tables : Dataset or dict of name -> pyarrow.Table
    key : str or bytes, optional
        Secret key; defaults to the ``JINDU_PSEUDONYM_KEY`` environment variable.
    birth_dates : {"year", "month", "drop"}, default "year"
    keep_columns : iterable of str
        Extra (non-canonical) column names to keep as they are.

    Returns
    -------
    The same kind of object with personal columns replaced.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = {"person_records": pa.table({"record_id": ["r1"], "source_region": ["GD"], "name": ["甲"],
    ...      "id_number": [None], "birth_date": [dt.date(1990, 5, 17)], "sex": ["M"], "phone": [None],
    ...      "home_region": [None]})}
    >>> out = pseudonymise(t, key="k" * 16)
    >>> out["person_records"].column("birth_date")[0].as_py(), out["person_records"].column("name")[0].as_py()[:5]
    (datetime.date(1990, 1, 1), 'name:')
    """
    if birth_dates not in BIRTH_DATES:
        raise ParameterError(f"birth_dates must be one of {', '.join(repr(b) for b in BIRTH_DATES)}; "
                             f"got {birth_dates!r}.")
    k = _key_bytes(key)
    keep = set(keep_columns)
    is_ds = isinstance(tables, Dataset)
    src = dict(tables.tables if is_ds else tables)
    public = frozenset(vocabulary_of(tables).public_entity_kinds)
    out = {name: _table(name, t, k, birth_dates, keep, public) for name, t in src.items()}
    if is_ds:
        rejected = {name: _table(name, t, k, birth_dates, keep | {"_row", "_reason"}, public)
                    for name, t in tables.rejected.items()}
        truth = {name: _truth_table(t, k, public) for name, t in tables.truth.items()}
        return Dataset(tables=out, truth=truth, rejected=rejected, source=tables.source,
                       vocabulary=tables.vocabulary)
    return out


def _domains_of(name: str) -> dict[str, str]:
    """Column -> pseudonymisation domain for one canonical table."""
    return {column: domain for domain, places in PERSONAL_DOMAINS.items() for table, column in places
            if table == name}


def _table(name: str, t: pa.Table, k: bytes, birth_dates: str, keep: set, public: frozenset) -> pa.Table:
    spec = TABLES.get(name)
    canonical = set(spec.column_names) if spec is not None else set()
    extra = [c for c in t.column_names if c not in canonical and c not in keep]
    if extra:
        warnings.warn(f"pseudonymise: table '{name}': dropped {len(extra)} column(s) outside the canonical schema "
                      f"({', '.join(extra)}); their content may be personal. Keep one with keep_columns=[...]",
                      JinduWarning, stacklevel=3)
        t = t.drop_columns(extra)
    for column, domain in _domains_of(name).items():
        if column in t.column_names:
            t = _set(t, column, pseudonymise_values(t.column(column).cast(pa.string()), domain, key=k))
    if name == "case_entities" and {"kind", "value"} <= set(t.column_names):
        t = _set(t, "value", _by_kind(t.column("kind"), t.column("value"), k, public))
    if name == "person_records" and "birth_date" in t.column_names:
        t = _set(t, "birth_date", _generalise_dates(t.column("birth_date"), birth_dates))
    return t


def _truth_table(t: pa.Table, k: bytes, public: frozenset) -> pa.Table:
    """Truth tables of synthetic data: entity values by kind, and any identifier column by name."""
    if {"kind", "value"} <= set(t.column_names):
        t = _set(t, "value", _by_kind(t.column("kind"), t.column("value"), k, public))
    for domain in PERSONAL_DOMAINS:
        if domain in t.column_names:
            t = _set(t, domain, pseudonymise_values(t.column(domain).cast(pa.string()), domain, key=k))
    return t


def _set(t: pa.Table, column: str, values) -> pa.Table:
    i = t.column_names.index(column)
    return t.set_column(i, pa.field(column, values.type, t.schema.field(i).nullable), values)


def _by_kind(kinds, values, k: bytes, public: frozenset = frozenset()) -> pa.Array:
    """Pseudonymise entity values with their kind as the domain (phone, account, address, ...);
    values of ``public`` kinds are kept."""
    kinds = kinds.combine_chunks().cast(pa.string()) if isinstance(kinds, pa.ChunkedArray) else kinds.cast(pa.string())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    values = values.cast(pa.string())
    result = np.array(values.to_pylist(), dtype=object)
    for kind in pc.unique(pc.drop_null(kinds)).to_pylist():
        if kind in public:
            continue
        rows = np.flatnonzero(pc.equal(kinds, kind).to_numpy(zero_copy_only=False))
        result[rows] = pseudonymise_values(values.take(pa.array(rows)), kind, key=k).to_numpy(zero_copy_only=False)
    unknown = np.flatnonzero(pc.is_null(kinds).to_numpy(zero_copy_only=False))
    result[unknown] = pseudonymise_values(values.take(pa.array(unknown, pa.int64())), "entity",
                                          key=k).to_numpy(zero_copy_only=False)
    return pa.array(result, type=pa.string())


def _generalise_dates(col, how: str):
    """Birth dates to the first day of their year or month, or all null (``"drop"``). A column
    that is not of date type (rejected rows keep the input as given) keeps only its first four
    characters when they are a year, as a string."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if how == "drop":
        return pa.nulls(len(col), col.type)
    if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
        d = col.cast(pa.date32())
        year = pc.year(d)
        month = pc.month(d) if how == "month" else pa.array(np.ones(len(d), np.int64))
        text = pc.binary_join_element_wise(pc.cast(year, pa.string()),
                                           pc.utf8_lpad(pc.cast(month, pa.string()), 2, "0"), "01", "-")
        return pc.strptime(text, format="%Y-%m-%d", unit="s").cast(pa.date32())
    text = col.cast(pa.string())
    head = pc.utf8_slice_codeunits(text, 0, 4)
    return pc.if_else(pc.match_substring_regex(head, r"^\d{4}$"), head, pa.scalar(None, pa.string()))
