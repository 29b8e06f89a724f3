"""Validate tables against the canonical schemas in :mod:`jinduanalytics.schema`.

Validation collects **every** problem of a table and reports them at once. Each problem
names the table, the column, how many rows are affected and the first row positions
(0-based, in the input table). Cell values of personal columns are never shown.

Two modes:

* strict (default): any problem raises one :class:`~jinduanalytics.errors.SchemaError`;
* lenient: rows with problems go to a rejected-rows table (the input row as given, plus
  ``_row`` and ``_reason``); ``accepted.num_rows + rejected.num_rows == input rows``,
  always. A table-level problem (a missing column, a column of the wrong type) rejects
  every row, because no row can be trusted without that column.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import JinduWarning, SchemaError
from .identifiers import canonical_id_number, canonical_phone, normalise_text
from .schema import MAP_BOUNDS, TABLE_ORDER, TableSpec, table_spec
from .tables import as_table, rows_text
from .vocabulary import VOCABULARY_FILE, as_vocabulary

__all__ = ["Problem", "ValidationResult", "validate_table", "validate_dataset"]

# Common alternative spellings of canonical column names, used to suggest a column_map.
_ALIASES = {
    "record_id": ("pid", "person_id", "rid", "record"),
    "case_id": ("case", "caseid", "case_no", "case_number"),
    "region_id": ("region", "city", "city_id"),
    "id_number": ("idno", "id_no", "id_card", "sfzh", "citizen_id"),
    "phone": ("mobile", "tel", "phone_number"),
    "quantity_g": ("quantity", "qty", "grams", "weight_g"),
    "birth_date": ("dob", "birthday", "date_of_birth"),
}


@dataclass(frozen=True)
class Problem:
    """One problem found in one column (or the whole table) of a table.

    Attributes
    ----------
    table, column : str
    kind : str
        ``missing_column``, ``type``, ``null``, ``length``, ``choice``, ``vocabulary``, ``negative``,
        ``range``, ``nan``, ``date``, ``coord``, ``duplicate``, ``reference``, ``order`` or
        ``self_reference``.
    message : str
        Names the table, column, count and first rows; never a personal value.
    rows : numpy array of int64
        Every offending row (0-based input positions).
    row_reasons : tuple of str, optional
        One reason per row of ``rows`` when it differs by row (the unknown vocabulary value of
        each row); else the message serves every row.
    """

    table: str
    column: str | None
    kind: str  # missing_column | type | null | length | choice | negative | range | nan | date | coord | duplicate | reference | order | self_reference
    message: str
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)
    row_reasons: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return int(self.rows.size)


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of validating one table.

    ``table`` holds the accepted rows cast to the canonical schema (extra input columns are
    kept after the canonical ones); ``rejected`` holds the rejected input rows as given,
    with ``_row`` (0-based input position) and ``_reason``.

    Attributes
    ----------
    name : str
    table : pyarrow.Table
    rejected : pyarrow.Table
    problems : tuple of Problem
    n_input : int
        Input rows (accepted + rejected).
    """

    name: str
    table: pa.Table
    rejected: pa.Table
    problems: tuple[Problem, ...]
    n_input: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _type_name(t: pa.DataType) -> str:
    return str(t)


def _suggest(missing: str, extra: list[str]) -> str | None:
    for alias in _ALIASES.get(missing, ()):
        for col in extra:
            if col.lower() == alias:
                return col
    close = difflib.get_close_matches(missing, extra, n=1, cutoff=0.6)
    return close[0] if close else None


def _normalised(arr: pa.ChunkedArray, canonical: str | None = None) -> pa.ChunkedArray:
    """Strings as :mod:`jinduanalytics.identifiers` writes them: NFKC, no zero-width characters,
    no surrounding whitespace, empty -> null (a blank is a missing value, never an ID: no false
    hub); phones and ID numbers in their canonical form."""
    fn = {"phone": canonical_phone, "id_number": canonical_id_number}.get(canonical, normalise_text)
    return pa.chunked_array([fn(arr)], pa.string())


