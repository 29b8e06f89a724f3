"""The one way tables come in: coercion to Arrow, tables out of a dataset, the regions fallback.

Every public function that takes a table or a dataset goes through this module, so the same
inputs are accepted everywhere and bad input gets the same error class and message shape:

* :func:`as_table` turns a ``pyarrow.Table``, ``RecordBatch``, ``pandas.DataFrame`` or a dict
  of columns into a ``pyarrow.Table`` (anything else, duplicate column names or mixed-type
  columns: :class:`~jinduanalytics.errors.SchemaError` naming the table);
* :func:`get_table` takes one table out of a :class:`~jinduanalytics.io.Dataset` or a mapping
  of name -> table, optional or required, and checks the columns an analysis needs;
* :func:`jinduanalytics.regions.regions_table` is a dataset's ``regions`` table, or the shipped
  Beibu Gulf one;
* :func:`rows_text` is how every error names offending rows (0-based positions, at most five).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import ParameterError, SchemaError

__all__ = ["as_table", "check_column_names", "get_table", "rows_text", "MAX_ROWS_SHOWN"]

#: How many offending row positions an error message lists.
MAX_ROWS_SHOWN = 5


def rows_text(rows) -> str:
    """``"rows 3, 17, … 4 more"``: the first offending row positions (0-based) of an error.

    ``rows`` is an array of positions or a boolean mask.

    Parameters
    ----------
    rows : array of int or bool
        Row positions, or a mask.

    Examples
    --------
    >>> rows_text([3, 17, 20, 21, 22, 40, 41])
    'rows 3, 17, 20, 21, 22, … 2 more'
    """
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    shown = ", ".join(str(int(r)) for r in rows[:MAX_ROWS_SHOWN])
    more = f", … {rows.size - MAX_ROWS_SHOWN} more" if rows.size > MAX_ROWS_SHOWN else ""
    return f"rows {shown}{more}"


def as_table(table, name: str) -> pa.Table:
    """A ``pyarrow.Table`` from an Arrow table or record batch, a pandas DataFrame or a dict of columns.

    Parameters
    ----------
    table : pyarrow.Table, pyarrow.RecordBatch, pandas.DataFrame or dict
    name : str
        The table's name, for error messages (``"cases"``, ``"edges"``...).

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    SchemaError
        Another type, duplicate column names, or a column that mixes types.

    Examples
    --------
    >>> as_table({"a": [1, 2]}, "t").num_rows
    2
    """
    if isinstance(table, pa.Table):
        return check_column_names(table, name)
    if isinstance(table, pa.RecordBatch):
        return check_column_names(pa.Table.from_batches([table]), name)

    if isinstance(table, pd.DataFrame):
        dup = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        if dup:
            raise SchemaError(f"table '{name}': duplicate column names {', '.join(repr(c) for c in dup)}; "
                              "each column must have one name")
        try:
            return pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError):
            bad = []
            for c in table.columns:
                try:
                    pa.array(table[c], from_pandas=True)
                except (pa.ArrowException, ValueError, TypeError):
                    bad.append(str(c))
            raise SchemaError(f"table '{name}': cannot turn the DataFrame into Arrow columns: "
                              f"column{'s' if len(bad) != 1 else ''} {', '.join(repr(c) for c in bad) or '?'} "
                              "mix types (e.g. numbers and strings); convert them to one type") from None
    if isinstance(table, dict):
        try:
            return pa.table(table)
        except (pa.ArrowException, ValueError, TypeError):
            raise SchemaError(f"table '{name}': cannot turn the dict into Arrow columns; columns must be "
                              "equal-length arrays of one type") from None
    raise SchemaError(f"table '{name}': expected a pyarrow.Table, pandas.DataFrame or dict of columns; "
                      f"got {type(table).__name__}")


def check_column_names(table: pa.Table, name: str) -> pa.Table:
    """Refuse a table whose column names repeat: which of the two is 'the' column is a guess.

    Parameters
    ----------
    table : pyarrow.Table
    name : str
    """
    names = table.column_names
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise SchemaError(f"table '{name}': duplicate column names {', '.join(repr(c) for c in dup)}; "
                          "each column must have one name")
    return table


def get_table(data, name: str, *, required: bool = True, columns: tuple[str, ...] = ()) -> pa.Table | None:
    """Table ``name`` of a dataset, as Arrow, with the ``columns`` an analysis needs.

    Parameters
    ----------
    data : Dataset or mapping of name -> table
    name : str
        A canonical table name.
    required : bool, default True
        When False, a missing table gives None instead of an error.
    columns : tuple of str
        Columns the caller reads.

    Returns
    -------
    pyarrow.Table or None

    Raises
    ------
    SchemaError
        The table is required and absent, or lacks a column.
    ParameterError
        ``data`` is not a dataset or mapping.
    """
    if not isinstance(data, Mapping):
        raise ParameterError(f"expected a Dataset or a mapping of table name -> table; got {type(data).__name__}")
    if name not in data:
        if required:
            have = ", ".join(data) or "(none)"
            raise SchemaError(f"the dataset has no '{name}' table, which this analysis needs; it has: {have}")
        return None
    t = as_table(data[name], name)
    missing = [c for c in columns if c not in t.column_names]
    if missing:
        raise SchemaError(f"table '{name}': missing column(s) {', '.join(map(repr, missing))}; "
                          f"found: {', '.join(t.column_names)}")
    return t
