import math

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics.errors import GraphInputError, ParameterError, SchemaError
from tests import strategies
from tests.reference import brute_force_projection


@given(ce=strategies.case_entity_tables(), rarity=st.sampled_from(["newman", "adamic_adar", "idf", "none"]),
       cap=st.one_of(st.none(), st.integers(2, 6)), kw=st.booleans())
def test_projection_matches_brute_force(ce, rarity, cap, kw):
    kind_weights = {"phone": 2.0, "address": 0.5} if kw else None
    g = ja.case_graph(ce, rarity=rarity, max_cases=cap, kind_weights=kind_weights)
    oracle = brute_force_projection(ce, rarity, cap, kind_weights)
    edges = g.edges().to_pydict()
    got = {(a, b): w for a, b, w in zip(edges["source"], edges["target"], edges["weight"])}
    # pairs that share only zero-weight entities are not edges
    expected = {k: v for k, v in oracle.items() if v > 0}
    got = {k: v for k, v in got.items() if v > 0}
    assert got.keys() == expected.keys()
    for k in expected:
        assert math.isclose(got[k], expected[k], rel_tol=1e-12, abs_tol=1e-12)
    # symmetric storage, exactly
    assert np.array_equal(g.sources(), np.repeat(np.arange(g.n_nodes), np.diff(g.indptr)))
    dense = np.zeros((g.n_nodes, g.n_nodes))
    dense[g.sources(), g.indices] = g.weights
    assert np.array_equal(dense, dense.T)
    assert np.all(np.diag(dense) == 0)


def test_projection_matches_scipy_product():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    n = 5000
    ce = pa.table({"case_id": pa.array((rng.integers(0, 800, n)).astype(str)),
                   "kind": pa.array(np.array(["phone", "account"])[rng.integers(0, 2, n)]),
                   "value": pa.array(rng.zipf(1.6, n).astype(str))})
    g = ja.case_graph(ce, max_cases=40)
    ew = ja.entity_weights(ce, max_cases=40)
    cases = g.node_ids.to_numpy(zero_copy_only=False)
    case_pos = {c: i for i, c in enumerate(cases)}
    ent_key = {(k, v): j for j, (k, v) in enumerate(zip(ew.column("kind").to_pylist(), ew.column("value").to_pylist()))}
    pairs = set(zip(ce.column("case_id").to_pylist(), ce.column("kind").to_pylist(), ce.column("value").to_pylist()))
    r = [case_pos[c] for c, _, _ in pairs]
    c = [ent_key[(k, v)] for _, k, v in pairs]
    B = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(cases), ew.num_rows))
    W = B @ sp.diags(ew.column("weight").to_numpy()) @ B.T
    W.setdiag(0)
    W.eliminate_zeros()
    W = W.tocsr()
    W.sort_indices()
    ours = sp.csr_matrix((g.weights, g.indices, g.indptr), shape=W.shape)
    assert abs(ours - W).max() < 1e-12
    assert ours.nnz == W.nnz


def test_hub_cap_ignores_big_entities():
    ce = pa.table({"case_id": [f"c{i}" for i in range(10)] + ["c0", "c1"],
                   "kind": ["address"] * 10 + ["phone", "phone"],
                   "value": ["hotel"] * 10 + ["burner", "burner"]})
    g = ja.case_graph(ce, max_cases=5)
    assert g.n_edges == 1 and g.edges().column("weight").to_pylist() == [1.0]
    g_all = ja.case_graph(ce, max_cases=None)
    assert g_all.n_edges == 45


def test_case_graph_keeps_isolated_cases_and_attributes(tables):
    g = ja.case_graph(tables["case_entities"], cases=tables["cases"])
    assert g.node_ids.to_pylist() == ["c1", "c2", "c3"]
    assert g.nodes.column("region_id").to_pylist() == ["GD-ZJ", "GD-ZJ", "GX-BH"]
    assert g.degree().tolist() == [1, 1, 0]