def _coerce(col: pa.ChunkedArray, spec_col) -> tuple[pa.ChunkedArray | None, np.ndarray | None, str | None]:
    """Cast one column to its canonical type.

    Returns (cast column or None, rows that failed to parse or None, type error message or None).
    """
    t = col.type
    target = spec_col.arrow_type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(col), target)]), None, None
    want = spec_col.type
    if want == "string":
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return _normalised(col.cast(pa.string()), spec_col.canonical), None, None
        if pa.types.is_integer(t) and not (spec_col.personal or spec_col.choices or spec_col.vocabulary):  # integer IDs
            return col.cast(pa.string()), None, None
        hint = " (read identifier columns as strings so leading zeros survive)" if spec_col.personal else ""
        return None, None, f"type {_type_name(t)}, expected string{hint}"
    if want == "int":
        if pa.types.is_uint64(t):  # values above 2**63 - 1 do not fit int64
            above = pc.greater(col, pa.scalar(2 ** 63 - 1, pa.uint64()))
            too_big = _mask_rows(above)
            if too_big.size:
                return pc.if_else(above, pa.scalar(None, pa.uint64()), col).cast(pa.int64()), too_big, None
        if pa.types.is_integer(t):
            return col.cast(pa.int64()), None, None
        return None, None, f"type {_type_name(t)}, expected an integer type"
    if want == "float":
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return col.cast(pa.float64()), None, None
        return None, None, f"type {_type_name(t)}, expected a number"
    if want == "date":
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            return col.cast(pa.date32()), None, None
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            col = _normalised(col.cast(pa.string()))
            parsed = pc.strptime(col, format="%Y-%m-%d", unit="s", error_is_null=True).cast(pa.date32())
            bad = pc.and_(pc.is_null(parsed), pc.is_valid(col))
            bad_rows = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
            return parsed, (bad_rows if bad_rows.size else None), None
        return None, None, f"type {_type_name(t)}, expected a date (date32, timestamp or 'YYYY-MM-DD' strings)"
    if want == "bool":
        if pa.types.is_boolean(t):
            return col, None, None
        if pa.types.is_integer(t):  # 0/1
            bad = pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=pa.array([0, 1], t))))
            bad_rows = _mask_rows(bad)
            if bad_rows.size:
                return None, None, f"type {_type_name(t)} with values other than 0 and 1 ({rows_text(bad_rows)}); expected booleans"
            return col.cast(pa.bool_()), None, None
        return None, None, f"type {_type_name(t)}, expected booleans (or 0/1)"
    raise AssertionError(want)  # pragma: no cover - specs only use these five types


def _mask_rows(mask) -> np.ndarray:
    if isinstance(mask, (pa.ChunkedArray, pa.Array)):
        mask = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _duplicate_rows(table: pa.Table, key: tuple[str, ...]) -> np.ndarray:
    """Rows whose (non-null) key already appeared on an earlier row."""
    df = table.select(list(key)).to_pandas()
    dup = df.duplicated(keep="first").to_numpy() & df.notna().all(axis=1).to_numpy()
    return np.flatnonzero(dup)


def _today() -> _dt.date:
    return _dt.date.today()


