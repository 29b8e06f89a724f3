"""Disruption curves: Cavallaro et al. (2020) reproduced on the Montagna networks; kernels vs networkx."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinduanalytics._kernels import centrality as K
from jinduanalytics.disruption import _Graph, removal_curve, removal_curves
from jinduanalytics.errors import GraphInputError, ParameterError


def _reference_root() -> Path | None:
    """../shared/reference-networks (real data stays outside the repo: it is not synthetic)."""
    here = Path(__file__).resolve().parents[1]
    for cand in (os.environ.get("JINDU_REFERENCE_NETWORKS"), here.parent / "shared" / "reference-networks",
                 Path("/work/shared/reference-networks")):
        if cand and (Path(cand) / "montagna").is_dir():
            return Path(cand)
    return None


ROOT = _reference_root()
needs_reference = pytest.mark.skipif(ROOT is None, reason="reference networks not found (set JINDU_REFERENCE_NETWORKS)")
COLUMNS = {"betweenness": "Betweenness", "katz": "Katz", "collective_influence": "Collective Influence",
           "degree": "Degree"}


def _montagna(name: str) -> pa.Table:
    rows = [line.split() for line in (ROOT / "montagna" / name).read_text().splitlines() if line.strip()]
    return pa.table({"source": [int(r[0]) for r in rows], "target": [int(r[1]) for r in rows],
                     "weight": [float(r[2]) for r in rows]})


@needs_reference
@pytest.mark.parametrize("net,file", [("meeting", "Montagna_meetings_edgelist.csv"),
                                      ("phone_calls", "Montagna_phonecalls_edgelist.csv")])
@pytest.mark.parametrize("mode", ["sequential", "block"])
@pytest.mark.parametrize("weighting", ["Unweighted", "Weighted"])
def test_cavallaro_2020_curves_reproduce(net, file, mode, weighting):
    """Every published rho curve (4 strategies) equals ours; conventions in the reference README:
    later rows overwrite weights, stop at 5 nodes, ties to the later-inserted node (CI: larger id),
    Katz compared exactly (its published order follows floating-point noise between tied nodes)."""
    edges = _montagna(file)
    pub = pd.read_csv(ROOT / "montagna" / "published_results" / mode / net / f"df_{weighting}_5nrem.csv")
    ids = sorted(set(edges.column("source").to_pylist()) | set(edges.column("target").to_pylist()))
    for strategy, col in COLUMNS.items():
        cur = removal_curve(edges, strategy=strategy, mode=mode, weighted=weighting == "Weighted",
                            tie_order=ids if strategy == "collective_influence" else None,
                            tie_tolerance=0.0 if strategy == "katz" else 1e-9).to_pandas()
        assert cur["removed"].tolist() == pub["No"].tolist(), strategy
        np.testing.assert_allclose(cur["rho"], pub[col], rtol=0, atol=1e-12, err_msg=strategy)


@needs_reference
def test_betweenness_hits_hardest_on_meetings():
    """The paper's finding: removing the top 5% by betweenness cuts the meetings LCC the most."""
    curves = removal_curves(_montagna("Montagna_meetings_edgelist.csv"), modes=("sequential",),
                            weightings=(False,)).to_pandas()
    at5 = curves[curves["removed"] == 5].set_index("strategy")["rho"]
    assert at5.idxmin() == "betweenness" and at5["betweenness"] < 0.5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(1, 5)), min_size=1, max_size=40),
       st.booleans())
def test_betweenness_equals_networkx(rows, weighted):
    rows = [(a, b, w) for a, b, w in rows if a != b]
    if not rows:
        return
    g = _Graph(pa.table({"source": [r[0] for r in rows], "target": [r[1] for r in rows],
                         "weight": [float(r[2]) for r in rows]}), "source", "target", "weight")
    alive = np.ones(g.n, dtype=bool)
    ours = (K.weighted_betweenness(g.indptr, g.indices, g.weights, alive) if weighted else
            K.betweenness_from_sources(g.indptr, g.indices, np.arange(g.n), alive, 2)) / 2  # both directions
    G = nx.Graph()
    for a, b, w in rows:
        G.add_edge(a, b, weight=w)
    ref = nx.betweenness_centrality(G, normalized=False, weight="weight" if weighted else None)
    np.testing.assert_allclose(ours, [ref[k] for k in g.keys], rtol=1e-9, atol=1e-9)


