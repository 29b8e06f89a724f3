"""Issue 28 (first part): the investigation graph and its queries equal networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinduanalytics import investigate as inv
from jinduanalytics.errors import ParameterError
from jinduanalytics.synthetic import generate


@pytest.fixture(scope="module")
def graph():
    ds = generate("county", seed=7)
    return ds, *inv.investigation_graph(ds)


def _nx(nodes, edges, weight=False):
    g = nx.Graph()
    g.add_nodes_from(nodes.column("node_id").to_pylist())
    for a, b, w in zip(edges.column("source").to_pylist(), edges.column("target").to_pylist(),
                       edges.column("weight").to_pylist()):
        c = 1.0 / (1.0 + w)
        if not g.has_edge(a, b) or g[a][b]["cost"] > c:
            g.add_edge(a, b, cost=c)
    return g


def test_graph_holds_every_table(graph):
    ds, nodes, edges = graph
    types = set(edges.column("type").to_pylist())
    assert types == {"role", "entity", "own_phone", "record", "contact", "transfer", "in_region", "flow"}
    ids = set(nodes.column("node_id").to_pylist())
    assert {f"case:{c}" for c in ds.cases.column("case_id").to_pylist()} <= ids
    assert {f"phone:{p}" for p in ds.contacts.column("phone_a").to_pylist()} <= ids
    tx = edges.filter(pa.compute.equal(edges.column("type"), "transfer"))
    assert tx.column("n").to_numpy().sum() == ds.transactions.num_rows
    assert abs(tx.column("weight").to_numpy().sum() - ds.transactions.column("amount").to_numpy().sum()) < 1e-3


def test_expand_equals_networkx_ego_graph(graph):
    _, nodes, edges = graph
    g = _nx(nodes, edges)
    seed = edges.column("source")[0].as_py()
    for hops in (1, 2, 3):
        got_n, got_e = inv.expand(nodes, edges, seed, hops=hops, max_nodes=10**6)
        want = nx.single_source_shortest_path_length(g, seed, cutoff=hops)
        assert dict(zip(got_n.column("node_id").to_pylist(), got_n.column("hop").to_pylist())) == want
        assert got_e.num_rows == sum(1 for a, b in zip(edges.column("source").to_pylist(),
                                                         edges.column("target").to_pylist()) if a in want and b in want)
    n, _ = inv.expand(nodes, edges, seed, hops=3, max_nodes=25)
    assert n.num_rows == 25 and n.column("truncated")[0].as_py() and n.column("hop").to_pylist() == sorted(
        n.column("hop").to_pylist())
    # every item says why it is there: the node it was reached from is one hop nearer
    hop = dict(zip(n.column("node_id").to_pylist(), n.column("hop").to_pylist()))
    for node, via in zip(n.column("node_id").to_pylist(), n.column("via").to_pylist()):
        assert (via is None) == (node == seed) and (via is None or hop[via] == hop[node] - 1)
    kinds = set(edges.column("type").to_pylist())
    assert all((t in kinds) == (v is not None) for t, v in zip(n.column("via_type").to_pylist(), n.column("via").to_pylist()))


def test_expand_filters_types_and_dates(graph):
    _, nodes, edges = graph
    seed = "case:" + generate("county", seed=7).cases.column("case_id")[0].as_py()
    n, e = inv.expand(nodes, edges, seed, hops=2, node_types=["case", "person"])
    assert set(n.column("type").to_pylist()) <= {"case", "person"}
    n, e = inv.expand(nodes, edges, seed, hops=2, start="2099-01-01")
    assert set(e.column("type").to_pylist()) <= {"own_phone", "record"}  # dated edges outside the window are gone
    with pytest.raises(ParameterError, match="not in the investigation graph"):
        inv.expand(nodes, edges, "case:nope")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.sampled_from([0.0, 1.0, 3.0, 9.0])),
                min_size=1, max_size=16))
def test_find_path_equals_networkx(raw):
    rows = [(f"phone:{a}", f"phone:{b}", w) for a, b, w in raw if a != b]
    if not rows:
        return
    edges = pa.table({"source": [r[0] for r in rows], "target": [r[1] for r in rows], "type": ["contact"] * len(rows),
                      "detail": [""] * len(rows), "weight": [r[2] for r in rows], "n": [1] * len(rows),
                      "first_date": pa.array([None] * len(rows), pa.date32()),
                      "last_date": pa.array([None] * len(rows), pa.date32()), "source_table": ["x"] * len(rows)})
    ids = sorted({r[0] for r in rows} | {r[1] for r in rows})
    nodes = pa.table({"node_id": ids, "type": ["phone"] * len(ids), "label": ids, "degree": [1] * len(ids)})
    g = _nx(nodes, edges)
    a, b = ids[0], ids[-1]
    short = inv.find_path(nodes, edges, a, b)
    strong = inv.find_path(nodes, edges, a, b, strongest=True)
    if nx.has_path(g, a, b):
        assert short.num_rows == nx.shortest_path_length(g, a, b)
        cost = sum(1.0 / (1.0 + w) for w in strong.column("weight").to_pylist())
        assert cost == pytest.approx(nx.dijkstra_path_length(g, a, b, weight="cost"))
        hops = list(zip(short.column("from_node").to_pylist(), short.column("to_node").to_pylist()))
        assert hops[0][0] == a and hops[-1][1] == b and all(x[1] == y[0] for x, y in zip(hops, hops[1:]))
    else:
        assert short.num_rows == 0 and strong.num_rows == 0


def test_resolved_persons_are_one_node():
    ds = generate("county", seed=7)
    rec = ds.person_records.column("record_id").to_pylist()
    persons = pa.table({"record_id": rec, "person_id": ["P" + str(i // 2) for i in range(len(rec))]})
    nodes, _ = inv.investigation_graph(ds, persons=persons)
    kinds = np.array(nodes.column("type").to_pylist())
    assert (kinds == "person").sum() <= (len(rec) + 1) // 2


def test_queries_do_not_trust_stale_row_numbers(graph):
    """A node table reordered (or filtered) after the graph was built: the row numbers no longer match
    and the queries look the ids up instead of answering wrongly."""
    _, nodes, edges = graph
    seed = edges.column("source")[0].as_py()
    shuffled = nodes.take(pa.array(np.random.default_rng(3).permutation(nodes.num_rows)))
    a, _ = inv.expand(nodes, edges, seed, hops=2, max_nodes=10**6)
    b, _ = inv.expand(shuffled, edges, seed, hops=2, max_nodes=10**6)
    assert dict(zip(a.column("node_id").to_pylist(), a.column("hop").to_pylist())) == \
        dict(zip(b.column("node_id").to_pylist(), b.column("hop").to_pylist()))


def test_most_connected_equals_networkx_degree(graph):
    _, nodes, edges = graph
    g = _nx(nodes, edges)
    got = inv.most_connected(nodes, edges, top=15, node_types=["phone", "account"]).to_pydict()
    want = sorted((-g.degree(n), n) for n in g if n.split(":")[0] in ("phone", "account") and g.degree(n) > 0)[:15]
    assert list(zip(got["neighbours"], got["node_id"])) == [(-d, n) for d, n in want]
    by_value = inv.most_connected(nodes, edges, by="value", edge_types=["transfer"], top=3).to_pydict()
    tx = edges.filter(pa.compute.equal(edges.column("type"), "transfer")).to_pandas()
    total = tx.groupby("source")["weight"].sum().add(tx.groupby("target")["weight"].sum(), fill_value=0)
    assert by_value["node_id"][0] == total.idxmax() and by_value["value"][0] == pytest.approx(total.max(), abs=0.01)


def _steiner_optimum(g: nx.Graph, terms: list) -> int:
    """Fewest edges of a tree joining terms (brute force over node sets, small graphs)."""
    from itertools import combinations

    others = [n for n in g if n not in terms]
    for extra in range(len(others) + 1):
        for add in combinations(others, extra):
            if nx.is_connected(g.subgraph(list(terms) + list(add))):
                return len(terms) + extra - 1
    raise AssertionError("not connected")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=3, max_size=18),
       st.sets(st.integers(0, 8), min_size=2, max_size=4))
def test_connecting_network_is_a_tree_within_twice_the_optimum(raw, picked):
    rows = [(f"phone:{a}", f"phone:{b}") for a, b in raw if a != b]
    ids = sorted({x for r in rows for x in r})
    terms = [f"phone:{i}" for i in sorted(picked) if f"phone:{i}" in ids]
    if len(rows) < 2 or len(terms) < 2:
        return
    edges = pa.table({"source": [r[0] for r in rows], "target": [r[1] for r in rows], "type": ["contact"] * len(rows),
                      "detail": [""] * len(rows), "weight": [1.0] * len(rows), "n": [1] * len(rows),
                      "first_date": pa.array([None] * len(rows), pa.date32()),
                      "last_date": pa.array([None] * len(rows), pa.date32()), "source_table": ["x"] * len(rows)})
    nodes = pa.table({"node_id": ids, "type": ["phone"] * len(ids), "label": ids, "degree": [1] * len(ids)})
    g = nx.Graph(rows)
    n, e = inv.connecting_network(nodes, edges, terms)
    tree = nx.Graph(list(zip(e.column("source").to_pylist(), e.column("target").to_pylist())))
    tree.add_nodes_from(n.column("node_id").to_pylist())
    assert nx.is_forest(tree) and set(terms) <= set(tree)
    for comp in nx.connected_components(g):  # items of one component are joined, within twice the optimum
        inside = [t for t in terms if t in comp]
        if len(inside) >= 2:
            assert nx.has_path(tree, inside[0], inside[-1]) if len(inside) == 2 else all(
                nx.has_path(tree, inside[0], t) for t in inside)
            sub = tree.subgraph(nx.node_connected_component(tree, inside[0]))
            assert sub.number_of_edges() <= 2 * _steiner_optimum(g.subgraph(comp), inside)
    leaves = [v for v in tree if tree.degree(v) == 1]
    assert set(leaves) <= set(terms)  # no intermediate left hanging


def test_region_pair_drill_down_lists_what_the_score_counts():
    from jinduanalytics import clusters as jc
    from jinduanalytics import linkage as jl
    from jinduanalytics.region_pairs import region_pair_evidence, region_pairs

    ds = generate("county", seed=7)
    _, persons = jl.resolve_persons(ds.person_records)
    cl = jc.cluster_cases(ds, seed=7)
    pairs = region_pairs(ds, persons=persons, clusters=cl).to_pandas().head(5)
    for r in pairs.itertuples():
        ev = region_pair_evidence(ds, r.region_b, r.region_a, persons=persons, clusters=cl).to_pandas()
        counts = ev["evidence"].value_counts()
        for kind in ("persons", "entities", "clusters", "trips"):
            assert counts.get(kind, 0) == getattr(r, kind), (r.region_a, r.region_b, kind)
        held = ev[ev["evidence"] != "trips"]
        assert all(len(a) and len(b) for a, b in zip(held["cases_a"], held["cases_b"]))  # cases on both sides
    with pytest.raises(ParameterError, match="two different regions"):
        region_pair_evidence(ds, "GD-ZJ", "GD-ZJ")
