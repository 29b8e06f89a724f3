"""Case-case projection from ~1M case-entity rows: jinduanalytics vs scipy.sparse and networkx.

    python benchmarks/bench_build.py            # full run (~1M case-entity rows)
    python benchmarks/bench_build.py --quick    # CI smoke run

The input is the generator's case_entities (beibu-like preset scaled to ~1M rows), rarity
"newman" with the hub cap max_cases=50. Tools, same input, same run:

* jindu.case_graph       end to end from the Arrow table of strings (factorise, CSR, project), on the
                         rows as stored (sorted by case_id) and shuffled
* jindu.project kernel   the numba kernel alone, from prebuilt CSR arrays
* scipy B·W·Bᵀ           scipy.sparse product from a prebuilt CSR B (capped columns dropped),
                         diagonal removed
* networkx               bipartite.generic_weighted_projected_graph, on subsamples it finishes

Peak memory is measured above the input already in memory, and compared with the size of the
output CSR. The parent process starts no numba thread pool before the last fork (GNU OpenMP is
not fork-safe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jinduanalytics as ja  # noqa: E402
from benchmarks import _harness as H  # noqa: E402
from jinduanalytics._checks import n_chunks  # noqa: E402
from jinduanalytics._kernels import projection as proj  # noqa: E402
from jinduanalytics.graph.build import _bipartite, _entity_weight_array  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
MAX_CASES = 50


def load_input(quick: bool) -> pa.Table:
    n_networks = 200 if quick else 16_000
    path = CACHE / f"case_entities_{n_networks}.parquet"
    if not path.exists():
        from jinduanalytics.synthetic import generate

        CACHE.mkdir(parents=True, exist_ok=True)
        pq.write_table(generate("beibu", seed=20240601, n_networks=n_networks).case_entities, path)
    return pq.read_table(path)


def _shuffled(t: pa.Table) -> pa.Table:
    """The same rows in a random order (stored tables are often sorted by case_id, which
    case_graph detects and uses; this input measures the general path)."""
    return t.take(np.random.default_rng(0).permutation(t.num_rows)).combine_chunks()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    ce = load_input(args.quick)
    name = f"{ce.num_rows:,} rows"
    print(f"case_entities: {ce.num_rows:,} rows", flush=True)
    bp = _bipartite(ce)
    w = _entity_weight_array(bp, "newman", MAX_CASES, None)
    import scipy.sparse as sp

    keep_cols = np.flatnonzero(w > 0)
    rows = np.repeat(np.arange(bp.n_cases), np.diff(bp.row_ptr))
    B = sp.csr_matrix((np.ones(rows.size), (rows, bp.row_col)), shape=(bp.n_cases, w.size))[:, keep_cols].tocsr()
    Wd = sp.diags(w[keep_cols])

    def scipy_product(_):
        P = (B @ Wd @ B.T).tocsr()
        P = P - sp.diags(P.diagonal())
        P.eliminate_zeros()
        return {"nnz": int(P.nnz)}

    rows_out = [
        H.measure("jindu.case_graph", name, lambda: ce,
                  lambda t: {"nnz": int(ja.case_graph(t, max_cases=MAX_CASES).indices.size)}, repeats=repeats),
        H.measure("jindu.case_graph", name + ", shuffled", lambda: _shuffled(ce),
                  lambda t: {"nnz": int(ja.case_graph(t, max_cases=MAX_CASES).indices.size)}, repeats=repeats),
        H.measure("jindu.project kernel", name, lambda: None,
                  lambda _: {"nnz": int(proj.project(bp.n_cases, bp.row_ptr, bp.row_col, bp.col_ptr, bp.col_row,
                                                     w, n_chunks())[1].size)}, repeats=repeats),
        H.measure("scipy B·W·Bᵀ", name, lambda: None, scipy_product, repeats=repeats),
    ]
    # networkx on subsamples it finishes, side by side with us on the same subsample
    import networkx as nx

    for n_sub in ([2_000] if args.quick else [20_000, 200_000, ce.num_rows]):
        sub = ce.slice(0, n_sub)
        sub_name = f"{n_sub:,} rows"

        def nx_setup(sub=sub):
            cases = sub.column("case_id").to_pylist()
            ents = [f"{k}:{v}" for k, v in zip(sub.column("kind").to_pylist(), sub.column("value").to_pylist())]
            G = nx.Graph()
            G.add_nodes_from(set(cases), bipartite=0)
            G.add_nodes_from(set(ents), bipartite=1)
            G.add_edges_from(zip(cases, ents))
            # the same work as ours: entities above the hub cap link nothing
            G.remove_nodes_from([e for e in set(ents) if G.degree(e) > MAX_CASES])
            return G, sorted(set(cases))

        def weight(G, u, v):
            total = 0.0
            for e in set(G[u]) & set(G[v]):
                total += 1.0 / (G.degree(e) - 1)
            return total

        def nx_run(data):
            G, cases = data
            P = nx.bipartite.generic_weighted_projected_graph(G, cases, weight_function=weight)
            return {"nnz": 2 * P.number_of_edges()}

        rows_out.append(H.measure("jindu.case_graph", sub_name, lambda sub=sub: sub,
                                  lambda t: {"nnz": int(ja.case_graph(t, max_cases=MAX_CASES).indices.size)},
                                  repeats=repeats))
        rows_out.append(H.measure("networkx projection", sub_name, nx_setup, nx_run, repeats=1, timeout=3600))
    # after every fork: the parent may now start numba's OpenMP threads
    ref = ja.case_graph(ce, max_cases=MAX_CASES)
    out_mb = (ref.indptr.nbytes + ref.indices.nbytes + ref.weights.nbytes) / 2**20
    P = (B @ Wd @ B.T).tocsr()
    P = P - sp.diags(P.diagonal())
    P.eliminate_zeros()
    P.sort_indices()
    ours = sp.csr_matrix((ref.weights, ref.indices, ref.indptr), shape=P.shape)
    max_diff = float(abs(ours - P).max()) if P.nnz else 0.0
    same_nnz = ours.nnz == P.nnz

    notes = [
        f"output CSR of the full input: {ref.n_nodes:,} cases, {ref.n_edges:,} edges, {out_mb:.1f} MB "
        f"(indptr + indices + weights)",
        f"agreement with scipy on the full input: max |Δw| = {max_diff:.2e}, same nnz: {same_nnz}",
        "networkx gets the same work: entities above the hub cap are removed from its bipartite graph before "
        "projecting; nnz counts stored entries (edges x 2) for every tool; building its graph is setup, not timed",
        "ratio = tool median / scipy median on the same input (below 1 is faster than scipy)",
    ]
    for r in rows_out:
        if r.get("tool") == "networkx projection":
            ours_r = next(x for x in rows_out if x["tool"] == "jindu.case_graph" and x["input"] == r["input"])
            notes.append(f"networkx / jindu on {r['input']}: {r['median_s'] / ours_r['median_s']:.0f}x")
            shuf = [x for x in rows_out if x["tool"] == "jindu.case_graph" and x["input"] == r["input"] + ", shuffled"]
            if shuf:
                notes.append(f"networkx / jindu on {r['input']} with the rows shuffled: "
                             f"{r['median_s'] / shuf[0]['median_s']:.0f}x")
    H.write("build", rows_out, reference="scipy B·W·Bᵀ", notes=notes, quick=args.quick)


if __name__ == "__main__":
    main()
