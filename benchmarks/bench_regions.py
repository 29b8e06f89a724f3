"""Region-pair linkage on the generator's planted truth: does it find the planted cross-region pairs?

    python benchmarks/bench_regions.py            # city (seeds 7, 8) and the beibu preset
    python benchmarks/bench_regions.py --quick    # city seed 7, CI smoke run

Criteria (issue 6): planted pairs on top (precision@k >= 0.8, k = number planted), planted pairs
z >= 3, <= 5% of unplanted pairs z >= 3, >= 4 of 5 planted two-way pairs flagged. The pipeline per
dataset: resolve_persons -> cluster_cases -> region_pairs (robust null). No anchor tool exists for
this scoring; times are absolute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402


def run(spec):
    import time

    from jinduanalytics.clusters import cluster_cases
    from jinduanalytics.linkage import resolve_persons
    from jinduanalytics.region_pairs import region_pairs
    from jinduanalytics.synthetic import generate

    preset, seed = spec
    ds = generate(preset, seed=seed)
    t0 = time.perf_counter()
    _, persons = resolve_persons(ds.person_records)
    t1 = time.perf_counter()
    cl = cluster_cases(ds, seed=1, n_runs=2)
    t2 = time.perf_counter()
    rp = region_pairs(ds, persons=persons, clusters=cl).to_pandas()
    t3 = time.perf_counter()
    truth = ds.truth["region_links"].to_pandas()
    planted = set(zip(truth["region_a"], truth["region_b"]))
    two_way = set(zip(truth.loc[truth["n_two_way"] > 0, "region_a"], truth.loc[truth["n_two_way"] > 0, "region_b"]))
    is_p = [(a, b) in planted for a, b in zip(rp["region_a"], rp["region_b"])]
    is_tw = [(a, b) in two_way for a, b in zip(rp["region_a"], rp["region_b"])]
    rp["planted"], rp["planted_two_way"] = is_p, is_tw
    k = len(planted)
    return {
        "pairs": len(rp), "planted": k, "precision_at_k": float(rp.head(k)["planted"].mean()),
        "planted_z3": float((rp.loc[rp["planted"], "z"] >= 3).mean()),
        "unplanted_z3": float((rp.loc[~rp["planted"], "z"] >= 3).mean()),
        "two_way_found": int(rp.loc[rp["planted_two_way"], "two_way"].sum()), "two_way_planted": len(two_way),
        "extra_two_way_flags": int((rp["two_way"] & ~rp["planted_two_way"]).sum()),
        "persons_s": round(t1 - t0, 2), "clusters_s": round(t2 - t1, 2), "pairs_s": round(t3 - t2, 2),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    specs = [("city", 7)] if args.quick else [("city", 7), ("city", 8), ("beibu", 7)]
    rows = [H.measure("jindu.region_pairs pipeline", f"{p} seed {s}", lambda sp=(p, s): sp, run, warmup=0, repeats=1)
            for p, s in specs]
    H.write("regions", rows, notes=[
        "median_s includes generating the dataset; persons_s / clusters_s / pairs_s are the stages",
        "extra_two_way_flags: pairs flagged two-way without a planted two-way network (networks run each way)"],
        quick=args.quick)


if __name__ == "__main__":
    main()
