import functools
import math
import random
import sys

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics.errors import GraphInputError, ParameterError
from jinduanalytics.metrics import ari, nmi
from tests import strategies
from tests.reference import reference_local_moving

ig = pytest.importorskip("igraph")


def labels_of(t: pa.Table) -> np.ndarray:
    return t.column("community").to_numpy()


def nx_partition(g, labels):
    ids = g.node_ids.to_pylist()
    return [{ids[i] for i in np.flatnonzero(labels == c)} for c in np.unique(labels)]


def all_connected(g, labels) -> bool:
    G = ja.to_networkx(g)
    ids = g.node_ids.to_pylist()
    for c in np.unique(labels):
        nodes = [ids[i] for i in np.flatnonzero(labels == c)]
        if not nx.is_connected(G.subgraph(nodes)):
            return False
    return True


@given(edges=strategies.edge_tables(max_nodes=25, max_edges=80), k=st.integers(1, 6),
       resolution=st.sampled_from([0.5, 1.0, 2.0]), seed=st.integers(0, 1000))
def test_modularity_equals_networkx_and_igraph(edges, k, resolution, seed):
    g = ja.from_edges(edges)
    labels = np.random.default_rng(seed).integers(0, k, g.n_nodes)
    ours = ja.modularity(g, labels, resolution=resolution)
    G = ja.to_networkx(g)
    if (2 * G.size(weight="weight")) ** 2 > 0:  # the oracles divide by it (subnormal weights underflow)
        assert math.isclose(ours, nx.community.modularity(G, nx_partition(g, labels), resolution=resolution),
                            abs_tol=1e-9)
        H = ja.to_igraph(g)
        assert math.isclose(ours, H.modularity(labels.tolist(), weights="weight", resolution=resolution),
                            abs_tol=1e-9)
    elif G.size(weight="weight") > 0:
        assert math.isfinite(ours)
    else:
        assert ours == 0.0


@given(edges=strategies.edge_tables(max_nodes=25, max_edges=80), seed=st.integers(0, 10**6))
def test_leiden_invariants(edges, seed):
    g = ja.from_edges(edges)
    part = ja.leiden(g, seed=seed)
    labels = labels_of(part)
    assert part.num_rows == g.n_nodes
    assert part.column("node_id").to_pylist() == g.node_ids.to_pylist()
    assert all_connected(g, labels)                                   # Leiden guarantee
    sizes = np.bincount(labels)
    assert np.all(sizes[:-1] >= sizes[1:])                            # 0 = largest
    assert ja.leiden(g, seed=seed).equals(part)                       # determinism
    perm = np.random.default_rng(seed).permutation(edges.num_rows)
    assert ja.leiden(edges.take(pa.array(perm, pa.int64())), seed=seed).equals(part)  # row order
    # never worse than every node alone, and at least as good as one of Louvain's levels
    singletons = ja.modularity(g, np.arange(g.n_nodes))
    assert ja.modularity(g, part) >= singletons - 1e-12


@settings(max_examples=25)
@given(edges=strategies.edge_tables(max_nodes=40, max_edges=120, allow_self_loops=False),
       seed=st.integers(0, 1000), resolution=st.sampled_from([0.05, 0.2, 1.0]))
def test_cpm_quality_equals_leidenalg(edges, seed, resolution):
    la = pytest.importorskip("leidenalg")
    g = ja.from_edges(edges)
    part = ja.leiden(g, objective="cpm", resolution=resolution, seed=seed)
    H = ja.to_igraph(g)
    ref = la.CPMVertexPartition(H, initial_membership=labels_of(part).tolist(), weights="weight",
                                resolution_parameter=resolution)
    # leidenalg reports 2 x H for undirected graphs
    assert math.isclose(2 * ja.cpm_quality(g, part, resolution=resolution), ref.quality(), abs_tol=1e-9)
    best = la.find_partition(H, la.CPMVertexPartition, weights="weight", resolution_parameter=resolution, seed=seed)
    # on small graphs we reach leidenalg's quality (within a small tolerance)
    assert 2 * ja.cpm_quality(g, part, resolution=resolution) >= best.quality() - 0.05 * max(1.0, abs(best.quality()))


