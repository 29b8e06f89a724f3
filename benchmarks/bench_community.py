"""Community detection: jinduanalytics vs igraph, leidenalg, NetworKit and networkx, one run.

    python benchmarks/bench_community.py            # 100k and 1M nodes (average degree ~12)
    python benchmarks/bench_community.py --quick    # 10k nodes, CI smoke run
    python benchmarks/bench_community.py --sizes 3000000 --repeats 1   # -> results/community-3000k.md
    python benchmarks/bench_community.py --sizes 1000000 --only jindu.leiden ParallelLeiden   # print only

Input: planted-partition graphs (communities of 100 nodes, mixing mu = 0.3), seeded, the same
for every tool. Every tool gets its own graph object built in setup (not timed). Quality:
modularity (computed by us on every tool's partition, so one formula judges all) and NMI
against the planted communities. Connected components are timed on the same graphs.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jinduanalytics as ja  # noqa: E402
from benchmarks import _harness as H  # noqa: E402
from benchmarks._graphs import planted_partition  # noqa: E402
from jinduanalytics.metrics import nmi  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="run only tools whose name contains one of these (results not written)")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([10_000] if args.quick else [100_000, 1_000_000])
    repeats = 1 if args.quick else args.repeats
    rows = []
    notes = []

    def measure(tool, *a, **kw):
        if not args.only or any(part in tool for part in args.only):
            rows.append(H.measure(tool, *a, **kw))
    for n in sizes:
        edges, truth = planted_partition(n)
        src = edges.column("source").to_numpy()
        dst = edges.column("target").to_numpy()
        name = f"n={n:,} m={edges.num_rows:,}"
        print(name, flush=True)
        g = ja.from_edges(edges, nodes=pa.array(np.arange(n)))

        def score(labels):
            labels = np.asarray(labels)
            return {"modularity": ja.modularity(g, labels), "nmi": nmi(labels, truth),
                    "communities": int(np.unique(labels).size)}

        def ours(fn):
            return lambda gg: fn(gg).column("community").to_numpy()

        measure("jindu.leiden", name, lambda: g, ours(lambda gg: ja.leiden(gg, seed=1)),
                              repeats=repeats, score=score)
        measure("jindu.louvain", name, lambda: g, ours(lambda gg: ja.louvain(gg, seed=1)),
                              repeats=repeats, score=score)

        def igraph_graph():
            import igraph as ig

            return ig.Graph(n=n, edges=np.column_stack([src, dst]))

        def ig_leiden(G):
            random.seed(1)
            return G.community_leiden(objective_function="modularity", n_iterations=2).membership

        measure("igraph.community_leiden", name, igraph_graph, ig_leiden, repeats=repeats, score=score)
        measure("igraph.community_multilevel", name, igraph_graph,
                              lambda G: G.community_multilevel().membership, repeats=repeats, score=score)
        try:
            import leidenalg as la

            if n > 100_000:
                raise RuntimeError("leidenalg not run above 100k nodes (12.5 s at 100k; minutes per run at 1M)")
            measure("leidenalg", name, igraph_graph,
                                  lambda G: la.find_partition(G, la.ModularityVertexPartition, seed=1).membership,
                                  repeats=repeats, score=score)
        except ImportError:
            rows.append(H.skip_note("leidenalg", "not installed (pip install leidenalg)"))
        except RuntimeError as why:
            rows.append(H.skip_note("leidenalg", str(why)))
        try:
            import networkit as nk

            def nk_graph(threads):
                def setup():
                    nk.setNumberOfThreads(threads)
                    G = nk.Graph(n)
                    G.addEdges((src, dst))
                    return G
                return setup

            def nk_run(cls):
                def run(G):
                    algo = cls(G)
                    algo.run()
                    return np.asarray(algo.getPartition().getVector())
                return run

            for threads in (1, 2):
                measure(f"networkit.PLM ({threads} thr)", name, nk_graph(threads),
                                      nk_run(nk.community.PLM), repeats=repeats, score=score)
            measure("networkit.ParallelLeiden (2 thr)", name, nk_graph(2),
                                  nk_run(nk.community.ParallelLeiden), repeats=repeats, score=score)

            def nk_cc(G):
                cc = nk.components.ConnectedComponents(G)
                cc.run()
                return {"components": cc.numberOfComponents()}

            measure("networkit.ConnectedComponents", name, nk_graph(2), nk_cc, repeats=repeats)
        except ImportError:
            rows.append(H.skip_note("networkit", "not installed (pip install networkit)"))
        measure("jindu.connected_components", name, lambda: g,
                              lambda gg: {"components": int(ja.connected_components(gg).column("community").to_numpy().max() + 1)},
                              repeats=repeats)
        measure("igraph.connected_components", name, igraph_graph,
                              lambda G: {"components": len(G.connected_components())}, repeats=repeats)
        if n <= 100_000:
            import networkx as nx

            def nx_graph():
                G = nx.Graph()
                G.add_nodes_from(range(n))
                G.add_edges_from(zip(src.tolist(), dst.tolist()))
                return G

            def nx_louvain(G):
                comms = nx.community.louvain_communities(G, seed=1)
                labels = np.empty(n, dtype=np.int64)
                for i, c in enumerate(comms):
                    labels[list(c)] = i
                return labels

            measure("networkx.louvain", name, nx_graph, nx_louvain, repeats=1, score=score)
        else:
            notes.append(f"networkx.louvain not run at n={n:,} (too slow at this size)")
    notes += [
        "ratio = tool median / jindu.leiden median on the same input",
        "times cover the algorithm only; modularity and NMI are computed after the timed runs "
        "(until 2026-11-23 they were inside every tool's time, ~1.1 s at 1M nodes)",
        "peak_mb = peak RSS above the tool's own input graph, measured in a fresh process per tool",
        "modularity of every tool is computed with jinduanalytics.modularity (equal to igraph/networkx to 1e-9)",
    ]
    if args.only:
        return
    suite = "community" if not args.sizes else "community-" + "-".join(f"{n // 1000}k" for n in sizes)
    H.write(suite, rows, reference="jindu.leiden", notes=notes, quick=args.quick)


if __name__ == "__main__":
    main()
