"""The analyst's link chart as tables: one investigation graph over a dataset, and the queries an
i2 Analyst's Notebook user runs on it (Find Linked Items -> :func:`expand`, Find Path -> :func:`find_path`).

:func:`investigation_graph` turns the tables into typed nodes and typed, dated, weighted edges:

==============  =========================================================================
node type       node id
==============  =========================================================================
``case``        ``case:<case_id>``
``person``      ``person:<person_id>`` (resolved across regions when ``persons`` is given),
                else ``person:<record_id>``
``phone``       ``phone:<number>`` (case entities of kind phone, the records' own phones)
``account``     ``account:<number>`` (case entities of kind account, both ends of transfers)
``<kind>``      ``<kind>:<value>`` for every other entity kind (address, vehicle, wechat ...)
``region``      ``region:<region_id>``
==============  =========================================================================

==============  =========================================================================
edge type       between, and what ``detail`` / ``weight`` hold
==============  =========================================================================
``role``        case - person: the role; weight 1; dated by the case
``entity``      case - phone/account/...: the entity kind; weight 1; dated by the case
``own_phone``   person - phone (the record's phone)
``record``      person - region: ``source_region`` (where the record was made) or ``home_region``;
                ``n`` records
``contact``     phone - phone: weight = calls/messages; first and last date
``transfer``    account -> account: weight = total amount; ``n`` transfers; first and last date
``in_region``   case - region
``flow``        region -> region: the mode; weight = grams; first and last date
==============  =========================================================================

Every edge says where it comes from (``source_table``), so each item of a query's answer can be
explained. Node ids carry the raw values: pseudonymise the dataset first
(:func:`jinduanalytics.pseudonymise`) when the chart leaves the analyst's machine.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, dijkstra, minimum_spanning_tree, shortest_path

from ._checks import check_date, check_int
from ._kernels.walk import push_ppr
from .errors import ParameterError
from .options import tabular
from .tables import get_table

__all__ = ["investigation_graph", "expand", "find_path", "most_connected", "connecting_network", "locate", "NODE_TYPES",
           "EDGE_TYPES"]

NODE_TYPES = ("case", "person", "phone", "account", "region")
EDGE_TYPES = ("role", "entity", "own_phone", "record", "contact", "transfer", "in_region", "flow")
_EDGE_COLUMNS = ("source", "target", "type", "detail", "weight", "n", "first_date", "last_date", "source_table")
_SOURCE_TABLE = {"role": "case_persons", "entity": "case_entities", "own_phone": "person_records",
                 "record": "person_records", "contact": "contacts",
                 "transfer": "transactions", "in_region": "cases", "flow": "flows"}


def _prefixed(prefix: str, col) -> pa.Array:
    return pc.utf8_replace_slice(col if isinstance(col, pa.Array) else col.combine_chunks(), 0, 0, prefix)


def _filled(value, k: int, type_) -> pa.Array:
    return pc.fill_null(pa.nulls(k, type_), pa.scalar(value, type_))


def _part(source, target, type_: str, detail, weight, n, first, last) -> pa.Table:
    """One kind of edge as Arrow columns (scalars are repeated)."""
    k = len(source)

    def col(v, t):
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            return pc.cast(v, t)
        return _filled(v, k, t) if v is not None else pa.nulls(k, t)

    return pa.table({"source": source, "target": target, "type": _filled(type_, k, pa.string()),
                     "detail": col(detail, pa.string()), "weight": col(weight, pa.float64()), "n": col(n, pa.int64()),
                     "first_date": col(first, pa.date32()), "last_date": col(last, pa.date32())})


@tabular
def investigation_graph(data, *, persons: pa.Table | None = None) -> tuple[pa.Table, pa.Table]:
    """One graph of persons, phones, accounts, other entities, cases and regions (see the module docstring).

    Parameters
    ----------
    data : Dataset or mapping of tables
        Any of ``cases``, ``case_persons``, ``case_entities``, ``person_records``, ``contacts``,
        ``transactions``, ``flows``, ``regions`` (missing tables add nothing).
    persons : pyarrow.Table, optional
        ``record_id`` -> ``person_id`` (:func:`jinduanalytics.linkage.resolve_persons`): the records of
        one person become one node.

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        nodes: ``node_id``, ``type``, ``label`` (the value), ``degree``; edges: ``source``, ``target``,
        ``type``, ``detail``, ``weight``, ``n``, ``first_date``, ``last_date``, ``source_table``
        (undirected except ``transfer`` and ``flow``; one row per distinct pair, type and detail),
        ``source_row``, ``target_row`` (the ends' rows in ``nodes``: queries use them when they still
        match, else look the ids up).
    """
    parts = []
    cases = get_table(data, "cases", required=False)
    if cases is not None:
        c = cases.select(["case_id", "region_id", "date"])
        parts.append(_part(_prefixed("case:", c["case_id"]), _prefixed("region:", c["region_id"]), "in_region", "", 1.0,
                           1, c["date"], c["date"]))

    def person(records) -> pa.Array:
        records = records.combine_chunks() if isinstance(records, pa.ChunkedArray) else records
        if persons is not None:
            idx = pc.index_in(records, value_set=persons.column("record_id").combine_chunks())
            records = pc.coalesce(persons.column("person_id").combine_chunks().take(idx), records)
        return _prefixed("person:", records)

    def dated(t: pa.Table) -> pa.Array:
        if cases is None:
            return pa.nulls(t.num_rows, pa.date32())
        idx = pc.index_in(t.column("case_id"), value_set=cases.column("case_id").combine_chunks())
        return cases.column("date").combine_chunks().take(idx)

    cp = get_table(data, "case_persons", required=False)
    if cp is not None:
        d = dated(cp)
        parts.append(_part(_prefixed("case:", cp["case_id"]), person(cp["record_id"]), "role", cp["role"], 1.0, 1, d, d))
    ce = get_table(data, "case_entities", required=False)
    if ce is not None:
        d = dated(ce)
        value = pc.binary_join_element_wise(ce["kind"], ce["value"], ":")
        parts.append(_part(_prefixed("case:", ce["case_id"]), value, "entity", ce["kind"], 1.0, 1, d, d))
    pr = get_table(data, "person_records", required=False)
    if pr is not None and "phone" in pr.column_names:
        t = pr.select(["record_id", "phone"]).filter(pc.is_valid(pr["phone"]))
        parts.append(_part(person(t["record_id"]), _prefixed("phone:", t["phone"]), "own_phone", "", 1.0, 1, None, None))
    for col in ("source_region", "home_region"):
        if pr is not None and col in pr.column_names:
            t = pr.select(["record_id", col]).filter(pc.is_valid(pr[col]))
            parts.append(_part(person(t["record_id"]), _prefixed("region:", t[col]), "record", col, 1.0, 1, None, None))
    ct = get_table(data, "contacts", required=False)
    if ct is not None:
        parts.append(_part(_prefixed("phone:", ct["phone_a"]), _prefixed("phone:", ct["phone_b"]), "contact", "",
                           ct["count"], ct["count"], ct["first_date"], ct["last_date"]))
    tx = get_table(data, "transactions", required=False)
    if tx is not None:
        g = tx.group_by(["src_account", "dst_account"], use_threads=False).aggregate(
            [("amount", "sum"), ("amount", "count"), ("date", "min"), ("date", "max")])
        parts.append(_part(_prefixed("account:", g["src_account"]), _prefixed("account:", g["dst_account"]), "transfer",
                           "", pc.round(g["amount_sum"], 2), g["amount_count"], g["date_min"], g["date_max"]))
    fl = get_table(data, "flows", required=False)
    if fl is not None:
        g = fl.group_by(["origin", "destination", "mode"], use_threads=False).aggregate(
            [("quantity_g", "sum"), ("date", "count"), ("date", "min"), ("date", "max")])
        parts.append(_part(_prefixed("region:", g["origin"]), _prefixed("region:", g["destination"]), "flow", g["mode"],
                           g["quantity_g_sum"], g["date_count"], g["date_min"], g["date_max"]))
    empty = _part(pa.array([], pa.string()), pa.array([], pa.string()), "", "", 0.0, 0, None, None)
    e = pa.concat_tables([empty] + [p.combine_chunks() for p in parts])
    e = e.group_by(["source", "target", "type", "detail"], use_threads=False).aggregate(
        [("weight", "sum"), ("n", "sum"), ("first_date", "min"), ("last_date", "max")])
    e = e.rename_columns(["source", "target", "type", "detail", "weight", "n", "first_date", "last_date"])
    e = e.sort_by([("source", "ascending"), ("target", "ascending"), ("type", "ascending"), ("detail", "ascending")])
    e = e.append_column("source_table", pc.cast(pc.index_in(e["type"], value_set=pa.array(list(_SOURCE_TABLE))),
                                                pa.int64()))
    names = pa.array(list(_SOURCE_TABLE.values()), pa.string())
    e = e.set_column(e.num_columns - 1, "source_table", names.take(e["source_table"].combine_chunks()))
    ends = pa.concat_arrays([e["source"].combine_chunks(), e["target"].combine_chunks()]) if e.num_rows else \
        pa.array([], pa.string())
    counts = pa.table({"node_id": ends}).group_by("node_id", use_threads=False).aggregate([("node_id", "count")])
    counts = counts.sort_by("node_id")
    parts_ = pc.split_pattern(counts["node_id"], ":", max_splits=1)
    nodes = pa.table({"node_id": counts["node_id"], "type": pc.list_element(parts_, 0),
                      "label": pc.list_element(parts_, 1), "degree": pc.cast(counts["node_id_count"], pa.int64())})
    e = e.select(list(_EDGE_COLUMNS))
    ids = nodes["node_id"].combine_chunks()
    for end, col in (("source", "source_row"), ("target", "target_row")):  # queries start from these
        e = e.append_column(col, pc.cast(pc.index_in(e[end], value_set=ids), pa.int64()))
    return nodes, e


def _inside_any(ix, rows: np.ndarray) -> np.ndarray:
    """Edges with an end among node ``rows``."""
    mark = np.zeros(len(ix.ids), dtype=bool)
    mark[rows] = True
    return mark[ix.a] | mark[ix.b]


class _Index:
    """The investigation graph's edges as an undirected sparse matrix over the nodes' row numbers,
    filtered by edge type and date window (the edge table stays Arrow)."""

    def __init__(self, nodes, edges, edge_types, start, end):
        nodes = nodes if isinstance(nodes, pa.Table) else pa.Table.from_pandas(pd.DataFrame(nodes), preserve_index=False)
        e = edges if isinstance(edges, pa.Table) else pa.Table.from_pandas(pd.DataFrame(edges), preserve_index=False)
        if edge_types is not None:
            unknown = sorted(set(edge_types) - set(EDGE_TYPES))
            if unknown:
                raise ParameterError(f"edge_types: unknown {unknown}; choose among {', '.join(EDGE_TYPES)}")
            e = e.filter(pc.is_in(e["type"], value_set=pa.array(list(edge_types), pa.string())))
        s, t = check_date(start, "start"), check_date(end, "end")
        if s is not None:  # an undated edge (a record's own phone) is not an event: it stays
            e = e.filter(pc.fill_null(pc.greater_equal(e["last_date"], pa.scalar(s, pa.date32())), True))
        if t is not None:
            e = e.filter(pc.fill_null(pc.less_equal(e["first_date"], pa.scalar(t, pa.date32())), True))
        self.nodes = nodes
        self.ids = nodes["node_id"].combine_chunks()
        self.edges = e
        self.a, self.b = self._rows(e, "source"), self._rows(e, "target")
        k = len(self.ids)
        self.matrix = sp.csr_matrix((np.ones(2 * e.num_rows), (np.concatenate([self.a, self.b]),
                                                              np.concatenate([self.b, self.a]))), shape=(k, k))

    def _rows(self, e: pa.Table, end: str) -> np.ndarray:
        """Node row numbers of one end of the edges: the graph's own ``source_row``/``target_row`` when they
        still point at the same ids in this node table (checked, whole), else looked up."""
        col = f"{end}_row"
        if col in e.column_names and e[col].null_count == 0:
            rows = e[col].to_numpy().astype(np.int64)
            if rows.size == 0 or (rows.max() < len(self.ids) and pc.all(pc.equal(
                    self.ids.take(pa.array(rows)), e[end].combine_chunks())).as_py()):
                return rows
        return pc.index_in(e[end], value_set=self.ids).to_numpy(zero_copy_only=False).astype(np.int64)

    def number(self, ids, what: str) -> np.ndarray:
        ids = [ids] if isinstance(ids, str) else list(ids)
        rows = [pc.index(self.ids, pa.scalar(i, pa.string())).as_py() for i in ids]
        missing = [i for i, x in zip(ids, rows) if x < 0]
        if missing:
            raise ParameterError(f"{what}: not in the investigation graph: {missing[:5]} (node ids look like "
                                 "'person:R000000001', 'phone:10412345678', 'case:C000000001')")
        return np.asarray(rows, dtype=np.int64)

    def name(self, i: int) -> str:
        return self.ids[int(i)].as_py()


_CACHE: dict = {}  # kind -> (weak references to the inputs, key, value): the last graph's index stays for the next query


def _cached(kind: str, inputs: tuple, key, build):
    """``build()``, or its value from the previous call with the very same input objects and key (Arrow
    tables are immutable, so the same object means the same data; other inputs are not cached)."""
    slot = _CACHE.get(kind)
    if slot is not None and slot[1] == key and len(slot[0]) == len(inputs) and all(
            r() is x for r, x in zip(slot[0], inputs)):
        return slot[2]
    value = build()
    try:
        _CACHE[kind] = (tuple(weakref.ref(x) for x in inputs), key, value)
    except TypeError:  # not weakly referable (a pandas frame made on the fly): no cache
        _CACHE.pop(kind, None)
    return value


def _index(nodes, edges, edge_types, start, end) -> _Index:
    """The :class:`_Index` of a graph and filter, reused by the next query on the same Arrow tables."""
    if not (isinstance(nodes, pa.Table) and isinstance(edges, pa.Table)):
        return _Index(nodes, edges, edge_types, start, end)
    key = (None if edge_types is None else tuple(edge_types), str(check_date(start, "start")),
           str(check_date(end, "end")))
    return _cached("index", (nodes, edges), key, lambda: _Index(nodes, edges, edge_types, start, end))


@tabular
def expand(nodes: pa.Table, edges: pa.Table, seeds, *, hops: int = 1, node_types=None, edge_types=None, start=None,
           end=None, max_nodes: int = 500) -> tuple[pa.Table, pa.Table]:
    """Find Linked Items: every item within ``hops`` edges of the seeds, and the edges among them.

    Breadth first from the seeds, through edges of ``edge_types`` dated within ``[start, end]``
    (an edge counts when its first..last dates overlap the window; undated edges always), keeping
    only items of ``node_types`` (the seeds always); stops adding items at ``max_nodes``, nearest
    first (ties in node id order) — ``truncated`` in the result says so.

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`.
    seeds : str or iterable of str
        Node ids.
    hops : int
    node_types : iterable of str, optional
        Node types to keep and pass through.
    edge_types : iterable of str, optional
        Edge types to follow (:data:`EDGE_TYPES`).
    start, end : date or "YYYY-MM-DD", optional
    max_nodes : int

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        nodes: the investigation graph's columns plus ``hop`` (0 for a seed), ``via`` (the node it was
        first reached from), ``via_type`` and ``via_detail`` (the edge), ``truncated``; edges: the
        edges among the returned nodes.
    """
    check_int("hops", hops, minimum=0)
    check_int("max_nodes", max_nodes, minimum=1)
    ix = _index(nodes, edges, edge_types, start, end)
    seed = ix.number(seeds, "seeds")
    keep = np.ones(len(ix.ids), dtype=bool)
    if node_types is not None:
        keep = pc.is_in(ix.nodes["type"], value_set=pa.array(list(node_types), pa.string())).to_numpy(
            zero_copy_only=False)
    keep[seed] = True
    m = ix.matrix
    hop = np.full(len(ix.ids), -1, dtype=np.int64)
    via = np.full(len(ix.ids), -1, dtype=np.int64)
    frontier = np.unique(seed)
    hop[frontier] = 0
    for h in range(1, hops + 1):
        if frontier.size == 0:
            break
        nxt = []
        for u in frontier:  # sorted: an item is first reached from the smallest node number
            for v in m.indices[m.indptr[u]:m.indptr[u + 1]]:
                if hop[v] < 0 and keep[v]:
                    hop[v] = h
                    via[v] = u
                    nxt.append(v)
        frontier = np.unique(np.asarray(nxt, dtype=np.int64))
    order = np.flatnonzero(hop >= 0)  # node rows are sorted by id: (hop, row) is (hop, node id)
    order = order[np.argsort(hop[order], kind="stable")]
    truncated = order.size > max_nodes
    chosen = order[:max_nodes]
    out = ix.nodes.take(pa.array(chosen))
    via_node = via[chosen]
    # the edge each item was reached by: the first edge (in edge order) between it and its via node
    near = np.flatnonzero(_inside_any(ix, chosen))
    both = pd.DataFrame({"u": np.concatenate([ix.a[near], ix.b[near]]), "v": np.concatenate([ix.b[near], ix.a[near]]),
                         "k": np.concatenate([near, near])})
    want = pd.DataFrame({"u": via_node, "v": chosen, "row": np.arange(chosen.size)})
    hit = want.merge(both, on=["u", "v"]).sort_values(["row", "k"], kind="stable").drop_duplicates("row")
    k = pd.Series(hit["k"].to_numpy(), index=hit["row"].to_numpy()).reindex(np.arange(chosen.size))
    found = k.notna().to_numpy()
    take = pa.array(np.where(found, k.fillna(0).to_numpy(), 0).astype(np.int64))
    via_type = pc.if_else(pa.array(found), ix.edges["type"].combine_chunks().take(take), pa.nulls(chosen.size,
                                                                                                   pa.string()))
    via_detail = pc.if_else(pa.array(found), ix.edges["detail"].combine_chunks().take(take),
                            pa.nulls(chosen.size, pa.string()))
    via_names = pc.if_else(pa.array(via_node >= 0), ix.ids.take(pa.array(np.maximum(via_node, 0))),
                           pa.nulls(chosen.size, pa.string()))
    out = out.append_column("hop", pa.array(hop[chosen], pa.int64())).append_column("via", via_names) \
        .append_column("via_type", via_type).append_column("via_detail", via_detail) \
        .append_column("truncated", pa.array(np.full(chosen.size, truncated), pa.bool_()))
    inside = np.zeros(len(ix.ids), dtype=bool)
    inside[chosen] = True
    return out, ix.edges.filter(pa.array(inside[ix.a] & inside[ix.b]))


@tabular
def find_path(nodes: pa.Table, edges: pa.Table, source: str, target: str, *, strongest: bool = False,
              time_respecting: bool = False, edge_types=None, start=None, end=None) -> pa.Table:
    """Find Path: the shortest chain of edges between two items (or the strongest, or the earliest).

    Shortest: fewest edges (ties: the path through the smallest node numbers, i.e. node ids in
    sorted order). Strongest: the path minimising the sum of ``1 / (1 + weight)`` over its edges
    (many contacts, large transfers, several shared cases make an edge strong). Time-respecting:
    the path that reaches ``target`` earliest when an edge can be taken on any day from its first
    to its last date and never before the day the path reached its end (undated edges — a record's
    phone or region — any time; the path leaves ``source`` on ``start`` or the earliest date);
    ``step_date`` says when each edge is taken. All follow ``edge_types`` within ``[start, end]`` as
    in :func:`expand`, directions ignored.

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`.
    source, target : str
        Node ids.
    strongest : bool
    time_respecting : bool
        Dates never go backwards along the path (earliest arrival); not with ``strongest``.
    edge_types : iterable of str, optional
    start, end : date or "YYYY-MM-DD", optional

    Returns
    -------
    pyarrow.Table
        ``step`` (1..), ``from_node``, ``to_node``, ``type``, ``detail``, ``weight``, ``first_date``,
        ``last_date`` (and ``step_date`` when time-respecting): the edges of the path in order; empty
        when the items are not connected.
    """
    if strongest and time_respecting:
        raise ParameterError("find_path: choose strongest or time_respecting, not both")
    ix = _index(nodes, edges, edge_types, start, end)
    if time_respecting:
        return _earliest_path(ix, ix.number(source, "source")[0], ix.number(target, "target")[0],
                              check_date(start, "start"))
    s, t = ix.number(source, "source")[0], ix.number(target, "target")[0]
    weight = ix.edges["weight"].to_numpy()
    if strongest:
        cost = pd.DataFrame({"a": np.minimum(ix.a, ix.b), "b": np.maximum(ix.a, ix.b), "c": 1.0 / (1.0 + weight)})
        cost = cost.groupby(["a", "b"], sort=True)["c"].min().reset_index()  # parallel edges: the strongest counts
        a, b, c = cost["a"].to_numpy(), cost["b"].to_numpy(), cost["c"].to_numpy()
        w = sp.csr_matrix((np.concatenate([c, c]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                          shape=ix.matrix.shape)
        _, pred = dijkstra(w, directed=False, indices=s, return_predecessors=True)
    else:
        _, pred = breadth_first_order(ix.matrix, s, directed=False, return_predecessors=True)
    chain = []
    v = t
    while v != s and v >= 0:
        chain.append(v)
        v = pred[v]
    chain = ([s] + chain[::-1]) if v == s and t != s else []
    rows = []
    for i, (a, b) in enumerate(zip(chain[:-1], chain[1:]), start=1):
        cand = np.flatnonzero(((ix.a == a) & (ix.b == b)) | ((ix.a == b) & (ix.b == a)))
        r = int(cand[np.argmax(weight[cand])])  # the strongest of parallel edges (first on ties)
        rows.append((i, ix.name(a), ix.name(b), r))
    picked = ix.edges.take(pa.array([r[3] for r in rows], pa.int64()))
    return pa.table({"step": pa.array([r[0] for r in rows], pa.int64()),
                     "from_node": pa.array([r[1] for r in rows], pa.string()),
                     "to_node": pa.array([r[2] for r in rows], pa.string()),
                     "type": picked["type"], "detail": picked["detail"], "weight": picked["weight"],
                     "first_date": picked["first_date"], "last_date": picked["last_date"]})


def _earliest_path(ix: _Index, s: int, t: int, start) -> pa.Table:
    """Earliest-arrival path (Dijkstra on arrival day: an edge [first, last] taken at max(arrival, first)
    when last >= arrival; undated edges at the arrival day). Ties: fewer edges, then smaller rows."""
    first, last = _days(ix.edges["first_date"]), _days(ix.edges["last_date"])
    k = len(ix.ids)
    eid = np.arange(ix.a.size)
    order = np.lexsort((np.concatenate([eid, eid]), np.concatenate([ix.b, ix.a]), np.concatenate([ix.a, ix.b])))
    src = np.concatenate([ix.a, ix.b])[order]
    nbr = np.concatenate([ix.b, ix.a])[order]
    edge = np.concatenate([eid, eid])[order]
    ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=k), out=ptr[1:])
    dated = start is not None or bool(np.isfinite(first).any())  # else no step has a date
    begin = float((np.datetime64(start, "D") - np.datetime64("1970-01-01", "D")).astype(int)) if start else \
        float(np.nanmin(first)) if np.isfinite(first).any() else 0.0
    best = {s: (begin, 0)}
    prev: dict[int, tuple[int, int, float]] = {}
    heap = [(begin, 0, s)]
    done = set()
    while heap:
        day, hops, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u == t:
            break
        for j in range(ptr[u], ptr[u + 1]):
            e, v = edge[j], nbr[j]
            if v in done:
                continue
            if np.isnan(last[e]):
                arrive = day
            elif last[e] >= day:
                arrive = max(day, first[e])
            else:
                continue
            key = (arrive, hops + 1)
            if v not in best or key < best[v]:
                best[v] = key
                prev[v] = (u, int(e), arrive)
                heapq.heappush(heap, (arrive, hops + 1, v))
    steps = []
    v = t
    while v != s and v in prev and t in done:
        u, e, arrive = prev[v]
        steps.append((u, v, e, arrive))
        v = u
    steps = steps[::-1] if v == s and t != s else []
    picked = ix.edges.take(pa.array([x[2] for x in steps], pa.int64()))
    return pa.table({"step": pa.array(range(1, len(steps) + 1), pa.int64()),
                     "from_node": pa.array([ix.name(x[0]) for x in steps], pa.string()),
                     "to_node": pa.array([ix.name(x[1]) for x in steps], pa.string()),
                     "type": picked["type"], "detail": picked["detail"], "weight": picked["weight"],
                     "first_date": picked["first_date"], "last_date": picked["last_date"],
                     "step_date": pa.array([int(x[3]) if dated else None for x in steps], pa.int32()).cast(pa.date32())})


@tabular
def most_connected(nodes: pa.Table, edges: pa.Table, *, by: str = "count", node_types=None, edge_types=None,
                   start=None, end=None, top: int = 20) -> pa.Table:
    """List Most Connected: the items with the most links (``by="count"``: distinct neighbours) or the
    most weight on their links (``by="value"``: calls, amounts, grams, shared cases summed).

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`.
    by : {"count", "value"}
    node_types : iterable of str, optional
        Rank only items of these types (their links to any type count).
    edge_types : iterable of str, optional
    start, end : date or "YYYY-MM-DD", optional
        As in :func:`expand`.
    top : int

    Returns
    -------
    pyarrow.Table
        ``rank``, ``node_id``, ``type``, ``neighbours`` (distinct), ``links`` (edges), ``value`` (their
        weight summed), ranked by ``by`` (ties: node id).
    """
    if by not in ("count", "value"):
        raise ParameterError(f"by must be 'count' or 'value'; got {by!r}")
    check_int("top", top, minimum=1)
    ix = _index(nodes, edges, edge_types, start, end)
    k = len(ix.ids)
    w = ix.edges["weight"].to_numpy()
    value = np.bincount(ix.a, weights=w, minlength=k) + np.bincount(ix.b, weights=w, minlength=k)
    links = np.bincount(ix.a, minlength=k) + np.bincount(ix.b, minlength=k)
    pairs = np.unique(np.concatenate([np.minimum(ix.a, ix.b) * k + np.maximum(ix.a, ix.b)]))
    lo, hi = pairs // k, pairs % k
    keep_pair = lo != hi
    neighbours = np.bincount(lo[keep_pair], minlength=k) + np.bincount(hi[keep_pair], minlength=k)
    eligible = np.ones(k, dtype=bool)
    if node_types is not None:
        eligible = pc.is_in(ix.nodes["type"], value_set=pa.array(list(node_types), pa.string())).to_numpy(
            zero_copy_only=False)
    rows = np.flatnonzero(eligible & (links > 0))
    key = neighbours[rows] if by == "count" else value[rows]
    order = rows[np.lexsort((rows, -key))][:top]  # node rows follow node id order in the graph's table
    return pa.table({"rank": pa.array(np.arange(1, order.size + 1), pa.int64()),
                     "node_id": ix.ids.take(pa.array(order)), "type": ix.nodes["type"].combine_chunks().take(
                         pa.array(order)),
                     "neighbours": pa.array(neighbours[order], pa.int64()), "links": pa.array(links[order], pa.int64()),
                     "value": pa.array(np.round(value[order], 2), pa.float64())})


@tabular
def connecting_network(nodes: pa.Table, edges: pa.Table, items, *, edge_types=None, start=None,
                       end=None) -> tuple[pa.Table, pa.Table]:
    """Find Connecting Network: a small tree of links joining the given items.

    The Steiner-tree approximation of Kou, Markowsky & Berman (1981): the items' shortest-path
    distances, a minimum spanning tree over them, its edges replaced by shortest paths, a spanning
    tree of that union, and intermediate items left hanging removed. At most ``2 (1 - 1/l)`` times
    the fewest edges any tree joining the ``l`` items needs. Items in different components are joined
    within each (a forest); edges and dates filtered as in :func:`expand`.

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`.
    items : iterable of str
        Node ids to connect.
    edge_types : iterable of str, optional
    start, end : date or "YYYY-MM-DD", optional

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        nodes: the investigation graph's columns plus ``item`` (one of the given items, else an
        intermediate); edges: one edge (the strongest of parallel ones) per link of the tree.
    """
    ix = _index(nodes, edges, edge_types, start, end)
    terms = np.unique(ix.number(items, "items"))
    tree_pairs: set[tuple[int, int]] = set()
    if terms.size >= 2:
        dist, pred = shortest_path(ix.matrix, directed=False, unweighted=True, indices=terms,
                                   return_predecessors=True)
        d = dist[:, terms]
        d[~np.isfinite(d)] = 0  # no path: no edge between them (a forest)
        mst = minimum_spanning_tree(sp.csr_matrix(d)).tocoo()
        union: set[tuple[int, int]] = set()
        for i, j in zip(mst.row, mst.col):
            v = terms[j]
            while v != terms[i]:
                u = pred[i, v]
                union.add((min(u, v), max(u, v)))
                v = u
        if union:
            ua = np.array([p[0] for p in sorted(union)], dtype=np.int64)
            ub = np.array([p[1] for p in sorted(union)], dtype=np.int64)
            h = minimum_spanning_tree(sp.csr_matrix((np.ones(ua.size), (ua, ub)), shape=ix.matrix.shape)).tocoo()
            tree_pairs = {(min(a, b), max(a, b)) for a, b in zip(h.row, h.col)}
        # drop intermediate items left as leaves, until none is
        keep = set(terms.tolist())
        while True:
            deg: dict[int, int] = {}
            for a, b in tree_pairs:
                deg[a] = deg.get(a, 0) + 1
                deg[b] = deg.get(b, 0) + 1
            leaves = {v for v, k in deg.items() if k == 1 and v not in keep}
            if not leaves:
                break
            tree_pairs = {(a, b) for a, b in tree_pairs if a not in leaves and b not in leaves}
    rows = sorted(set(terms.tolist()) | {v for p in tree_pairs for v in p})
    out = ix.nodes.take(pa.array(rows, pa.int64()))
    out = out.append_column("item", pa.array(np.isin(rows, terms), pa.bool_()))
    weight = ix.edges["weight"].to_numpy()
    picked = []
    lo, hi = np.minimum(ix.a, ix.b), np.maximum(ix.a, ix.b)
    for a, b in sorted(tree_pairs):
        cand = np.flatnonzero((lo == a) & (hi == b))
        picked.append(int(cand[np.argmax(weight[cand])]))
    return out, ix.edges.take(pa.array(picked, pa.int64()))



_PLACE_EDGES = ("in_region", "record", "flow")  # where an item is: scored, not walked through


def _walk_weights(ix: _Index, as_of, half_life: float) -> np.ndarray:
    """Each edge's weight for the walk: ``1 + log(n)`` (repeated calls, transfers, shared cases), halved
    every ``half_life`` days since its last date (undated edges do not fade); place edges 0."""
    e = ix.edges
    n = np.maximum(pc.fill_null(e["n"], 1).to_numpy().astype(float), 1.0)
    last = _days(e["last_date"])
    age = np.maximum(float(as_of) - last, 0.0)
    fade = np.where(np.isnan(age), 1.0, 0.5 ** (np.nan_to_num(age) / half_life))
    walk = ~pc.is_in(e["type"], value_set=pa.array(_PLACE_EDGES)).to_numpy(zero_copy_only=False)
    return np.where(walk, (1.0 + np.log(n)) * fade, 0.0)


def _transitions(k: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Row-stochastic matrix of the undirected walk (parallel edges' weights add up), and each row's
    total weight."""
    keep = w > 0
    a, b, w = a[keep], b[keep], w[keep]
    m = sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(k, k))
    m.sum_duplicates()
    out = np.asarray(m.sum(axis=1)).ravel()
    m.data = m.data / np.repeat(np.where(out > 0, out, 1.0), np.diff(m.indptr))
    return m, out


