"""The national tier on Dask: the same results as in-process, computed on a ``distributed`` cluster.

``engine="dask"`` (``cluster_cases(..., engine="dask")``, ``jindu analyze DIR --engine dask``) runs
the data-heavy stage of 集群打零 — the rarity-weighted projection of the case evidence into the
case graph — as Dask tasks over partitions, and the graph algorithms (Leiden consensus) on the
assembled graph in this process (a 10M-case graph fits in one process; the evidence rows and their
pairs do not need to).

The projection, distributed:

1. every evidence row ``(case, kind, value)`` gets its case's number in the sorted case ids and its
   entity's 64-bit hash (the hash the in-process projection orders entities by), per partition;
2. a shuffle by entity hash brings every entity's rows together: distinct cases per entity,
   ``k_e`` (the hub cap ``"auto"`` is computed from the gathered counts, as in-process), the
   entity's weight from ``k_e`` (:func:`jinduanalytics.graph.case_graph`'s rarity formulas, the same
   float operations);
3. each entity emits its case pairs ``(a, b, hash, weight)``; a shuffle by ``a`` brings every case's
   pairs together, sorted by ``(a, b, hash)`` and summed in that order, one float at a time — the
   order and arithmetic of the in-process kernel, so every weight is the same float;
4. the pair weights are gathered and laid out as the symmetric CSR the kernel writes.

So ``engine="dask"`` gives bit-identical graphs and clusters (tested on LocalClusters with separate
worker processes, also with a worker killed mid-run: Dask reruns its tasks elsewhere).

Clusters: :func:`local_cluster` starts ``n_workers`` worker processes on this machine (default 2,
one thread each, ``memory_limit`` each, spilling to disk under ``local_directory``); pass
``client=`` (a ``distributed.Client``) or ``scheduler="tcp://host:8786"`` to use an existing cluster.
Needs the ``national`` extra (``pip install jinduanalytics[national]``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._kernels.projection import segment_sums
from .errors import ParameterError, SchemaError
from .graph.build import _factorize, _pair_hashes, _plain, _rarity_weights, auto_max_cases
from .graph.csr import CSRGraph
from .io import _partition_files, dataset_files, load_table_source
from .options import tabular
from .schema import TABLE_ORDER, table_spec
from .tables import as_table, get_table, rows_text
from .validate import validate_table
from .vocabulary import VOCABULARY_FILE, Vocabulary, default_vocabulary

__all__ = ["local_cluster", "engine_client", "case_graph", "case_links", "validate_folder", "ENGINES"]

#: The engines the engine-aware functions accept.
ENGINES = ("local", "dask")
_KILL_ONCE = "JINDU_TEST_KILL_WORKER_ONCE"  # tests: a marker path; the first task to see it kills its worker


def _need_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:  # a ParameterError: the CLI prints one line and exits 2
        raise ParameterError("engine='dask' needs dask and distributed: pip install 'jinduanalytics[national]'") \
            from None


def local_cluster(n_workers: int = 2, *, memory_limit: str = "6GiB", local_directory: str | None = None):
    """A ``distributed`` cluster on this machine: ``n_workers`` worker processes, one thread each.

    Parameters
    ----------
    n_workers : int
        Worker processes (this 2-core machine: 2).
    memory_limit : str
        Per worker; above 60% of it a worker spills to disk, above 95% it is restarted.
    local_directory : str, optional
        Where workers spill (default: the system's temporary folder).

    Returns
    -------
    distributed.Client
        Closing it (``client.close()``, or ``with``) also stops the cluster.
    """
    _need_dask()
    from distributed import Client

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # a line per shuffle at WARNING otherwise
    # no address: the client starts its own LocalCluster with these options, and closing it stops the cluster
    return Client(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                  local_directory=local_directory, dashboard_address=":0", silence_logs=logging.ERROR)


@contextlib.contextmanager
def engine_client(client=None, scheduler: str | None = None, **cluster_options) -> Iterator:
    """The ``distributed.Client`` to run on: ``client`` as given, one connected to ``scheduler``, or a
    :func:`local_cluster` started (and stopped on exit) for the call.

    Parameters
    ----------
    client : distributed.Client, optional
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``).
    **cluster_options
        For :func:`local_cluster`.
    """
    _need_dask()
    with warnings.catch_warnings():
        # "Sending large graph": an in-memory table split into partitions travels in the task graph, on purpose
        # (scattered data would die with a worker; a national dataset is read by the workers instead)
        warnings.filterwarnings("ignore", message="Sending large graph")
        if client is not None:
            yield client
            return
        from distributed import Client

        own = Client(scheduler) if scheduler else local_cluster(**cluster_options)
        try:
            yield own
        finally:
            own.close()


def n_partitions(client, rows: int, requested: int | None = None) -> int:
    """Partitions for an in-memory table of ``rows`` rows: ``requested``, else 4 per worker; at most one a row."""
    per_worker = 4 * max(len(client.scheduler_info().get("workers", {})), 1)
    return max(1, min(requested or per_worker, rows or 1))


def gather(client, frame) -> pd.DataFrame:
    """A Dask DataFrame brought into this process partition by partition, concatenated here in partition
    order (``compute()`` first concatenates them in one worker: at 31M person records that worker ran out
    of memory and was restarted)."""
    return pd.concat(client.gather(client.compute(frame.to_delayed())), ignore_index=True)


def _maybe_die() -> None:
    """Fault injection for the tests: the first task that finds no marker creates it and kills its worker."""
    path = os.environ.get(_KILL_ONCE)
    if path and not os.path.exists(path):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)


def _entity_hashes(kind: pa.Array, value: pa.Array) -> np.ndarray:
    """The 64-bit hash of every row's (kind, value) entity — the key the in-process projection
    orders entities by (graph.build._entity_codes, order="hash")."""
    kinds = pc.dictionary_encode(kind)
    values = pc.dictionary_encode(value)
    return _pair_hashes(kinds.dictionary, values.dictionary,
                        kinds.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                        values.indices.to_numpy(zero_copy_only=False).astype(np.int64))


def _coded(part: pd.DataFrame, case_ids: pa.Array) -> pd.DataFrame:
    """Step 1: case number and entity hash of every evidence row (kind kept for its multiplier)."""
    _maybe_die()
    t = pa.Table.from_pandas(part, preserve_index=False)
    case = _plain(t.column("case_id")).cast(pa.string())
    kind = _plain(t.column("kind")).cast(pa.string())
    value = _plain(t.column("value")).cast(pa.string())
    idx = pc.index_in(case, value_set=case_ids)
    if idx.null_count:
        raise ParameterError(f"case_graph: {idx.null_count} evidence rows name a case_id that is not in cases")
    return pd.DataFrame({"a": idx.to_numpy(zero_copy_only=False).astype(np.int64),
                         "eh": _entity_hashes(kind, value).view(np.int64),
                         "kind": kind.to_numpy(zero_copy_only=False), "value": value.to_numpy(zero_copy_only=False)})


def _entity_counts(part: pd.DataFrame) -> pd.DataFrame:
    """Step 2a: distinct cases per entity (after the shuffle by entity)."""
    d = part.drop_duplicates(["a", "eh"])
    return d.groupby("eh", sort=True).agg(k=("a", "size"), kind=("kind", "first")).reset_index()


def _entity_pairs(part: pd.DataFrame, n_cases: int, rarity: str, cap, kind_weights: dict | None) -> pd.DataFrame:
    """Step 2b-3a: every entity's weight and its case pairs (a < b)."""
    _maybe_die()
    if part.drop_duplicates(["eh", "kind", "value"])["eh"].duplicated().any():
        raise RuntimeError("case_graph: two entities share a 64-bit hash (the in-process projection then orders "
                           "entities by name); run this dataset with engine='local'")
    d = part.drop_duplicates(["a", "eh"]).sort_values(["eh", "a"], kind="stable")
    if d.empty:
        return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "eh": np.zeros(0, np.int64),
                             "w": np.zeros(0, np.float64)})
    eh = d["eh"].to_numpy()
    start = np.flatnonzero(np.r_[True, eh[1:] != eh[:-1]])
    k = np.diff(np.r_[start, eh.size])
    w = _rarity_weights(k, n_cases, rarity, cap)
    if kind_weights:
        kinds = d["kind"].to_numpy()[start]
        mult = np.ones_like(w)
        for kind, kw in kind_weights.items():
            mult[kinds == kind] = float(kw)
        w = w * mult
    cases = d["a"].to_numpy()
    a_out, b_out, e_out, w_out = [], [], [], []
    for s, n, we, h in zip(start, k, w, eh[start]):
        if we == 0.0 or n < 2:
            continue
        c = cases[s:s + n]
        i, j = np.triu_indices(n, 1)
        a_out.append(c[i])
        b_out.append(c[j])
        e_out.append(np.full(i.size, h, dtype=np.int64))
        w_out.append(np.full(i.size, we))
    if not a_out:
        return _entity_pairs(part.iloc[:0], n_cases, rarity, cap, kind_weights)
    return pd.DataFrame({"a": np.concatenate(a_out), "b": np.concatenate(b_out), "eh": np.concatenate(e_out),
                         "w": np.concatenate(w_out)})


