"""Why cases were clustered: evidence chains, each entity's share of a cluster, weak points."""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ParameterError
from ..graph import case_graph
from ..options import tabular
from ..tables import get_table
from ._data import cluster_params, clusters_frame, evidence_links, link_weights, mask_value

__all__ = ["cluster_evidence", "evidence_chain", "cluster_bridges", "cluster_case_graph", "cluster_network"]


def _links(data, clusters: pa.Table, links: pa.Table | None = None) -> tuple[dict, pa.Table]:
    params = cluster_params(clusters)
    return params, evidence_links(data, tuple(params["person_kinds"]), links)


def _weighted_links(data, clusters: pa.Table, links: pa.Table | None = None, cases=None) -> tuple[dict, pd.DataFrame]:
    params, links = _links(data, clusters, links)
    return params, link_weights(links, params, cases)


def _case_graph(data, params: dict, links: pa.Table):
    cases = get_table(data, "cases", columns=("case_id",))
    return case_graph(links, cases=cases.select(["case_id"]), rarity=params["rarity"],
                      max_cases=params["max_cases_used"], kind_weights=params.get("kind_weights"))


@tabular
def cluster_case_graph(data, clusters: pa.Table):
    """The case graph ``clusters`` was computed on (same evidence, weights and cap).

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    """
    return _case_graph(data, *_links(data, clusters))


@tabular
def cluster_evidence(data, clusters: pa.Table, *, min_size: int = 2, links: pa.Table | None = None) -> pa.Table:
    """Each entity's share of the weight that holds a cluster together.

    A cluster's internal weight is the sum of its case-graph edge weights. An entity held
    by ``k`` cases of the cluster contributes its pair weight ``w`` (see
    :func:`jinduanalytics.graph.case_graph`) to each of the ``k (k - 1) / 2`` pairs, so its
    contributions add up exactly to the internal weight.

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases` (its provenance says how the evidence was weighted).
    min_size : int, default 2
        Only clusters of at least this many cases.
    links : pyarrow.Table, optional
        :func:`case_links` of ``data`` (every person kind), when already computed.

    Returns
    -------
    pyarrow.Table
        ``cluster``, ``kind``, ``value``, ``cases_in_cluster``, ``n_cases`` (all cases
        holding it), ``weight`` (per pair), ``contribution``, ``share`` (of the cluster's
        internal weight), sorted by cluster then contribution (largest first). Raw values:
        mask them (:func:`mask_value`) before they go into a report.
    """
    _, lw = _weighted_links(data, clusters, links)
    cl = clusters_frame(clusters)[["case_id", "cluster", "cluster_size"]]
    cl = cl[cl["cluster_size"] >= min_size]
    df = lw.merge(cl, on="case_id", how="inner")
    g = df.groupby(["cluster", "kind", "value"], sort=True).agg(
        cases_in_cluster=("case_id", "size"), n_cases=("n_cases", "first"), weight=("weight", "first")).reset_index()
    k = g["cases_in_cluster"].to_numpy(np.float64)
    g["contribution"] = g["weight"].to_numpy() * k * (k - 1.0) / 2.0
    g = g[g["contribution"] > 0]
    total = g.groupby("cluster")["contribution"].transform("sum")
    g["share"] = g["contribution"] / total
    g = g.sort_values(["cluster", "contribution", "kind", "value"], ascending=[True, False, True, True],
                      kind="mergesort")
    return pa.Table.from_pandas(g.reset_index(drop=True), preserve_index=False)


def _pair_evidence(lw: pd.DataFrame, a: str, b: str) -> list[tuple[str, str, float]]:
    ea = lw[(lw["case_id"] == a) & (lw["weight"] > 0)]
    eb = lw[(lw["case_id"] == b) & (lw["weight"] > 0)]
    both = ea.merge(eb[["kind", "value"]], on=["kind", "value"])
    both = both.sort_values(["weight", "kind", "value"], ascending=[False, True, True], kind="mergesort")
    return list(zip(both["kind"], both["value"], both["weight"].astype(float)))