def test_bad_input():
    with pytest.raises(GraphInputError, match="'weight' must be finite and > 0"):
        removal_curve(pa.table({"source": [1], "target": [2], "weight": [0.0]}), strategy="degree")
    with pytest.raises(ParameterError, match="strategy"):
        removal_curve(pa.table({"source": [1], "target": [2]}), strategy="pagerank")
    with pytest.raises(ParameterError, match="tie_order misses"):
        removal_curve(pa.table({"source": [1, 2], "target": [2, 3]}), strategy="degree", tie_order=[1, 2], stop_at=0)


def _caviar_matrix(path: Path) -> tuple[pa.Table, list]:
    """Adjacency CSV (row label -> column label, cell = calls) -> arcs and the node order of the file."""
    df = pd.read_csv(path, index_col=0, encoding="utf-8-sig")
    df.index = [str(x).strip().strip('"') for x in df.index]
    df.columns = [str(c).strip().strip('"') for c in df.columns]
    a = df.to_numpy()
    r, c = np.nonzero(a)
    nodes = list(df.index)
    return pa.table({"source": [nodes[i] for i in r], "target": [df.columns[j] for j in c],
                     "weight": a[r, c].astype(float)}), nodes


needs_caviar = pytest.mark.skipif(ROOT is None or not (ROOT / "caviar").is_dir(), reason="CAVIAR data not found")


@needs_caviar
def test_caviar_full_network_figures():
    from jinduanalytics.community import connected_components
    from jinduanalytics.disruption import _DiGraph

    arcs, nodes = _caviar_matrix(ROOT / "caviar" / "CAVIAR_FULL.csv")
    g = _DiGraph(arcs, "source", "target", "weight", nodes=nodes)
    alive = np.ones(g.n, dtype=bool)
    n, m = g.n, len(g.src)
    assert (n, m) == (110, 295)
    assert m / (n * (n - 1)) == pytest.approx(0.024603836530442035, abs=1e-15)
    assert g.strong_components(alive)[0] == 66
    assert g.scores(alive, "in_degree").max() == 37 and g.scores(alive, "out_degree").max() == 54
    und = {tuple(sorted(p)) for p in zip(arcs.column("source").to_pylist(), arcs.column("target").to_pylist())}
    assert len(und) == 205 and len(und) / (n * (n - 1) / 2) == pytest.approx(0.03419516263552961, abs=1e-15)
    edges = pa.table({"source": [a for a, _ in und], "target": [b for _, b in und]})
    cc = connected_components(edges).column("community").to_numpy()
    assert np.bincount(cc).max() == 110  # weakly connected
    deg = pd.Series([a for a, _ in und] + [b for _, b in und]).value_counts()
    assert deg.iloc[0] == 60 and deg.index[0] == "1"


@needs_caviar
def test_caviar_phase_degree_centralization():
    from jinduanalytics.disruption import degree_centralization

    pub = pd.read_csv(ROOT / "caviar" / "published_results" / "anastasiadis_antoniou_2024" / "Metrics_Temp.csv")
    for phase in range(1, 12):
        arcs, nodes = _caviar_matrix(ROOT / "caviar" / "phases" / f"phase{phase}.csv")
        assert degree_centralization(arcs, direction="in", nodes=nodes) == pytest.approx(
            pub["In-Degree Centralization"][phase - 1], abs=1e-12)
        assert degree_centralization(arcs, direction="out", nodes=nodes) == pytest.approx(
            pub["Out-Degree Centralization"][phase - 1], abs=1e-12)


