"""Synthetic generator: time per stage and peak memory per preset.

    python benchmarks/bench_generate.py            # the beibu preset (~300k cases, ~1M records)
    python benchmarks/bench_generate.py --quick    # the city preset, CI smoke run

Target (issue 3): beibu under 60 s and under 4 GB peak on this 2-core machine. There is no
anchor tool for this suite: it reports absolute medians, per-stage times and peak RSS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402


def run(preset):
    from jinduanalytics._progress import stages
    from jinduanalytics.synthetic.generator import _generate, preset_config

    with stages(["networks", "cases", "entities", "records", "contacts", "flows", "validate"],
                enabled=False) as step:
        ds = _generate(preset_config(preset), step)
    out = {f"{k}_s": round(v, 3) for k, v in step.timings.items()}
    out.update(cases=ds.cases.num_rows, person_records=ds.person_records.num_rows,
               case_entities=ds.case_entities.num_rows)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    preset = "city" if args.quick else "beibu"
    rows = [H.measure(f"jindu.generate[{preset}]", preset, lambda: preset, run, warmup=1,
                      repeats=1 if args.quick else args.repeats)]
    # peak of a cold run (the warm-up above hides allocations made once per process)
    rows.append(H.measure(f"jindu.generate[{preset}] cold", preset, lambda: preset, run, warmup=0, repeats=1))
    H.write("generate", rows, notes=["target: beibu < 60 s and < 4 GB peak (issue 3)",
                                     "stage columns are seconds of the last timed run"], quick=args.quick)


if __name__ == "__main__":
    main()