@tabular
def evidence_chain(data, clusters: pa.Table, case_a: str, case_b: str, *, within_cluster: bool = True) -> pa.Table:
    """The shortest chain of shared evidence from ``case_a`` to ``case_b``.

    Shortest = fewest hops between cases; among chains of that length, the one whose weakest
    link is strongest (a chain is as good as its weakest link). Each hop lists every entity
    the two cases share with its weight, e.g. case A -phone X- case B -account Y- case C.

    Parameters
    ----------
    data : Dataset or mapping of tables
        As given to :func:`cluster_cases`.
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    case_a, case_b : str
        The two cases.
    within_cluster : bool
        Only walk through cases of the pair's cluster (both must be in one cluster).

    Returns
    -------
    pyarrow.Table
        ``hop`` (1..), ``from_case``, ``to_case``, ``kind``, ``value``, ``weight`` (the
        entity's pair weight), ``link_weight`` (the hop's edge weight: the sum over its
        entities). Empty when the cases are not connected.
    """
    params, links = _links(data, clusters)
    g = _case_graph(data, params, links)
    ids = g.node_ids.to_pylist()
    index = {c: i for i, c in enumerate(ids)}
    for name, c in (("case_a", case_a), ("case_b", case_b)):
        if c not in index:
            raise ParameterError(f"{name}: case {c!r} is not in the cases table")
    cl = clusters_frame(clusters).set_index("case_id")["cluster"]
    labels = cl.reindex(ids).to_numpy()
    s, t = index[case_a], index[case_b]
    if within_cluster and labels[s] != labels[t]:
        raise ParameterError(f"cases {case_a!r} and {case_b!r} are in different clusters "
                             f"({labels[s]} and {labels[t]}); pass within_cluster=False to search the whole graph")
    allowed = labels == labels[s] if within_cluster else np.ones(len(ids), dtype=bool)
    dist = np.full(len(ids), -1, dtype=np.int64)
    best = np.full(len(ids), -np.inf)  # strongest weakest-link over shortest chains
    prev = np.full(len(ids), -1, dtype=np.int64)
    dist[s], best[s] = 0, np.inf
    queue = deque([s])
    ip, ix, iw = g.indptr, g.indices, g.weights
    while queue:  # BFS by layers; each node's predecessor maximises the bottleneck
        u = queue.popleft()
        if u == t:
            continue
        for j in range(ip[u], ip[u + 1]):
            v, w = int(ix[j]), float(iw[j])
            if w <= 0 or not allowed[v]:
                continue
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
            if dist[v] == dist[u] + 1:
                cand = min(best[u], w)
                if cand > best[v] or (cand == best[v] and u < prev[v]):
                    best[v], prev[v] = cand, u
    cols = {"hop": [], "from_case": [], "to_case": [], "kind": [], "value": [], "weight": [], "link_weight": []}
    if dist[t] < 0 or s == t:
        return pa.table({k: pa.array(v, pa.int64() if k == "hop" else pa.float64() if "weight" in k
                                     else pa.string()) for k, v in cols.items()})
    path = [t]
    while path[-1] != s:
        path.append(int(prev[path[-1]]))
    path.reverse()
    lw = link_weights(links, params)
    lw = lw[lw["case_id"].isin([ids[p] for p in path])]
    for hop, (u, v) in enumerate(zip(path[:-1], path[1:]), start=1):
        ev = _pair_evidence(lw, ids[u], ids[v])
        total = float(sum(w for _, _, w in ev))
        for kind, value, w in ev:
            cols["hop"].append(hop)
            cols["from_case"].append(ids[u])
            cols["to_case"].append(ids[v])
            cols["kind"].append(kind)
            cols["value"].append(value)
            cols["weight"].append(w)
            cols["link_weight"].append(total)
    return pa.table({"hop": pa.array(cols["hop"], pa.int64()), "from_case": cols["from_case"],
                     "to_case": cols["to_case"], "kind": cols["kind"], "value": cols["value"],
                     "weight": pa.array(cols["weight"], pa.float64()),
                     "link_weight": pa.array(cols["link_weight"], pa.float64())})


@tabular
def cluster_bridges(data, clusters: pa.Table, *, min_size: int = 3) -> pa.Table:
    """Weak points of each cluster: case-to-case links whose loss splits the cluster.

    A bridge of the cluster's case graph (the cluster's cases, its internal edges): cut it
    and the cluster falls in two. ``split_off`` is the size of the smaller side — a bridge
    holding 1 case is a leaf, one holding half the cluster is where the evidence is thinnest.

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    min_size : int, default 3

    Returns
    -------
    pyarrow.Table
        ``cluster``, ``case_a``, ``case_b``, ``link_weight``, ``split_off``, sorted by
        cluster then ``split_off`` (largest first).
    """
    import networkx as nx

    g = cluster_case_graph(data, clusters)
    ids = g.node_ids.to_numpy(zero_copy_only=False)
    cl = clusters_frame(clusters).set_index("case_id")
    labels = cl["cluster"].reindex(ids).to_numpy()
    sizes = cl["cluster_size"].reindex(ids).to_numpy()
    src = g.sources()
    keep = (src < g.indices) & (labels[src] == labels[g.indices]) & (sizes[src] >= min_size) & (g.weights > 0)
    edges = pd.DataFrame({"u": src[keep], "v": g.indices[keep], "w": g.weights[keep], "c": labels[src[keep]]})
    rows = []
    for c, part in edges.groupby("c", sort=True):
        h = nx.Graph()
        h.add_weighted_edges_from(part[["u", "v", "w"]].itertuples(index=False, name=None))
        n = h.number_of_nodes()
        for u, v in nx.bridges(h):
            w = h[u][v]["weight"]
            h.remove_edge(u, v)
            side = len(nx.node_connected_component(h, u))
            h.add_edge(u, v, weight=w)
            a, b = sorted((ids[u], ids[v]))
            rows.append((int(c), a, b, float(w), int(min(side, n - side))))
    df = pd.DataFrame(rows, columns=["cluster", "case_a", "case_b", "link_weight", "split_off"])
    df = df.sort_values(["cluster", "split_off", "case_a", "case_b"], ascending=[True, False, True, True],
                        kind="mergesort")
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False,
                                schema=pa.schema([("cluster", pa.int64()), ("case_a", pa.string()),
                                                  ("case_b", pa.string()), ("link_weight", pa.float64()),
                                                  ("split_off", pa.int64())]))


