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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, dijkstra, minimum_spanning_tree, shortest_path

from ._checks import check_date, check_int
from .errors import ParameterError
from .options import tabular
from .tables import get_table

__all__ = ["investigation_graph", "expand", "find_path", "most_connected", "connecting_network", "NODE_TYPES",
           "EDGE_TYPES"]

NODE_TYPES = ("case", "person", "phone", "account", "region")
EDGE_TYPES = ("role", "entity", "own_phone", "contact", "transfer", "in_region", "flow")
_EDGE_COLUMNS = ("source", "target", "type", "detail", "weight", "n", "first_date", "last_date", "source_table")
_SOURCE_TABLE = {"role": "case_persons", "entity": "case_entities", "own_phone": "person_records", "contact": "contacts",
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
    ix = _Index(nodes, edges, edge_types, start, end)
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
              edge_types=None, start=None, end=None) -> pa.Table:
    """Find Path: the shortest chain of edges between two items (or the strongest).

    Shortest: fewest edges (ties: the path through the smallest node numbers, i.e. node ids in
    sorted order). Strongest: the path minimising the sum of ``1 / (1 + weight)`` over its edges
    (many contacts, large transfers, several shared cases make an edge strong); both follow
    ``edge_types`` within ``[start, end]`` as in :func:`expand`, directions ignored.

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        From :func:`investigation_graph`.
    source, target : str
        Node ids.
    strongest : bool
    edge_types : iterable of str, optional
    start, end : date or "YYYY-MM-DD", optional

    Returns
    -------
    pyarrow.Table
        ``step`` (1..), ``from_node``, ``to_node``, ``type``, ``detail``, ``weight``, ``first_date``,
        ``last_date``: the edges of the path in order; empty when the items are not connected.
    """
    ix = _Index(nodes, edges, edge_types, start, end)
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
    ix = _Index(nodes, edges, edge_types, start, end)
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
    ix = _Index(nodes, edges, edge_types, start, end)
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