def _pair_sums(part: pd.DataFrame) -> pd.DataFrame:
    """Step 3b: per case pair, the weights summed in entity-hash order (the kernel's order)."""
    _maybe_die()
    if part.empty:
        return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "w": np.zeros(0, np.float64)})
    eh = part["eh"].to_numpy().view(np.uint64)  # unsigned order, as the kernel's argsort of uint64 hashes
    order = np.lexsort((eh, part["b"].to_numpy(), part["a"].to_numpy()))
    a = part["a"].to_numpy()[order]
    b = part["b"].to_numpy()[order]
    w = part["w"].to_numpy()[order]
    ra, rb, rw = segment_sums(a, b, w)
    return pd.DataFrame({"a": ra, "b": rb, "w": rw})


def case_graph(links, *, cases, rarity: str = "newman", max_cases=50, kind_weights: dict | None = None, client=None,
               npartitions: int | None = None) -> CSRGraph:
    """:func:`jinduanalytics.graph.case_graph` on a Dask cluster: the same graph, bit for bit.

    Parameters
    ----------
    links : pyarrow.Table, pandas.DataFrame or dask.dataframe.DataFrame
        Evidence rows ``case_id``, ``kind``, ``value`` (:func:`jinduanalytics.clusters.case_links`).
    cases : table
        ``case_id``: every case is a node.
    rarity, max_cases, kind_weights
        As in :func:`jinduanalytics.graph.case_graph`.
    client : distributed.Client, optional
        Default: a :func:`local_cluster` for the call.
    npartitions : int, optional
        Partitions of an in-memory ``links`` table (default: 4 per worker).

    Returns
    -------
    CSRGraph
    """
    return _case_graph(links, cases=cases, rarity=rarity, max_cases=max_cases, kind_weights=kind_weights,
                       client=client, npartitions=npartitions)[0]


