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
from .errors import ParameterError
from .graph.build import _factorize, _pair_hashes, _plain, _rarity_weights, auto_max_cases
from .graph.csr import CSRGraph
from .io import _partition_files
from .tables import as_table, get_table

__all__ = ["local_cluster", "engine_client", "case_graph", "case_links", "ENGINES"]

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
    from distributed import Client, LocalCluster

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # a line per shuffle at WARNING otherwise
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                           local_directory=local_directory, dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(cluster)
    client._jindu_owns_cluster = cluster  # closed with the client (see engine_client)
    return client


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
    if client is not None:
        yield client
        return
    from distributed import Client

    own = Client(scheduler) if scheduler else local_cluster(**cluster_options)
    try:
        yield own
    finally:
        cluster = getattr(own, "_jindu_owns_cluster", None)
        own.close()
        if cluster is not None:
            cluster.close()


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
            n = max(1, min(npartitions or 4 * max(len(cl.scheduler_info().get("workers", {})), 1), t.num_rows or 1))
            # the rows travel inside the task graph: a lost worker's partitions can be rebuilt from it
            # (scattered data would die with the worker); a national dataset is read by the workers instead
            ddf = dd.from_pandas(t.to_pandas(), npartitions=n, sort=False)
        ids = cl.scatter(case_ids, broadcast=True)
        meta_coded = pd.DataFrame({"a": np.zeros(0, np.int64), "eh": np.zeros(0, np.int64),
                                   "kind": pd.Series([], dtype=object), "value": pd.Series([], dtype=object)})
        coded = ddf.map_partitions(_coded, ids, meta=meta_coded).shuffle("eh")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")
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
        with warnings.catch_warnings():  # "Sending large graph": the in-memory rows, on purpose (above)
            warnings.filterwarnings("ignore", message="Sending large graph")
            got = sums.compute()
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
    """A dataset folder's table: its partitioned folder or its single Parquet file (None when absent)."""
    folder = Path(folder)
    if (folder / name).is_dir() and _partition_files(folder / name):
        return [str(f) for f in _partition_files(folder / name)]
    f = folder / f"{name}.parquet"
    return str(f) if f.is_file() else None


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
    Python strings like the partitions :func:`frame` reads (join keys of one type hash alike)."""
    import dask
    import dask.dataframe as dd

    df = table.to_pandas() if isinstance(table, pa.Table) else table
    df = df.astype({c: object for c in df.columns if pd.api.types.is_string_dtype(df[c]) and df[c].dtype != object})
    n = max(1, min(4 * max(len(client.scheduler_info().get("workers", {})), 1), len(df) or 1))
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(df, npartitions=n, sort=False)