def test_case_graph_rejects_unknown_case(tables):
    ce = tables["case_entities"].set_column(0, "case_id", pa.array(["c1", "c2", "zz"]))
    with pytest.raises(GraphInputError, match=r"1 rows \(rows 2\) reference a case_id not in cases"):
        ja.case_graph(ce, cases=tables["cases"])


@pytest.mark.parametrize("kw, match", [
    (dict(rarity="rare"), "rarity must be one of"),
    (dict(max_cases=1), "max_cases must be >= 2"),
    (dict(kind_weights={"phone": -1}), r"kind_weights\['phone'\] must be a finite number >= 0"),
])
def test_case_graph_parameter_errors(tables, kw, match):
    with pytest.raises(ParameterError, match=match):
        ja.case_graph(tables["case_entities"], **kw)


def test_case_entity_graph(tables):
    g = ja.case_entity_graph(tables["case_entities"], cases=tables["cases"])
    assert g.n_nodes == 5 and g.n_edges == 3
    types = dict(zip(g.node_ids.to_pylist(), g.nodes.column("node_type").to_pylist()))
    assert types["phone:19900000009"] == "entity" and types["c1"] == "case"
    G = ja.to_networkx(g)
    assert nx.is_bipartite(G)


@given(edges=strategies.edge_tables(), directed=st.booleans())
def test_roundtrip_table_graph_networkx(edges, directed):
    g = ja.from_edges(edges, directed=directed)
    # oracle: networkx from the raw rows, duplicates summed
    G = nx.DiGraph() if directed else nx.Graph()
    for s, t, w in zip(*(edges.column(c).to_pylist() for c in ("source", "target", "weight"))):
        prev = G.get_edge_data(s, t, {"weight": 0.0})["weight"]
        G.add_edge(s, t, weight=prev + w)
    H = ja.to_networkx(g)
    assert set(H.nodes) == set(G.nodes)
    assert set(map(frozenset, H.edges)) == set(map(frozenset, G.edges)) if not directed else set(H.edges) == set(G.edges)
    for u, v, d in G.edges(data=True):
        assert math.isclose(H[u][v]["weight"], d["weight"], rel_tol=1e-12, abs_tol=1e-12)
    g2 = ja.from_networkx(H)
    assert g2.node_ids.to_pylist() == g.node_ids.to_pylist()
    assert np.array_equal(g2.indptr, g.indptr) and np.array_equal(g2.indices, g.indices)
    assert np.allclose(g2.weights, g.weights, rtol=1e-12, atol=1e-12)
    assert g.n_edges == H.number_of_edges()
    assert math.isclose(g.total_weight(), H.size(weight="weight"), rel_tol=1e-9, abs_tol=1e-9)
    strength = dict(H.degree(weight="weight")) if not directed else dict(H.out_degree(weight="weight"))
    if not directed:
        assert np.allclose(g.strength(), [strength[n] for n in g.node_ids.to_pylist()])


@given(edges=strategies.edge_tables())
def test_graph_independent_of_row_order(edges):
    perm = np.random.default_rng(0).permutation(edges.num_rows)
    g1 = ja.from_edges(edges)
    g2 = ja.from_edges(edges.take(pa.array(perm, pa.int64())))
    assert g1.digest() == g2.digest() or np.allclose(g1.weights, g2.weights)
    assert np.array_equal(g1.indices, g2.indices)


def test_to_igraph_matches(tables):
    g = ja.case_graph(tables["case_entities"], cases=tables["cases"])
    G = ja.to_igraph(g)
    assert G.vcount() == 3 and G.ecount() == 1 and G.vs["name"] == ["c1", "c2", "c3"]
    assert G.es["weight"] == [1.0]


