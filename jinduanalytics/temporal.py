"""Time as an axis: date windows over a dataset, and paths whose dates never go backwards.

* :func:`window`: the dataset as of a campaign period — only the cases, contacts, transfers,
  consignments and parcels dated inside the window are evidence; every analysis run on the result
  records the window in its provenance (``provenance(table)["window"]``).
* :func:`time_respecting_paths`: from seed items over dated edges (contacts, transfers, flows, case
  links), which items can be reached by a chain of edges whose dates do not go backwards, each
  waiting at most ``max_gap_days`` for the next; the earliest arrival and one path to it. With
  ``reverse=True`` the latest departure: from where, and until when, the targets can still be reached.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._checks import check_date, check_int
from ._kernels.temporal import NEVER, earliest_arrival
from .errors import ParameterError, SchemaError
from .io import Dataset
from .options import tabular
from .tables import as_table

__all__ = ["window", "time_respecting_paths", "DATED"]

#: Dated tables and how a window keeps their rows: a date column inside the window, or an
#: interval (first, last) overlapping it. Cases take their persons and entities along.
DATED = {"cases": ("date",), "contacts": ("first_date", "last_date"), "transactions": ("date",),
         "flows": ("date",), "parcels": ("date",)}


def window(data, start=None, end=None) -> Dataset:
    """The dataset restricted to what happened between ``start`` and ``end`` (both included).

    Cases dated in the window (with their ``case_persons`` and ``case_entities``), contacts whose
    ``first_date .. last_date`` overlaps it, transactions, flows and parcels dated in it. Person
    records, regions and checkpoints are kept whole (they are not events). A window covering every
    date returns the same rows in the same order, so every result is unchanged.

    Parameters
    ----------
    data : Dataset or mapping of tables
    start, end : date, "YYYY-MM-DD" or None
        None leaves that side open.

    Returns
    -------
    Dataset
        With ``window`` = (start, end) as ISO strings (None for an open side); tables, truth and
        vocabulary otherwise as given. Windows of windows intersect.

    Examples
    --------
    >>> from jinduanalytics.synthetic import generate
    >>> ds = generate("county")
    >>> w = window(ds, "2023-01-01", "2023-12-31")
    >>> w.window, w.cases.num_rows < ds.cases.num_rows
    (('2023-01-01', '2023-12-31'), True)
    """
    lo, hi = check_date(start, "start"), check_date(end, "end")
    old = getattr(data, "window", None)
    if old:
        lo = max(filter(None, [lo, check_date(old[0], "start")]), default=None)
        hi = min(filter(None, [hi, check_date(old[1], "end")]), default=None)
    if lo is not None and hi is not None and lo > hi:
        raise ParameterError(f"window: start {lo} is after end {hi}")
    tables = dict(data.tables if isinstance(data, Dataset) else data)
    for name, cols in DATED.items():
        if name not in tables:
            continue
        t = as_table(tables[name], name)
        missing = [c for c in cols if c not in t.column_names]
        if missing:
            raise SchemaError(f"table '{name}': missing column(s) {', '.join(missing)} needed for a date window")
        first, last = t.column(cols[0]), t.column(cols[-1])
        keep = pa.chunked_array([pa.array(np.ones(t.num_rows, dtype=bool))])
        if lo is not None:
            keep = pc.and_(keep, pc.greater_equal(last, pa.scalar(lo, pa.date32())))
        if hi is not None:
            keep = pc.and_(keep, pc.less_equal(first, pa.scalar(hi, pa.date32())))
        tables[name] = t.filter(pc.fill_null(keep, False))
    if "cases" in tables:
        kept = tables["cases"].column("case_id").combine_chunks()
        for name in ("case_persons", "case_entities"):
            if name in tables:
                t = as_table(tables[name], name)
                tables[name] = t.filter(pc.is_in(t.column("case_id"), value_set=kept))
    bounds = (lo.isoformat() if lo else None, hi.isoformat() if hi else None)
    if isinstance(data, Dataset):
        return Dataset(tables=tables, truth=data.truth, rejected=data.rejected, source=data.source, files=data.files,
                       vocabulary=data.vocabulary, window=bounds)
    return Dataset(tables=tables, window=bounds)


@tabular
def time_respecting_paths(edges, seeds, *, start=None, max_gap_days: int | None = None, directed: bool = True,
                          reverse: bool = False) -> pa.Table:
    """Items reachable from ``seeds`` along dated edges whose dates never go backwards.

    A path leaves a seed on or after ``start`` and takes edges in date order (equal dates chain);
    at every item but the seed it waits at most ``max_gap_days`` for its next edge. The kernel is
    one pass over the edges sorted by date (Wu et al. 2014, "Path problems in temporal graphs",
    PVLDB 7(9)), exact for reachability and earliest arrival under the waiting limit.

    Parameters
    ----------
    edges : pyarrow.Table or pandas.DataFrame
        ``source``, ``target``, ``date`` (a contact list, transfers, flow legs or case links
        renamed to these).
    seeds : iterable of str, or dict of name -> iterable of str
        Where paths start (with ``reverse``: where they must end). A dict runs one search per seed
        set over the edges prepared once (tracing many subjects), the result keyed by ``seed_set``.
    start : date or "YYYY-MM-DD", optional
        Earliest date a path may leave a seed (with ``reverse``: latest date it may arrive).
    max_gap_days : int, optional
        Longest wait at an intermediate item (None: no limit).
    directed : bool, default True
        False: every edge can be taken both ways.
    reverse : bool, default False
        Latest departure instead of earliest arrival: for each item, the latest date a path can
        leave it and still reach a seed, dates not going backwards.

    Returns
    -------
    pyarrow.Table
        One row per reached item (seeds excluded), with ``seed_set`` first when ``seeds`` is a dict:
        ``node``, ``date`` (earliest arrival, or with
        ``reverse`` the latest departure), ``hops`` and ``path`` (the items from a seed to the node,
        or from the node to a seed), sorted by date then node.

    Examples
    --------
    >>> import datetime as dt
    >>> e = pa.table({"source": ["a", "b", "b"], "target": ["b", "c", "d"],
    ...               "date": [dt.date(2024, 1, 2), dt.date(2024, 1, 5), dt.date(2024, 1, 1)]})
    >>> time_respecting_paths(e, ["a"]).column("node").to_pylist()   # b -> d was before a -> b
    ['b', 'c']
    """
    e = as_table(edges, "edges")
    for col in ("source", "target", "date"):
        if col not in e.column_names:
            raise SchemaError(f"edges: missing column '{col}'; found: {', '.join(e.column_names)}")
    if max_gap_days is not None:
        check_int("max_gap_days", max_gap_days, minimum=0)
    e = e.filter(pc.and_(pc.and_(pc.is_valid(e.column("source")), pc.is_valid(e.column("target"))),
                         pc.is_valid(e.column("date"))))
    src_s = e.column("source").combine_chunks().cast(pa.string())
    dst_s = e.column("target").combine_chunks().cast(pa.string())
    days = e.column("date").combine_chunks().cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    days = days.astype(np.int64)
    sets = {k: sorted({str(x) for x in v}) for k, v in seeds.items()} if isinstance(seeds, dict) else \
        {None: sorted({str(x) for x in seeds})}
    everyone = sorted({x for v in sets.values() for x in v})
    nodes = pc.unique(pa.concat_arrays([src_s, dst_s, pa.array(everyone, pa.string())])).sort()
    src = pc.index_in(src_s, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    dst = pc.index_in(dst_s, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    if not directed:
        src, dst, days = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([days, days])
    t0 = check_date(start, "start")
    t0 = (t0 - _dt.date(1970, 1, 1)).days if t0 is not None else None
    if reverse:  # latest departure = earliest arrival on the reversed edges, time negated
        src, dst, days = dst, src, -days
        t0 = -t0 if t0 is not None else None
    order = np.lexsort((dst, days, src))  # out-edges grouped by tail, each node's in date order
    src, dst, days = src[order], dst[order], days[order]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=len(nodes)), out=indptr[1:])
    begin = t0 if t0 is not None else -NEVER + 1
    gap = -1 if max_gap_days is None else int(max_gap_days)
    names = nodes.to_numpy(zero_copy_only=False)
    parts = []
    for key, members in sets.items():  # one preparation, one search per seed set
        is_seed = pc.is_in(nodes, value_set=pa.array(members, pa.string())).to_numpy(zero_copy_only=False)
        arrival, first_edge, parent = earliest_arrival(indptr, dst, days, is_seed, np.flatnonzero(is_seed), begin, gap)
        reached = np.flatnonzero((arrival != NEVER) & ~is_seed)
        paths, hops = [], []
        for v in reached:
            chain = [v]
            k = first_edge[v]
            while k >= 0:
                chain.append(src[k])
                k = parent[k]
            chain = chain[::-1] if not reverse else chain
            paths.append([str(names[x]) for x in chain])
            hops.append(len(chain) - 1)
        when = arrival[reached] if not reverse else -arrival[reached]
        parts.append(pd.DataFrame({"seed_set": key, "node": names[reached].astype(object), "day": when,
                                   "hops": np.asarray(hops, np.int64), "path": paths}))
    out = pd.concat(parts, ignore_index=True).sort_values(["day", "node"], kind="stable")
    if isinstance(seeds, dict):
        out = out.sort_values(["seed_set"], kind="stable")
    date = pa.array(out["day"].to_numpy().astype(np.int32), pa.int32()).cast(pa.date32())
    cols = {"node": pa.array(out["node"], pa.string()), "date": date, "hops": pa.array(out["hops"].to_numpy(), pa.int64()),
            "path": pa.array(list(out["path"]), pa.list_(pa.string()))}
    if isinstance(seeds, dict):
        cols = {"seed_set": pa.array([str(k) for k in out["seed_set"]], pa.string()), **cols}
    return pa.table(cols)
