"""Every benchmark suite runs with --quick, so the scripts cannot rot (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("suite", [p.name for p in sorted((ROOT / "benchmarks").glob("bench_*.py"))])
def test_benchmark_quick_run(suite):
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / suite), "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "FAILED" not in res.stdout, res.stdout[-3000:]
    md = ROOT / "benchmarks" / "results" / (suite[len("bench_"):-3] + "-quick.md")
    assert md.exists() and "| tool |" in md.read_text()