def validate_table(
    table,
    name: str,
    *,
    column_map: dict[str, str] | None = None,
    lenient: bool = False,
    references: dict[tuple[str, str], pa.Array] | None = None,
    vocabulary=None,
) -> ValidationResult:
    """Check a table against its canonical schema and cast it to the canonical types.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        The input rows.
    name : str
        Canonical table name, e.g. ``"cases"`` (see :data:`jinduanalytics.schema.TABLES`).
    column_map : dict, optional
        Renames input columns to canonical names, ``{"pid": "record_id"}``.
    lenient : bool, default False
        Reject bad rows into ``result.rejected`` instead of raising.
    references : dict, optional
        Valid keys of referenced tables, ``{("cases", "case_id"): array}``. References to
        a table that is not given are not checked (self-references always are).
    vocabulary : Vocabulary, path or mapping, optional
        The allowed drugs, case types, roles, entity kinds and flow modes (default: the shipped
        vocabulary; a path or mapping extends it, see :mod:`jinduanalytics.vocabulary`).

    Returns
    -------
    ValidationResult

    Raises
    ------
    SchemaError
        In strict mode, when any problem is found; the message lists every problem.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"case_id": ["c1"], "record_id": ["r1"], "role": ["seller"]})
    >>> validate_table(t, "case_persons").table.num_rows
    1
    """
    spec: TableSpec = table_spec(name)
    vocabulary = as_vocabulary(vocabulary)
    table = as_table(table, name)  # (duplicate column names refused there)
    if column_map:
        missing_src = [src for src in column_map if src not in table.column_names]
        if missing_src:
            raise SchemaError(
                f"table '{name}': column_map renames columns that are not in the table: "
                f"{', '.join(missing_src)}; found: {', '.join(table.column_names)}"
            )
        renamed = [column_map.get(c, c) for c in table.column_names]
        clash = sorted({c for c in renamed if renamed.count(c) > 1})
        if clash:
            raise SchemaError(f"table '{name}': column_map gives two columns the name "
                              f"{', '.join(repr(c) for c in clash)}; found: {', '.join(table.column_names)}. "
                              "Rename or drop the existing column first")
        table = table.rename_columns(renamed)
    n = table.num_rows
    original = table
    problems: list[Problem] = []
    all_rows = np.arange(n, dtype=np.int64)

    # 1. structure and types --------------------------------------------------------
    extra = [c for c in table.column_names if c not in spec.column_names]
    cast_cols: dict[str, pa.ChunkedArray] = {}
    fix_map: dict[str, str] = {}
    for col_spec in spec.columns:
        cname = col_spec.name
        if cname not in table.column_names:
            guess = _suggest(cname, extra)
            if guess:
                fix_map[guess] = cname
            problems.append(Problem(name, cname, "missing_column",
                                    f"missing column '{cname}' ({col_spec.type}); found: "
                                    f"{', '.join(table.column_names) or '(no columns)'}", all_rows))
            continue
        cast, bad_rows, err = _coerce(table.column(cname), col_spec)
        if err is not None:
            problems.append(Problem(name, cname, "type", f"column '{cname}': {err}", all_rows))
            continue
        if bad_rows is not None:
            what = "are not dates 'YYYY-MM-DD'" if col_spec.type == "date" else "are out of the int64 range"
            problems.append(Problem(name, cname, "type",
                                    f"column '{cname}': {bad_rows.size} values {what} "
                                    f"({rows_text(bad_rows)})", bad_rows))
        cast_cols[cname] = cast

    if name == "case_entities" and {"kind", "value"} <= set(cast_cols):  # phone entities as phones are written
        kind, value = cast_cols["kind"].combine_chunks(), cast_cols["value"].combine_chunks()
        is_phone = pc.fill_null(pc.equal(kind, "phone"), False)
        if pc.any(is_phone).as_py():
            cast_cols["value"] = pa.chunked_array([pc.if_else(is_phone, canonical_phone(value), value)])

    # 2. row checks (only on columns that could be read) ---------------------------
    today = _today()
    for col_spec in spec.columns:
        cname = col_spec.name
        if cname not in cast_cols:
            continue
        col = cast_cols[cname]
        if not col_spec.nullable:
            rows = _mask_rows(pc.is_null(col))
            if rows.size:
                problems.append(Problem(name, cname, "null",
                                        f"column '{cname}': {rows.size} nulls or blanks ({rows_text(rows)}); "
                                        "values must be present", rows))
        if col_spec.max_length is not None:
            rows = _mask_rows(pc.greater(pc.utf8_length(col), col_spec.max_length))
            if rows.size:
                problems.append(Problem(name, cname, "length",
                                        f"column '{cname}': {rows.size} values longer than {col_spec.max_length} "
                                        f"characters ({rows_text(rows)}); is the column mixed up with another?",
                                        rows))
        if col_spec.choices:
            bad = pc.invert(pc.is_in(col, value_set=pa.array(col_spec.choices)))
            rows = _mask_rows(pc.and_(bad, pc.is_valid(col)))
            if rows.size:
                shown = ""
                if not col_spec.personal:
                    vals = pc.unique(col.take(pa.array(rows[:50]))).to_pylist()[:5]
                    shown = f" (values {', '.join(repr(v) for v in vals)})"
                problems.append(Problem(name, cname, "choice",
                                        f"column '{cname}': {rows.size} values not in "
                                        f"{{{', '.join(col_spec.choices)}}}{shown} ({rows_text(rows)})", rows))
        if col_spec.vocabulary:
            problem = _vocabulary_problem(name, cname, col, col_spec.vocabulary, vocabulary)
            if problem is not None:
                problems.append(problem)
        if col_spec.type == "float":
            rows = _mask_rows(pc.invert(pc.is_finite(col)))
            if rows.size:
                problems.append(Problem(name, cname, "nan",
                                        f"column '{cname}': {rows.size} NaN or infinite values ({rows_text(rows)}); "
                                        "use null for unknown", rows))
        if col_spec.nonnegative:
            rows = _mask_rows(pc.less(col, 0))
            if rows.size:
                problems.append(Problem(name, cname, "negative",
                                        f"column '{cname}': {rows.size} negative values ({rows_text(rows)}); "
                                        "must be >= 0", rows))
        if col_spec.max_value is not None:
            rows = _mask_rows(pc.greater(col, col_spec.max_value))
            if rows.size:
                problems.append(Problem(name, cname, "range",
                                        f"column '{cname}': {rows.size} values above {col_spec.max_value:.0e} "
                                        f"({rows_text(rows)}); implausible: check the unit", rows))
        if col_spec.date_min is not None:
            lo = pa.scalar(col_spec.date_min, pa.date32())
            hi = pa.scalar(today, pa.date32())
            rows = _mask_rows(pc.or_(pc.less(col, lo), pc.greater(col, hi)))
            if rows.size:
                problems.append(Problem(name, cname, "date",
                                        f"column '{cname}': {rows.size} impossible dates ({rows_text(rows)}); "
                                        f"must lie between {col_spec.date_min} and today ({today})", rows))
        if col_spec.coord is not None:
            lo, hi = (MAP_BOUNDS[0], MAP_BOUNDS[1]) if col_spec.coord == "lon" else (MAP_BOUNDS[2], MAP_BOUNDS[3])
            rows = _mask_rows(pc.or_(pc.less(col, lo), pc.greater(col, hi)))
            if rows.size:
                problems.append(Problem(name, cname, "coord",
                                        f"column '{cname}': {rows.size} coordinates off the map ({rows_text(rows)}); "
                                        f"{col_spec.coord} must lie in [{lo}, {hi}]", rows))
        if col_spec.references is not None:
            ref_table, ref_col = col_spec.references
            if ref_table == name:
                valid = cast_cols.get(ref_col)
            else:
                valid = (references or {}).get((ref_table, ref_col))
            if valid is not None:
                if isinstance(valid, pa.ChunkedArray):
                    valid = valid.combine_chunks()
                valid = pc.drop_null(valid.cast(pa.string()))
                bad = pc.invert(pc.is_in(col, value_set=valid))
                rows = _mask_rows(pc.and_(bad, pc.is_valid(col)))
                if rows.size:
                    problems.append(Problem(name, cname, "reference",
                                            f"column '{cname}': {rows.size} values not found in "
                                            f"{ref_table}.{ref_col} ({rows_text(rows)})", rows))

    if spec.key and all(k in cast_cols for k in spec.key):
        rows = _duplicate_rows(pa.table({k: cast_cols[k] for k in spec.key}), spec.key)
        if rows.size:
            key_txt = ", ".join(spec.key)
            problems.append(Problem(name, spec.key[0] if len(spec.key) == 1 else key_txt, "duplicate",
                                    f"key ({key_txt}): {rows.size} duplicate rows ({rows_text(rows)}); "
                                    "each key must appear once", rows))
    if spec.date_order and all(c in cast_cols for c in spec.date_order):
        first, last = spec.date_order
        rows = _mask_rows(pc.greater(cast_cols[first], cast_cols[last]))
        if rows.size:
            problems.append(Problem(name, f"{first}, {last}", "order",
                                    f"columns '{first}' > '{last}' on {rows.size} rows ({rows_text(rows)})", rows))
    if spec.distinct_columns and all(c in cast_cols for c in spec.distinct_columns):
        a, b = spec.distinct_columns
        rows = _mask_rows(pc.equal(cast_cols[a], cast_cols[b]))
        if rows.size:
            problems.append(Problem(name, f"{a}, {b}", "self_reference",
                                    f"columns '{a}' and '{b}' are equal on {rows.size} rows ({rows_text(rows)})", rows))

    # 3. report or split --------------------------------------------------------------
    if problems and not lenient:
        lines = [f"table '{name}' does not match its canonical schema ({len(problems)} "
                 f"problem{'s' if len(problems) > 1 else ''}; rows are 0-based input positions):"]
        lines += [f"  - {p.message}" for p in problems]
        if fix_map:
            lines.append(f"Fix: pass column_map={fix_map!r}")
        raise SchemaError("\n".join(lines), problems)

    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, list[str]] = {}
    for p in problems:
        bad[p.rows] = True
        short = p.message.split(" (rows")[0] if p.count < n else p.message
        for i, r in enumerate(p.rows[: n]):
            reasons.setdefault(int(r), []).append(p.row_reasons[i] if p.row_reasons is not None else short)
    _cascade_self_references(spec, cast_cols, bad, reasons)
    keep = np.flatnonzero(~bad)
    drop = np.flatnonzero(bad)
    if drop.size:
        warnings.warn(f"table '{name}': {drop.size} of {n} rows rejected "
                      f"({len(problems)} problems); see the rejected table", JinduWarning, stacklevel=2)
    canonical = spec.arrow_schema()
    if all(c in cast_cols for c in spec.column_names):
        cols = [cast_cols[c].take(pa.array(keep)) for c in spec.column_names]
        cols += [original.column(c).take(pa.array(keep)) for c in extra]
        accepted = pa.Table.from_arrays(cols, schema=pa.schema(list(canonical) + [original.schema.field(c) for c in extra]))
    else:
        accepted = canonical.empty_table()
    rejected = original.take(pa.array(drop, type=pa.int64()))
    rejected = rejected.append_column("_row", pa.array(drop, type=pa.int64()))
    rejected = rejected.append_column("_reason", pa.array(["; ".join(reasons[int(r)]) for r in drop], type=pa.string()))
    return ValidationResult(name, accepted, rejected, tuple(problems), n)


