"""Person linkage as the records grow: quality, calibration and candidate pairs (issue 23).

    python benchmarks/bench_linkage_scale.py [--quick] [--shards 1,4,12] [--keep DIR]

The first ``k`` shards of the national preset (5,000 networks, ~0.78M person records each; the
shards are independent draws, so the first ``k`` of any national folder are the same records),
linked in process by ``resolve_persons`` with every candidate pair kept. Per ``k`` and blocking:
seconds, peak memory, candidate pairs, the fitted prior, pairwise precision / recall / F1 on the
planted truth, and the expected calibration error (ECE: the pair-weighted gap between the
predicted probability and the planted share of matches over ten probability bins). The bins
themselves go to ``linkage_scale-calibration``.

Why: at national scale (31.5M records, Dask) recall fell to 0.916 with the three non-growing
rules. A calibrated model (pairs scored p are matches p of the time) losing recall at the 0.5
threshold means the records grow ambiguous (more namesakes born the same day as the population
grows), not that the fit broke; a miscalibrated one would mean the fit broke.

Rests on the generator alone: no public dataset has this many Chinese person records.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

THREE = [("phone",), ("_dob_any", "_py_full"), ("_py_full", "_id_tail")]


def _shards(folder: Path, table: str, k: int, columns=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.concat_tables([pq.read_table(folder / table / f"shard={i:05d}", columns=columns) for i in range(k)])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two shards of 20 networks (the test suite's smoke run)")
    ap.add_argument("--shards", default="1,4,12", help="numbers of shards to link, comma-separated")
    ap.add_argument("--default-rules-up-to", type=int, default=4,
                    help="also the default PERSON_BLOCKING at up to this many shards (its pairs grow quadratically)")
    ap.add_argument("--keep", metavar="DIR", help="the national folder to read (generated into it when missing)")
    args = ap.parse_args(argv)
    ks = [1, 2] if args.quick else sorted({int(x) for x in args.shards.split(",")})
    per = 20 if args.quick else 5_000

    from jinduanalytics.linkage import link_calibration, linkage_model, resolve_persons, score_links
    from jinduanalytics.synthetic import generate_sharded

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jindu-linkage_scale-"))
    if not (folder / "person_records" / f"shard={max(ks) - 1:05d}").is_dir():
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder}: has fewer than {max(ks)} shards; pass an empty or new folder")
        folder.mkdir(parents=True, exist_ok=True)
        generate_sharded("national", folder, n_networks=max(ks) * per, shard_networks=per)

    rows, bins = [], []
    for k in ks:
        for rules_name, rules in (("3 non-growing rules", THREE), ("PERSON_BLOCKING (7 rules)", None)):
            if rules is None and k > args.default_rules_up_to:
                continue
            name = f"{k} shard{'s' if k > 1 else ''}"

            def setup(k=k):
                return _shards(folder, "person_records", k)

            def score(out, k=k, rules_name=rules_name):
                links, persons = out
                records = _shards(folder, "person_records", k, ["record_id", "source_region"])
                truth = _shards(folder, "truth/record_person", k, ["record_id", "person_id"])
                s = score_links(links, persons, truth, across=records)["pairwise"]
                cal = link_calibration(links, truth)
                n = sum(cal.column("pairs").to_pylist())
                ece = sum(r["pairs"] * abs(r["mean_probability"] - r["match_share"]) for r in cal.to_pylist()) / n
                # the score runs in the measuring child: its bins come back through a file
                bins_file.write_text(json.dumps([{"input": name, "rules": rules_name, **r} for r in cal.to_pylist()]))
                model = linkage_model(links)
                return {"records": records.num_rows, "candidates": links.num_rows,
                        "prior_weight": model["prior_weight"], "precision": s["precision"], "recall": s["recall"],
                        "f1": s["f1"], "ece": ece}

            bins_file = Path(tempfile.mkstemp(suffix=".json")[1])
            rows.append(H.measure(f"resolve_persons, {rules_name}", name, setup,
                                  lambda pr, rules=rules: resolve_persons(pr, seed=7, blocking=rules, keep="all"),
                                  repeats=1, warmup=0, score=score, timeout=3600))
            bins += json.loads(bins_file.read_text() or "[]")
            bins_file.unlink()
    H.write("linkage_scale", rows, quick=args.quick, notes=[
        "in process, one run per row (fork); every candidate pair kept (keep='all') so the calibration sees them all",
        "prior_weight: log2 prior odds of a match between two random records (falls as the records grow: matches grow "
        "with n, pairs with n^2)",
        "ece: expected calibration error over ten probability bins (linkage_scale-calibration has the bins); "
        "recall and precision at the default threshold 0.5 over pairs across source regions",
        "rests on the generator alone (national preset: persons drawn from the beibu preset's 24 regions' name pools)"])
    H.write("linkage_scale-calibration", bins, quick=args.quick, notes=[
        "per probability bin of every candidate pair: pairs, mean predicted probability, planted share of matches"])
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
