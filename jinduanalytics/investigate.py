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

import datetime as _dt

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from ._checks import check_date, check_int
from .errors import ParameterError
from .options import tabular
from .tables import get_table

__all__ = ["investigation_graph", "expand", "find_path", "NODE_TYPES", "EDGE_TYPES"]

NODE_TYPES = ("case", "person", "phone", "account", "region")
EDGE_TYPES = ("role", "entity", "own_phone", "contact", "transfer", "in_region", "flow")
_EDGE_COLUMNS = ("source", "target", "type", "detail", "weight", "n", "first_date", "last_date", "source_table")


def _edges(source, target, type_, detail, weight, n, first, last, table) -> pd.DataFrame:
    k = len(source)
    return pd.DataFrame({"source": np.asarray(source, dtype=object), "target": np.asarray(target, dtype=object),
                         "type": type_, "detail": np.broadcast_to(np.asarray(detail, dtype=object), (k,)),
                         "weight": np.broadcast_to(np.asarray(weight, dtype=float), (k,)),
                         "n": np.broadcast_to(np.asarray(n, dtype=np.int64), (k,)),
                         "first_date": pd.to_datetime(pd.Series(first)).dt.date.to_numpy() if k else [],
                         "last_date": pd.to_datetime(pd.Series(last)).dt.date.to_numpy() if k else [],
                         "source_table": table})


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
        (undirected except ``transfer`` and ``flow``; one row per distinct pair, type and detail).
    """
    parts = []
    cases = get_table(data, "cases", required=False)
    day = {}
    if cases is not None:
        c = cases.select(["case_id", "region_id", "date"]).to_pandas()
        day = dict(zip(c["case_id"], c["date"]))
        parts.append(_edges("case:" + c["case_id"], "region:" + c["region_id"], "in_region", "", 1.0, 1, c["date"],
                            c["date"], "cases"))
    rec2person = None
    if persons is not None:
        p = persons.select(["record_id", "person_id"]).to_pandas()
        rec2person = dict(zip(p["record_id"], p["person_id"]))

    def person(records: pd.Series) -> pd.Series:
        return "person:" + (records.map(rec2person).fillna(records) if rec2person is not None else records)

    cp = get_table(data, "case_persons", required=False)
    if cp is not None:
        t = cp.select(["case_id", "record_id", "role"]).to_pandas()
        d = t["case_id"].map(day)
        parts.append(_edges("case:" + t["case_id"], person(t["record_id"]), "role", t["role"], 1.0, 1, d, d,
                            "case_persons"))
    ce = get_table(data, "case_entities", required=False)
    if ce is not None:
        t = ce.select(["case_id", "kind", "value"]).to_pandas()
        d = t["case_id"].map(day)
        parts.append(_edges("case:" + t["case_id"], t["kind"] + ":" + t["value"], "entity", t["kind"], 1.0, 1, d, d,
                            "case_entities"))
    pr = get_table(data, "person_records", required=False)
    if pr is not None and "phone" in pr.column_names:
        t = pr.select(["record_id", "phone"]).to_pandas().dropna()
        parts.append(_edges(person(t["record_id"]), "phone:" + t["phone"], "own_phone", "", 1.0, 1, [None] * len(t),
                            [None] * len(t), "person_records"))
    ct = get_table(data, "contacts", required=False)
    if ct is not None:
        t = ct.select(["phone_a", "phone_b", "count", "first_date", "last_date"]).to_pandas()
        parts.append(_edges("phone:" + t["phone_a"], "phone:" + t["phone_b"], "contact", "", t["count"], t["count"],
                            t["first_date"], t["last_date"], "contacts"))
    tx = get_table(data, "transactions", required=False)
    if tx is not None:
        t = tx.select(["src_account", "dst_account", "amount", "date"]).to_pandas()
        g = t.groupby(["src_account", "dst_account"], sort=True).agg(
            weight=("amount", "sum"), n=("amount", "size"), first=("date", "min"), last=("date", "max")).reset_index()
        parts.append(_edges("account:" + g["src_account"], "account:" + g["dst_account"], "transfer", "",
                            g["weight"].round(2), g["n"], g["first"], g["last"], "transactions"))
    fl = get_table(data, "flows", required=False)
    if fl is not None:
        t = fl.select(["origin", "destination", "mode", "date", "quantity_g"]).to_pandas()
        g = t.groupby(["origin", "destination", "mode"], sort=True).agg(
            weight=("quantity_g", "sum"), n=("date", "size"), first=("date", "min"), last=("date", "max")).reset_index()
        parts.append(_edges("region:" + g["origin"], "region:" + g["destination"], "flow", g["mode"], g["weight"],
                            g["n"], g["first"], g["last"], "flows"))
    parts = [p for p in parts if len(p)]
    e = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(_EDGE_COLUMNS))
    e = e.groupby(["source", "target", "type", "detail"], sort=True, dropna=False).agg(
        weight=("weight", "sum"), n=("n", "sum"), first_date=("first_date", "min"), last_date=("last_date", "max"),
        source_table=("source_table", "first")).reset_index()[list(_EDGE_COLUMNS)]
    ids = pd.Series(pd.concat([e["source"], e["target"]]).unique(), dtype=object).sort_values(kind="stable")
    deg = pd.concat([e["source"], e["target"]]).value_counts()
    kind = ids.str.split(":", n=1).str[0]
    nodes = pa.table({"node_id": pa.array(ids, pa.string()), "type": pa.array(kind, pa.string()),
                      "label": pa.array(ids.str.split(":", n=1).str[1], pa.string()),
                      "degree": pa.array(ids.map(deg).fillna(0).astype(np.int64).to_numpy(), pa.int64())})
    edges = pa.table({"source": pa.array(e["source"], pa.string()), "target": pa.array(e["target"], pa.string()),
                      "type": pa.array(e["type"], pa.string()), "detail": pa.array(e["detail"].fillna(""), pa.string()),
                      "weight": pa.array(e["weight"].astype(float), pa.float64()),
                      "n": pa.array(e["n"].astype(np.int64), pa.int64()),
                      "first_date": _date_array(e["first_date"]), "last_date": _date_array(e["last_date"]),
                      "source_table": pa.array(e["source_table"], pa.string())})
    return nodes, edges


def _date_array(col: pd.Series) -> pa.Array:
    when = pd.to_datetime(col, errors="coerce")
    return pa.array([None if pd.isna(x) else x.date() for x in when], pa.date32())


class _Index:
    """The investigation graph's edges as an undirected sparse matrix over dense node numbers,
    filtered by edge type and date window."""

    def __init__(self, nodes, edges, edge_types, start, end):
        n = nodes.to_pandas() if isinstance(nodes, pa.Table) else pd.DataFrame(nodes)
        e = edges.to_pandas() if isinstance(edges, pa.Table) else pd.DataFrame(edges)
        if edge_types is not None:
            unknown = sorted(set(edge_types) - set(EDGE_TYPES))
            if unknown:
                raise ParameterError(f"edge_types: unknown {unknown}; choose among {', '.join(EDGE_TYPES)}")
            e = e[e["type"].isin(list(edge_types))]
        s, t = check_date(start, "start"), check_date(end, "end")
        if s is not None:  # an undated edge (a record's own phone) is not an event: it stays
            e = e[e["last_date"].isna() | (pd.to_datetime(e["last_date"]).dt.date >= s)]
        if t is not None:
            e = e[e["first_date"].isna() | (pd.to_datetime(e["first_date"]).dt.date <= t)]
        self.nodes = n.reset_index(drop=True)
        self.edges = e.reset_index(drop=True)
        self.pos = pd.Series(np.arange(len(n)), index=n["node_id"])
        a = self.pos.reindex(e["source"]).to_numpy()
        b = self.pos.reindex(e["target"]).to_numpy()
        self.a, self.b = a.astype(np.int64), b.astype(np.int64)
        k = len(n)
        self.matrix = sp.csr_matrix((np.ones(2 * len(e)), (np.concatenate([a, b]), np.concatenate([b, a]))),
                                    shape=(k, k))

    def number(self, ids, what: str) -> np.ndarray:
        ids = [ids] if isinstance(ids, str) else list(ids)
        missing = [i for i in ids if i not in self.pos.index]
        if missing:
            raise ParameterError(f"{what}: not in the investigation graph: {missing[:5]} (node ids look like "
                                 "'person:R000000001', 'phone:10412345678', 'case:C000000001')")
        return self.pos[ids].to_numpy().astype(np.int64)


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
    keep = np.ones(len(ix.nodes), dtype=bool)
    if node_types is not None:
        keep = ix.nodes["type"].isin(list(node_types)).to_numpy()
    keep[seed] = True
    m = ix.matrix[keep][:, keep] if not keep.all() else ix.matrix
    sub = np.flatnonzero(keep)
    local = pd.Series(np.arange(sub.size), index=sub)
    hop = np.full(sub.size, -1, dtype=np.int64)
    via = np.full(sub.size, -1, dtype=np.int64)
    frontier = local[seed].to_numpy()
    hop[frontier] = 0
    m = m.tocsr()
    for h in range(1, hops + 1):
        if frontier.size == 0:
            break
        nxt = []
        for u in np.sort(frontier):  # deterministic: first reached from the smallest node number
            for v in m.indices[m.indptr[u]:m.indptr[u + 1]]:
                if hop[v] < 0:
                    hop[v] = h
                    via[v] = u
                    nxt.append(v)
        frontier = np.array(sorted(nxt), dtype=np.int64)
    reached = np.flatnonzero(hop >= 0)
    order = reached[np.lexsort((ix.nodes["node_id"].to_numpy()[sub[reached]], hop[reached]))]
    truncated = order.size > max_nodes
    order = order[:max_nodes]
    chosen = sub[order]
    out = ix.nodes.iloc[chosen].reset_index(drop=True)
    out["hop"] = hop[order]
    via_node = np.where(via[order] >= 0, sub[np.maximum(via[order], 0)], -1)
    out["via"] = [ix.nodes["node_id"].iloc[v] if v >= 0 else None for v in via_node]
    # the edge each item was reached by: the first edge (in edge order) between it and its via node
    both = pd.DataFrame({"u": np.concatenate([ix.a, ix.b]), "v": np.concatenate([ix.b, ix.a]),
                         "type": np.concatenate([ix.edges["type"], ix.edges["type"]]),
                         "detail": np.concatenate([ix.edges["detail"], ix.edges["detail"]]),
                         "k": np.concatenate([np.arange(len(ix.a)), np.arange(len(ix.a))])})
    want = pd.DataFrame({"u": via_node, "v": chosen, "row": np.arange(chosen.size)})
    hit = want.merge(both, on=["u", "v"]).sort_values(["row", "k"], kind="stable").drop_duplicates("row")
    hit = hit.set_index("row")
    out["via_type"] = hit["type"].reindex(np.arange(chosen.size)).to_numpy()
    out["via_detail"] = hit["detail"].reindex(np.arange(chosen.size)).to_numpy()
    out["truncated"] = truncated
    inside = np.zeros(len(ix.nodes), dtype=bool)
    inside[chosen] = True
    e = ix.edges[inside[ix.a] & inside[ix.b]]
    return (pa.Table.from_pandas(out, preserve_index=False),
            pa.Table.from_pandas(e.reset_index(drop=True), preserve_index=False))


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
    e = ix.edges
    if strongest:
        cost = 1.0 / (1.0 + e["weight"].to_numpy(float))
        best = {}
        for a, b, c in zip(ix.a, ix.b, cost):  # parallel edges: the strongest counts
            k = (min(a, b), max(a, b))
            best[k] = min(best.get(k, np.inf), c)
        ka = np.array([k[0] for k in best], dtype=np.int64)
        kb = np.array([k[1] for k in best], dtype=np.int64)
        kc = np.array(list(best.values()))
        w = sp.csr_matrix((np.concatenate([kc, kc]), (np.concatenate([ka, kb]), np.concatenate([kb, ka]))),
                          shape=ix.matrix.shape)
        _, pred = dijkstra(w, directed=False, indices=s, return_predecessors=True)
    else:
        _, pred = breadth_first_order(ix.matrix, s, directed=False, return_predecessors=True)
    chain = []
    v = t
    while v != s and v >= 0:
        chain.append(v)
        v = pred[v]
    if v != s:
        chain = []
    chain = ([s] + chain[::-1]) if chain else []
    rows = []
    for i, (a, b) in enumerate(zip(chain[:-1], chain[1:]), start=1):
        cand = e[((ix.a == a) & (ix.b == b)) | ((ix.a == b) & (ix.b == a))]
        r = cand.sort_values("weight", ascending=False, kind="stable").iloc[0]
        rows.append((i, ix.nodes["node_id"].iloc[a], ix.nodes["node_id"].iloc[b], r["type"], r["detail"],
                     float(r["weight"]), r["first_date"], r["last_date"]))
    return pa.table({"step": pa.array([r[0] for r in rows], pa.int64()),
                     "from_node": pa.array([r[1] for r in rows], pa.string()),
                     "to_node": pa.array([r[2] for r in rows], pa.string()),
                     "type": pa.array([r[3] for r in rows], pa.string()),
                     "detail": pa.array([r[4] for r in rows], pa.string()),
                     "weight": pa.array([r[5] for r in rows], pa.float64()),
                     "first_date": pa.array([_as_date(r[6]) for r in rows], pa.date32()),
                     "last_date": pa.array([_as_date(r[7]) for r in rows], pa.date32())})


def _as_date(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    return value if isinstance(value, _dt.date) else pd.Timestamp(value).date()