BLONDEL_EDGES = [(0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (1, 4), (1, 7), (2, 4), (2, 5), (2, 6), (3, 7), (4, 10),
                 (5, 7), (5, 11), (6, 7), (6, 11), (8, 9), (8, 10), (8, 11), (8, 14), (8, 15), (9, 12), (9, 14),
                 (10, 11), (10, 12), (10, 13), (10, 14), (11, 13)]


def test_blondel_2008_figure_1():
    """The 16-node example of Blondel et al. (2008), Fig. 1. Its final partition (0-7 | 8-15) is the
    proven modularity optimum (igraph's exact solver). Louvain/Leiden are heuristics: most seeds reach
    it, the best seed does, and every result is a local optimum (no single node can improve it)."""
    e = pa.table({"source": [a for a, _ in BLONDEL_EDGES], "target": [b for _, b in BLONDEL_EDGES]})
    g = ja.from_edges(e)
    optimum = ja.to_igraph(g).community_optimal_modularity()
    assert ari(optimum.membership, [0] * 8 + [1] * 8) == 1.0
    for fn in (ja.louvain, ja.leiden):
        results = [labels_of(fn(e, seed=seed)) for seed in range(20)]
        hits = [ari(lab, [0] * 8 + [1] * 8) == 1.0 for lab in results]
        assert np.mean(hits) >= 0.8
        for lab in results:
            q = ja.modularity(g, lab)
            for v in range(16):
                for c in set(lab.tolist()) | {lab.max() + 1}:
                    moved = lab.copy()
                    moved[v] = c
                    assert ja.modularity(g, moved) <= q + 1e-12
    levels = ja.louvain_levels(e, seed=0)
    first = levels.filter(pa.compute.equal(levels.column("level"), 0))
    assert len(set(first.column("community").to_pylist())) >= 2
    assert max(levels.column("level").to_pylist()) >= 1


def test_known_optimum_on_karate():
    G = nx.karate_club_graph()
    for u, v in G.edges:
        G[u][v]["weight"] = 1.0
    g = ja.from_networkx(G)
    best = max(ja.modularity(g, ja.leiden(g, seed=s)) for s in range(5))
    assert math.isclose(best, 0.4197896120973044, abs_tol=1e-9)   # the proven optimum (Brandes et al.)


def test_defined_results_on_edge_cases():
    # isolates and a self-loop-only node are their own communities; no edges -> singletons
    e = pa.table({"source": ["a", "b", "c", "z"], "target": ["b", "c", "a", "z"], "weight": [1.0, 1.0, 1.0, 2.0]})
    g = ja.from_edges(e, nodes=pa.array(["a", "b", "c", "i", "z"]))
    for fn in (ja.leiden, ja.louvain, ja.label_propagation):
        lab = labels_of(fn(g, seed=0))
        assert lab[0] == lab[1] == lab[2] and len({lab[0], lab[3], lab[4]}) == 3, fn.__name__
    empty = ja.from_edges(pa.table({"source": pa.array([], pa.string()), "target": pa.array([], pa.string())}),
                          nodes=pa.array(["x", "y"]))
    assert labels_of(ja.leiden(empty, seed=0)).tolist() == [0, 1]
    assert ja.modularity(empty, [0, 0]) == 0.0
    zero = ja.from_edges(pa.table({"source": ["a"], "target": ["b"], "weight": [0.0]}))
    assert labels_of(ja.leiden(zero, seed=0)).tolist() == [0, 1]
    assert labels_of(ja.connected_components(zero)).tolist() == [0, 0]   # zero weight still connects
    nothing = ja.from_edges(pa.table({"source": pa.array([], pa.int64()), "target": pa.array([], pa.int64())}))
    assert ja.leiden(nothing, seed=0).num_rows == 0


def test_two_disconnected_cliques_and_components():
    rows = [(a, b) for a in range(5) for b in range(a + 1, 5)] + [(a, b) for a in range(5, 9) for b in range(a + 1, 9)]
    e = pa.table({"source": [a for a, _ in rows], "target": [b for _, b in rows]})
    for fn in (ja.leiden, ja.louvain, ja.label_propagation, lambda x, seed: ja.connected_components(x)):
        assert labels_of(fn(e, seed=0)).tolist() == [0] * 5 + [1] * 4


@given(edges=strategies.edge_tables(max_nodes=30, max_edges=40), directed=st.booleans())
def test_components_match_networkx(edges, directed):
    g = ja.from_edges(edges, directed=directed)
    lab = labels_of(ja.connected_components(g))
    G = ja.to_networkx(g)
    comps = list(nx.weakly_connected_components(G) if directed else nx.connected_components(G))
    assert len(np.unique(lab)) == len(comps)
    ids = g.node_ids.to_pylist()
    pos = {n: i for i, n in enumerate(ids)}
    for comp in comps:
        assert len({lab[pos[n]] for n in comp}) == 1


@given(edges=strategies.edge_tables(max_nodes=30, max_edges=40), groups=st.integers(1, 4), seed=st.integers(0, 99))
def test_components_within_groups_match_networkx(edges, groups, seed):
    """The union-find kernel, restricted to groups: pieces = components of each group's induced
    subgraph, numbered in order of their smallest node."""
    from jinduanalytics._kernels.components import components_within

    g = ja.from_edges(edges)
    n = g.n_nodes
    labels = np.random.default_rng(seed).integers(0, groups, n)
    out = components_within(g.indptr, g.indices, labels)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    src = np.repeat(np.arange(n), np.diff(g.indptr))
    G.add_edges_from((int(a), int(b)) for a, b in zip(src, g.indices) if labels[a] == labels[b])
    comps = sorted((sorted(c) for c in nx.connected_components(G)), key=lambda c: c[0])
    expected = np.empty(n, dtype=np.int64)
    for i, comp in enumerate(comps):
        expected[comp] = i
    assert out.tolist() == expected.tolist()


def test_lfr_nmi_at_least_igraph():
    for mu in (0.1, 0.3, 0.5):
        G = nx.LFR_benchmark_graph(1000, 3, 1.5, mu, average_degree=12, max_degree=50, min_community=20,
                                   max_community=100, seed=42)
        truth = {}
        for v in G:
            truth.setdefault(v, min(G.nodes[v]["community"]))
        G = nx.Graph(G)
        G.remove_edges_from(nx.selfloop_edges(G))
        g = ja.from_networkx(G)
        t = np.array([truth[v] for v in g.node_ids.to_pylist()])
        ours = np.mean([nmi(labels_of(ja.leiden(g, seed=s)), t) for s in range(3)])
        H = ja.to_igraph(g)
        random.seed(mu)  # igraph draws from Python's random module
        theirs = np.mean([nmi(H.community_leiden(objective_function="modularity", n_iterations=2).membership, t)
                          for _ in range(3)])
        assert ours >= theirs - 0.01, (mu, ours, theirs)


def test_planted_partition_modularity_at_least_igraph():
    rng = np.random.default_rng(1)
    n, k, deg = 20_000, 200, 12
    comm = rng.integers(0, k, n)
    m = n * deg // 2
    src = rng.integers(0, n, m)
    intra = rng.random(m) < 0.7
    members = [np.flatnonzero(comm == c) for c in range(k)]
    dst = np.where(intra, 0, rng.integers(0, n, m))
    same = np.array([members[comm[s]][rng.integers(0, len(members[comm[s]]))] for s in src[intra]])
    dst[intra] = same
    keep = src != dst
    e = pa.table({"source": src[keep], "target": dst[keep]})
    g = ja.from_edges(e)
    q_ours = ja.modularity(g, ja.leiden(g, seed=3))
    H = ja.to_igraph(g)
    random.seed(0)
    q_ig = H.modularity(H.community_leiden(objective_function="modularity", n_iterations=2).membership)
    assert q_ours >= q_ig - 0.002, (q_ours, q_ig)
    assert nmi(labels_of(ja.leiden(g, seed=3)), comm) > 0.9


def test_consensus_scores_stability():
    G = nx.planted_partition_graph(6, 20, 0.5, 0.02, seed=2)
    g = ja.from_networkx(G)
    c = ja.consensus(g, n_runs=6, seed=4)
    assert c.column_names == ["node_id", "community", "agreement", "community_agreement"]
    agr = c.column("agreement").to_numpy()
    assert np.all((agr >= 0) & (agr <= 1)) and agr.mean() > 0.9
    # a structureless graph is unstable
    R = nx.gnp_random_graph(120, 0.05, seed=3)
    r = ja.consensus(ja.from_networkx(R), n_runs=6, seed=4)
    assert r.column("agreement").to_numpy().mean() < agr.mean() - 0.2
    assert ja.provenance(c)["params"]["n_runs"] == 6


def test_nmi_ari_against_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 5, 200), rng.integers(0, 7, 200)
        assert math.isclose(nmi(a, b), sk.normalized_mutual_info_score(a, b), abs_tol=1e-12)
        assert math.isclose(ari(a, b), sk.adjusted_rand_score(a, b), abs_tol=1e-12)
    assert nmi([0, 0, 1], [5, 5, 2]) == 1.0 and ari([0, 0, 1], [5, 5, 2]) == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda e: ja.leiden(e, resolution=0), "resolution must be a finite number > 0"),
    (lambda e: ja.leiden(e, objective="modularty"), "objective must be one of 'modularity', 'cpm'; got 'modularty'"),
    (lambda e: ja.leiden(e, n_iterations=0), "n_iterations must be >= 1, or -1"),
    (lambda e: ja.leiden(e, max_levels=0), "max_levels must be >= 1"),
    (lambda e: ja.leiden(e, seed=-1), "seed must be a non-negative int"),
    (lambda e: ja.consensus(e, n_runs=1), "n_runs must be >= 2"),
    (lambda e: ja.label_propagation(e, max_sweeps=0), "max_sweeps must be >= 1"),
    (lambda e: ja.modularity(e, [0, 1]), "one label per node"),
    (lambda e: ja.provenance(pa.table({"a": [1]})), "carries no jinduanalytics provenance"),
])
def test_parameter_errors(call, match):
    e = pa.table({"source": ["a", "b"], "target": ["b", "c"]})
    with pytest.raises(ParameterError, match=match):
        call(e)