def _case_graph(links, *, cases, rarity, max_cases, kind_weights, client, npartitions) -> tuple[CSRGraph, object]:
    """The graph and the hub cap used (``"auto"`` resolved from the gathered entity counts)."""
    _need_dask()
    import dask.dataframe as dd

    if rarity not in ("newman", "adamic_adar", "idf", "none"):
        raise ParameterError(f"rarity must be one of newman, adamic_adar, idf, none; got {rarity!r}")
    ct = as_table(cases, "cases")
    case_ids, _ = _factorize(_plain(ct.column("case_id")).cast(pa.string()))
    n_cases = len(case_ids)
    with engine_client(client) as cl:
        if isinstance(links, dd.DataFrame):
            ddf = links[["case_id", "kind", "value"]]
        else:
            t = as_table(links, "links").select(["case_id", "kind", "value"])
            n = n_partitions(cl, t.num_rows, npartitions)
            # the rows travel inside the task graph: a lost worker's partitions can be rebuilt from it
            # (scattered data would die with the worker); a national dataset is read by the workers instead
            ddf = dd.from_pandas(t.to_pandas(), npartitions=n, sort=False)
        ids = cl.scatter(case_ids, broadcast=True)
        meta_coded = pd.DataFrame({"a": np.zeros(0, np.int64), "eh": np.zeros(0, np.int64),
                                   "kind": pd.Series([], dtype=object), "value": pd.Series([], dtype=object)})
        coded = ddf.map_partitions(_coded, ids, meta=meta_coded).shuffle("eh")
        coded = cl.persist(coded)
        cap = max_cases
        if cap == "auto":
            counts = coded.map_partitions(_entity_counts, meta={"eh": np.int64, "k": np.int64, "kind": object})
            k = counts["k"].compute().to_numpy()
            if cap == "auto":
                cap = auto_max_cases(k)
        meta_pairs = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "eh": np.zeros(0, np.int64),
                                   "w": np.zeros(0, np.float64)})
        pairs = coded.map_partitions(_entity_pairs, n_cases, rarity, cap, kind_weights, meta=meta_pairs)
        sums = pairs.shuffle("a").map_partitions(
            _pair_sums, meta=pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64),
                                           "w": np.zeros(0, np.float64)}))
        got = gather(cl, sums)
        del coded
    if got.empty:
        indptr = np.zeros(n_cases + 1, dtype=np.int64)
        return CSRGraph(indptr, np.zeros(0, np.int64), np.zeros(0, np.float64), pa.table({"node_id": case_ids}),
                        directed=False), cap
    a, b, w = got["a"].to_numpy(), got["b"].to_numpy(), got["w"].to_numpy()
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    ws = np.concatenate([w, w])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n_cases + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_cases), out=indptr[1:])
    graph = CSRGraph(indptr, cols[order].astype(np.int64), ws[order], pa.table({"node_id": case_ids}), directed=False)
    return graph, cap


