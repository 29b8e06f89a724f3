"""集群打零 end to end: load -> case clusters -> summary (-> upstream trace), time per stage.

    python benchmarks/bench_clusters.py            # the beibu preset (~300k cases, ~1M records)
    python benchmarks/bench_clusters.py --quick    # the city preset, CI smoke run

Target (issue 5): the beibu preset end to end (load -> clusters -> summary) under 60 s on this
2-core machine. The dataset is generated once and cached as Parquet under benchmarks/.cache/;
timing starts at reading it. Quality columns score the result against the planted truth;
``hub_*`` columns repeat the clustering with rarity weighting off (rarity "none", no cap).
There is no anchor tool for this pipeline (the community benchmark compares the core with
igraph/NetworKit/leidenalg); this suite reports absolute medians and peak RSS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def dataset_path(preset: str) -> Path:
    from jinduanalytics.io import write_dataset
    from jinduanalytics.synthetic import generate

    path = CACHE / f"clusters-{preset}-seed7"
    if not (path / "cases.parquet").exists():
        write_dataset(generate(preset, seed=7), path)
    return path


def pipeline(path: Path, *, trace: bool, score: bool) -> dict:
    from jinduanalytics._progress import stages
    from jinduanalytics.clusters import cluster_cases, cluster_summary, score_clusters, score_trace, trace_upstream
    from jinduanalytics.io import read_dataset

    names = ["load", "clusters", "summary"] + (["trace"] if trace else [])
    with stages(names, enabled=False) as step:
        step("load")
        ds = read_dataset(path)
        step("clusters")
        cl = cluster_cases(ds, seed=1)
        step("summary")
        summary = cluster_summary(ds, cl)
        if trace:
            step("trace")
            tr = trace_upstream(ds, cl)
    out = {f"{k}_s": round(v, 3) for k, v in step.timings.items()}
    out["cases"] = ds.cases.num_rows
    out["clusters_3plus"] = summary.num_rows
    if score:
        out.update({k: v for k, v in score_clusters(ds, cl).items() if k in ("nmi", "ari", "matched",
                                                                             "largest_cluster_share")})
        if trace:
            s = score_trace(ds, tr, roles=("seller",))
            out["trace_hit5_sellers"] = s["hit_at_k"]
            out["trace_hit5_users"] = score_trace(ds, tr, roles=("user", "buyer"))["hit_at_k"]
            out["time_order_violations"] = s["time_order_violations"]
        hub = cluster_cases(ds, seed=1, rarity="none", max_cases=None)
        hs = score_clusters(ds, hub)
        out["hub_nmi"], out["hub_ari"], out["hub_largest_share"] = hs["nmi"], hs["ari"], hs["largest_cluster_share"]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    preset = "city" if args.quick else "beibu"
    path = dataset_path(preset)
    reps = 1 if args.quick else args.repeats
    rows = [
        H.measure("jindu load+clusters+summary", preset, lambda: path,
                  lambda p: pipeline(p, trace=False, score=False), warmup=1, repeats=reps),
        H.measure("jindu ... + trace_upstream", preset, lambda: path,
                  lambda p: pipeline(p, trace=True, score=False), warmup=1, repeats=1),
        H.measure("jindu quality (not timed)", preset, lambda: path,
                  lambda p: pipeline(p, trace=True, score=True), warmup=0, repeats=1),
    ]
    H.write("clusters", rows, notes=[
        "target: beibu load -> clusters -> summary < 60 s (issue 5); stage columns are seconds of the last run",
        "quality row: nmi/ari over planted-network cases, matched = share of networks with a Jaccard >= 0.5 cluster,",
        "trace_hit5 = true upstream among the top 5 (sellers -> wholesaler/supplier, users -> seller)",
        "hub_* = the same clustering with rarity weighting off (rarity='none', max_cases=None)"], quick=args.quick)


if __name__ == "__main__":
    main()