_VOCABULARY_HINT = {
    "drugs": '[drugs] "{v}" = {{ category = "新精神活性物质" }}',
}


def _vocabulary_problem(table: str, column: str, col, list_name: str, vocabulary) -> Problem | None:
    """Values outside the vocabulary: each unknown value named with its row count, and how to add it."""
    allowed = pa.array(vocabulary.values(list_name), pa.string())
    bad = pc.and_(pc.invert(pc.is_in(col, value_set=allowed)), pc.is_valid(col))
    rows = _mask_rows(bad)
    if not rows.size:
        return None
    values = col.combine_chunks().take(pa.array(rows)).to_pylist()
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    listed = ", ".join(f"{v!r} ({k} row{'s' if k > 1 else ''})" for v, k in list(counts.items())[:8])
    more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
    first = next(iter(counts))
    example = _VOCABULARY_HINT.get(list_name, '[lists] {name} = ["{v}"]').format(v=first, name=list_name)
    how = (f"add {'them' if len(counts) > 1 else 'it'} to a vocabulary file ({example}) and pass it with "
           f"--vocabulary FILE or vocabulary=FILE, or keep it in the dataset folder as {VOCABULARY_FILE}")
    message = (f"column '{column}': {rows.size} values not in the vocabulary's {list_name}: {listed}{more} "
               f"({rows_text(rows)}); {how}")
    reasons = tuple(f"column '{column}': {v!r} is not in the vocabulary's {list_name} (add it with a vocabulary file)"
                    for v in values)
    return Problem(table, column, "vocabulary", message, rows, reasons)