def _table_path(folder, name: str):
    """A dataset folder's table as the workers read it: its partition files or its single Parquet file (None
    when absent). The folder's files are mapped as :func:`jinduanalytics.io.dataset_files` maps them (one
    source per table); the workers read Parquet only."""
    path = dataset_files(folder).read.get(name)
    if path is None:
        return None
    if path.is_dir():
        return [str(f) for f in _partition_files(path)]
    if path.suffix.lower() != ".parquet":
        raise ParameterError(f"{path}: the Dask engine's workers read Parquet; write table '{name}' as "
                             f"{name}.parquet or a folder of Parquet partitions")
    return str(path)


def _read(folder, name: str, columns: list[str]):
    import dask.dataframe as dd

    path = _table_path(folder, name)
    if path is None:
        return None
    return dd.read_parquet(path, columns=columns, dtype_backend="pyarrow").astype({c: object for c in columns})


def case_links(folder, *, person_kinds: tuple[str, ...] = ("person", "id_number", "person_phone"),
               parcel_endpoints: bool = True, money: bool = True):
    """:func:`jinduanalytics.clusters.case_links` of a dataset folder, as a Dask DataFrame built by the workers
    from the partition files (the tables are never gathered in one process).

    The same rows as in-process for a folder that validates (``jindu validate``): the partitions are read
    as written, not normalised again.

    Parameters
    ----------
    folder : str or pathlib.Path
        A dataset folder (tables as Parquet files or partitioned folders).
    person_kinds, parcel_endpoints, money
        As in :func:`jinduanalytics.clusters.case_links`.

    Returns
    -------
    dask.dataframe.DataFrame
        ``case_id``, ``kind``, ``value``: the distinct evidence rows (unordered).
    """
    _need_dask()
    import dask.dataframe as dd

    ce = _read(folder, "case_entities", ["case_id", "kind", "value"])
    if ce is None:
        raise ParameterError(f"{folder}: no case_entities table")
    parts = [ce]
    if parcel_endpoints:
        parcels = _read(folder, "parcels", ["waybill", "sender", "receiver"])
        if parcels is not None:
            wb = ce[ce["kind"] == "waybill"].merge(parcels, left_on="value", right_on="waybill")
            for kind, col in (("parcel_sender", "sender"), ("parcel_receiver", "receiver")):
                p = wb[wb[col].notnull()][["case_id", col]].rename(columns={col: "value"})
                parts.append(p.assign(kind=kind)[["case_id", "kind", "value"]])
    if money:
        tx = _read(folder, "transactions", ["src_account", "dst_account"])
        if tx is not None:
            acc = ce[ce["kind"] == "account"][["case_id", "value"]]
            held = acc[["value"]].drop_duplicates()
            t = tx.merge(held, left_on="src_account", right_on="value")[["src_account", "dst_account"]]
            t = t.merge(held, left_on="dst_account", right_on="value")[["src_account", "dst_account"]]
            lo = t["src_account"].where(t["src_account"] <= t["dst_account"], t["dst_account"])
            hi = t["dst_account"].where(t["src_account"] <= t["dst_account"], t["src_account"])
            pairs = dd.concat([lo.rename("a"), hi.rename("b")], axis=1).drop_duplicates()
            pairs = pairs.assign(pair=pairs["a"] + "|" + pairs["b"])
            for end in ("a", "b"):
                h = pairs[[end, "pair"]].merge(acc, left_on=end, right_on="value")[["case_id", "pair"]]
                parts.append(h.rename(columns={"pair": "value"}).assign(kind="transfer")[["case_id", "kind", "value"]])
    if person_kinds:
        cp = _read(folder, "case_persons", ["case_id", "record_id"])
        if "person" in person_kinds:
            parts.append(cp.rename(columns={"record_id": "value"}).assign(kind="person")[["case_id", "kind", "value"]])
        wanted = [k for k in ("id_number", "person_phone") if k in person_kinds]
        if wanted:
            pr = _read(folder, "person_records", ["record_id", "id_number", "phone"])
            j = cp.merge(pr, on="record_id")
            if "id_number" in wanted:
                v = j[j["id_number"].notnull()]
                v = v[~v["id_number"].str.contains("*", regex=False, na=False).astype(bool)]
                parts.append(v[["case_id", "id_number"]].rename(columns={"id_number": "value"})
                             .assign(kind="id_number")[["case_id", "kind", "value"]])
            if "person_phone" in wanted:
                v = j[j["phone"].notnull()]
                parts.append(v[["case_id", "phone"]].rename(columns={"phone": "value"})
                             .assign(kind="person_phone")[["case_id", "kind", "value"]])
    return dd.concat(parts).drop_duplicates()


