"""Read and write datasets: a folder of Parquet files, one per canonical table.

A dataset folder holds ``<table>.parquet`` for each canonical table it has (see
:mod:`jinduanalytics.schema`) and, for synthetic data, ``truth/<name>.parquet`` tables
with the planted answers. Single tables can come from Parquet, Feather/Arrow IPC, CSV,
pandas or pyarrow.

A table may also be a **partitioned folder** ``<table>/`` of Parquet files, hive style
(``cases/province=广东/part-0.parquet``, ``cases/shard=00003/part-0.parquet``): the files are
read in path order and concatenated, each ``key=value`` folder level becomes a string column
``key`` (unless the file has that column), and every error names the file. Truth tables can be
partitioned the same way. :func:`write_dataset` with ``partition="shard=00003"`` writes one
partition of every table (what a generator writing shard by shard does).
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from .errors import JinduWarning, SchemaError
from .options import tabular
from .schema import TABLE_ORDER, TABLES, table_spec
from .tables import as_table, check_column_names
from .validate import ValidationResult, validate_dataset, validate_table
from .vocabulary import VOCABULARY_FILE, Vocabulary, as_vocabulary, default_vocabulary

__all__ = ["Dataset", "DatasetFiles", "read_table", "read_dataset", "dataset_files", "write_dataset", "load_table_source",
           "read_partitioned", "partition_of_rows"]


@dataclass
class Dataset(Mapping):
    """The canonical tables of one dataset, plus truth tables and rejected rows.

    Behaves as a read-only mapping from table name to ``pyarrow.Table``; tables are also
    attributes (``ds.cases``). ``truth`` holds planted answers of synthetic data;
    ``rejected`` holds, after lenient loading, each table's rejected rows with ``_row``
    and ``_reason``.

    Parameters
    ----------
    tables : dict of name -> pyarrow.Table
    truth : dict of name -> pyarrow.Table
    rejected : dict of name -> pyarrow.Table
    source : str, optional
        The folder it was read from.
    files : DatasetFiles, optional
        Set by :func:`read_dataset`.
    vocabulary : Vocabulary, optional
        The vocabulary the tables were validated with (None: the shipped one); analyses that read
        drug categories use it.
    window : (start, end), optional
        Set by :func:`jinduanalytics.temporal.window`: the dated rows are those of this period
        (ISO dates; None for an open side); results record it in their provenance.
    """

    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table] = field(default_factory=dict)
    rejected: dict[str, pa.Table] = field(default_factory=dict)
    source: str | None = None
    files: DatasetFiles | None = None  # set by read_dataset: files read, ignored, missing
    vocabulary: Vocabulary | None = None
    window: tuple[str | None, str | None] | None = None

    def __getitem__(self, name: str) -> pa.Table:
        try:
            return self.tables[name]
        except KeyError:
            have = ", ".join(self.tables) or "(none)"
            raise KeyError(f"dataset has no table {name!r}; it has: {have}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __getattr__(self, name: str) -> pa.Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def summary(self) -> pa.Table:
        """One row per table: name, accepted rows, rejected rows."""
        names = [n for n in TABLE_ORDER if n in self.tables]
        return pa.table({
            "table": names,
            "rows": [self.tables[n].num_rows for n in names],
            "rejected": [self.rejected[n].num_rows if n in self.rejected else 0 for n in names],
        })

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={self.tables[n].num_rows}" for n in TABLE_ORDER if n in self.tables)
        truth = f", truth={sorted(self.truth)}" if self.truth else ""
        return f"Dataset({parts}{truth})"


def _csv_types(name: str, column_map: dict[str, str] | None) -> dict[str, pa.DataType]:
    """Read canonical string columns of a CSV as strings (phones keep their leading zeros)."""
    inverse = {v: k for k, v in (column_map or {}).items()}
    return {inverse.get(c.name, c.name): pa.string() for c in table_spec(name).columns if c.type == "string"}


def load_table_source(source, name: str, column_map: dict[str, str] | None = None, *,
                      encoding: str | None = None) -> pa.Table:
    """Turn a path (Parquet, Feather/Arrow, CSV), DataFrame or Arrow table into a pa.Table.

    CSV files are read as UTF-8, or as GB18030 (which covers GBK) when they are not valid
    UTF-8; ``encoding`` forces one. Unreadable files (truncated, empty, another format) and
    duplicate column names raise :class:`~jinduanalytics.SchemaError` naming the table and the file.

    Parameters
    ----------
    source : path, pyarrow.Table, RecordBatch, pandas.DataFrame or dict
    name : str
        The table's name, for messages.
    column_map : dict, optional
        Only to read the canonical string columns of a CSV as strings.
    encoding : str, optional
        Of a CSV file.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            return check_column_names(_read_partitioned(path, name), name)
        if not path.exists():
            raise SchemaError(f"table '{name}': file not found: {path}")
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".pq", ".feather", ".arrow", ".ipc", *_CSV_SUFFIXES):
            raise SchemaError(f"table '{name}': unknown file type '{suffix}' for {path.name}; "
                              "use .parquet, .feather/.arrow or .csv")
        if path.is_file() and path.stat().st_size == 0:
            raise SchemaError(f"table '{name}': file {path} is empty (0 bytes)")
        try:
            if suffix in (".parquet", ".pq"):
                table = pq.read_table(path)
            elif suffix in (".feather", ".arrow", ".ipc"):
                table = feather.read_table(path)
            else:
                table = _read_csv(path, name, column_map, encoding)
        except SchemaError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            kind = "Parquet" if suffix in (".parquet", ".pq") else "CSV" if suffix in _CSV_SUFFIXES else "Feather/Arrow"
            raise SchemaError(f"table '{name}': cannot read {path} as {kind} ({type(exc).__name__}: "
                              f"{_short(exc)}); is the file truncated, or of another format?") from None
        return check_column_names(table, name)
    return as_table(source, name)  # (duplicate column names refused there)