@tabular
def locate(nodes: pa.Table, edges: pa.Table, wanted, *, as_of=None, half_life: float = 180.0, restart: float = 0.15,
           regions: int = 3, contacts: int = 5, items: int = 5, edge_types=None) -> pa.Table:
    """拔钉追逃, 一人一方案: where a wanted person is likely to be and whom to approach, with the links behind each.

    A random walk with restart from the wanted person's node (personalised PageRank, pushed locally so
    a query touches only the neighbourhood that matters) over every link but the place links, each
    link weighted ``1 + log(n)`` (calls, transfers, shared cases) and halved every ``half_life`` days
    since it was last seen before ``as_of`` (links without dates — a record's phone — do not fade):
    what the person did lately counts, their old network fades. **Contacts** are the persons the
    walk reaches most, **phones** and **accounts** the items it reaches most; a **region** scores the walk's
    mass at the persons (by their records' regions) and cases (by theirs) located there, the wanted
    person included. Each row says why: the most probable chain of links from the wanted person
    (``evidence``) and the latest date on it (``last_seen``).

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`; pass ``persons`` to it so the wanted person's records in
        every region (a lodging record under a confused name) are one node.
    wanted : str or iterable of str
        Person node ids (``"person:P000000123"``); one plan each.
    as_of : date or "YYYY-MM-DD", optional
        The date links fade towards; default the latest date in ``edges``.
    half_life : float
        Days after which a link counts half.
    restart : float
        The walk's restart probability (0 < restart < 1; larger keeps it closer to the person).
    regions, contacts, items : int
        How many regions, contacts, and phones and accounts each to list.
    edge_types : iterable of str, optional
        Link types to use (:data:`EDGE_TYPES`).

    Returns
    -------
    pyarrow.Table
        One row per listed item: ``wanted``, ``kind`` (``region``, ``contact``, ``phone``,
        ``account``), ``rank``, ``node_id``, ``score`` (its share of the walk's mass among its kind),
        ``region`` (a contact's, phone's or account's most likely region, else null), ``last_seen``,
        ``hops``, ``evidence`` (the chain of links, each with its type, count and last date).

    Examples
    --------
    >>> from jinduanalytics.investigate import investigation_graph, locate
    >>> from jinduanalytics.synthetic import generate
    >>> data = generate("county")
    >>> nodes, edges = investigation_graph(data)
    >>> plan = locate(nodes, edges, "person:R000000906")   # a seller's record
    >>> plan.column("kind").unique().to_pylist()
    ['region', 'contact', 'phone', 'account']
    """
    if not 0 < restart < 1:
        raise ParameterError(f"restart must be between 0 and 1; got {restart!r}")
    if not half_life > 0:
        raise ParameterError(f"half_life must be a positive number of days; got {half_life!r}")
    for name, value in (("regions", regions), ("contacts", contacts), ("items", items)):
        check_int(name, value, minimum=0)
    ix = _index(nodes, edges, edge_types, None, None)
    seeds = ix.number(wanted, "wanted")
    types = ix.nodes["type"].combine_chunks()
    bad = [ix.name(s) for s in seeds if types[int(s)].as_py() != "person"]
    if bad:
        raise ParameterError(f"wanted: not person nodes: {bad[:5]}")
    day = check_date(as_of, "as_of")
    if day is None:
        latest = pc.max(ix.edges["last_date"]).as_py()
        day = latest if latest is not None else _dt.date.today()
    as_of_day = int((np.datetime64(day, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))
    model = _cached("walk", (ix,), (as_of_day, float(half_life)), lambda: _Walk(ix, as_of_day, float(half_life)))
    plans, derived = [], {}
    for s in seeds:
        s = int(s)
        succ = model.successors(s)  # a phone taken up when theirs went quiet: theirs too
        walk = model.with_links(s, succ)
        t, p, _ = push_ppr(walk.indptr.astype(np.int64), walk.indices.astype(np.int64), walk.data,
                           np.array([s], dtype=np.int64), float(restart), 1e-6)
        plans.append((s, _plan_rows(s, t, p, walk, model.places, model.code, regions, contacts, items)))
        derived.update({(min(s, q), max(s, q)): f"successor_phone, {n} contacts in common" for q, n in succ})
    return _plan_table(ix, plans, derived)


class _Walk:
    """What every locate query on one graph shares: the walk's transition matrix (with each row's total
    weight), where items are (``places``: item -> region shares), node kinds, and the call and phone
    structure the successor-phone rule reads."""

    def __init__(self, ix: _Index, as_of_day: int, half_life: float):
        k = len(ix.ids)
        self.k = k
        w = _walk_weights(ix, as_of_day, half_life)
        self.walk, self.total = _transitions(k, ix.a, ix.b, w)
        types = ix.nodes["type"].combine_chunks()
        place = ~(w > 0) & pc.is_in(ix.edges["type"], value_set=pa.array(["in_region", "record"])).to_numpy(
            zero_copy_only=False)
        is_region = pc.equal(types, "region").to_numpy(zero_copy_only=False)
        # an item's regions: its records (persons) or its region (cases), shares by count
        pa_, pb_ = ix.a[place], ix.b[place]
        item = np.where(is_region[pb_], pa_, pb_)
        reg = np.where(is_region[pb_], pb_, pa_)
        cnt = np.maximum(pc.fill_null(ix.edges["n"], 1).to_numpy()[place].astype(float), 1.0)
        places = sp.csr_matrix((cnt, (item, reg)), shape=(k, k))
        places.sum_duplicates()
        tot = np.asarray(places.sum(axis=1)).ravel()
        places.data = places.data / np.repeat(np.where(tot > 0, tot, 1.0), np.diff(places.indptr))
        self.places = places
        self.code = pc.fill_null(pc.index_in(types, value_set=pa.array(["person", "phone", "account"])), -1).to_numpy()
        e = ix.edges
        t = e["type"].to_numpy(zero_copy_only=False)
        c = np.flatnonzero(t == "contact")
        o = np.flatnonzero(t == "own_phone")
        ca, cb = ix.a[c], ix.b[c]
        first, last = (_days(e[col])[c] for col in ("first_date", "last_date"))
        self.calls = sp.csr_matrix((np.ones(2 * c.size), (np.concatenate([ca, cb]), np.concatenate([cb, ca]))),
                                   shape=(k, k))
        self.lo = np.full(k, np.inf)
        self.hi = np.full(k, -np.inf)
        for end in (ca, cb):
            np.minimum.at(self.lo, end, np.nan_to_num(first, nan=np.inf))
            np.maximum.at(self.hi, end, np.nan_to_num(last, nan=-np.inf))
        self.own = sp.csr_matrix((np.ones(2 * o.size), (np.concatenate([ix.a[o], ix.b[o]]),
                                                        np.concatenate([ix.b[o], ix.a[o]]))), shape=(k, k))

    def successors(self, s: int, slack: int = 30, min_shared: int = 2, max_degree: int = 500) -> list[tuple[int, int]]:
        """换号: phones first seen in calls after one of person ``s``'s phones went quiet (within ``slack``
        days) that called at least ``min_shared`` of the same numbers — the usual trace of a new phone.
        Returns [(phone row, numbers in common)]; numbers with more than ``max_degree`` counterparts
        (switchboards) are not followed."""
        calls, deg = self.calls, np.diff(self.calls.indptr)
        phones = self.own.indices[self.own.indptr[s]:self.own.indptr[s + 1]]
        found: dict[int, int] = {}
        for p in phones:
            mine = calls.indices[calls.indptr[p]:calls.indptr[p + 1]]
            mine = mine[deg[mine] <= max_degree]
            if mine.size < min_shared:
                continue
            reach = np.concatenate([calls.indices[calls.indptr[x]:calls.indptr[x + 1]] for x in mine])
            cand, shared = np.unique(reach, return_counts=True)
            ok = (shared >= min_shared) & (self.lo[cand] >= self.hi[p] - slack) & ~np.isin(cand, phones)
            for q, n in zip(cand[ok], shared[ok]):
                found[int(q)] = max(found.get(int(q), 0), int(n))
        return sorted(found.items())

    def with_links(self, s: int, succ: list[tuple[int, int]]) -> sp.csr_matrix:
        """The transition matrix with links of weight 1 between ``s`` and its successor phones (only the
        rows of their ends change)."""
        if not succ:
            return self.walk
        q = np.array([x for x, _ in succ], dtype=np.int64)
        rows = np.concatenate([np.full(q.size, s), q])
        cols = np.concatenate([q, np.full(q.size, s)])
        touched = np.unique(rows)
        scale = np.ones(self.k)
        new_total = self.total.copy()
        new_total[touched] += np.bincount(rows, minlength=self.k)[touched]
        scale[touched] = np.where(new_total[touched] > 0, self.total[touched] / new_total[touched], 0.0)
        extra = sp.csr_matrix((1.0 / new_total[rows], (rows, cols)), shape=self.walk.shape)
        return (sp.diags(scale) @ self.walk + extra).tocsr()


def _days(col) -> np.ndarray:
    """A date column as float days since 1970 (NaN where missing)."""
    day = pd.array(pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False), dtype="Float64")
    return np.asarray(day.to_numpy(na_value=np.nan, dtype=float))