def _cascade_self_references(spec: TableSpec, cast_cols: dict, bad: np.ndarray, reasons: dict) -> None:
    """Reject, in place, rows that point (through a reference into their own table, such as
    ``regions.parent_id``) at a rejected row's key, and so on down the chain: the accepted rows
    must pass strict validation on their own."""
    for col_spec in spec.columns:
        if col_spec.references is None or col_spec.references[0] != spec.name:
            continue
        ref_col = col_spec.references[1]
        if col_spec.name not in cast_cols or ref_col not in cast_cols:
            return
        pointer = cast_cols[col_spec.name].combine_chunks()
        keys = cast_cols[ref_col].combine_chunks()
        while True:
            valid = pc.drop_null(keys.filter(pa.array(~bad)))
            dangling = pc.and_(pc.is_valid(pointer), pc.invert(pc.is_in(pointer, value_set=valid)))
            rows = _mask_rows(dangling)
            rows = rows[~bad[rows]]
            if not rows.size:
                break
            bad[rows] = True
            for r in rows:
                reasons.setdefault(int(r), []).append(
                    f"column '{col_spec.name}': points at a rejected row of {spec.name}.{ref_col}")


def _offered_keys(table, name: str, column_map: dict[str, str] | None) -> dict[tuple[str, str], pa.Array]:
    """The keys a table that failed strict validation still offers to the tables that reference
    it: every readable, non-null key value, so their references are checked too (a dangling
    reference is reported with the table's own problems, not only after they are fixed)."""
    spec = table_spec(name)
    if len(spec.key) != 1:
        return {}
    key = spec.key[0]
    try:
        table = as_table(table, name)
    except SchemaError:
        return {}
    inverse = {dst: src for src, dst in (column_map or {}).items()}
    source = inverse.get(key, key)
    if source not in table.column_names:
        return {}
    cast, _, err = _coerce(table.column(source), spec.column(key))
    if err is not None:
        return {}
    return {(name, key): pc.drop_null(cast.combine_chunks())}