def _partition_files(folder: Path) -> list[Path]:
    """The Parquet files of a partitioned table folder, in path order (hidden and ``_`` files skipped)."""
    return sorted(f for f in folder.rglob("*.parquet")
                  if not any(part.startswith((".", "_")) for part in f.relative_to(folder).parts))


@tabular
def read_partitioned(folder, name: str) -> pa.Table:
    """One table from a folder of Parquet files (hive-style ``key=value`` folders become string columns).

    The row ranges of each file are kept in the table's schema metadata (``jindu.partitions``), so
    validation errors can name the file a bad row came from (:func:`partition_of_rows`).

    Parameters
    ----------
    folder : str or pathlib.Path
    name : str
        The table's name, for messages.

    Raises
    ------
    SchemaError
        Naming the file that cannot be read or whose columns do not match the others.
    """
    return _read_partitioned(folder, name)


def _read_partitioned(folder, name: str) -> pa.Table:
    folder = Path(folder)
    files = _partition_files(folder)
    if not files:
        raise SchemaError(f"table '{name}': folder {folder} holds no .parquet files")
    parts, ranges, start = [], [], 0
    for f in files:
        rel = f.relative_to(folder)
        try:
            t = pq.read_table(f)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise SchemaError(f"table '{name}': cannot read partition {rel} of {folder} as Parquet "
                              f"({type(exc).__name__}: {_short(exc)})") from None
        for level in rel.parts[:-1]:
            if "=" in level:
                key, value = level.split("=", 1)
                if key and key not in t.column_names:
                    t = t.append_column(key, pa.array([value] * t.num_rows, pa.string()))
        if parts and t.schema.names != parts[0].schema.names:
            raise SchemaError(f"table '{name}': partition {rel} has columns {', '.join(t.schema.names)}; "
                              f"{files[0].relative_to(folder)} has {', '.join(parts[0].schema.names)}")
        parts.append(t)
        ranges.append((str(rel), start, start + t.num_rows))
        start += t.num_rows
    try:
        table = pa.concat_tables(parts, promote_options="permissive")
    except pa.ArrowException:
        first = parts[0].schema
        bad = next(r for r, t in zip(ranges, parts) if not t.schema.equals(first))
        raise SchemaError(f"table '{name}': partition {bad[0]} of {folder} has column types that differ from "
                          f"{ranges[0][0]}: {parts[ranges.index(bad)].schema} vs {first}") from None
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"jindu.partitions": json.dumps(ranges).encode()})