def _plan_rows(s: int, t: np.ndarray, p: np.ndarray, walk, places, code: np.ndarray, regions: int, contacts: int,
               items: int) -> list[tuple]:
    """One person's plan: (kind, rank, node, score, region node or None, path of nodes) rows."""
    k = walk.shape[0]
    score = np.zeros(k)
    score[t] = p
    cost = walk[t][:, t]
    cost.data = -np.log(np.maximum(cost.data, 1e-300)) + 1e-12  # the most probable chain of links
    local = np.full(k, -1, dtype=np.int64)
    local[t] = np.arange(t.size)
    _, pred = dijkstra(cost, directed=True, indices=int(local[s]), return_predecessors=True)

    def chain(v: int) -> list[int]:
        path, x = [], int(local[v])
        while x >= 0:
            path.append(int(t[x]))
            x = int(pred[x])
        return path[::-1] if path and path[-1] == s else []

    rows = []
    mass = places[t].T @ p  # the walk's mass located in each region
    ranked = np.flatnonzero(mass > 0)
    ranked = ranked[np.lexsort((ranked, -mass[ranked]))][:regions]
    at = places[t].tocsc()
    for rank, g in enumerate(ranked, start=1):  # explained by the item contributing most to it
        share = at[:, [g]].toarray().ravel() * p
        path = chain(int(t[np.argmax(share)])) + [int(g)]
        rows.append(("region", rank, int(g), mass[g] / mass.sum(), None, path))
    for kind, c, top in (("contact", 0, contacts), ("phone", 1, items), ("account", 2, items)):
        of_kind = t[code[t] == c]
        total = score[of_kind].sum()
        cand = of_kind[of_kind != s]
        cand = cand[np.lexsort((cand, -score[cand]))][:top]
        for rank, v in enumerate(cand, start=1):
            path = chain(int(v))
            if kind == "contact":
                where = places[[v]].toarray().ravel()
            else:  # where the persons and cases next to it are, by the walk's mass at them
                nb = walk.indices[walk.indptr[v]:walk.indptr[v + 1]]
                where = places[nb].T @ score[nb]
            g = int(np.argmax(where)) if path and where.max() > 0 else None
            rows.append((kind, rank, int(v), score[v] / total if total else 0.0, g, path))
    return rows