def test_directed_graph_rejected():
    g = ja.from_edges(pa.table({"source": ["a"], "target": ["b"]}), directed=True)
    with pytest.raises(GraphInputError, match="leiden needs an undirected graph"):
        ja.leiden(g)


def test_initial_partition_and_levels():
    G = nx.planted_partition_graph(4, 15, 0.6, 0.02, seed=1)
    g = ja.from_networkx(G)
    first = ja.leiden(g, seed=1)
    again = ja.leiden(g, seed=2, initial=first)
    assert ja.modularity(g, again) >= ja.modularity(g, first) - 1e-12
    lv = ja.leiden_levels(g, seed=1)
    assert set(lv.column_names) == {"node_id", "level", "community"}
    assert lv.num_rows % g.n_nodes == 0


@given(labels=st.lists(st.integers(-5, 10**9), min_size=0, max_size=60))
def test_sort_by_size_contract(labels):
    from jinduanalytics.community._common import sort_by_size

    lab = np.array(labels, dtype=np.int64)
    out = sort_by_size(lab)
    assert ari(out, lab) == 1.0 if lab.size > 1 else True          # same partition
    sizes = np.bincount(out) if out.size else np.array([])
    assert np.all(sizes[:-1] >= sizes[1:])                           # 0 = largest
    for c in range(len(sizes) - 1):                                  # ties -> smallest node first
        if sizes[c] == sizes[c + 1]:
            assert np.flatnonzero(out == c)[0] < np.flatnonzero(out == c + 1)[0]


