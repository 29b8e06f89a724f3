"""Approximate betweenness on the Beibu person graph (~1M nodes): jinduanalytics vs NetworKit and igraph.

    python benchmarks/bench_betweenness.py            # beibu person graph, plus the accuracy subgraph
    python benchmarks/bench_betweenness.py --quick    # city person graph, CI smoke run

Speed (each tool's own graph built outside the timing): the approximation on the whole person graph (co-offending + phone contacts):
jindu source sampling (Brandes & Pich) and NetworKit EstimateBetweenness with the same number of
sources, NetworKit ApproxBetweenness (Riondato-Kornaropoulos, epsilon 0.05), igraph betweenness
with a path-length cutoff (its documented approximation: paths longer than the cutoff ignored).
Accuracy: on the largest connected component of the graph (capped by BFS to --sub nodes), exact
betweenness (our exact kernel; equal to networkx in the tests) against each approximation:
Spearman rank correlation and overlap of the top 1%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def person_edges(preset: str):
    import pyarrow.parquet as pq

    from jinduanalytics.graph import person_graph
    from jinduanalytics.io import read_dataset, write_dataset
    from jinduanalytics.synthetic import generate

    path = CACHE / f"clusters-{preset}-seed7"
    if not (path / "cases.parquet").exists():
        write_dataset(generate(preset, seed=7), path)
    out = CACHE / f"person-edges-{preset}.parquet"
    if not out.exists():
        ds = read_dataset(path)
        g = person_graph(ds.case_persons, person_records=ds.person_records, contacts=ds.contacts)
        pq.write_table(g.edges(), out)
    return out


def subgraph(edges_path, size: int):
    """Edges of a BFS ball of ~size nodes inside the largest component (int ids)."""
    import collections

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jinduanalytics.community import connected_components

    e = pq.read_table(edges_path)
    cc = connected_components(e).to_pandas()
    big = cc[cc["community"] == 0]["node_id"]
    keep = set(big)
    df = e.to_pandas()
    df = df[df["source"].isin(keep) & df["target"].isin(keep)]
    adj = collections.defaultdict(list)
    for a, b in zip(df["source"], df["target"]):
        adj[a].append(b)
        adj[b].append(a)
    start = max(adj, key=lambda v: len(adj[v]))
    seen, q = {start}, collections.deque([start])
    while q and len(seen) < size:
        v = q.popleft()
        for w in adj[v]:
            if w not in seen:
                seen.add(w)
                q.append(w)
    df = df[df["source"].isin(seen) & df["target"].isin(seen)]
    ids = {k: i for i, k in enumerate(sorted(seen))}
    return pa.table({"source": np.array([ids[x] for x in df["source"]]), "target": np.array([ids[x] for x in df["target"]])})


def build(tool: str, edges):
    """Each tool's own graph from the edge table (not timed)."""
    import numpy as np

    if tool.startswith("jindu"):
        from jinduanalytics.graph import from_edges

        return from_edges(edges, weight=None)
    ids, inv = np.unique(np.r_[edges.column("source").to_numpy(), edges.column("target").to_numpy()],
                         return_inverse=True)
    m = edges.num_rows
    if tool.startswith("networkit"):
        import networkit as nk

        G = nk.GraphFromCoo((np.ones(m), (inv[:m].astype(np.uint64), inv[m:].astype(np.uint64))), n=len(ids),
                            directed=False, weighted=False)
        G.removeMultiEdges()
        G.removeSelfLoops()
        return G, ids
    import igraph as ig

    G = ig.Graph(n=len(ids), edges=np.column_stack([inv[:m], inv[m:]]))
    G.simplify()
    return G, ids


def compute(tool: str, graph, samples: int):
    import numpy as np

    if tool.startswith("jindu"):
        from jinduanalytics.disruption import betweenness

        b = betweenness(graph, samples=None if tool == "jindu exact" else samples, seed=1)
        return b.column("betweenness").to_numpy(), b.column("node_id").to_numpy()
    G, ids = graph
    if tool.startswith("networkit"):
        import networkit as nk

        nk.setNumberOfThreads(2)
        algo = (nk.centrality.EstimateBetweenness(G, samples, True, True) if tool == "networkit estimate"
                else nk.centrality.ApproxBetweenness(G, epsilon=0.05))
        algo.run()
        return np.array(algo.scores()), ids
    return np.array(G.betweenness(cutoff=4)), ids


def run_tool(tool: str, edges, samples: int):
    return compute(tool, build(tool, edges), samples)


def accuracy(sub, samples: int, tools) -> list[dict]:
    import numpy as np
    from scipy.stats import spearmanr

    exact, ids = run_tool("jindu exact", sub, samples)
    ref = dict(zip(ids.tolist(), exact))
    top = set(np.array(ids)[np.argsort(-exact)[: max(1, len(ids) // 100)]].tolist())
    rows = []
    for tool in tools:
        est, eids = run_tool(tool, sub, samples)
        r = np.array([ref[k] for k in eids.tolist()])
        mine = set(np.array(eids)[np.argsort(-est)[: len(top)]].tolist())
        rows.append({"tool": tool, "spearman": float(spearmanr(est, r).statistic),
                     "top1pct_overlap": len(mine & top) / len(top)})
    return rows


def main(argv=None) -> None:
    import pyarrow.parquet as pq

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--sub", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prepare", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.prepare:
        person_edges(args.prepare)
        return
    preset = "city" if args.quick else "beibu"
    # build the graph in a separate process: numba's thread pool must not start in this parent,
    # which forks one child per measurement (see _harness)
    import subprocess

    subprocess.run([sys.executable, __file__, "--prepare", preset], check=True)
    path = CACHE / f"person-edges-{preset}.parquet"
    samples = 100 if args.quick else args.samples
    sub_n = 2000 if args.quick else args.sub
    rows = []
    name = f"{preset} person graph"
    try:
        import networkit  # noqa: F401

        have_nk = True
    except ImportError:
        have_nk = False
    tools = [t for t in ("jindu sample", "networkit estimate", "networkit approx (RK)", "igraph cutoff 4")
             if have_nk or not t.startswith("networkit")]
    if not have_nk:
        rows.append(H.skip_note("networkit", "not installed (pip install '.[bench]')"))
    for tool in tools:
        rows.append(H.measure(tool, name, lambda t=tool: build(t, pq.read_table(path)),
                              lambda gr, t=tool: {"nodes": len(compute(t, gr, samples)[0])},
                              warmup=1 if tool.startswith("jindu") else 0, repeats=1 if args.quick else args.repeats,
                              timeout=3600))
    acc = H.measure("accuracy (not timed)", f"LCC ball of {sub_n}", lambda: subgraph(path, sub_n),
                    lambda s: {k: v for r in accuracy(s, samples, tools)
                               for k, v in ((f"{r['tool']}: spearman", r["spearman"]),
                                            (f"{r['tool']}: top1%", r["top1pct_overlap"]))},
                    warmup=0, repeats=1, timeout=3600)
    rows.append(acc)
    H.write("betweenness", rows, reference="jindu sample", notes=[
        f"samples = {samples} sources for jindu and NetworKit EstimateBetweenness; RK epsilon 0.05; igraph cutoff 4",
        "accuracy row: rank correlation with exact betweenness and top-1% overlap on the subgraph"], quick=args.quick)


if __name__ == "__main__":
    main()