def folder_table(folder, name: str, columns: list[str] | None = None) -> pa.Table | None:
    """A dataset folder's table read into this process (its partitions concatenated), or None when absent;
    for the small tables and single columns the in-process stages need."""
    path = _table_path(folder, name)
    if path is None:
        return None
    files = path if isinstance(path, list) else [path]
    return pa.concat_tables([pq.read_table(f, columns=columns) for f in files], promote_options="default")


def folder_rows(folder) -> list[tuple[str, int]]:
    """(table, rows) of every canonical table of a dataset folder, from the Parquet footers (nothing read)."""
    out = []
    for name in TABLE_ORDER:
        path = _table_path(folder, name)
        if path is not None:
            files = path if isinstance(path, list) else [path]
            out.append((name, sum(pq.ParquetFile(f).metadata.num_rows for f in files)))
    return out


def folder_case_ids(folder) -> pa.Table:
    """The ``case_id`` column of a dataset folder's cases (one column read from every partition)."""
    got = folder_table(folder, "cases", ["case_id"])
    if got is None:
        raise ParameterError(f"{folder}: no cases table")
    return got


def is_folder(data) -> bool:
    """A dataset folder (read by the workers) rather than tables in this process."""
    return isinstance(data, (str, os.PathLike))


def frame(data, name: str, columns: list[str], client, *, required: bool = True):
    """Table ``name`` (its ``columns``) as a Dask DataFrame: read by the workers from a dataset folder's
    partition files, or split from a table in this process (4 partitions per worker). None when an
    optional table is absent."""
    if is_folder(data):
        got = _read(data, name, columns)
        if got is None and required:
            raise ParameterError(f"{data}: no {name} table")
        return got
    t = get_table(data, name, required=required, columns=tuple(columns))
    if t is None:
        return None
    return from_table(t.select(columns), client)


def from_table(table, client) -> object:
    """An in-process table (pyarrow or pandas) as a Dask DataFrame (4 partitions per worker), text as
    Python strings like the partitions :func:`frame` reads (join keys of one type hash alike).

    The table goes to the workers as Arrow slices (zero-copy here) and each worker makes its pandas
    partition: converted here, a national run's 31.5M resolved persons took +7.7 GB in this process
    (Python string objects, then their pickled copy)."""
    import dask
    import dask.dataframe as dd

    t = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    n = n_partitions(client, t.num_rows)
    bounds = np.linspace(0, t.num_rows, n + 1).round().astype(np.int64)
    # hash=False: Dask tokenizes slices of one Arrow table alike (their shared buffers): one key for all
    slices = client.scatter([t.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:])], hash=False)
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed([dask.delayed(_as_pandas)(f) for f in slices], meta=_as_pandas(t.slice(0, 0)),
                               verify_meta=False)


def _as_pandas(t: pa.Table) -> pd.DataFrame:
    """An Arrow slice as a pandas partition, text as Python strings."""
    df = t.to_pandas()
    return df.astype({c: object for c in df.columns if pd.api.types.is_string_dtype(df[c]) and df[c].dtype != object})


def folder_vocabulary(folder, vocabulary=None) -> Vocabulary:
    """A dataset folder's vocabulary: the shipped one, the folder's ``vocabulary.toml``, then ``vocabulary``
    (as :func:`jinduanalytics.io.read_dataset` builds it)."""
    vocab = default_vocabulary()
    if (Path(folder) / VOCABULARY_FILE).is_file():
        vocab = vocab.extend(Path(folder) / VOCABULARY_FILE)
    if vocabulary is not None:
        vocab = vocabulary if isinstance(vocabulary, Vocabulary) else vocab.extend(vocabulary)
    return vocab


