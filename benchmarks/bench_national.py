"""The national tier (issue 23), as far as it is built: a sharded preset generated in bounded memory, read
from its partitioned folder, and 集群打零 with the case graph's projection in-process and on Dask.

    python benchmarks/bench_national.py                    # 20,000 networks in 4 shards (~1M cases)
    python benchmarks/bench_national.py --networks 200000  # the national preset (40 shards; see the note)
    python benchmarks/bench_national.py --quick            # 60 networks in 3 shards (CI smoke run)
    python benchmarks/bench_national.py --networks 100000 --folder-only   # only the path that scales

Each stage runs once, in order, in this process (the Dask rows: plus a LocalCluster of 2 worker
processes, one thread each); seconds and the peak resident memory of this process (VmHWM; the
stage's own peak above what was resident before it is ``peak_mb``) and of each Dask worker. Quality:
NMI/ARI of the clusters against the planted networks (our generator's truth); ``same_as_local``: the
Dask clusters equal the in-process ones (bit-identical table).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402


def _reset_peak() -> int:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return H._status_kb("VmRSS")


def _worker_peak_mb() -> float:  # runs in the workers: self-contained (no import of benchmarks there)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stage(rows: list, tool: str, name: str, fn, **quality):
    gc.collect()
    base = _reset_peak()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    peak = max(H._status_kb("VmHWM") - base, 0) / 1024
    extra = quality.pop("score", None)
    q = {**quality, **(extra(out) if extra else {})}
    print(f"  {tool:<34} {dt:8.1f} s  peak +{peak:8.0f} MB  {q}", flush=True)
    rows.append({"tool": tool, "input": name, "median_s": dt, "min_s": dt, "peak_mb": peak, "runs": 1, **q})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--networks", type=int, default=20_000)
    ap.add_argument("--shard-networks", type=int, default=5_000)
    ap.add_argument("--folder-only", action="store_true",
                    help="only what scales: the workers read the folder (no in-process read, no in-process run)")
    args = ap.parse_args(argv)
    n, per = (60, 20) if args.quick else (args.networks, args.shard_networks)

    import numpy as np
    import pyarrow.compute as pc

    from jinduanalytics import distributed as jd
    from jinduanalytics.clusters import case_links, cluster_cases
    from jinduanalytics.io import read_dataset
    from jinduanalytics.metrics import ari, nmi
    from jinduanalytics.synthetic import generate_sharded

    folder = Path(tempfile.mkdtemp(prefix="jindu-national-"))
    name = f"national preset, {n:,d} networks in shards of {per:,d}"
    rows: list[dict] = []
    try:
        info = stage(rows, "generate_sharded", name, lambda: generate_sharded("national", folder, n_networks=n,
                                                                              shard_networks=per))
        print(f"  {info['shards']} shards, {info['rows']['cases']:,d} cases, "
              f"{info['rows']['person_records']:,d} person records", flush=True)
        import pyarrow as pa
        import pyarrow.parquet as pq

        truth = pa.concat_tables([pq.read_table(f, columns=["case_id", "network"]) for f in
                                  sorted((folder / "truth" / "case_network").rglob("*.parquet"))])

        def quality(cl):
            t = cl.join(truth, "case_id").filter(pc.greater_equal(pc.field("network"), 0))
            a, b = t.column("cluster").to_numpy(), t.column("network").to_numpy()
            return {"nmi": round(nmi(a, b), 4), "ari": round(ari(a, b), 4)}

        local = None
        if not args.folder_only:
            ds = stage(rows, "read_dataset (partitioned, validated)", name, lambda: read_dataset(folder),
                       cases=info["rows"]["cases"])
            links = stage(rows, "case_links", name, lambda: case_links(ds))
            local = stage(rows, "cluster_cases (in-process)", name, lambda: cluster_cases(ds, seed=7, links=links),
                          score=quality)
        with jd.engine_client(n_workers=2, memory_limit="6GiB") as client:
            if not args.folder_only:
                dist = stage(rows, "cluster_cases (engine=dask, 2 workers)", name,
                             lambda: cluster_cases(ds, seed=7, links=links, engine="dask", client=client),
                             score=quality)
                rows[-1]["same_as_local"] = bool(local.equals(dist))
                rows[-1]["worker_peak_mb"] = round(float(np.max(list(client.run(_worker_peak_mb).values()))), 1)
            fold = stage(rows, "cluster_cases (engine=dask, workers read the folder)", name,
                         lambda: cluster_cases(folder, seed=7, engine="dask", client=client), score=quality)
            if local is not None:
                rows[-1]["same_as_local"] = bool(local.equals(fold))
            rows[-1]["worker_peak_mb"] = round(float(np.max(list(client.run(_worker_peak_mb).values()))), 1)
            print(f"  worker peak {rows[-1]['worker_peak_mb']} MB; same as in-process: "
                  f"{rows[-1].get('same_as_local')}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    H.write("national" if not args.folder_only else "national-folder", rows, notes=[
        "one run per stage, in order, in one process; peak_mb: this process's peak resident memory above what it held "
        "before the stage (VmHWM); worker_peak_mb: the largest Dask worker's peak",
        "workers read the folder: only the case ids and the projected graph come into this process (Leiden consensus "
        "runs here); the other rows read the whole dataset into this process",
        "not built yet (issue 23 stays open): distributed validation, person linkage and region pairs on Dask, the "
        "Splink/DuckDB comparison",
        "nmi/ari: clusters against the planted networks (our generator's truth)"], quick=args.quick)


if __name__ == "__main__":
    main()