@pytest.mark.slow  # compiles every kernel cold in a fresh interpreter (~50 s)
def test_numba_cache_is_written_and_reused(tmp_path):
    """A second process loads kernels from the on-disk cache instead of compiling them."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DEBUG_CACHE": "1"}
    code = "import jinduanalytics as ja; ja.warmup()"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "data saved to" in first.stdout + first.stderr
    assert any(tmp_path.rglob("*.nbi"))
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    log = second.stdout + second.stderr
    assert "data loaded from" in log and "data saved to" not in log


# ----------------------------------------------------------------------------- parallel kernels


@given(edges=strategies.edge_tables(max_nodes=40, max_edges=160), seed=st.integers(0, 2**16))
def test_parallel_kernels_do_not_depend_on_batches_or_chunks(edges, seed):
    """Batched local moving (batch=1, one chunk, is the plain serial algorithm), per-community refinement
    and two-pass aggregation give the same arrays, bit for bit, for any batch size and chunk count."""
    from jinduanalytics._kernels import leiden as K
    from jinduanalytics.community._common import kernel_weights

    g = ja.from_edges(edges)
    w = kernel_weights(g)
    nw = np.bincount(g.sources(), weights=w, minlength=g.n_nodes)
    if g.n_nodes == 0 or nw.sum() == 0:
        return
    gamma = 1.0 / nw.sum()
    order = np.random.default_rng(seed).permutation(g.n_nodes).astype(np.int64)
    runs = []
    for batch, chunks in ((1, 1), (3, 2), (4096, 3)):
        labels = np.arange(g.n_nodes, dtype=np.int64)
        moves = K.local_moving(g.indptr, g.indices, w, nw, order, labels, gamma, batch, chunks)
        P, k = K.renumber(labels)
        R = K.refine(g.indptr, g.indices, w, nw, order, P, k, gamma, chunks)
        Rd, kr = K.renumber(R)
        agg = K.aggregate(g.indptr, g.indices, w, Rd, kr, chunks)
        runs.append((moves, labels, R, agg))
    for moves, labels, R, agg in runs[1:]:
        assert moves == runs[0][0]
        assert np.array_equal(labels, runs[0][1]) and np.array_equal(R, runs[0][2])
        for a, b in zip(agg, runs[0][3]):
            assert np.array_equal(a, b)
    # aggregation is S^T A S
    S = np.zeros((g.n_nodes, kr))
    S[np.arange(g.n_nodes), Rd] = 1.0
    A = np.zeros((g.n_nodes, g.n_nodes))
    A[g.sources(), g.indices] = w
    ip, ix, iw = runs[0][3]
    B = np.zeros((kr, kr))
    B[np.repeat(np.arange(kr), np.diff(ip)), ix] = iw
    assert np.allclose(B, S.T @ A @ S)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), gamma_exp=st.integers(2, 8), batch=st.sampled_from([1, 2, 5, 4096]),
       chunks=st.integers(1, 3))
def test_local_moving_equals_python_reference(data, n, gamma_exp, batch, chunks):
    """Batched, pipelined local moving (gathers ahead of the serial walk, re-gathered when stale)
    equals the plain serial sweep. Integer weights and gamma = 2^-k keep every sum and product
    exact, so ties are real ties and must break the same way."""
    from jinduanalytics._kernels import leiden as K

    m = data.draw(st.integers(0, 4 * n))
    src = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    dst = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    w = np.array(data.draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)), dtype=np.float64)
    g = ja.from_edges(pa.table({"source": src, "target": dst, "weight": w}), nodes=pa.array(np.arange(n)),
                      directed=False)
    gw = g.weights.copy()
    gw[g.sources() == g.indices] *= 2  # self-loops twice, as the kernels expect
    node_w = np.bincount(g.sources(), weights=gw, minlength=n)
    start = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)), dtype=np.int64)
    order = np.array(data.draw(st.permutations(list(range(n)))), dtype=np.int64)
    gamma = 2.0 ** -gamma_exp
    want_moves, want = reference_local_moving(g.indptr.tolist(), g.indices.tolist(), gw.tolist(), node_w.tolist(),
                                              order.tolist(), start, gamma)
    labels = start.copy()
    moves = K.local_moving(g.indptr, g.indices, gw, node_w, order, labels, gamma, batch, chunks)
    assert moves == want_moves
    assert np.array_equal(labels, want)


def test_pipelined_local_moving_on_a_big_graph_equals_python_reference():
    """Large enough that batches are big and the two threads really overlap (gathers racing the
    serial walk): several runs, two batch sizes, all equal to the serial sweep in plain Python."""
    from jinduanalytics._kernels import leiden as K

    rng = np.random.default_rng(3)
    n = 20_000
    comm = rng.integers(0, n // 50, n)
    src = rng.integers(0, n, 6 * n)
    members = np.argsort(comm, kind="stable")
    start = np.searchsorted(comm[members], comm[src])
    size = np.bincount(comm)[comm[src]]
    dst = np.where(rng.random(src.size) < 0.3, rng.integers(0, n, src.size),
                   members[start + (rng.random(src.size) * size).astype(np.int64)])
    g = ja.from_edges(pa.table({"source": src, "target": dst}), nodes=pa.array(np.arange(n)))
    gw = g.weights.copy()
    gw[g.sources() == g.indices] *= 2
    node_w = np.bincount(g.sources(), weights=gw, minlength=n)
    order = sys.modules["jinduanalytics.community.multilevel"]._sweep_order(n, rng)
    gamma = 2.0 ** -18
    init = np.arange(n, dtype=np.int64)
    want_moves, want = reference_local_moving(g.indptr.tolist(), g.indices.tolist(), gw.tolist(), node_w.tolist(),
                                              order.tolist(), init, gamma)
    for batch in (4096, 4096, 4096, 300):
        labels = init.copy()
        assert K.local_moving(g.indptr, g.indices, gw, node_w, order, labels, gamma, batch, 2) == want_moves
        assert np.array_equal(labels, want)


@given(n=st.integers(1, 400), m=st.integers(0, 1500), k=st.integers(1, 400), seed=st.integers(0, 2**16),
       chunks=st.integers(1, 5))
def test_aggregate_equals_sparse_product(n, m, k, seed, chunks):
    """Aggregation = S^T A S (scipy); within a row, neighbours in order of first appearance over
    the members' rows in node order; float32 and uint16 storage of integer weights give the same numbers."""
    import scipy.sparse as sp

    from jinduanalytics._kernels import leiden as K

    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    A = sp.coo_matrix((rng.integers(1, 5, m).astype(np.float64), (src, dst)), shape=(n, n)).tocsr()
    A = (A + A.T).tocsr()
    A.sort_indices()
    k = min(k, n)
    labels, k = K.renumber(rng.integers(0, k, n))
    ip, ix, iw = K.aggregate(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, labels, k, chunks)
    S = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, k))
    B = (S.T @ A @ S).tocsr()
    B.eliminate_zeros()
    assert ip.tolist() == B.indptr.tolist()
    for r in range(k):
        first = []
        for v in np.flatnonzero(labels == r):
            for u in A.indices[A.indptr[v]:A.indptr[v + 1]]:
                if labels[u] not in first:
                    first.append(labels[u])
        assert ix[ip[r]:ip[r + 1]].tolist() == first
        assert iw[ip[r]:ip[r + 1]].tolist() == B[r, first].toarray().ravel().tolist()  # integer sums: exact
    for dtype in (np.float32, np.uint16):
        ip_n, ix_n, iw_n = K.aggregate(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, labels, k,
                                       chunks, dtype)
        assert iw_n.dtype == dtype and np.array_equal(ip_n, ip) and np.array_equal(ix_n, ix)
        assert np.array_equal(iw_n.astype(np.float64), iw)