def _read_ordered(path: str, i: int, columns: list[str]) -> pd.DataFrame:
    """A partition file's columns with its place in the table's row order (file number, row)."""
    _maybe_die()
    df = pq.read_table(path, columns=columns).to_pandas()
    return df.assign(_file=np.int64(i), _row=np.arange(len(df), dtype=np.int64))


def _group_part(part: pd.DataFrame, keys: list[str], aggs: dict) -> pd.DataFrame:
    """A partition's groups (each group's rows all in it), aggregated in the table's row order."""
    _maybe_die()
    part = part.sort_values(["_file", "_row"], kind="stable")
    return part.groupby(keys, sort=True, dropna=False).agg(**aggs).reset_index()


def grouped(data, name: str, columns: list[str], prepare, keys: list[str], aggs: dict, client) -> pd.DataFrame:
    """``prepare(rows).groupby(keys, sort=True, dropna=False).agg(**aggs)`` of table ``name`` on the cluster:
    the rows shuffled by the keys, each group aggregated in the table's row order (so a float sum is the
    in-process float). ``prepare`` maps each partition's rows (per row)."""
    import dask
    import dask.dataframe as dd

    if is_folder(data):
        path = _table_path(data, name)
        if path is None:
            raise ParameterError(f"{data}: no {name} table")
        files = path if isinstance(path, list) else [path]
        meta = pq.read_table(files[0], columns=columns).slice(0, 0).to_pandas() \
            .assign(_file=np.zeros(0, np.int64), _row=np.zeros(0, np.int64))
        with dask.config.set({"dataframe.convert-string": False}):
            rows = dd.from_delayed([dask.delayed(_read_ordered)(f, i, columns) for i, f in enumerate(files)], meta=meta)
    else:
        df = get_table(data, name, columns=tuple(columns)).select(columns).to_pandas()
        df = df.assign(_file=np.int64(0), _row=np.arange(len(df), dtype=np.int64))
        n = n_partitions(client, len(df))
        with dask.config.set({"dataframe.convert-string": False}):
            rows = dd.from_pandas(df, npartitions=n, sort=False)
    with dask.config.set({"dataframe.convert-string": False}):
        ready = rows.map_partitions(lambda p: prepare(p).assign(_file=p["_file"].to_numpy(), _row=p["_row"].to_numpy()),
                                    meta=prepare(rows._meta).assign(_file=np.zeros(0, np.int64),
                                                                    _row=np.zeros(0, np.int64)))
        meta = _group_part(ready._meta, keys, aggs)
        got = ready.shuffle(on=keys).map_partitions(_group_part, keys, aggs, meta=meta).compute()
    return got.sort_values(keys, kind="stable").reset_index(drop=True)


# --- validation, partition by partition ----------------------------------------------------------------------------

def _table_files(folder: Path, path: Path) -> list[tuple[str, str]]:
    """(file path, path relative to the dataset folder) of a table's file or partition files."""
    files = _partition_files(path) if path.is_dir() else [path]
    return [(str(f), str(Path(f).relative_to(folder))) for f in files]


