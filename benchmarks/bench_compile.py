"""What the numba kernels' compilation costs a first run, in fresh processes (issue 22).

    python benchmarks/bench_compile.py [--quick] [--repeats N]

Every row starts a new interpreter with ``NUMBA_CACHE_DIR`` pointing at a directory of its own:
"cold" rows at an empty one (every kernel a run needs is compiled: a fresh machine or a fresh
clone), "warm" rows at the one the cold run filled (kernels load from numba's on-disk cache:
every later process).

- ``jindu.warmup``: ``ja.warmup()`` (compiles every kernel of the small-graph paths).
- ``jindu demo``: the README's first command, wall time of the whole CLI process.
- ``jindu.leiden first call``: in a fresh process, the first ``leiden`` on a 1M-node graph minus
  the second (the compilation that call pays; the graph is built before the clock starts).

``--quick`` (the test suite's smoke run): one run per row, no demo rows, Leiden on 10k nodes, and every
process on the environment's own numba cache instead of empty ones (the suite's
``test_numba_cache_is_written_and_reused`` compiles cold once; a smoke run need not three times more).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WARMUP = "import jinduanalytics as ja; print(ja.warmup())"
FIRST_LEIDEN = """
import sys, time
sys.path.insert(0, {root!r})
import jinduanalytics as ja
from benchmarks._graphs import planted_partition
edges, _ = planted_partition({n}, seed=20240601)
g = ja.from_edges(edges)
t = time.perf_counter(); ja.leiden(g, seed=0); first = time.perf_counter() - t
t = time.perf_counter(); ja.leiden(g, seed=0); second = time.perf_counter() - t
print(first, second)
"""


def _env(cache: str | None) -> dict:
    """A fresh process's environment: numba's cache at ``cache`` (None: the environment's own)."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    return env


def _python(code: str, cache: str | None) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=_env(cache), capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _demo(cache: str, out: str) -> float:
    jindu = Path(sys.executable).with_name("jindu")
    cmd = [str(jindu)] if jindu.exists() else [sys.executable, "-m", "jinduanalytics.cli"]
    t = time.perf_counter()
    subprocess.run(cmd + ["demo", "--out", out, "--quiet", "--force"], env=_env(cache), capture_output=True,
                   text=True, check=True)
    return time.perf_counter() - t


def _row(tool: str, case: str, times: list[float], **extra) -> dict:
    med = statistics.median(times)
    print(f"  {tool:<26} {case:<28} median {med:7.2f} s  ({len(times)} runs)", flush=True)
    return {"tool": tool, "input": case, "median_s": med, "min_s": min(times), "runs": len(times), **extra}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="runs per row (each cold run has its own empty cache)")
    args = ap.parse_args(argv)
    reps = 1 if args.quick else args.repeats
    n = 10_000 if args.quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        caches = [None] if args.quick else [str(Path(tmp) / f"cache{i}") for i in range(reps)]
        cold = [float(_python(WARMUP, c)) for c in caches]
        rows.append(_row("jindu.warmup", "quick: the environment's cache" if args.quick else "cold (empty cache)",
                         cold))
        warm = [float(_python(WARMUP, caches[0])) for _ in range(reps)]
        rows.append(_row("jindu.warmup", "warm (cache filled)", warm))

        if not args.quick:
            caches = [str(Path(tmp) / f"demo{i}") for i in range(reps)]
            out = str(Path(tmp) / "demo-out")
            cold = [_demo(c, out) for c in caches]
            rows.append(_row("jindu demo", "cold (empty cache)", cold))
            warm = [_demo(caches[0], out) for _ in range(reps)]
            rows.append(_row("jindu demo", "warm (cache filled)", warm))

        firsts, seconds = [], []
        for i in range(reps):
            first, second = map(float, _python(FIRST_LEIDEN.format(root=str(ROOT), n=n),
                                                None if args.quick else str(Path(tmp) / f"leiden{i}")).split())
            firsts.append(first)
            seconds.append(second)
        compile_s = [f - s for f, s in zip(firsts, seconds)]
        rows.append(_row("jindu.leiden first call", f"n={n:,} " + ("quick" if args.quick else "cold: compile paid"), compile_s,
                         first_call_s=statistics.median(firsts), second_call_s=statistics.median(seconds)))
    H.write("compile", rows, quick=args.quick, notes=[
        "each cold run has its own empty NUMBA_CACHE_DIR; warm runs reuse the first cold run's",
        "jindu demo: wall time of the CLI process (county preset, seed 7: generate, write, read back, analyse, report)",
        "leiden first call: the first leiden() on the graph minus the second, in a fresh process "
        "(graph: benchmarks._graphs.planted_partition)",
        "targets (issue 22): demo cold <= 20 s, warm <= 6 s; first leiden at 1M nodes pays <= 5 s of compilation",
    ])


if __name__ == "__main__":
    main()