@given(edges=strategies.edge_tables(max_nodes=60, max_edges=200), seed=st.integers(0, 2**16))
def test_narrow_weights_do_not_change_results(edges, seed):
    """Integer weights on a large graph are stored as float32 at every level; the same weights
    halved (not integers: float64 storage) scale every gain by exactly 1/2, so the partitions
    must be equal. The storage rule is forced on for these small graphs."""
    from unittest import mock

    L = sys.modules["jinduanalytics.community.multilevel"]
    w = np.rint(edges.column("weight").to_numpy(zero_copy_only=False) * 3) + 1
    ints = edges.set_column(edges.schema.get_field_index("weight"), "weight", pa.array(w))
    halves = edges.set_column(edges.schema.get_field_index("weight"), "weight", pa.array(w / 2))
    want = labels_of(ja.leiden(halves, seed=seed)).tolist()
    assert labels_of(ja.leiden(ints, seed=seed)).tolist() == want
    with mock.patch.object(L, "_NARROW_FROM", 0):
        assert L._weight_dtype(True, np.array([2.0 * 200 * 31])) is np.float32
        assert labels_of(ja.leiden(ints, seed=seed)).tolist() == want
        assert labels_of(ja.louvain(ints, seed=seed)).tolist() == labels_of(ja.louvain(halves, seed=seed)).tolist()