def _check_partition(path: str, name: str, references: dict, vocabulary, keep_columns: list[str]):
    """One partition file through :func:`jinduanalytics.validate.validate_table` (lenient: every row-level
    check that needs no other partition; references to the regions table included). Returns its problems
    ``(column, kind, message, rows)``, the rejected rows' reasons, the rows read, and the accepted rows'
    ``keep_columns`` with ``_row`` (row within the file) for the checks across partitions."""
    _maybe_die()
    t = load_table_source(path, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = validate_table(t, name, lenient=True, references=references, vocabulary=vocabulary)
    problems = [(p.column, p.kind, p.message.split(" (rows")[0], p.rows.tolist()) for p in res.problems]
    rejected = dict(zip(res.rejected.column("_row").to_pylist(), res.rejected.column("_reason").to_pylist()))
    kept = np.setdiff1d(np.arange(t.num_rows, dtype=np.int64), np.fromiter(rejected, np.int64, len(rejected)))
    keys = res.table.select([c for c in keep_columns if c in res.table.column_names]).to_pandas()
    keys = keys.astype({c: object for c in keys.columns if keys[c].dtype != object})
    keys["_row"] = kept
    return problems, rejected, t.num_rows, keys


def _checked_keys(checked: tuple, i: int) -> pd.DataFrame:
    """A checked partition's accepted key values, tagged with its file number."""
    return checked[3].assign(_file=np.int64(i))


def _checked_rows(checked: tuple) -> tuple:
    """A checked partition's problems, rejected rows and row count (small: gathered here)."""
    return checked[:3]


def _first_seen(part: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Rows whose key already appeared on an earlier row (file order, then row), as in-process."""
    part = part.sort_values(["_file", "_row"], kind="stable")
    dup = part.duplicated(subset=key, keep="first") & part[key].notna().all(axis=1)
    return part.loc[dup, ["_file", "_row"]]


def _write_rejected(path: str, name: str, reasons: dict, out: str) -> int:
    """A partition's rejected rows as given, with ``_row`` (within the file) and ``_reason``."""
    t = load_table_source(path, name)
    rows = sorted(reasons)
    got = t.take(pa.array(rows, pa.int64())).append_column("_row", pa.array(rows, pa.int64())) \
        .append_column("_reason", pa.array([reasons[r] for r in rows], pa.string()))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(got, out)
    return len(rows)


@tabular
def validate_folder(folder, *, lenient: bool = False, rejected_to=None, vocabulary=None, client=None) -> pa.Table:
    """Validate a dataset folder on a Dask cluster, partition by partition: the checks of
    :func:`jinduanalytics.validate.validate_dataset`, without reading any table into this process.

    Each partition file is checked by a worker (types, nulls, vocabularies, ranges, duplicates inside
    the file, references to the regions table, which is read here). What spans partitions is done as
    distributed joins: duplicate keys across files (the first occurrence in file order is kept) and
    references to the large tables (``case_id`` in ``cases``, ``record_id`` in ``person_records``),
    against the keys those tables accept — in table order, so a lenient run rejects a row whose case
    was rejected, as in-process.

    Parameters
    ----------
    folder : str or pathlib.Path
        A dataset folder (tables as Parquet files or partitioned folders).
    lenient : bool, default False
        Report and set aside bad rows instead of raising.
    rejected_to : str or pathlib.Path, optional
        With ``lenient``: write each partition's rejected rows (as given, with ``_row``: the row within
        its file, and ``_reason``) to ``<rejected_to>/<the partition's path in the folder>``.
    vocabulary : Vocabulary, path or mapping, optional
        Applied on top of the folder's ``vocabulary.toml``.
    client : distributed.Client, optional
        Default: a :func:`local_cluster` for the call.

    Returns
    -------
    pyarrow.Table
        One row per problem and file: ``table``, ``file`` (relative to the folder), ``column``, ``kind``,
        ``message``, ``n_rows``, ``rows`` (the file's offending rows, 0-based), and per table the rows
        read and rejected in the metadata key ``jindu.validation``.

    Raises
    ------
    SchemaError
        Strict mode: one error naming every problem's table, partition file and first rows.
    """
    _need_dask()
    from dask.dataframe import from_delayed

    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"dataset folder not found: {folder}")
    if rejected_to is not None and not lenient:
        raise ParameterError("rejected_to is for lenient=True (strict validation raises instead)")
    vocab = folder_vocabulary(folder, vocabulary)
    found = dataset_files(folder).read
    problems: list[dict] = []
    summary: dict[str, dict] = {}
    references: dict = {}
    if "regions" in found:  # small, and its own parent_id refers to it: checked whole, here
        path = str(found["regions"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = validate_table(load_table_source(path, "regions"), "regions", lenient=True, vocabulary=vocab)
        for p in res.problems:
            problems.append({"table": "regions", "file": str(Path(path).relative_to(folder)), "column": p.column,
                             "kind": p.kind, "message": p.message.split(" (rows")[0], "rows": p.rows.tolist()})
        references[("regions", "region_id")] = res.table.column("region_id").combine_chunks()
        summary["regions"] = {"rows": res.n_input, "rejected": res.rejected.num_rows}
    accepted_keys: dict[str, object] = {}  # table -> Dask frame of its accepted key values
    with engine_client(client) as cl:
        refs = cl.scatter(references, broadcast=True)
        for name in TABLE_ORDER:
            if name == "regions" or name not in found:
                continue
            spec = table_spec(name)
            big_refs = [(c.name, c.references) for c in spec.columns
                        if c.references is not None and c.references[0] not in ("regions", name)]
            keep = list(dict.fromkeys([*spec.key, *[c for c, _ in big_refs]]))
            files = _table_files(folder, Path(found[name]))
            futures = [cl.submit(_check_partition, path, name, refs, vocab, keep, pure=False) for path, _ in files]
            meta = pd.DataFrame({**{c: pd.Series([], dtype=object) for c in keep}, "_row": np.zeros(0, np.int64),
                                 "_file": np.zeros(0, np.int64)})
            keys = from_delayed([cl.submit(_checked_keys, f, i, pure=False) for i, f in enumerate(futures)], meta=meta)
            local = cl.gather([cl.submit(_checked_rows, f, pure=False) for f in futures])
            reasons: list[dict] = []
            n_rows = 0
            for (_, rel), (probs, rejected, n) in zip(files, local):
                n_rows += n
                reasons.append(dict(rejected))
                for column, kind, message, rows in probs:
                    problems.append({"table": name, "file": rel, "column": column, "kind": kind, "message": message,
                                     "rows": rows})
            bad = []  # (file index, row, reason) found across partitions
            if spec.key and len(files) > 1:
                dup = keys.shuffle(on=list(spec.key)).map_partitions(
                    _first_seen, list(spec.key), meta=meta[["_file", "_row"]]).compute()
                key_txt = ", ".join(spec.key)
                bad += [(f, r, f"key ({key_txt}) already in an earlier partition") for f, r in
                        zip(dup["_file"], dup["_row"])]
            for column, (ref_table, ref_col) in big_refs:
                target = accepted_keys.get(ref_table)
                if target is None:
                    continue  # the referenced table is absent: not checked (as in-process)
                hits = target.rename(columns={ref_col: column}).assign(_hit=True)
                j = keys[keys[column].notnull()][[column, "_file", "_row"]].merge(hits, on=column, how="left")
                miss = j[j["_hit"].isnull()][["_file", "_row"]].compute()
                bad += [(f, r, f"column '{column}': value not found in {ref_table}.{ref_col}")
                        for f, r in zip(miss["_file"], miss["_row"])]
            by_file: dict[tuple[int, str], list[int]] = {}
            for f, r, why in bad:
                reasons[int(f)].setdefault(int(r), why)
                by_file.setdefault((int(f), why), []).append(int(r))
            for (f, why), rows in sorted(by_file.items()):
                kind = "duplicate" if why.startswith("key") else "reference"
                column = ", ".join(spec.key) if kind == "duplicate" else why.split("'")[1]
                problems.append({"table": name, "file": files[f][1], "column": column, "kind": kind,
                                 "message": why, "rows": sorted(rows)})
            if spec.key and len(spec.key) == 1:  # what later tables may refer to: the accepted keys
                out_rows = pd.DataFrame([(f, r) for f, rs in enumerate(reasons) for r in rs],
                                        columns=["_file", "_row"]).astype(np.int64)
                k = keys[[spec.key[0], "_file", "_row"]]
                if len(out_rows):
                    k = k.merge(out_rows.assign(_out=True), on=["_file", "_row"], how="left")
                    k = k[k["_out"].isnull()]
                accepted_keys[name] = cl.persist(k[[spec.key[0]]])
            if lenient and rejected_to is not None:
                writes = [cl.submit(_write_rejected, path, name, reasons[i], str(Path(rejected_to) / rel),
                                    pure=False) for i, (path, rel) in enumerate(files) if reasons[i]]
                cl.gather(writes)
            summary[name] = {"rows": n_rows, "rejected": sum(len(r) for r in reasons)}
            del futures, keys
        accepted_keys.clear()
    table = pa.table({
        "table": pa.array([p["table"] for p in problems], pa.string()),
        "file": pa.array([p["file"] for p in problems], pa.string()),
        "column": pa.array([p["column"] for p in problems], pa.string()),
        "kind": pa.array([p["kind"] for p in problems], pa.string()),
        "message": pa.array([p["message"] for p in problems], pa.string()),
        "n_rows": pa.array([len(p["rows"]) for p in problems], pa.int64()),
        "rows": pa.array([p["rows"] for p in problems], pa.list_(pa.int64())),
    }).replace_schema_metadata({b"jindu.validation": json.dumps(summary).encode()})
    if problems and not lenient:
        lines = [f"dataset {folder}: {len(problems)} problem(s); rows are 0-based within each file:"]
        lines += [f"  - {p['table']} ({p['file']}): {p['message']} ({rows_text(np.asarray(p['rows']))})"
                  for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"  ... and {len(problems) - 50} more")
        raise SchemaError("\n".join(lines))
    return table
