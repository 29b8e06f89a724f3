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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ParameterError
from .schema import ENTITY_KINDS, PERSONAL_DOMAINS

__all__ = ["pseudonymise", "pseudonymise_values", "KEY_ENV"]

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


def pseudonymise_values(values, domain: str, *, key: str | bytes | None = None) -> pa.Array:
    """Pseudonymise one array of strings in one domain. Nulls stay null.

    Each distinct value is hashed once, so the cost follows the number of distinct values.

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
    mapped = [
        f"{domain}:{hmac.new(k, prefix + v.encode('utf-8'), hashlib.sha256).hexdigest()[:16]}"
        for v in enc.dictionary.to_pylist()
    ]
    return pa.DictionaryArray.from_arrays(enc.indices, pa.array(mapped, type=pa.string())).cast(pa.string())


def pseudonymise(tables, *, key: str | bytes | None = None):
    """Replace personal identifiers consistently across the tables of a dataset.

    Parameters
    ----------
    tables : Dataset or dict of name -> pyarrow.Table
    key : str or bytes, optional
        Secret key; defaults to the ``JINDU_PSEUDONYM_KEY`` environment variable.

    Returns
    -------
    The same kind of object with personal columns replaced (truth tables and other columns
    are left as they are).
    """
    from .io import Dataset

    k = _key_bytes(key)
    is_ds = isinstance(tables, Dataset)
    src = dict(tables.tables if is_ds else tables)
    out = dict(src)
    for domain, places in PERSONAL_DOMAINS.items():
        for table_name, column in places:
            if table_name in out and column in out[table_name].column_names:
                t = out[table_name]
                i = t.column_names.index(column)
                out[table_name] = t.set_column(i, t.schema.field(i), pseudonymise_values(t.column(column), domain, key=k))
    if "case_entities" in out:
        t = out["case_entities"]
        kinds = t.column("kind").combine_chunks().cast(pa.string())
        values = t.column("value").combine_chunks().cast(pa.string())
        result = np.array(values.to_pylist(), dtype=object)
        for kind in ENTITY_KINDS:  # the entity kind is the domain: phone, account, address...
            rows = np.flatnonzero(pc.equal(kinds, kind).to_numpy(zero_copy_only=False))
            if rows.size:
                result[rows] = pseudonymise_values(values.take(pa.array(rows)), kind, key=k).to_numpy(zero_copy_only=False)
        result = pa.array(result, type=pa.string())
        i = t.column_names.index("value")
        out["case_entities"] = t.set_column(i, t.schema.field(i), result)
    if is_ds:
        return Dataset(tables=out, truth=dict(tables.truth), rejected=dict(tables.rejected), source=tables.source)
    return out
