"""Builders: edge tables and canonical tables -> :class:`CSRGraph`.

Node order is the sorted order of the node keys, so a graph (and everything computed on
it with a seed) does not depend on the order of the input rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import check_choice, check_int, check_nonnegative, n_chunks
from .._kernels import csr as _csr
from .._kernels import hashing as _hash
from .._kernels import projection as _proj
from .._kernels.pairs import expand_pairs
from ..errors import GraphInputError, ParameterError
from ..options import tabular
from ..schema import PERSON_KINDS
from ..tables import as_table, rows_text
from ..vocabulary import default_vocabulary
from .csr import CSRGraph

__all__ = [
    "as_graph",
    "from_edges",
    "case_entity_graph",
    "case_graph",
    "auto_max_cases",
    "entity_weights",
    "person_graph",
    "region_flow_graph",
    "RARITY",
]

#: Rarity weightings of an entity shared by k cases (k >= 2); see :func:`case_graph`.
RARITY = ("newman", "adamic_adar", "idf", "none")


def _plain(arr) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _count_rows(mask: np.ndarray) -> str:
    """``"2 rows (rows 0, 1)"``: how many rows of a boolean mask, and which (see tables.rows_text)."""
    return f"{int(np.count_nonzero(mask))} rows ({rows_text(mask)})"


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (sliced to the array's rows) and data buffers of a string array, zero copy."""
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _rank(order: np.ndarray) -> np.ndarray:
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    return rank