@tabular
def cluster_network(data, clusters: pa.Table, cluster: int, *, max_nodes: int = 240,
                    links: pa.Table | None = None) -> tuple[pa.Table, pa.Table]:
    """What ties one cluster together, as a network to draw: its cases and the evidence they
    share (phones, accounts, parcel senders, addresses, vehicles, and the persons, ID numbers and
    phones of the persons in them), each evidence item linked to the cases that hold it.

    Only evidence held by at least two of the cluster's cases is drawn (the rest ties nothing);
    the strongest items are kept when there are more than ``max_nodes`` nodes in all.

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    cluster : int
        The cluster's id.
    max_nodes : int, default 240
    links : pyarrow.Table, optional
        :func:`case_links` of ``data`` (every person kind), when already computed.

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        ``nodes``: ``node_id``, ``type`` (``case``, an entity kind, or the person's role),
        ``label`` (case id; entity values masked as :func:`mask_value` does; record ids), and
        ``n_cases`` (cases of the cluster holding it). ``edges``: ``source`` (case), ``target``
        (evidence), ``weight`` (the evidence's pair weight in the case graph: rarer is stronger).
    """
    cl = clusters_frame(clusters)
    cases = cl.loc[cl["cluster"] == cluster, "case_id"]
    if cases.empty:
        raise ParameterError(f"cluster {cluster} is not in the clusters table")
    _, lw = _weighted_links(data, clusters, links, cases=set(cases))
    ev = lw[lw["weight"] > 0]
    ev = ev.assign(item=ev["kind"] + "\x1f" + ev["value"])
    held = ev.groupby("item")["case_id"].transform("nunique")
    ev = ev[held >= 2].assign(n_cases=held[held >= 2])
    items = (ev.drop_duplicates("item")[["item", "kind", "value", "weight", "n_cases"]]
             .assign(strength=lambda d: d["weight"] * d["n_cases"] * (d["n_cases"] - 1) / 2)
             .sort_values(["strength", "item"], ascending=[False, True], kind="mergesort"))
    items = items.head(max(0, max_nodes - len(cases)))
    ev = ev[ev["item"].isin(set(items["item"]))]
    roles = {}
    cp = get_table(data, "case_persons", required=False)
    if cp is not None:
        cpd = cp.select(["case_id", "record_id", "role"]).to_pandas()
        cpd = cpd[cpd["case_id"].isin(set(cases))]
        rank = {"supplier": 0, "wholesaler": 1, "seller": 2, "courier": 3, "buyer": 4, "user": 5}
        cpd = cpd.assign(r=cpd["role"].map(rank)).sort_values(["record_id", "r"], kind="mergesort")
        roles = dict(zip(cpd["record_id"], cpd["role"]))
    item_type = [roles.get(v, k) if k == "person" else k for k, v in zip(items["kind"], items["value"])]
    item_label = [v if k == "person" else mask_value(k, v) for k, v in zip(items["kind"], items["value"])]
    case_list = sorted(set(cases))
    nodes = pa.table({
        "node_id": pa.array(case_list + items["item"].tolist(), pa.string()),
        "type": pa.array(["case"] * len(case_list) + item_type, pa.string()),
        "label": pa.array(case_list + item_label, pa.string()),
        "n_cases": pa.array([1] * len(case_list) + items["n_cases"].astype(int).tolist(), pa.int64()),
    })
    edges = pa.table({"source": pa.array(ev["case_id"].tolist(), pa.string()),
                      "target": pa.array(ev["item"].tolist(), pa.string()),
                      "weight": pa.array(ev["weight"].astype(float).tolist(), pa.float64())})
    return nodes, edges