def test_edge_table_errors():
    with pytest.raises(GraphInputError, match="missing column 'target'"):
        ja.from_edges(pa.table({"source": [1], "dst": [2]}))
    with pytest.raises(GraphInputError, match=r"column 'source' has 1 rows \(rows 1\) with null node keys"):
        ja.from_edges(pa.table({"source": ["a", None], "target": ["b", "c"]}))
    with pytest.raises(GraphInputError, match=r"column 'weight' has 2 rows \(rows 0, 1\) that are null, NaN"):
        ja.from_edges(pa.table({"source": ["a", "b"], "target": ["b", "c"], "weight": [float("nan"), -1.0]}))
    with pytest.raises(GraphInputError, match="must have one type"):
        ja.from_edges(pa.table({"source": ["a"], "target": [1]}))
    with pytest.raises(SchemaError, match="expected a pyarrow.Table"):
        ja.as_graph([1, 2])
    with pytest.raises(GraphInputError, match="not in the node list"):
        ja.from_edges(pa.table({"source": ["a"], "target": ["b"]}), nodes=pa.array(["a"]))


def test_csrgraph_checks_arrays():
    with pytest.raises(GraphInputError, match="indices must lie in"):
        ja.CSRGraph(np.array([0, 1], np.int64), np.array([5], np.int64), np.array([1.0]), pa.table({"node_id": ["a"]}))
    with pytest.raises(GraphInputError, match="weights must be a 1-d numpy float64"):
        ja.CSRGraph(np.array([0, 1], np.int64), np.array([0], np.int64), np.array([1], np.int32), pa.table({"node_id": ["a"]}))


def test_person_graph_co_offending_and_contacts(tables):
    g = ja.person_graph(tables["case_persons"], person_records=tables["person_records"], contacts=tables["contacts"])
    assert g.node_ids.to_pylist() == ["r1", "r2", "r3", "r4"]
    e = {(a, b): w for a, b, w in zip(*g.edges().to_pydict().values())}
    # r1-r2 share case c1 (1) and phones 01-02 were in contact (1); r4 also holds phone 01 -> r4-r2 contact
    assert e == {("r1", "r2"): 2.0, ("r2", "r4"): 1.0}
    persons = pa.table({"record_id": ["r1", "r4"], "person_id": ["P1", "P1"]})
    g2 = ja.person_graph(tables["case_persons"], person_records=tables["person_records"],
                         contacts=tables["contacts"], persons=persons)
    assert g2.node_ids.to_pylist() == ["P1", "r2", "r3"]
    e2 = {(a, b): w for a, b, w in zip(*g2.edges().to_pydict().values())}
    assert e2 == {("P1", "r2"): 2.0}
    with pytest.raises(ParameterError, match="contacts need person_records"):
        ja.person_graph(tables["case_persons"], contacts=tables["contacts"])


def test_person_graph_matches_networkx_projection():
    rng = np.random.default_rng(5)
    cp = pa.table({"case_id": pa.array(rng.integers(0, 60, 300).astype(str)),
                   "record_id": pa.array(rng.integers(0, 120, 300).astype(str))})
    g = ja.person_graph(cp)
    B = nx.Graph()
    recs = set(cp.column("record_id").to_pylist())
    B.add_nodes_from(("r", x) for x in recs)
    B.add_edges_from((("r", r), ("c", c)) for c, r in zip(cp.column("case_id").to_pylist(), cp.column("record_id").to_pylist()))
    P = nx.bipartite.weighted_projected_graph(B, [("r", x) for x in recs])
    edges = {(a, b): w for a, b, w in zip(*g.edges().to_pydict().values())}
    assert len(edges) == P.number_of_edges()
    for (u, v, d) in P.edges(data=True):
        key = tuple(sorted((u[1], v[1])))
        assert edges[key] == d["weight"]


def test_region_flow_graph(tables):
    g = ja.region_flow_graph(tables["flows"], regions=tables["regions"])
    assert g.directed and g.n_nodes == 3 and g.n_edges == 1
    assert g.edges().to_pydict() == {"source": ["GX-BH"], "target": ["GD-ZJ"], "weight": [100.0]}
    assert g.nodes.column("province").to_pylist() == ["广东", "广东", "广西"]
    gc = ja.region_flow_graph(tables["flows"], weight="count", modes=["sea"])
    assert gc.n_edges == 0