@needs_caviar
def test_caviar_targeted_removal_curves():
    """Anastasiadis & Antoniou (2024) S1: sequential removal by in-/out-degree on the directed FULL
    network; largest strongly connected component and number of SCCs at each of 108 steps (ties:
    the node first in the file)."""
    pytest.importorskip("openpyxl")
    arcs, nodes = _caviar_matrix(ROOT / "caviar" / "CAVIAR_FULL.csv")
    sheets = pd.read_excel(ROOT / "caviar" / "published_results" / "anastasiadis_antoniou_2024" /
                           "S1_Targeted_Removals.xlsx", sheet_name=["LCC", "Components #"])
    for strategy, col in (("in_degree", "In_Degree"), ("out_degree", "Out_Degree")):
        cur = removal_curve(arcs, strategy=strategy, directed=True, nodes=nodes, tie_order=nodes[::-1],
                            stop_at=2).to_pandas()
        assert cur["lcc"].tolist() == sheets["LCC"][col].tolist(), strategy
        assert cur["n_components"].tolist() == sheets["Components #"][col].tolist(), strategy


def test_key_players_split_a_barbell_at_its_bridge():
    from jinduanalytics.disruption import key_players

    # two 5-cliques joined through node "m": removing "m" leaves two equal halves
    left = [(f"a{i}", f"a{j}") for i in range(5) for j in range(i + 1, 5)]
    right = [(f"b{i}", f"b{j}") for i in range(5) for j in range(i + 1, 5)]
    edges = pa.table({"source": [a for a, _ in left + right] + ["a0", "m"], "target": [b for _, b in left + right] + ["m", "b0"]})
    kp = key_players(edges, 1).to_pandas().set_index("method")
    assert kp.loc["kpp", "nodes"] == "m" and kp.loc["kpp", "lcc"] == 5
    assert kp.loc["kpp", "fragmentation"] == pytest.approx(1 - 2 * 5 * 4 / (10 * 9))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), min_size=3, max_size=40), st.integers(1, 3))
def test_key_players_never_worse_than_top_k_and_close_to_brute_force(pairs, k):
    import itertools

    from jinduanalytics.disruption import _fragmentation, key_players

    pairs = [(a, b) for a, b in pairs if a != b]
    if len({x for p in pairs for x in p}) <= k + 1:
        return
    edges = pa.table({"source": [a for a, _ in pairs], "target": [b for _, b in pairs]})
    kp = key_players(edges, k, n_starts=3).to_pandas().set_index("method")
    assert kp.loc["kpp", "fragmentation"] >= kp["fragmentation"].max() - 1e-12
    g = _Graph(edges, "source", "target", None)
    best = 0.0
    for sub in itertools.combinations(range(g.n), k):
        alive = np.ones(g.n, dtype=bool)
        alive[list(sub)] = False
        best = max(best, _fragmentation(g, alive))
    assert kp.loc["kpp", "fragmentation"] >= 0.9 * best - 1e-12


@needs_caviar
def test_caviar_phase_statistics_table():
    """The README's per-phase table: nodes, undirected edges, components, LCC, top-degree node."""
    from jinduanalytics.community import connected_components

    expected = {  # phase: (nodes, undirected edges, components, LCC, top-degree node, its degree)
        1: (15, 18, 1, 15, "1", 12), 2: (24, 28, 1, 24, "1", 19), 3: (33, 56, 1, 33, "1", 27),
        4: (33, 48, 1, 33, "1", 23), 5: (32, 39, 1, 32, "1", 22), 6: (27, 47, 1, 27, "1", 18),
        7: (36, 49, 2, 30, "1", 24), 8: (42, 58, 1, 42, "1", 20), 9: (34, 44, 1, 34, "3", 11),
        10: (42, 50, 3, 31, "1", 13), 11: (41, 50, 2, 39, "12", 12)}
    for phase, (n, m, comps, lcc, top, top_deg) in expected.items():
        arcs, nodes = _caviar_matrix(ROOT / "caviar" / "phases" / f"phase{phase}.csv")
        und = {tuple(sorted(p)) for p in zip(arcs.column("source").to_pylist(), arcs.column("target").to_pylist())}
        edges = pa.table({"source": [a for a, _ in und], "target": [b for _, b in und]})
        from jinduanalytics.graph import from_edges

        g = from_edges(edges, weight=None, nodes=pa.array(nodes))
        cc = connected_components(g).column("community").to_numpy()
        deg = pd.Series(g.degree(), index=g.node_ids.to_pylist())
        assert (g.n_nodes, len(und), cc.max() + 1, np.bincount(cc).max()) == (n, m, comps, lcc), phase
        assert deg.idxmax() == top and deg.max() == top_deg, phase
