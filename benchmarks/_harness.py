"""One small harness for every benchmark suite.

Each measurement runs in a fresh forked process: it builds its input (``setup``), runs the tool
once to warm up (JIT compilation stays out of the timing), resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``), then times ``repeats`` runs. Reported: median and min seconds, peak
memory above the post-setup baseline (VmHWM - VmRSS before the timed runs), and whatever quality
numbers the tool returns. Rows go to ``benchmarks/results/<suite>.csv`` and a markdown table with
the ratio of every tool to the reference anchor.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _malloc_returns_memory() -> None:
    """Fixed glibc mmap threshold: big buffers are mmapped and given back on free, so the
    peak of a timed run is not hidden by pages a warm-up run left in the heap."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD
    except OSError:
        pass


def _child(conn, setup, run, repeats, warmup, score=None):
    try:
        _malloc_returns_memory()
        data = setup()
        out = None
        for _ in range(warmup):
            out = run(data)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        base = _status_kb("VmRSS")
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = run(data)
            times.append(time.perf_counter() - t)
        peak = max(_status_kb("VmHWM") - base, 0)
        if score is not None:  # quality of the last run's output, outside the timing and the peak
            out = score(out)
        quality = out if isinstance(out, dict) else {}
        conn.send({"ok": True, "times": times, "peak_mb": peak / 1024, "quality": quality})
    except Exception:  # report, never hang the suite
        conn.send({"ok": False, "error": traceback.format_exc(limit=3)})


def measure(tool: str, input_name: str, setup, run, *, repeats: int = 5, warmup: int = 1,
            timeout: float = 1800, score=None) -> dict:
    """Time ``run(setup())`` in a forked process; returns one result row. With ``score``, the
    row's quality columns are ``score(output)``, computed after the timed runs (not timed)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(child, setup, run, repeats, warmup, score))
    p.start()
    row = {"tool": tool, "input": input_name}
    if parent.poll(timeout):
        res = parent.recv()
    else:
        res = {"ok": False, "error": f"timeout after {timeout:.0f} s"}
        p.kill()
    p.join()
    if not res["ok"]:
        print(f"  {tool:<28} {input_name:<22} FAILED: {res['error'].strip().splitlines()[-1]}", flush=True)
        return {**row, "median_s": float("nan"), "min_s": float("nan"), "peak_mb": float("nan"),
                "note": res["error"].strip().splitlines()[-1]}
    med = statistics.median(res["times"])
    row.update({"median_s": med, "min_s": min(res["times"]), "peak_mb": res["peak_mb"],
                "runs": len(res["times"]), **res["quality"]})
    q = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in res["quality"].items())
    print(f"  {tool:<28} {input_name:<22} median {med:8.3f} s  peak {res['peak_mb']:8.1f} MB  {q}", flush=True)
    return row


def skip_note(tool: str, why: str) -> dict:
    print(f"  {tool:<28} skipped: {why}", flush=True)
    return {"tool": tool, "input": "-", "note": f"skipped: {why}"}


def machine() -> str:
    import numba
    import numpy

    return (f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
            f"numpy {numpy.__version__} · numba {numba.__version__}")


def write(suite: str, rows: list[dict], *, reference: str | None = None, notes: list[str] | None = None,
          quick: bool = False) -> Path:
    """Write ``<suite>.csv`` and ``<suite>.md``; ``ratio`` = tool median / reference median (same input)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    by_input = {}
    for r in rows:
        if reference and r.get("tool") == reference:
            by_input[r["input"]] = r.get("median_s")
    for r in rows:
        ref = by_input.get(r.get("input"))
        if ref and r.get("median_s") == r.get("median_s"):
            r["ratio_to_" + reference] = r["median_s"] / ref
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    stem = suite + ("-quick" if quick else "")
    with open(RESULTS / f"{stem}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    lines = [f"# {suite}", "", f"{time.strftime('%Y-%m-%d')} · {machine()}", ""]
    lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"- {n}" for n in notes or []]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / stem}.md", file=sys.stderr)
    return RESULTS / f"{stem}.md"