def _plan_table(ix: _Index, plans, derived: dict) -> pa.Table:
    """The plan rows as a table, each path written out link by link (``derived``: links the locator
    added, (row, row) -> what they are)."""
    lo, hi = np.minimum(ix.a, ix.b), np.maximum(ix.a, ix.b)
    k = len(ix.ids)
    pairs = {(min(a, b), max(a, b)) for _, rows in plans for row in rows for a, b in zip(row[5][:-1], row[5][1:])}
    want = np.array(sorted(a * k + b for a, b in pairs), dtype=np.int64)
    key = lo * k + hi
    hit = np.flatnonzero(np.isin(key, want))
    weight = ix.edges["weight"].to_numpy()[hit]
    best: dict[int, int] = {}  # pair -> position in ``hit`` of its strongest edge
    for j in np.argsort(-weight, kind="stable"):
        best.setdefault(int(key[hit[j]]), int(j))
    picked = ix.edges.take(pa.array(hit, pa.int64()))
    etype, n_, last = (picked[c].to_pylist() for c in ("type", "n", "last_date"))
    cols = {c: [] for c in ("wanted", "kind", "rank", "node_id", "score", "region", "last_seen", "hops", "evidence")}
    for s, rows in plans:
        for kind, rank, v, score, g, path in rows:
            text, seen = [ix.name(path[0])] if path else [], []
            for a, b in zip(path[:-1], path[1:]):
                if (min(a, b), max(a, b)) in derived and min(a, b) * k + max(a, b) not in best:
                    text.append(f"-[{derived[(min(a, b), max(a, b))]}]- {ix.name(b)}")
                    continue
                e = best[min(a, b) * k + max(a, b)]
                note = etype[e] + (f" x{n_[e]}" if (n_[e] or 1) > 1 else "") + (f" {last[e]}" if last[e] else "")
                text.append(f"-[{note}]- {ix.name(b)}")
                if last[e] is not None:
                    seen.append(last[e])
            cols["wanted"].append(ix.name(s))
            cols["kind"].append(kind)
            cols["rank"].append(rank)
            cols["node_id"].append(ix.name(v))
            cols["score"].append(round(float(score), 6))
            cols["region"].append(ix.name(g).split(":", 1)[1] if g is not None else None)
            cols["last_seen"].append(max(seen) if seen else None)
            cols["hops"].append(max(len(path) - 1, 0))
            cols["evidence"].append(" ".join(text))
    return pa.table({"wanted": pa.array(cols["wanted"], pa.string()), "kind": pa.array(cols["kind"], pa.string()),
                     "rank": pa.array(cols["rank"], pa.int64()), "node_id": pa.array(cols["node_id"], pa.string()),
                     "score": pa.array(cols["score"], pa.float64()), "region": pa.array(cols["region"], pa.string()),
                     "last_seen": pa.array(cols["last_seen"], pa.date32()), "hops": pa.array(cols["hops"], pa.int64()),
                     "evidence": pa.array(cols["evidence"], pa.string())})