def test_weight_storage_rule():
    """float32 only where every aggregated weight is exactly one, and only for large graphs (one
    storage for all levels, so each kernel is compiled once per storage)."""
    from unittest import mock

    from jinduanalytics._kernels.leiden import all_integral

    L = sys.modules["jinduanalytics.community.multilevel"]
    assert all_integral(np.array([0.0, 3.0, 7.0])) and not all_integral(np.array([1.0, 0.1]))
    big = L._NARROW_FROM
    assert L._weight_dtype(True, np.full(big, 2.0)) is np.float32
    assert L._weight_dtype(True, np.full(big - 1, 2.0)) is np.float64  # small graphs keep float64
    assert L._weight_dtype(False, np.full(big, 2.0)) is np.float64
    with mock.patch.object(L, "_NARROW_FROM", 1):
        assert L._weight_dtype(True, np.array([2.0 ** 24 - 1])) is np.float32
        assert L._weight_dtype(True, np.array([2.0 ** 24])) is np.float64  # 2**24 + 1 is not a float32
        assert L._weight_dtype(True, np.array([2.0 ** 23, 2.0 ** 23])) is np.float64  # the total decides


def test_every_level_runs_one_kernel_signature():
    """Level 0 and the aggregated levels reach local moving with the same array types (int32 ids,
    one weight dtype), so a run compiles each kernel once (issue 22)."""
    from unittest import mock

    L = sys.modules["jinduanalytics.community.multilevel"]
    seen = set()
    real = L.K.local_moving

    def spy(ip, ix, iw, *rest):
        seen.add((ip.dtype.str, ix.dtype.str, iw.dtype.str))
        return real(ip, ix, iw, *rest)

    g = ja.from_edges(pa.table({"source": np.arange(400) % 97, "target": (np.arange(400) * 7 + 3) % 89}))
    with mock.patch.object(L.K, "local_moving", spy):
        ja.leiden(g, seed=1)
    assert len(seen) == 1 and next(iter(seen))[1] == np.dtype(np.int32).str


