"""Read and write datasets: a folder of Parquet files, one per canonical table.

A dataset folder holds ``<table>.parquet`` for each canonical table it has (see
:mod:`jinduanalytics.schema`) and, for synthetic data, ``truth/<name>.parquet`` tables
with the planted answers. Single tables can come from Parquet, Feather/Arrow IPC, CSV,
pandas or pyarrow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from .errors import SchemaError
from .schema import TABLE_ORDER, TABLES, table_spec
from .validate import ValidationResult, _as_arrow, validate_dataset, validate_table

__all__ = ["Dataset", "read_table", "read_dataset", "write_dataset", "load_table_source"]


@dataclass
class Dataset(Mapping):
    """The canonical tables of one dataset, plus truth tables and rejected rows.

    Behaves as a read-only mapping from table name to ``pyarrow.Table``; tables are also
    attributes (``ds.cases``). ``truth`` holds planted answers of synthetic data;
    ``rejected`` holds, after lenient loading, each table's rejected rows with ``_row``
    and ``_reason``.
    """

    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table] = field(default_factory=dict)
    rejected: dict[str, pa.Table] = field(default_factory=dict)
    source: str | None = None

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


def load_table_source(source, name: str, column_map: dict[str, str] | None = None) -> pa.Table:
    """Turn a path (Parquet, Feather/Arrow, CSV), DataFrame or Arrow table into a pa.Table."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SchemaError(f"table '{name}': file not found: {path}")
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix in (".feather", ".arrow", ".ipc"):
            return feather.read_table(path)
        if suffix in (".csv", ".tsv", ".txt"):
            parse = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            convert = pacsv.ConvertOptions(column_types=_csv_types(name, column_map),
                                           strings_can_be_null=True)
            return pacsv.read_csv(path, parse_options=parse, convert_options=convert)
        raise SchemaError(f"table '{name}': unknown file type '{suffix}' for {path.name}; "
                          "use .parquet, .feather/.arrow or .csv")
    return _as_arrow(source, name)


def read_table(source, name: str, *, column_map: dict[str, str] | None = None) -> pa.Table:
    """Read one canonical table, validate it strictly, and return it cast to its schema.

    For lenient loading of a single table use :func:`jinduanalytics.validate_table` with
    ``lenient=True``. References to other tables are checked by :func:`read_dataset`.

    Raises
    ------
    SchemaError
        Listing every problem of the table.
    """
    raw = load_table_source(source, name, column_map)
    return validate_table(raw, name, column_map=column_map).table


def read_dataset(
    path,
    *,
    lenient: bool = False,
    column_maps: dict[str, dict[str, str]] | None = None,
) -> Dataset:
    """Read and validate every canonical table in a dataset folder.

    The folder holds ``<table>.parquet`` (or ``.feather``/``.csv``) files named after the
    canonical tables; ``truth/*.parquet`` is read as truth tables when present.

    Raises
    ------
    SchemaError
        When the folder has no canonical table, or (strict mode) any problem in any table.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise SchemaError(f"dataset folder not found: {folder}")
    raw: dict[str, pa.Table] = {}
    for name in TABLE_ORDER:
        for suffix in (".parquet", ".feather", ".arrow", ".csv"):
            f = folder / f"{name}{suffix}"
            if f.exists():
                raw[name] = load_table_source(f, name, (column_maps or {}).get(name))
                break
    if not raw:
        raise SchemaError(f"dataset folder {folder} has none of the canonical tables "
                          f"({', '.join(f'{n}.parquet' for n in TABLE_ORDER)})")
    ds = dataset_from_tables(raw, lenient=lenient, column_maps=column_maps)
    truth_dir = folder / "truth"
    if truth_dir.is_dir():
        ds.truth = {f.stem: pq.read_table(f) for f in sorted(truth_dir.glob("*.parquet"))}
    ds.source = str(folder)
    return ds


def dataset_from_tables(tables: Mapping, *, lenient: bool = False,
                        column_maps: dict[str, dict[str, str]] | None = None,
                        truth: Mapping | None = None) -> Dataset:
    """Validate a mapping of table name -> table (pandas or Arrow) into a :class:`Dataset`."""
    unknown = [n for n in tables if n not in TABLES]
    if unknown:
        raise SchemaError(f"unknown table names {unknown}; canonical tables are {', '.join(TABLE_ORDER)}")
    results: dict[str, ValidationResult] = validate_dataset(dict(tables), lenient=lenient,
                                                            column_maps=column_maps)
    return Dataset(
        tables={n: r.table for n, r in results.items()},
        truth=dict(truth or {}),
        rejected={n: r.rejected for n, r in results.items()},
    )


def write_dataset(dataset: Dataset | Mapping, path, *, compression: str = "zstd") -> Path:
    """Write every table (and truth table) of a dataset to ``path`` as Parquet.

    Files are written deterministically (no timestamps in metadata), so the same tables
    give byte-identical files.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tables = dataset.tables if isinstance(dataset, Dataset) else dict(dataset)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet", compression=compression)
    truth = dataset.truth if isinstance(dataset, Dataset) else {}
    if truth:
        (folder / "truth").mkdir(exist_ok=True)
        for name, table in truth.items():
            pq.write_table(table, folder / "truth" / f"{name}.parquet", compression=compression)
    return folder