def _encode(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct values in order of first appearance, and the int32/int64 code of every element
    (nulls get code 0; callers reject or drop them first)."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return enc.dictionary, enc.indices.fill_null(0).to_numpy(zero_copy_only=False)


def _sorted_unique(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Sorted distinct values of ``arr`` and the int64 code of every element (hash, then sort
    only the distinct values)."""
    if pa.types.is_string(arr.type) and arr.null_count == 0 and len(arr):
        # tables are often stored sorted by their key: then the codes are the runs (no hashing)
        codes, first = _hash.sorted_run_codes(*_string_buffers(arr))
        if codes.size:
            return arr.take(pa.array(first)), codes
    distinct, codes = _encode(arr)
    order = pc.array_sort_indices(distinct).to_numpy().astype(np.int64)
    return distinct.take(pa.array(order)), _rank(order)[codes]


def _pair_hashes(kinds: pa.Array, values: pa.Array, kc: np.ndarray, vc: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each (kinds[kc[i]], values[vc[i]]) entity: the key ``order="hash"`` sorts by
    (the distributed projection computes the same key per partition)."""
    kh = _hash.string_hashes(*_string_buffers(kinds))
    vh = _hash.string_hashes(*_string_buffers(values))
    return _hash.pair_hashes(kh, vh, kc, vc)


def _entity_codes(kind: pa.Array, value: pa.Array, order: str) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Distinct (kind, value) entities and the int64 code of every row.

    ``order="sorted"``: entities sorted by kind, then value. ``order="hash"``: sorted by a fixed
    64-bit hash of the pair (no string sort; as independent of the row order, for callers that
    never show entity ids); a hash shared by two entities falls back to the sorted order.
    """
    kinds, kc = _encode(kind)
    values, vc = _encode(value)
    nk, nv = len(kinds), len(values)
    if nk * nv <= 4 * len(kc) + 1024:  # the dense pair table stays within the input's size
        codes, ek, ev = _hash.dense_pair_codes(kc, vc, nv, nk * nv)
    else:
        key, codes = np.unique(kc.astype(np.int64) * nv + vc, return_inverse=True)
        ek, ev = key // nv, key % nv
    perm = None
    if order == "hash":
        eh = _pair_hashes(kinds, values, ek, ev)
        perm = np.argsort(eh)  # ties are caught here, so the sort need not be stable
        if (eh[perm][1:] == eh[perm][:-1]).any():
            perm = None
    if perm is None:
        k_rank = _rank(pc.array_sort_indices(kinds).to_numpy().astype(np.int64))
        v_rank = _rank(pc.array_sort_indices(values).to_numpy().astype(np.int64))
        perm = np.argsort(k_rank[ek] * nv + v_rank[ev], kind="stable")
    ek, ev = ek[perm], ev[perm]
    return kinds.take(pa.array(ek)), values.take(pa.array(ev)), _rank(perm)[codes]


def _factorize(*arrays: pa.Array, universe: pa.Array | None = None) -> tuple[pa.Array, list[np.ndarray]]:
    """Sorted distinct keys and the int64 code of every value (codes -1 for values not in universe).

    Keys are sorted, so codes do not depend on the order of the input rows.
    """
    if universe is None:
        combined = arrays[0] if len(arrays) == 1 else pa.concat_arrays([a for a in arrays])
        uniques, codes = _sorted_unique(combined)
        bounds = np.cumsum([0] + [len(a) for a in arrays])
        return uniques, [codes[bounds[i]:bounds[i + 1]] for i in range(len(arrays))]
    uniques, _ = _sorted_unique(pc.drop_null(universe))
    codes = [pc.fill_null(pc.index_in(a, value_set=uniques), -1).to_numpy(zero_copy_only=False).astype(np.int64)
             for a in arrays]
    return uniques, codes


def _weight_array(table: pa.Table, weight: str | None, what: str) -> np.ndarray:
    n = table.num_rows
    if weight is None or weight not in table.column_names:
        if weight not in (None, "weight"):
            raise GraphInputError(f"{what}: weight column '{weight}' not found; columns: {', '.join(table.column_names)}")
        return np.ones(n, dtype=np.float64)
    col = _plain(table.column(weight))
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        raise GraphInputError(f"{what}: weight column '{weight}' has type {col.type}, expected numbers")
    null = col.is_null().to_numpy(zero_copy_only=False)
    w = col.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False).astype(np.float64)
    bad = null | ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise GraphInputError(f"{what}: column '{weight}' has {_count_rows(bad)} that are null, NaN, "
                              "infinite or negative; weights must be finite and >= 0")
    return w


def from_edges(
    table,
    *,
    source: str = "source",
    target: str = "target",
    weight: str | None = "weight",
    directed: bool = False,
    nodes: pa.Array | None = None,
    what: str = "edge table",
) -> CSRGraph:
    """Build a graph from an edge table (duplicate edges are summed).

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        Columns ``source`` and ``target`` (any one key type) and optionally ``weight``
        (finite, >= 0; defaults to 1 when the column is absent).
    source, target : str
        The columns of the edge ends.
    weight : str or None
        The weight column (None: every edge weighs 1).
    directed : bool
    nodes : pyarrow.Array, optional
        All node keys, so isolated nodes are kept; every edge end must be among them.
    what : str
        How error messages name the table.

    Returns
    -------
    CSRGraph
    """
    t = as_table(table, what)
    for col in (source, target):
        if col not in t.column_names:
            raise GraphInputError(f"{what}: missing column '{col}'; found: {', '.join(t.column_names)}")
    s, d = _plain(t.column(source)), _plain(t.column(target))
    if s.type != d.type:
        raise GraphInputError(f"{what}: columns '{source}' ({s.type}) and '{target}' ({d.type}) must have one type")
    for name, arr in ((source, s), (target, d)):
        null = arr.is_null().to_numpy(zero_copy_only=False)
        if null.any():
            raise GraphInputError(f"{what}: column '{name}' has {_count_rows(null)} with null node keys; "
                                  "drop or fill them before building the graph")
    w = _weight_array(t, weight, what)
    if nodes is not None:
        nodes = _plain(nodes)
        if nodes.null_count:
            raise GraphInputError(f"{what}: the node list has {nodes.null_count} null keys")
        if nodes.type != s.type:
            raise GraphInputError(f"{what}: node keys have type {nodes.type}, edges {s.type}")
    uniques, (si, di) = _factorize(s, d, universe=None if nodes is None else nodes)
    if nodes is not None:
        missing = (si < 0) | (di < 0)
        if missing.any():
            raise GraphInputError(f"{what}: {_count_rows(missing)} have an end that is not in the node list")
    n = len(uniques)
    if directed:
        rows, cols, ww = si, di, w
    else:
        off = si != di
        rows = np.concatenate([si, di[off]])
        cols = np.concatenate([di, si[off]])
        ww = np.concatenate([w, w[off]])
    indptr, indices, weights = _csr.coo_to_csr(n, rows.astype(np.int64), cols.astype(np.int64), ww)
    return CSRGraph(indptr, indices, weights, pa.table({"node_id": uniques}), directed)


def from_networkx(G, *, weight: str = "weight") -> CSRGraph:
    """A :class:`CSRGraph` from a networkx graph; missing weights count as 1.

    Node keys must be all strings or all integers. Node attributes that every node has
    with a simple type (str, int, float, bool) go to the node table. Multigraph edges
    between the same nodes are summed.

    Parameters
    ----------
    G : networkx.Graph or networkx.DiGraph
    weight : str, default "weight"
        Edge attribute holding the weight.
    """
    nodes = list(G.nodes)
    if nodes and not (all(isinstance(n, str) for n in nodes) or
                      all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in nodes)):
        raise GraphInputError("from_networkx: node keys must be all strings or all integers")
    key_type = pa.string() if nodes and isinstance(nodes[0], str) else pa.int64()
    src, dst, w = [], [], []
    for u, v, data in G.edges(data=True):
        src.append(u)
        dst.append(v)
        w.append(data.get(weight, 1.0))
    edges = pa.table({"source": pa.array(src, type=key_type), "target": pa.array(dst, type=key_type),
                      "weight": pa.array(w, type=pa.float64())})
    g = from_edges(edges, directed=G.is_directed(), nodes=pa.array(nodes, type=key_type), what="networkx graph")
    # node attributes shared by every node, in the graph's (sorted) node order
    order = g.node_ids.to_pylist()
    table = g.nodes
    names = set.intersection(*(set(d) for _, d in G.nodes(data=True))) if nodes else set()
    for name in sorted(names - {"node_id"}):
        values = [G.nodes[n][name] for n in order]
        if all(isinstance(v, (str, int, float, bool)) for v in values):
            try:
                table = table.append_column(name, pa.array(values))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                continue
    return CSRGraph(g.indptr, g.indices, g.weights, table, g.directed)


def as_graph(graph, *, directed: bool = False) -> CSRGraph:
    """The only input-coercion point: CSRGraph, edge table or networkx graph -> CSRGraph.

    Edge tables need ``source`` and ``target`` columns, optionally ``weight``.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame, dict of columns or networkx.Graph
        Tables need ``source`` and ``target`` columns, optionally ``weight``.
    directed : bool, default False
        For edge tables: keep edges one way.
    """
    if isinstance(graph, CSRGraph):
        return graph
    try:
        import networkx as nx

        if isinstance(graph, nx.Graph):
            return from_networkx(graph)
    except ImportError:  # pragma: no cover
        pass
    return from_edges(graph, directed=directed)


# --------------------------------------------------------------------------- bipartite


@dataclass(frozen=True)
class _Bipartite:
    case_ids: pa.Array  # sorted
    entity_kind: pa.Array  # per entity
    entity_value: pa.Array
    row_ptr: np.ndarray  # case -> entities
    row_col: np.ndarray
    col_ptr: np.ndarray  # entity -> cases
    col_row: np.ndarray

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    def entity_cases(self) -> np.ndarray:
        return np.diff(self.col_ptr)


def _bipartite(case_entities, cases=None, *, what="case_entities", entity_order: str = "sorted") -> _Bipartite:
    """Case x entity incidence (CSR both ways). ``entity_order`` is passed to :func:`_entity_codes`."""
    t = as_table(case_entities, what)
    for col in ("case_id", "kind", "value"):
        if col not in t.column_names:
            raise GraphInputError(f"{what}: missing column '{col}'; found: {', '.join(t.column_names)}")
    case_col = _plain(t.column("case_id")).cast(pa.string())
    kind = _plain(t.column("kind")).cast(pa.string())
    value = _plain(t.column("value")).cast(pa.string())
    for name, arr in (("case_id", case_col), ("kind", kind), ("value", value)):
        null = arr.is_null().to_numpy(zero_copy_only=False)
        if null.any():
            raise GraphInputError(f"{what}: column '{name}' has {_count_rows(null)} that are null; "
                                  "validate the table first (jinduanalytics.validate_table)")
    universe = None
    if cases is not None:
        ct = as_table(cases, "cases")
        universe = _plain(ct.column("case_id")).cast(pa.string())
    # (hashing the columns in two threads was tried twice: 0.64 -> 0.54 s at 1M rows, but per-thread
    # allocator heaps raised the peak from 80-100 MB to 122-270 MB; sequential kept)
    case_ids, (ci,) = _factorize(case_col, universe=universe)
    if (ci < 0).any():
        raise GraphInputError(f"{what}: {_count_rows(ci < 0)} reference a case_id not in cases")
    ent_kind, ent_value, ei = _entity_codes(kind, value, entity_order)
    n_c, n_e = len(case_ids), len(ent_kind)
    # int32 ids halve the two big index arrays held during the projection
    small = max(n_c, n_e) < 2**31 - 1
    row_ptr, row_col = _csr.coo_pattern(n_c, ci, ei.astype(np.int32) if small else ei)
    del ci, ei
    col_ptr, col_row = _csr.transpose_pattern(n_c, n_e, row_ptr, row_col)
    return _Bipartite(case_ids, ent_kind, ent_value, row_ptr, row_col, col_ptr, col_row)


def auto_max_cases(k: np.ndarray, *, spread: float = 3.0, floor: int = 10) -> int:
    """The hub cap ``max_cases="auto"`` picks: a robust outlier bound on how many cases an entity links.

    Over entities held by 2+ cases, ``cap = exp(median(ln k) + spread * 1.4826 * MAD(ln k))``,
    rounded up and never below ``floor``. Entities of supply networks touch a handful of
    cases; hubs (a hotel, a courier depot, a payment merchant) touch far more, and being few
    they do not move the median or the MAD.

    >>> k = np.r_[np.repeat([2, 3, 4, 5, 8], [40, 30, 15, 10, 5]), 300, 900]
    >>> auto_max_cases(k), auto_max_cases(k, floor=2)
    (19, 19)

    Parameters
    ----------
    k : numpy array of int
        How many cases each entity is found in.
    spread : float, default 3.0
        How many robust spreads (MAD of log k) above the median count as a hub.
    floor : int, default 10
        The cap is never below this.
    """
    k = np.asarray(k)
    k = k[k >= 2].astype(np.float64)
    if k.size == 0:
        return int(floor)
    lk = np.log(k)
    med = float(np.median(lk))
    mad = float(np.median(np.abs(lk - med))) * 1.4826
    return int(max(floor, np.ceil(np.exp(med + spread * mad))))


def _rarity_weights(k: np.ndarray, n_cases: int, rarity: str, max_cases) -> np.ndarray:
    if isinstance(max_cases, str):  # "auto"
        max_cases = auto_max_cases(k)
    k = k.astype(np.float64)
    w = np.zeros_like(k)
    ok = k >= 2
    if rarity == "newman":
        w[ok] = 1.0 / (k[ok] - 1.0)
    elif rarity == "adamic_adar":
        w[ok] = 1.0 / np.log(k[ok])
    elif rarity == "idf":
        w[ok] = np.maximum(np.log(max(n_cases, 1) / k[ok]), 0.0)
    else:
        w[ok] = 1.0
    if max_cases is not None:
        w[k > max_cases] = 0.0
    return w


def _check_projection_params(rarity, max_cases, kind_weights, case_entities=None):
    check_choice("rarity", rarity, RARITY)
    if isinstance(max_cases, str):
        check_choice("max_cases", max_cases, ("auto",))
    elif max_cases is not None:
        check_int("max_cases", max_cases, minimum=2)
    known = default_vocabulary().entity_kinds + PERSON_KINDS
    unknown = sorted(set(kind_weights or {}) - set(known))
    if unknown and isinstance(case_entities, pa.Table) and "kind" in case_entities.column_names:
        known = tuple(dict.fromkeys(known + tuple(pc.unique(case_entities.column("kind")).to_pylist())))
        unknown = sorted(set(unknown) - set(known))  # kinds of a user's vocabulary that the data holds
    if unknown:
        raise ParameterError(f"kind_weights keys must be evidence kinds ({', '.join(repr(k) for k in known)}); "
                             f"got {', '.join(repr(k) for k in unknown)}.")
    for kind, kw in (kind_weights or {}).items():
        check_nonnegative(**{f"kind_weights[{kind!r}]": kw})


def _entity_weight_array(bp: _Bipartite, rarity: str, max_cases,
                         kind_weights: dict[str, float] | None) -> np.ndarray:
    w = _rarity_weights(bp.entity_cases(), bp.n_cases, rarity, max_cases)
    if kind_weights:
        kinds = bp.entity_kind.to_numpy(zero_copy_only=False)
        mult = np.ones_like(w)
        for kind, kw in kind_weights.items():
            mult[kinds == kind] = float(kw)
        w = w * mult
    return w


@tabular
def entity_weights(case_entities, *, cases=None, rarity: str = "newman", max_cases: int | str | None = None,
                   kind_weights: dict[str, float] | None = None) -> pa.Table:
    """One row per distinct entity: ``kind``, ``value``, ``n_cases`` and its pair ``weight``.

    ``weight`` is what every pair of cases sharing the entity gains from it in
    :func:`case_graph` (see there for the formula); 0 for entities in one case only or
    above the ``max_cases`` cap.

    Parameters
    ----------
    case_entities : pyarrow.Table or pandas.DataFrame
        ``case_id``, ``kind``, ``value`` (e.g. :func:`jinduanalytics.clusters.case_links`).
    cases : pyarrow.Table or pandas.DataFrame, optional
        ``case_id``: every case becomes a node, also those sharing nothing.
    rarity : {"newman", "adamic_adar", "idf", "none"}, default "newman"
        How an entity shared by ``k`` cases weighs each pair (see :func:`case_graph`).
    max_cases : int, "auto" or None
        Entities held by more cases link nothing (hubs).
    kind_weights : dict, optional
        Multiplier per evidence kind, e.g. ``{"address": 0.5}``.
    """
    _check_projection_params(rarity, max_cases, kind_weights, case_entities)
    bp = _bipartite(case_entities, cases)
    w = _entity_weight_array(bp, rarity, max_cases, kind_weights)
    return pa.table({"kind": bp.entity_kind, "value": bp.entity_value,
                     "n_cases": pa.array(bp.entity_cases()), "weight": pa.array(w)})


def case_entity_graph(case_entities, *, cases=None) -> CSRGraph:
    """The bipartite case–entity graph: one node per case, one per distinct (kind, value).

    Node table: ``node_id`` (the case_id, or ``"<kind>:<value>"`` for entities),
    ``node_type`` ("case" or "entity"), ``kind`` (null for cases). Cases listed in
    ``cases`` without any entity are kept as isolated nodes. Edge weight 1.

    Parameters
    ----------
    case_entities : pyarrow.Table or pandas.DataFrame
        ``case_id``, ``kind``, ``value`` (e.g. :func:`jinduanalytics.clusters.case_links`).
    cases : pyarrow.Table or pandas.DataFrame, optional
        ``case_id``: every case becomes a node, also those sharing nothing.
    """
    bp = _bipartite(case_entities, cases)
    n_c = bp.n_cases
    n_e = len(bp.entity_kind)
    src = bp.row_ptr
    rows = np.repeat(np.arange(n_c, dtype=np.int64), np.diff(src))
    cols = bp.row_col.astype(np.int64) + n_c
    r = np.concatenate([rows, cols])
    c = np.concatenate([cols, rows])
    indptr, indices, weights = _csr.coo_to_csr(n_c + n_e, r, c, np.ones(r.shape[0], dtype=np.float64))
    ent_ids = pc.binary_join_element_wise(bp.entity_kind, bp.entity_value, ":")
    nodes = pa.table({
        "node_id": pa.concat_arrays([bp.case_ids, ent_ids]),
        "node_type": pa.array(["case"] * n_c + ["entity"] * n_e),
        "kind": pa.concat_arrays([pa.nulls(n_c, pa.string()), bp.entity_kind]),
    })
    return CSRGraph(indptr, indices, weights, nodes, directed=False)


def case_graph(
    case_entities,
    *,
    cases=None,
    rarity: str = "newman",
    max_cases: int | str | None = 50,
    kind_weights: dict[str, float] | None = None,
) -> CSRGraph:
    """Case–case graph: two cases are linked by the entities they share, weighted by rarity.

    .. math:: w(a, b) = \\sum_{e \\in E(a) \\cap E(b)} c_{kind(e)} \\, r(k_e)

    where ``k_e`` is the number of distinct cases holding entity ``e``, ``c`` the optional
    per-kind multiplier (``kind_weights``, default 1) and ``r`` the rarity weighting:

    * ``"newman"`` (default): ``r(k) = 1 / (k - 1)`` — each entity gives every case it
      touches a total weight of 1, spread over the other cases (Newman 2001);
    * ``"adamic_adar"``: ``r(k) = 1 / ln k``;
    * ``"idf"``: ``r(k) = max(0, ln(N / k))`` with ``N`` cases;
    * ``"none"``: ``r(k) = 1`` — raw count of shared entities.

    Entities held by more than ``max_cases`` cases (a courier depot, a hotel everyone
    visits) are ignored altogether; ``max_cases=None`` keeps them and ``"auto"`` sets the
    cap from the data (:func:`~jinduanalytics.graph.auto_max_cases`, a robust outlier bound). The projection runs in a
    numba kernel and never lists the pairs of a hub.

    Parameters
    ----------
    case_entities : pyarrow.Table or pandas.DataFrame
        Columns ``case_id``, ``kind``, ``value`` (see the canonical ``case_entities``).
    cases : table, optional
        The ``cases`` table; its rows become nodes (isolated when they share nothing) and
        its columns become node attributes.
    rarity : {"newman", "adamic_adar", "idf", "none"}
        The rarity weighting ``r`` (above).
    max_cases : int, "auto" or None
        The hub cap (above).
    kind_weights : dict, optional
        Entity kind -> multiplier ``c`` (default 1).

    Returns
    -------
    CSRGraph
        Undirected, no self-loops; node table ``node_id`` (case_id) plus case attributes.

    Examples
    --------
    >>> import pyarrow as pa
    >>> ce = pa.table({"case_id": ["a", "b", "c"], "kind": ["phone"] * 3, "value": ["p1", "p1", "p1"]})
    >>> g = case_graph(ce)
    >>> g.n_edges, float(g.weights[0])
    (3, 0.5)
    """
    _check_projection_params(rarity, max_cases, kind_weights, case_entities)
    bp = _bipartite(case_entities, cases, entity_order="hash")
    w = _entity_weight_array(bp, rarity, max_cases, kind_weights)
    # entity names are not needed from here on: let them go before the projection's peak
    bp = dataclasses.replace(bp, entity_kind=None, entity_value=None)
    indptr, indices, weights = _proj.project(bp.n_cases, bp.row_ptr, bp.row_col, bp.col_ptr, bp.col_row,
                                             w, n_chunks())
    nodes = pa.table({"node_id": bp.case_ids})
    if cases is not None:
        ct = as_table(cases, "cases")
        order = pc.index_in(bp.case_ids, value_set=_plain(ct.column("case_id")).cast(pa.string()))
        attrs = ct.take(order)
        for name in attrs.column_names:
            if name != "case_id":
                nodes = nodes.append_column(name, attrs.column(name))
    return CSRGraph(indptr, indices, weights, nodes, directed=False)


def person_graph(
    case_persons,
    *,
    person_records=None,
    contacts=None,
    persons=None,
    co_offence_weight: float = 1.0,
    contact_weight: float = 1.0,
    max_case_persons: int | None = None,
) -> CSRGraph:
    """Person graph: co-offending through shared cases plus phone contacts.

    ``w(p, q) = co_offence_weight * (number of cases p and q share)
    + contact_weight * (1 if a phone of p and a phone of q were in contact)``.

    Parameters
    ----------
    case_persons : table
        ``case_id``, ``record_id``.
    person_records : table, optional
        Every record becomes a node (isolated when it shares nothing); its ``phone``
        column links records to ``contacts``.
    contacts : table, optional
        ``phone_a``, ``phone_b``; needs ``person_records``.
    persons : table, optional
        ``record_id`` -> ``person_id`` (resolved identities, e.g. from linkage): records of one
        person become one node. Records missing from it stay their own node.
    co_offence_weight, contact_weight : float
        The weights of a shared case and of a contact (above).
    max_case_persons : int, optional
        Ignore cases with more persons than this when linking co-offenders.

    Returns
    -------
    CSRGraph
        Undirected; ``node_id`` is the record_id (or person_id with ``persons``).
    """
    check_nonnegative(co_offence_weight=co_offence_weight, contact_weight=contact_weight)
    if max_case_persons is not None:
        check_int("max_case_persons", max_case_persons, minimum=2)
    cp = as_table(case_persons, "case_persons")
    rec = _plain(cp.column("record_id")).cast(pa.string())
    case = _plain(cp.column("case_id")).cast(pa.string())
    universe = rec
    if person_records is not None:
        pr = as_table(person_records, "person_records")
        universe = _plain(pr.column("record_id")).cast(pa.string())
    if persons is not None:
        pt = as_table(persons, "persons")
        map_rec = _plain(pt.column("record_id")).cast(pa.string())
        map_per = _plain(pt.column("person_id")).cast(pa.string())

        def to_person(records: pa.Array) -> pa.Array:
            idx = pc.index_in(records, value_set=map_rec)
            mapped = map_per.take(idx)
            return pc.coalesce(mapped, records)
    else:
        def to_person(records: pa.Array) -> pa.Array:
            return records

    node_universe = to_person(universe)
    node_ids, (ri,) = _factorize(to_person(rec), universe=pa.concat_arrays([node_universe, to_person(rec)]))
    n = len(node_ids)
    case_ids, (ci,) = _factorize(case)
    rows_list, cols_list, w_list = [], [], []
    if co_offence_weight > 0 and len(case_ids):
        # person x case bipartite -> projection through cases (rarity "none")
        # int32 case ids, as in the case projection: one compiled projection kernel serves both
        row_ptr, row_col = _csr.coo_pattern(n, ri, ci.astype(np.int32) if len(case_ids) < 2**31 - 1 else ci)
        col_ptr, col_row = _csr.transpose_pattern(n, len(case_ids), row_ptr, row_col)
        size = np.diff(col_ptr)
        cw = np.full(len(case_ids), float(co_offence_weight))
        if max_case_persons is not None:
            cw[size > max_case_persons] = 0.0
        ip, ix, iw = _proj.project(n, row_ptr, row_col, col_ptr, col_row, cw, n_chunks())
        rows_list.append(np.repeat(np.arange(n, dtype=np.int64), np.diff(ip)))
        cols_list.append(ix)
        w_list.append(iw)
    if contacts is not None and contact_weight > 0:
        if person_records is None:
            raise ParameterError("person_graph: contacts need person_records (to map phones to persons)")
        ct = as_table(contacts, "contacts")
        phone = _plain(pr.column("phone")).cast(pa.string())
        has = phone.is_valid()
        rec_nodes, (rn,) = _factorize(to_person(universe.filter(has)), universe=node_ids)
        phones, (pa_i, pb_i, ph_i) = _factorize(
            _plain(ct.column("phone_a")).cast(pa.string()), _plain(ct.column("phone_b")).cast(pa.string()),
            phone.filter(has))
        # phone -> persons (CSR), then each contact links every person of a to every person of b
        order = np.argsort(ph_i, kind="stable")
        p_ptr = np.zeros(len(phones) + 1, dtype=np.int64)
        np.add.at(p_ptr, ph_i + 1, 1)
        p_ptr = np.cumsum(p_ptr)
        p_rec = rn[order]
        ok = (pa_i >= 0) & (pb_i >= 0)
        # a contact listed in both directions counts once
        lo = np.minimum(pa_i[ok], pb_i[ok])
        hi = np.maximum(pa_i[ok], pb_i[ok])
        pair_key = np.unique(lo * len(phones) + hi)
        lo, hi = pair_key // len(phones), pair_key % len(phones)
        total = int(((p_ptr[lo + 1] - p_ptr[lo]) * (p_ptr[hi + 1] - p_ptr[hi])).sum())
        rr, cc = _contact_pairs(lo, hi, p_ptr, p_rec, total)
        # a person pair linked through several phone pairs still counts once
        a, b = np.minimum(rr, cc), np.maximum(rr, cc)
        key = np.unique(a[a != b] * n + b[a != b])
        rr, cc = key // n, key % n
        rows_list += [rr, cc]
        cols_list += [cc, rr]
        w_list += [np.full(rr.shape[0], float(contact_weight))] * 2
    if rows_list:
        r = np.concatenate(rows_list)
        c = np.concatenate(cols_list)
        w = np.concatenate(w_list)
    else:
        r = c = np.empty(0, dtype=np.int64)
        w = np.empty(0, dtype=np.float64)
    indptr, indices, weights = _csr.coo_to_csr(n, r, c, w)
    return CSRGraph(indptr, indices, weights, pa.table({"node_id": node_ids}), directed=False)


def _contact_pairs(pa_i, pb_i, p_ptr, p_rec, total):
    return expand_pairs(pa_i.astype(np.int64), pb_i.astype(np.int64), p_ptr, p_rec.astype(np.int64), total)


def region_flow_graph(flows, *, regions=None, weight: str = "quantity_g", modes=None) -> CSRGraph:
    """Directed region graph: an edge origin -> destination per pair that has flows.

    Parameters
    ----------
    flows : table
        ``origin``, ``destination``, ``mode``, ``quantity_g``.
    regions : table, optional
        Every region becomes a node (with its attributes); otherwise only regions in flows.
    weight : {"quantity_g", "count"}
        Sum of quantities, or number of flow rows.
    modes : list of str, optional
        Only flows of these modes (road, rail, sea, post).
    """
    check_choice("weight", weight, ("quantity_g", "count"))
    ft = as_table(flows, "flows")
    if modes is not None:
        ft = ft.filter(pc.is_in(_plain(ft.column("mode")).cast(pa.string()), value_set=pa.array(list(modes))))
    edges = pa.table({
        "source": _plain(ft.column("origin")).cast(pa.string()),
        "target": _plain(ft.column("destination")).cast(pa.string()),
        "weight": _plain(ft.column("quantity_g")).cast(pa.float64()) if weight == "quantity_g"
        else pa.array(np.ones(ft.num_rows)),
    })
    node_list = None
    if regions is not None:
        rt = as_table(regions, "regions")
        node_list = _plain(rt.column("region_id")).cast(pa.string())
    g = from_edges(edges, directed=True, nodes=node_list, what="flows")
    if regions is not None:
        order = pc.index_in(g.node_ids, value_set=node_list)
        attrs = rt.take(order)
        nodes = g.nodes
        for name in attrs.column_names:
            if name != "region_id":
                nodes = nodes.append_column(name, attrs.column(name))
        g = CSRGraph(g.indptr, g.indices, g.weights, nodes, directed=True)
    return g

