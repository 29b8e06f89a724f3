"""What result tables come back as: Arrow (the default, for batch work) or pandas (for notebooks).

Like scikit-learn's ``set_output``: a global option and a per-call argument.

* :func:`set_output` sets it for the process, :func:`output_as` for a ``with`` block;
* every function that returns tables takes ``output="pandas"`` (or ``"arrow"``) for one call.

A DataFrame carries the table's provenance in ``df.attrs["jindu"]`` (algorithm, parameters,
seed, version, input digest...), and its columns are Arrow-backed (``pd.ArrowDtype``), so it
turns back into the same Arrow table; every function accepts such DataFrames where it takes a
result table (``cluster_summary(ds, clusters_df)`` works as with the Arrow table).

Examples
--------
>>> import pyarrow as pa, jinduanalytics as ja
>>> edges = pa.table({"source": ["a", "b"], "target": ["b", "c"]})
>>> df = ja.leiden(edges, seed=1, output="pandas")
>>> type(df).__name__, df.attrs["jindu"]["algorithm"]
('DataFrame', 'leiden')
>>> with ja.output_as("pandas"):
...     type(ja.connected_components(edges)).__name__
'DataFrame'
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from .errors import ParameterError

__all__ = ["set_output", "get_output", "output_as", "from_pandas", "tabular", "OUTPUTS"]

OUTPUTS = ("arrow", "pandas")
_state = {"output": "arrow"}
# inside a decorated call, the library's own calls get Arrow whatever the option says
_nested = contextvars.ContextVar("jindu_nested", default=False)


def _check(kind) -> str:
    if kind not in OUTPUTS:
        raise ParameterError(f"output must be one of {', '.join(repr(o) for o in OUTPUTS)}; got {kind!r}.")
    return kind


def set_output(kind: str) -> None:
    """Set what every function returning tables returns from now on.

    Parameters
    ----------
    kind : {"arrow", "pandas"}
    """
    _state["output"] = _check(kind)


def get_output() -> str:
    """The current output kind (``"arrow"`` unless :func:`set_output` changed it)."""
    return _state["output"]


@contextlib.contextmanager
def output_as(kind: str) -> Iterator[None]:
    """Return tables as ``kind`` inside a ``with`` block, then as before.

    Parameters
    ----------
    kind : {"arrow", "pandas"}
    """
    before = _state["output"]
    _state["output"] = _check(kind)
    try:
        yield
    finally:
        _state["output"] = before


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    meta = table.schema.metadata or {}
    attrs = {}
    for k, v in meta.items():
        key = k.decode("utf-8", "replace")
        if key == "pandas":
            continue
        text = v.decode("utf-8", "replace")
        try:
            attrs[key] = json.loads(text)
        except json.JSONDecodeError:
            attrs[key] = text
    df.attrs["jindu"] = {k.removeprefix("jindu."): v for k, v in attrs.items()}
    df.attrs["jindu_metadata"] = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                                  for k, v in meta.items() if k != b"pandas"}
    return df


def _stamp_window(result, window):
    """Result tables of an analysis of a windowed dataset carry the window (``jindu.window``)."""
    if isinstance(result, pa.Table):
        return result.replace_schema_metadata({**(result.schema.metadata or {}),
                                               b"jindu.window": json.dumps(list(window)).encode()})
    if isinstance(result, tuple):
        return tuple(_stamp_window(r, window) for r in result)
    return result


def _deliver(result, kind: str):
    if kind == "arrow":
        return result
    if isinstance(result, pa.Table):
        return _to_pandas(result)
    if isinstance(result, tuple):
        return tuple(_deliver(r, kind) for r in result)
    return result


def from_pandas(df: pd.DataFrame) -> pa.Table:
    """The Arrow table a result DataFrame came from (schema metadata restored from its attrs).

    Parameters
    ----------
    df : pandas.DataFrame
        Returned by a jinduanalytics function with ``output="pandas"``.

    Returns
    -------
    pyarrow.Table
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {k.encode(): v.encode() for k, v in df.attrs.get("jindu_metadata", {}).items()}
    return table.replace_schema_metadata(meta or None)


def _is_result_frame(value) -> bool:
    return isinstance(value, pd.DataFrame) and "jindu_metadata" in value.attrs


def tabular(fn):
    """Decorate a function that returns tables: adds the keyword ``output`` (default: the
    global option), hands result DataFrames given as arguments back to it as Arrow tables. Calls
    the library makes from inside a decorated function always get Arrow.

    Parameters
    ----------
    fn : callable
        Returns a ``pyarrow.Table``, a tuple of them, or anything else (passed through).
    """
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, output: str | None = None, **kwargs):
        if _nested.get():  # called by the library itself: Arrow in, Arrow out
            return fn(*args, **kwargs)
        kind = _check(output) if output is not None else _state["output"]
        args = tuple(from_pandas(a) if _is_result_frame(a) else a for a in args)
        kwargs = {k: from_pandas(v) if _is_result_frame(v) else v for k, v in kwargs.items()}
        token = _nested.set(True)
        try:
            result = fn(*args, **kwargs)
        finally:
            _nested.reset(token)
        windows = [a.window for a in (*args, *kwargs.values()) if getattr(a, "window", None)]
        if windows:
            result = _stamp_window(result, windows[0])
        return _deliver(result, kind)

    params = list(sig.parameters.values())
    out = inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None")
    var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    params = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD] + [out] + var_kw
    wrapper.__signature__ = sig.replace(parameters=params)
    wrapper.__jindu_tabular__ = True
    if wrapper.__doc__:
        wrapper.__doc__ = _document_output(wrapper.__doc__)
    return wrapper


def _document_output(doc: str) -> str:
    """``doc`` with the ``output`` keyword added at the end of its numpydoc Parameters section."""
    lines = doc.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}:
            indent = line[: len(line) - len(line.lstrip())]
            end = i + 2
            while end < len(lines) and not (lines[end].startswith(indent) and lines[end][len(indent):][:1].isalpha()
                                            and end + 1 < len(lines) and lines[end + 1].strip()
                                            and set(lines[end + 1].strip()) == {"-"}):
                end += 1
            while end > i + 2 and not lines[end - 1].strip():
                end -= 1
            var_kw = [k for k in range(i + 2, end) if lines[k].startswith(indent + "**")]
            end = var_kw[0] if var_kw else end  # the signature's order: output comes before **kwargs
            lines[end:end] = [f'{indent}output : {{"arrow", "pandas"}}, optional',
                              f"{indent}    Overrides :func:`jinduanalytics.set_output` for this call."]
            return "\n".join(lines) + ("\n" if doc.endswith("\n") else "")
    return doc