def _partitions(table: pa.Table) -> list[tuple[str, int, int]]:
    """The (file, first row, end row) ranges :func:`read_partitioned` recorded; empty for other tables."""
    meta = (table.schema.metadata or {}).get(b"jindu.partitions")
    return [tuple(r) for r in json.loads(meta)] if meta else []


def _row_files(ranges: list[tuple[str, int, int]], rows) -> list[tuple[str, int]]:
    """For each row of the concatenated table, (its file, its row within that file)."""
    return [next((rel, int(r - lo)) for rel, lo, hi in ranges if lo <= r < hi) for r in rows]


def partition_of_rows(table: pa.Table, rows) -> dict[str, list[int]]:
    """For a table read from a partitioned folder, which file each of ``rows`` came from (file ->
    rows within that file); empty for other tables.

    Parameters
    ----------
    table : pyarrow.Table
    rows : iterable of int
        Row positions in the concatenated table.
    """
    out: dict[str, list[int]] = {}
    ranges = _partitions(table)
    for rel, i in (_row_files(ranges, rows) if ranges else []):
        out.setdefault(rel, []).append(i)
    return out


def _short(exc: Exception) -> str:
    """The first line of an exception's message, cut to 200 characters (never a cell value dump)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:200]


_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
# A CSV that is not UTF-8 is read as GB18030 (Chinese systems export GBK, which it covers), judged
# on its first 4 MB.
_SNIFF_BYTES = 1 << 22


def _read_csv(path: Path, name: str, column_map, encoding: str | None) -> pa.Table:
    """Read a CSV as UTF-8, or as GB18030 (a superset of GBK/GB2312) when it is not valid UTF-8;
    ``encoding=`` forces one."""
    parse = pacsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    convert = pacsv.ConvertOptions(column_types=_csv_types(name, column_map), strings_can_be_null=True)
    if not encoding:
        encoding = "utf-8"
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)  # a character cut at the end is not an error (final=False)
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            try:
                codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
                encoding = "gb18030"
            except UnicodeDecodeError:
                raise SchemaError(f"table '{name}': {path} is neither UTF-8 nor GB18030/GBK text; "
                                  "pass encoding='...' (e.g. 'big5') to read_table") from None
    read = pacsv.ReadOptions(encoding=encoding)
    return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


@tabular
def read_table(source, name: str, *, column_map: dict[str, str] | None = None,
               encoding: str | None = None) -> pa.Table:
    """Read one canonical table, validate it strictly, and return it cast to its schema.

    For lenient loading of a single table use :func:`jinduanalytics.validate_table` with
    ``lenient=True``. References to other tables are checked by :func:`read_dataset`.

    Parameters
    ----------
    source : path, pyarrow.Table or pandas.DataFrame
        Parquet, Feather/Arrow or CSV file, or a table.
    name : str
        The canonical table name.
    column_map : dict, optional
        Input column -> canonical name.
    encoding : str, optional
        Of a CSV file (default: UTF-8, or GB18030/GBK when it is not valid UTF-8).

    Raises
    ------
    SchemaError
        Listing every problem of the table.
    """
    raw = load_table_source(source, name, column_map, encoding=encoding)
    return validate_table(raw, name, column_map=column_map).table


def read_dataset(
    path,
    *,
    lenient: bool = False,
    column_maps: dict[str, dict[str, str]] | None = None,
    vocabulary=None,
) -> Dataset:
    """Read and validate every canonical table in a dataset folder.

    The folder holds ``<table>.parquet`` (or ``.feather``/``.csv``) files named after the
    canonical tables; ``truth/*.parquet`` is read as truth tables when present, and
    ``vocabulary.toml`` as the dataset's extension of the shipped vocabulary.

    Parameters
    ----------
    path : str or pathlib.Path
        The dataset folder.
    lenient : bool, default False
        Reject bad rows into ``dataset.rejected`` instead of raising.
    column_maps : dict, optional
        Per table, input column -> canonical name, ``{"cases": {"caseid": "case_id"}}``.
    vocabulary : Vocabulary, path or mapping, optional
        Extra drugs, case types, roles, entity kinds or flow modes (see
        :mod:`jinduanalytics.vocabulary`); applied on top of the folder's ``vocabulary.toml``.

    Raises
    ------
    SchemaError
        When the folder has no canonical table, or (strict mode) any problem in any table.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise SchemaError(f"dataset folder not found: {folder}")
    files = dataset_files(folder)
    raw = {name: load_table_source(f, name, (column_maps or {}).get(name)) for name, f in files.read.items()}
    stray = [f for f in files.ignored if Path(f).suffix.lower() in _TABLE_SUFFIXES]
    if stray:  # a table-like file under another name may be data the caller expects to be read
        warnings.warn(f"dataset folder {folder}: ignored {len(stray)} table file(s) that are not canonical "
                      f"tables: {', '.join(stray[:10])}", JinduWarning, stacklevel=2)
    vocab = default_vocabulary()
    if (folder / VOCABULARY_FILE).is_file():
        vocab = vocab.extend(folder / VOCABULARY_FILE)
    if vocabulary is not None:
        vocab = vocabulary if isinstance(vocabulary, Vocabulary) else vocab.extend(vocabulary)
    try:
        ds = dataset_from_tables(raw, lenient=lenient, column_maps=column_maps, vocabulary=vocab)
    except SchemaError as exc:
        where = [f"  {name}: " + ", ".join(f"{rel} rows {lo}-{hi - 1}" for rel, lo, hi in _partitions(t)[:20])
                 for name, t in raw.items() if _partitions(t)]
        if not where:
            raise
        raise SchemaError(f"{exc}\nrows are counted across a partitioned table's files, in path order:\n"
                          + "\n".join(where)) from None
    for name, rejected in ds.rejected.items():  # name the file each rejected row came from
        ranges = _partitions(raw[name]) if name in raw else []
        if rejected is not None and rejected.num_rows and ranges:
            at = _row_files(ranges, rejected.column("_row").to_pylist())
            ds.rejected[name] = rejected.append_column("_file", pa.array([a for a, _ in at], pa.string())) \
                .append_column("_file_row", pa.array([b for _, b in at], pa.int64()))
    truth_dir = folder / "truth"
    if truth_dir.is_dir():
        ds.truth = {f.stem: load_table_source(f, f"truth/{f.stem}") for f in sorted(truth_dir.iterdir())
                    if (f.suffix == ".parquet" and f.is_file()) or (f.is_dir() and _partition_files(f))}
    ds.source = str(folder)
    ds.files = files
    return ds


_TABLE_SUFFIXES = (".parquet", ".feather", ".arrow", ".csv")


@dataclass(frozen=True)
class DatasetFiles:
    """Which files of a dataset folder are read as which table, which are ignored, and which
    canonical tables have no file (``jindu validate`` prints all three).

    Parameters
    ----------
    read : dict of table name -> pathlib.Path
    ignored : list of str
        File names that are not canonical tables.
    missing : list of str
        Canonical tables with no file.
    """

    read: dict[str, Path]
    ignored: list[str]
    missing: list[str]


def dataset_files(folder) -> DatasetFiles:
    """Map a dataset folder's files to canonical tables.

    Parameters
    ----------
    folder : str or pathlib.Path

    Raises
    ------
    SchemaError
        When the folder holds no canonical table, when one table has two files (``cases.parquet``
        and ``cases.csv``: which one is current is a guess), or when a file's name is a near miss
        of a canonical table that has no file (``case.parquet`` beside no ``cases.*``).
    """
    folder = Path(folder)
    read: dict[str, Path] = {}
    problems: list[str] = []
    for name in TABLE_ORDER:
        found = [folder / f"{name}{sfx}" for sfx in _TABLE_SUFFIXES if (folder / f"{name}{sfx}").is_file()]
        if (folder / name).is_dir() and _partition_files(folder / name):  # a partitioned table
            found.append(folder / name)
        if len(found) > 1:
            what = "files" if all(f.is_file() for f in found) else "sources"  # a folder is a partitioned table
            problems.append(f"table '{name}' has {len(found)} {what} ({', '.join(f.name for f in found)}); "
                            "keep one")
        elif found:
            read[name] = found[0]
    used = {f.name for f in read.values()}
    ignored = sorted(f.name for f in folder.iterdir()
                     if f.is_file() and f.name not in used and not f.name.startswith(".") and f.name != VOCABULARY_FILE)
    missing = [n for n in TABLE_ORDER if n not in read]
    for fname in ignored:
        stem, suffix = Path(fname).stem, Path(fname).suffix.lower()
        close = difflib.get_close_matches(stem, missing, n=1, cutoff=0.75)
        if suffix in _TABLE_SUFFIXES and close:
            problems.append(f"file {fname} is not a canonical table name; did you mean {close[0]}{suffix}?")
    if problems:
        raise SchemaError(f"dataset folder {folder}:\n" + "\n".join(f"  - {p}" for p in problems))
    if not read:
        raise SchemaError(f"dataset folder {folder} has none of the canonical tables "
                          f"({', '.join(f'{n}.parquet' for n in TABLE_ORDER)})")
    return DatasetFiles(read, ignored, missing)


def dataset_from_tables(tables: Mapping, *, lenient: bool = False,
                        column_maps: dict[str, dict[str, str]] | None = None,
                        truth: Mapping | None = None, vocabulary=None) -> Dataset:
    """Validate a mapping of table name -> table (pandas or Arrow) into a :class:`Dataset`.

    Parameters
    ----------
    tables : mapping of name -> table
        Canonical table names; pyarrow, pandas or dicts of columns.
    lenient : bool, default False
    column_maps : dict, optional
    truth : mapping, optional
        Truth tables of synthetic data, kept as they are.
    vocabulary : Vocabulary, path or mapping, optional
        See :func:`read_dataset`.
    """
    unknown = [n for n in tables if n not in TABLES]
    if unknown:
        raise SchemaError(f"unknown table names {unknown}; canonical tables are {', '.join(TABLE_ORDER)}")
    vocabulary = as_vocabulary(vocabulary)
    results: dict[str, ValidationResult] = validate_dataset(dict(tables), lenient=lenient,
                                                            column_maps=column_maps, vocabulary=vocabulary)
    return Dataset(
        tables={n: r.table for n, r in results.items()},
        truth=dict(truth or {}),
        rejected={n: r.rejected for n, r in results.items()},
        vocabulary=None if vocabulary == default_vocabulary() else vocabulary,
    )


def write_dataset(dataset: Dataset | Mapping, path, *, compression: str = "zstd", partition: str | None = None) -> Path:
    """Write every table (and truth table) of a dataset to ``path`` as Parquet.

    Files are written deterministically (no timestamps in metadata), so the same tables
    give byte-identical files.

    Parameters
    ----------
    dataset : Dataset or mapping of name -> pyarrow.Table
    path : str or pathlib.Path
        The folder to write (created when missing).
    compression : str, default "zstd"
    partition : str, optional
        ``"key=value"``: write each table as one partition of a partitioned folder,
        ``<table>/key=value/part-0.parquet`` (and ``truth/<name>/key=value/part-0.parquet``);
        :func:`read_dataset` reads all the partitions of a table as one table.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if partition is not None:
        key, _, value = partition.partition("=")
        if not key or not value or "/" in partition or key.startswith((".", "_")):
            raise SchemaError(f"partition must look like 'key=value' (e.g. 'shard=00003'); got {partition!r}")

    def target(base: Path, name: str) -> Path:
        if partition is None:
            return base / f"{name}.parquet"
        (base / name / partition).mkdir(parents=True, exist_ok=True)
        return base / name / partition / "part-0.parquet"

    tables = dataset.tables if isinstance(dataset, Dataset) else dict(dataset)
    for name, table in tables.items():
        pq.write_table(table, target(folder, name), compression=compression)
    vocabulary = dataset.vocabulary if isinstance(dataset, Dataset) else None
    if vocabulary is not None and vocabulary != default_vocabulary():  # the tables need it to validate
        (folder / VOCABULARY_FILE).write_text(vocabulary.to_toml(), encoding="utf-8")
    truth = dataset.truth if isinstance(dataset, Dataset) else {}
    if truth:
        (folder / "truth").mkdir(exist_ok=True)
        for name, table in truth.items():
            pq.write_table(table, target(folder / "truth", name), compression=compression)
    return folder
