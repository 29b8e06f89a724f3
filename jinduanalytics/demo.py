"""``jindu demo``: the main job on an embedded default (a generated county-scale dataset)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._output import output_folder
from ._progress import stages
from .analyze import analyze_into, file_hashes, input_files
from .clusters import score_clusters, score_trace
from .graph import case_graph, person_graph, region_flow_graph
from .io import read_dataset, write_dataset
from .synthetic import generate

__all__ = ["run_demo"]


def run_demo(out: Path, *, preset: str = "county", seed: int = 0, progress: bool = True,
             force: bool = False) -> dict:
    """Generate, validate, build graphs, analyse; write results to ``out``; return a summary dict.

    ``out`` is written whole or not at all (see :func:`jinduanalytics.analyze.analyze`); an earlier
    demo's folder is replaced, any other non-empty folder only with ``force=True``.

    Parameters
    ----------
    out : pathlib.Path
    preset : str, default "county"
    seed : int, default 0
        The command line passes 7 (the committed datasets' seed).
    progress : bool, default True
    force : bool, default False
    """
    out = Path(out)
    summary: dict = {"preset": preset, "seed": seed}
    names = ["generate", "write + read back", "case graph", "analysis + report", "person graph", "flow graph"]
    with output_folder(out, marker="summary.json", force=force) as tmp:
        with stages(names, enabled=progress, desc="jindu demo") as step:
            step("generate")
            ds = generate(preset, seed=seed)
            step("write + read back")
            write_dataset(ds, tmp / "dataset")
            ds = read_dataset(tmp / "dataset")
            step("case graph")
            cg = case_graph(ds.case_entities, cases=ds.cases)
            step("analysis + report")
            hashes = file_hashes(input_files(ds))
            res = analyze_into(ds, tmp, seed=seed, source=str(out / "dataset"), input_sha256=hashes, progress=False,
                               show_identifiers=False)
            clusters, ranked, trace = res["case_clusters"], res["cluster_summary"], res["upstream_trace"]
            step("person graph")
            pg = person_graph(ds.case_persons, person_records=ds.person_records, contacts=ds.contacts)
            step("flow graph")
            fg = region_flow_graph(ds.flows, regions=ds.regions)
        summary["tables"] = {r["table"]: r["rows"] for r in ds.summary().to_pylist()}
        summary["graphs"] = {
            "case_graph": {"nodes": cg.n_nodes, "edges": cg.n_edges, "isolated": int(np.sum(cg.degree() == 0))},
            "person_graph": {"nodes": pg.n_nodes, "edges": pg.n_edges},
            "region_flow_graph": {"nodes": fg.n_nodes, "edges": fg.n_edges},
        }
        sizes = clusters.column("cluster_size").to_numpy()
        summary["clusters"] = {
            "clusters_3plus": int(ranked.num_rows),
            "cases_in_clusters_3plus": int(np.sum(sizes >= 3)),
            "mean_stability": round(float(np.mean(clusters.column("stability").to_numpy())), 4),
            "top": [{k: r[k] for k in ("rank", "cluster", "n_cases", "n_regions", "n_provinces", "quantity_g", "score")}
                    for r in ranked.slice(0, 5).to_pylist()],
        }
        if "case_network" in ds.truth:
            summary["clusters"]["vs_planted"] = {k: round(v, 4) if isinstance(v, float) else v
                                                 for k, v in score_clusters(ds, clusters).items()}
            summary["clusters"]["trace_hit5_sellers"] = round(score_trace(ds, trace, roles=("seller",))["hit_at_k"], 4)
        if res.get("linked_persons") is not None:
            lp = res["linked_persons"].to_pandas()
            rp = res["region_pairs"].to_pandas()
            summary["linkage"] = {
                "record_links": int(res["record_links"].num_rows),
                "persons_in_several_regions": int(lp.loc[lp["entity_size"] > 1, "person_id"].nunique()),
                "significant_region_pairs": int(rp["significant"].sum()),
                "two_way_pairs": int(rp["two_way"].sum()),
                "top_pairs": [f"{a}-{b} (z {z:.1f})" for a, b, z in rp[["region_a", "region_b", "z"]].head(3).itertuples(
                    index=False)],
            }
        summary["timings_s"] = {k: round(v, 3) for k, v in step.timings.items()}
        (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    _print(summary, out)
    return summary


def _print(summary: dict, out: Path) -> None:
    print(f"jindu demo — synthetic '{summary['preset']}' dataset, seed {summary['seed']}")
    print("\ntables (validated, 0 rejected):")
    for name, rows in summary["tables"].items():
        print(f"  {name:<15}{rows:>9,d} rows")
    print("\ngraphs:")
    for name, g in summary["graphs"].items():
        extra = f", {g['isolated']:,d} isolated" if "isolated" in g else ""
        print(f"  {name:<18}{g['nodes']:>8,d} nodes {g['edges']:>9,d} edges{extra}")
    c = summary["clusters"]
    print("\n集群打零 — case clusters (evidence: entities + persons; rarity-weighted; Leiden consensus):")
    print(f"  {c['clusters_3plus']} clusters of 3+ cases hold {c['cases_in_clusters_3plus']:,d} cases; "
          f"mean stability {c['mean_stability']:.3f}")
    print("  rank  cluster  cases  regions  provinces  seized g   score")
    for r in c["top"]:
        print(f"  {r['rank']:>4}  {r['cluster']:>7}  {r['n_cases']:>5}  {r['n_regions']:>7}  {r['n_provinces']:>9}"
              f"  {r['quantity_g']:>8.0f}  {r['score']:.3f}")
    if "vs_planted" in c:
        v = c["vs_planted"]
        print(f"  against the planted networks: NMI {v['nmi']:.3f}, ARI {v['ari']:.3f}, "
              f"{v['matched']:.0%} of networks matched (Jaccard >= 0.5); "
              f"true supplier in the top 5 for {c['trace_hit5_sellers']:.0%} of sellers")
    if "linkage" in summary:
        lk = summary["linkage"]
        print("\n环北部湾 — records linked across regions' systems, region pairs scored against chance:")
        print(f"  {lk['record_links']} record links; {lk['persons_in_several_regions']} persons recorded in several "
              f"regions; {lk['significant_region_pairs']} region pairs with z >= 3 "
              f"({', '.join(lk['top_pairs'])}); {lk['two_way_pairs']} pairs with two-way flows")
    print(f"\nresults (Parquet tables, manifest.json) written to {out.resolve()}")
    print(f"report: {(out / 'report.html').resolve()}")
