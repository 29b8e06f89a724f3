"""`jindu analyze` per stage: seconds and the process's peak memory after each section.

    python benchmarks/bench_analyze.py            # city and beibu presets, median of 3 runs each
    python benchmarks/bench_analyze.py --quick    # the county preset, one run (CI smoke run)

Target (issue 30): the beibu analysis in at most 60 s wall and 2 GB peak on this 2-core machine.
Each run is a fresh process (read the dataset, run every section, render the report, write every
table into a temporary folder), as `jindu analyze` does; `wall_s` is that whole run, and the
`<section>_s` / `<section>_peak_mb` columns are of the median run. No anchor tool exists for the
whole analysis: the per-stage columns say how each stage grows from city to beibu, for planning
the national tier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path

def hwm_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024

t0 = time.perf_counter()
import jinduanalytics as ja
from jinduanalytics.analyze import SECTIONS, Run
from jinduanalytics.analyze.report import png_base64, render_report
from jinduanalytics.analyze import _kpis
from jinduanalytics.clusters import mask_value
import pyarrow.parquet as pq

row = {}
t = time.perf_counter()
ds = ja.read_dataset(sys.argv[1])
row["read_s"], row["read_peak_mb"] = time.perf_counter() - t, hwm_mb()
run = Run(ds, seed=7)
sections = []
for fn in SECTIONS:
    t = time.perf_counter()
    sections.append(fn(run, mask_value))
    name = fn.__name__.removesuffix("_section")
    row[f"{name}_s"], row[f"{name}_peak_mb"] = time.perf_counter() - t, hwm_mb()
t = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    for s in sections:
        for n, table in s.tables.items():
            if table is not None:
                pq.write_table(table, Path(out) / f"{n}.parquet")
    images = {k: png_base64(f) for s in sections for k, f in s.figures.items()}
    (Path(out) / "report.html").write_text(render_report(sections, images, kpis=_kpis(run), masked=True))
row["report_s"], row["report_peak_mb"] = time.perf_counter() - t, hwm_mb()
row["wall_s"], row["peak_mb"] = time.perf_counter() - t0, hwm_mb()
print(json.dumps(row))
"""


def one_run(folder: Path) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--presets", nargs="*", default=None)
    args = ap.parse_args(argv)
    from jinduanalytics import write_dataset
    from jinduanalytics.synthetic import generate

    presets = args.presets or (["county"] if args.quick else ["city", "beibu"])
    repeats = 1 if args.quick else args.repeats
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets:
            folder = Path(tmp) / preset
            write_dataset(generate(preset, seed=7), folder)
            one_run(folder)  # numba's cache warm, as in every run after the first
            runs = [one_run(folder) for _ in range(repeats)]
            med = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
            row = {"tool": "jindu analyze", "input": f"{preset} seed 7", "median_s": statistics.median(
                r["wall_s"] for r in runs), "min_s": min(r["wall_s"] for r in runs),
                   "peak_mb": max(r["peak_mb"] for r in runs), "runs": len(runs)}
            row.update({k: round(v, 3) if k.endswith("_s") else round(v) for k, v in med.items()
                        if k not in ("wall_s", "peak_mb")})
            print(f"  {preset:<8} median {row['median_s']:.1f} s  peak {row['peak_mb']:.0f} MB  "
                  + "  ".join(f"{k}={v}" for k, v in row.items() if k.endswith("_s") and k not in ("median_s", "min_s")),
                  flush=True)
            rows.append(row)
    H.write("analyze", rows, notes=[
        "target (issue 30): beibu <= 60 s wall and <= 2 GB peak (median of 3) on this 2-core machine",
        "before issue 30 (the issue's measurement, same preset): 148 s wall, 1.95 GB; checkpoints 80 s",
        "median_s / peak_mb: whole process (import, read and validate, every section, report, tables);"
        " <stage>_s and <stage>_peak_mb (the process's high-water mark after that stage): the median run"],
        quick=args.quick)


if __name__ == "__main__":
    main()
