"""Compile time of the numba kernels, in fresh interpreters (issue 4: reported on its own).

    python benchmarks/bench_compile.py [--quick]

Run 1: an empty NUMBA_CACHE_DIR, so every kernel compiles (what a fresh machine pays once).
Run 2: the same cache directory in a new process, so kernels load from the cache (what every
later process pays). Both times are ja.warmup(), measured inside the child process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

CHILD = "import jinduanalytics as ja; print(ja.warmup())"


def timed_warmup(cache_dir: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        cold = timed_warmup(cache)
        cached = timed_warmup(cache)
        n_files = sum(1 for _ in Path(cache).rglob("*.nbi"))
    print(f"  cold compile {cold:.1f} s, cached load {cached:.2f} s, {n_files} cache index files", flush=True)
    rows = [{"tool": "jindu.warmup", "input": "cold (empty cache)", "median_s": cold, "runs": 1},
            {"tool": "jindu.warmup", "input": "cached (second process)", "median_s": cached, "runs": 1,
             "cache_index_files": n_files}]
    H.write("compile", rows, notes=["one run each; the cold run compiles every kernel, the cached run loads them"],
            quick=args.quick)


if __name__ == "__main__":
    main()