def test_exports(tmp_path, tables):
    g = ja.case_graph(tables["case_entities"], cases=tables["cases"])
    ja.write_graphml(g, tmp_path / "g.graphml")
    ja.write_gexf(g, tmp_path / "g.gexf")
    G = nx.read_graphml(tmp_path / "g.graphml")
    assert set(G.nodes) == {"c1", "c2", "c3"} and G.number_of_edges() == 1
    assert nx.read_gexf(tmp_path / "g.gexf").number_of_nodes() == 3


# ----------------------------------------------------------------------------- factorising strings

_text = st.text(alphabet=st.sampled_from(list("ab\x00é案C09")), max_size=6)


@given(values=st.lists(_text, max_size=40))
def test_sorted_unique_matches_python(values):
    from jinduanalytics.graph.build import _sorted_unique

    for arr in (pa.array(values, pa.string()), pa.array(sorted(values, key=lambda s: s.encode()), pa.string())):
        uniques, codes = _sorted_unique(arr)
        # sorted by bytes (Arrow's order), each element's code points at its own value
        expected = sorted(set(arr.to_pylist()), key=lambda s: s.encode())
        assert uniques.to_pylist() == expected
        assert [expected[c] for c in codes] == arr.to_pylist()


@given(pairs=st.lists(st.tuples(_text, _text), max_size=40), order=st.sampled_from(["sorted", "hash"]))
def test_entity_codes_match_python(pairs, order):
    from jinduanalytics.graph.build import _entity_codes

    kind = pa.array([k for k, _ in pairs], pa.string())
    value = pa.array([v for _, v in pairs], pa.string())
    ek, ev, codes = _entity_codes(kind, value, order)
    ents = list(zip(ek.to_pylist(), ev.to_pylist()))
    assert len(set(ents)) == len(ents) == len(set(pairs))  # one code per distinct pair ...
    assert [ents[c] for c in codes] == pairs  # ... and every row maps to its own pair
    if order == "sorted":
        assert ents == sorted(ents, key=lambda e: (e[0].encode(), e[1].encode()))
    # the order does not depend on the order of the rows
    perm = np.random.default_rng(len(pairs)).permutation(len(pairs))
    ek2, ev2, _ = _entity_codes(kind.take(pa.array(perm, pa.int64())), value.take(pa.array(perm, pa.int64())), order)
    assert list(zip(ek2.to_pylist(), ev2.to_pylist())) == ents


def test_pair_hash_separates_split_points():
    from jinduanalytics.graph.build import _entity_codes

    _, _, codes = _entity_codes(pa.array(["ab", "a"]), pa.array(["c", "bc"]), "hash")
    assert codes[0] != codes[1]


@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40)), max_size=80))
def test_coo_pattern_matches_set(rows):
    from jinduanalytics._kernels.csr import coo_pattern

    r = np.array([a for a, _ in rows], dtype=np.int64)
    c = np.array([b for _, b in rows], dtype=np.int32)
    indptr, indices = coo_pattern(7, r, c)
    assert indices.dtype == np.int32
    for i in range(7):
        assert indices[indptr[i]:indptr[i + 1]].tolist() == sorted({b for a, b in rows if a == i})


@given(ce=strategies.case_entity_tables())
def test_case_graph_independent_of_row_order(ce):
    """Stored (sorted by case) and shuffled rows take different factorising paths: same graph, bit for bit."""
    by_case = ce.sort_by([("case_id", "ascending")])
    shuffled = ce.take(pa.array(np.random.default_rng(1).permutation(ce.num_rows), pa.int64()))
    g1, g2 = ja.case_graph(by_case), ja.case_graph(shuffled)
    assert g1.node_ids.equals(g2.node_ids)
    assert np.array_equal(g1.indptr, g2.indptr) and np.array_equal(g1.indices, g2.indices)
    assert np.array_equal(g1.weights, g2.weights)