def validate_dataset(
    tables: dict,
    *,
    lenient: bool = False,
    column_maps: dict[str, dict[str, str]] | None = None,
    vocabulary=None,
) -> dict[str, ValidationResult]:
    """Validate every canonical table of a dataset, references across tables included.

    Tables are checked in :data:`~jinduanalytics.schema.TABLE_ORDER`, so references point
    at the *accepted* keys of the tables before: in lenient mode, a case-person row whose
    case was rejected is rejected too ("not found in cases.case_id"). Tables that are not
    canonical (truth tables, for instance) are ignored here.

    Parameters
    ----------
    tables : dict of name -> table
    lenient : bool, default False
        Reject bad rows instead of raising.
    column_maps : dict, optional
        Per table, input column -> canonical name.
    vocabulary : Vocabulary, path or mapping, optional
        See :func:`validate_table`.

    Raises
    ------
    SchemaError
        In strict mode, one error listing the problems of every table.
    """
    column_maps = column_maps or {}
    vocabulary = as_vocabulary(vocabulary)
    results: dict[str, ValidationResult] = {}
    refs: dict[tuple[str, str], pa.Array] = {}
    errors: list[SchemaError] = []
    for name in TABLE_ORDER:
        if name not in tables:
            continue
        try:
            res = validate_table(tables[name], name, column_map=column_maps.get(name),
                                 lenient=lenient, references=refs, vocabulary=vocabulary)
        except SchemaError as exc:
            errors.append(exc)
            # keep checking later tables against what this one would have offered
            refs.update(_offered_keys(tables[name], name, column_maps.get(name)))
            continue
        results[name] = res
        for key in table_spec(name).key[:1]:
            if len(table_spec(name).key) == 1:
                refs[(name, key)] = res.table.column(key).combine_chunks()
    if errors:
        message = "\n".join(str(e) for e in errors)
        raise SchemaError(message, [p for e in errors for p in e.problems])
    return results