def test_leiden_same_result_at_any_thread_count():
    import numba

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 40, 3000)
    src, dst = rng.integers(0, 3000, (2, 60000))
    keep = (truth[src] == truth[dst]) | (rng.random(60000) < 0.02)
    edges = pa.table({"source": src[keep], "target": dst[keep]})
    before = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            results.append(ja.leiden(edges, seed=11).column("community").to_numpy())
    finally:
        numba.set_num_threads(before)
    for r in results[1:]:
        assert np.array_equal(r, results[0])


@given(k=st.integers(1, 8), n=st.integers(1, 80), seed=st.integers(0, 2**16))
def test_renumber_within_groups_refined_communities_by_community(k, n, seed):
    """Refined ids come out dense, community by community, first appearance inside each; the
    refined partition itself is unchanged (brute-force reference)."""
    from jinduanalytics._kernels import leiden as K

    rng = np.random.default_rng(seed)
    labels, k = K.renumber(rng.integers(0, min(k, n), n))  # renumber takes values in [0, n)
    # refined communities: split each community at random, ids anywhere in [0, n)
    pieces = labels * 3 + rng.integers(0, 3, n)
    refined = rng.permutation(n)[np.unique(pieces, return_inverse=True)[1]]
    out, kr = K.renumber_within(refined, labels, k)
    ids = refined.tolist()
    firsts = sorted((labels[ids.index(r)], ids.index(r), r) for r in set(ids))  # (community, first position, id)
    expected = {r: i for i, (_, _, r) in enumerate(firsts)}
    assert kr == len(firsts)
    assert out.tolist() == [expected[r] for r in ids]


@functools.cache
def _prefetch_walk():
    """A walk over members summing keyed values, with the prefetch hint on or off (compiled once per
    process: hypothesis calls the test a hundred times)."""
    from numba import njit

    from jinduanalytics._kernels.prefetch import prefetch_members

    @njit
    def walk(members, indptr, indices, weights, keyed, hint):
        total = 0.0
        for p in range(members.shape[0]):
            if hint:
                prefetch_members(members, p, indptr, indices, weights, keyed)
            v = members[p]
            for e in range(indptr[v], indptr[v + 1]):
                total += keyed[indices[e]] * weights[e]
        return total

    return walk


@given(n=st.integers(1, 60), seed=st.integers(0, 2**16))
def test_prefetch_members_is_only_a_hint(n, seed):
    """The prefetch helper compiles and changes nothing: a walk over members with it sums the
    same keyed values as without it, at every position including the last few (where the
    look-ahead would run past the list) and over empty rows."""
    rng = np.random.default_rng(seed)
    deg = rng.integers(0, 4, n)
    indptr = np.concatenate([[0], np.cumsum(deg)]).astype(np.int64)
    indices = rng.integers(0, n, indptr[-1]).astype(np.int32)
    weights = rng.random(indptr[-1])
    keyed = rng.random(n)
    members = rng.permutation(n).astype(np.int32)
    walk = _prefetch_walk()
    with_hint = walk(members, indptr, indices, weights, keyed, True)
    without = walk(members, indptr, indices, weights, keyed, False)
    assert with_hint == without
    assert without == pytest.approx(float((keyed[indices] * weights).sum()))
