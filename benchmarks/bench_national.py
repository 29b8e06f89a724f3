"""The national tier (issue 23) end to end on Dask: a sharded preset generated in bounded memory, then
validation, 集群打零, person linkage and region pairs with the workers reading the partitioned folder.

    python benchmarks/bench_national.py                    # 20,000 networks in 4 shards (~1M cases)
    python benchmarks/bench_national.py --networks 200000  # the national preset (40 shards)
    python benchmarks/bench_national.py --quick            # 60 networks in 3 shards (CI smoke run)
    python benchmarks/bench_national.py --folder-only      # only the path that scales (no in-process rows)
    python benchmarks/bench_national.py --splink           # + Splink (DuckDB) on the same person records

Each stage runs once, in order, in this process (the Dask rows: plus a LocalCluster of 2 worker
processes, one thread each, 6 GiB each); seconds and the peak resident memory of this process (VmHWM;
the stage's own peak above what was resident before it is ``peak_mb``) and of each Dask worker.
Quality against the planted truth (our generator's): clusters NMI/ARI, linkage pairwise and cluster
F1 (pairs across source regions), region pairs precision@k (k = planted pairs). ``same_as_local``:
the Dask table equals the in-process one (bit-identical), from the in-process rows of the same run.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402


def _reset_worker_peak() -> None:  # also runs in the workers: self-contained
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _reset_peak() -> int:
    _reset_worker_peak()
    return H._status_kb("VmRSS")


def _worker_peak_mb() -> float:  # runs in the workers: self-contained (no import of benchmarks there)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


started = {"t": 0.0, "client": None}  # when the latest stage started (a refused stage's time); the cluster


class _MachineSampler(threading.Thread):
    """The machine's memory in use (MemTotal - MemAvailable: every process, this one and the workers
    included; page cache not), sampled every second; ``take()`` returns the peak since the last call."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0

    @staticmethod
    def used_mb() -> float:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) / 1024

    def run(self):
        while True:
            self.peak = max(self.peak, self.used_mb())
            time.sleep(1.0)

    def take(self) -> float:
        peak, self.peak = max(self.peak, self.used_mb()), 0
        return round(peak, 1)


_MACHINE = _MachineSampler()


def stage(rows: list, tool: str, name: str, fn, **quality):
    gc.collect()
    if not _MACHINE.is_alive():
        _MACHINE.start()
    _MACHINE.take()
    base = _reset_peak()
    if started["client"] is not None:  # the workers' peaks are the stage's too
        started["client"].run(_reset_worker_peak)
    t = started["t"] = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    peak = max(H._status_kb("VmHWM") - base, 0) / 1024
    extra = quality.pop("score", None)
    q = {**quality, **(extra(out) if extra else {})}
    machine = _MACHINE.take()  # the stage and its scoring
    print(f"  {tool:<34} {dt:8.1f} s  peak +{peak:8.0f} MB  machine {machine:8.0f} MB  {q}", flush=True)
    rows.append({"tool": tool, "input": name, "median_s": dt, "min_s": dt, "peak_mb": peak, "runs": 1,
                 "machine_peak_mb": machine, **q})
    return out


def _truth(folder, name, columns=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((folder / "truth" / name).rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, columns=columns) for f in files])


def _machine_peak_mb(client, rows) -> None:
    import numpy as np

    peaks = client.run(_worker_peak_mb)
    rows[-1]["worker_peak_mb"] = round(float(np.max(list(peaks.values()))), 1)
    rows[-1]["workers_sum_peak_mb"] = round(float(np.sum(list(peaks.values()))), 1)


def run_splink_on_disk(folder: Path, *, u_pairs: float = 1e6, memory_limit: str = "12GB", rules=None) -> dict:
    """Splink with an on-disk DuckDB database (out of core: ``memory_limit``, spilling to a temporary
    directory), fed partition by partition: each person_records file gets the derived keys and is written
    back as Parquet; DuckDB builds one table per source region from them. Only the links' two ids and each
    record's cluster are read back (as Arrow) for the quality."""
    import shutil as _shutil

    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from splink.backends.duckdb import DuckDBAPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_linkage import splink_fit_predict, splink_frame

    from jinduanalytics import distributed as jd
    from jinduanalytics.linkage import score_links
    from jinduanalytics.linkage.link import arrow_to_pandas

    work = Path(tempfile.mkdtemp(prefix="splink-", dir=folder.parent))
    try:
        t = time.perf_counter()
        for i, f in enumerate(sorted((folder / "person_records").rglob("*.parquet"))):
            splink_frame(arrow_to_pandas(pq.read_table(f))).to_parquet(work / f"keyed-{i:05d}.parquet")
        con = duckdb.connect(str(work / "splink.duckdb"))
        con.execute(f"SET memory_limit='{memory_limit}'")
        con.execute(f"SET temp_directory='{work / 'spill'}'")
        con.execute("SET threads=2")
        src = f"read_parquet('{work}/keyed-*.parquet')"
        regions = [r[0] for r in con.execute(f"SELECT DISTINCT source_region FROM {src} ORDER BY 1").fetchall()]
        for i, r in enumerate(regions):
            con.execute(f"CREATE TABLE r_{i} AS SELECT * FROM {src} WHERE source_region = ?", [r])
        db_api = DuckDBAPI(connection=con)
        pred, clusters = splink_fit_predict([db_api.register(f"r_{i}") for i in range(len(regions))], u_pairs,
                                            rules)
        out = {"pipeline_s": time.perf_counter() - t}
        # only the pair ids and each record's cluster come back (Arrow, not every column as pandas)
        p = con.execute(f"SELECT CAST(unique_id_l AS VARCHAR) AS id_l, CAST(unique_id_r AS VARCHAR) AS id_r "
                        f"FROM {pred.physical_name}").to_arrow_table()
        c = con.execute(f"SELECT CAST(unique_id AS VARCHAR) AS record_id, CAST(cluster_id AS VARCHAR) AS person_id "
                        f"FROM {clusters.physical_name}").to_arrow_table()
        out["links"] = p.num_rows
        con.close()
    finally:
        _shutil.rmtree(work, ignore_errors=True)
    across = jd.folder_table(folder, "person_records", ["record_id", "source_region"])
    pairs = p.append_column("is_link", pa.array(np.ones(p.num_rows, dtype=bool)))
    s = score_links(pairs, c, _truth(folder, "record_person", ["record_id", "person_id"]), across=across)
    out.update({"pair_precision": s["pairwise"]["precision"], "pair_recall": s["pairwise"]["recall"],
                "pair_f1": s["pairwise"]["f1"], "cluster_f1": s["cluster"]["f1"]})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--networks", type=int, default=20_000)
    ap.add_argument("--shard-networks", type=int, default=5_000)
    ap.add_argument("--folder-only", action="store_true",
                    help="only what scales: the workers read the folder (no in-process read, no in-process run)")
    ap.add_argument("--splink", action="store_true", help="also Splink (DuckDB) on the same person records")
    ap.add_argument("--splink-on-disk", action="store_true",
                    help="only Splink with an on-disk DuckDB database on the --keep folder's person records")
    ap.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (default: a temporary folder)")
    ap.add_argument("--blocking", metavar="RULES",
                    help="person-linkage rules instead of PERSON_BLOCKING: rules separated by ';', columns by ','")
    ap.add_argument("--linkage-only", action="store_true", help="of the Dask stages, only the person linkage")
    args = ap.parse_args(argv)
    blocking = [tuple(r.split(",")) for r in args.blocking.split(";")] if args.blocking else None
    n, per = (60, 20) if args.quick else (args.networks, args.shard_networks)

    import numpy as np
    import pyarrow.compute as pc

    from jinduanalytics import distributed as jd
    from jinduanalytics.clusters import case_links, cluster_cases
    from jinduanalytics.errors import PairBudgetError
    from jinduanalytics.io import read_dataset
    from jinduanalytics.linkage import resolve_persons, score_links
    from jinduanalytics.metrics import ari, nmi
    from jinduanalytics.region_pairs import region_pairs
    from jinduanalytics.synthetic import generate_sharded

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jindu-national-"))
    name = f"national preset, {n:,d} networks in shards of {per:,d}"
    rows: list[dict] = []
    if args.splink_on_disk:
        if not (folder / "person_records").is_dir():
            generate_sharded("national", folder, n_networks=n, shard_networks=per)
        rows.append(H.measure("splink (DuckDB on disk, u 1e6)", name, lambda: folder,
                              lambda f: run_splink_on_disk(f, rules=blocking), warmup=0, repeats=1,
                              timeout=4 * 3600))
        rows[-1]["rules"] = args.blocking or "PERSON_BLOCKING"
        H.write("national-splink", rows, notes=[
            "Splink with an on-disk DuckDB database (memory_limit 12GB, spilling to a temporary directory, 2 threads), "
            "fed partition by partition; median_s includes deriving the keys and loading; pipeline_s the same without "
            "scoring; pairwise and cluster quality against the planted record -> person truth (pairs across source regions)",
            "peak_mb: the child process's peak resident memory (DuckDB's allocations included)"], quick=args.quick)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        if not (folder / "cases").is_dir():
            info = stage(rows, "generate_sharded", name, lambda: generate_sharded("national", folder, n_networks=n,
                                                                                  shard_networks=per))
            print(f"  {info['shards']} shards, {info['rows']['cases']:,d} cases, "
                  f"{info['rows']['person_records']:,d} person records", flush=True)
        # the planted truth is read when a stage is scored, not held through the stages: at national scale it
        # is ~1.4 GB this process would otherwise add to every stage's peak (the library never reads it)
        planted = _truth(folder, "region_links").to_pandas()
        planted = set(zip(planted["region_a"], planted["region_b"]))

        def cluster_quality(cl):
            truth = _truth(folder, "case_network", ["case_id", "network"])
            t = cl.join(truth, "case_id").filter(pc.greater_equal(pc.field("network"), 0))
            a, b = t.column("cluster").to_numpy(), t.column("network").to_numpy()
            return {"nmi": round(nmi(a, b), 4), "ari": round(ari(a, b), 4)}

        region_of = None

        def linkage_quality(res):
            nonlocal region_of
            if region_of is None:
                region_of = jd.folder_table(folder, "person_records", ["record_id", "source_region"])
            s = score_links(res[0], res[1], _truth(folder, "record_person", ["record_id", "person_id"]),
                            across=region_of)
            return {"pair_f1": round(s["pairwise"]["f1"], 4), "pair_precision": round(s["pairwise"]["precision"], 4),
                    "pair_recall": round(s["pairwise"]["recall"], 4), "cluster_f1": round(s["cluster"]["f1"], 4)}

        def pairs_quality(rp):
            k = max(len(planted), 1)
            top = rp.slice(0, k).to_pandas()
            hit = [(a, b) in planted or (b, a) in planted for a, b in zip(top["region_a"], top["region_b"])]
            return {"precision_at_k": round(float(np.mean(hit)) if hit else 0.0, 4), "k": len(planted),
                    "significant": int(pc.sum(rp.column("significant")).as_py() or 0)}

        if args.splink:  # first: the harness forks a child, which must not inherit this process's OpenMP threads
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_linkage import run_splink

            def load():
                records = jd.folder_table(folder, "person_records")
                return (records.drop_columns([c for c in ("shard",) if c in records.column_names]),
                        _truth(folder, "record_person", ["record_id", "person_id"]))

            rows.append(H.measure("splink (DuckDB, u 1e6; same records)", name, load,
                                  lambda d: run_splink(d, quality=True, u_pairs=1e6), warmup=0, repeats=1,
                                  timeout=3 * 3600))
        local: dict = {}
        if not args.folder_only:
            ds = stage(rows, "read_dataset (partitioned, validated)", name, lambda: read_dataset(folder))
            links = stage(rows, "case_links", name, lambda: case_links(ds))
            local["clusters"] = stage(rows, "cluster_cases (in-process)", name,
                                      lambda: cluster_cases(ds, seed=7, links=links), score=cluster_quality)
            local["persons"] = stage(rows, "resolve_persons (in-process)", name,
                                     lambda: resolve_persons(ds.person_records, seed=7, blocking=blocking),
                                     score=linkage_quality)
            local["pairs"] = stage(rows, "region_pairs (in-process)", name,
                                   lambda: region_pairs(ds, persons=local["persons"][1], clusters=local["clusters"]),
                                   score=pairs_quality)
            del ds, links
        with jd.engine_client(n_workers=2, memory_limit="6GiB") as client:
            started["client"] = client
            if not args.linkage_only:
                problems = stage(rows, "validate_folder (dask)", name, lambda: jd.validate_folder(folder, client=client))
                rows[-1]["problems"] = problems.num_rows
                _machine_peak_mb(client, rows)
            clusters = None if args.linkage_only else stage(rows, "cluster_cases (dask, folder)", name,
                             lambda: cluster_cases(folder, seed=7, engine="dask", client=client), score=cluster_quality)
            if "clusters" in local:
                rows[-1]["same_as_local"] = bool(local["clusters"].equals(clusters))
            if not args.linkage_only:
                _machine_peak_mb(client, rows)
            refused = None
            try:
                persons = stage(rows, "resolve_persons (dask, folder)", name,
                                lambda: resolve_persons(folder / "person_records", seed=7, engine="dask",
                                                        blocking=blocking, client=client), score=linkage_quality)
            except PairBudgetError as exc:  # recorded with its time; region pairs go on without person ties
                refused = str(exc)
                rows.append({"tool": "resolve_persons (dask, folder)", "input": name, "runs": 1,
                             "median_s": time.perf_counter() - started["t"], "refused": refused.split(" — ")[0]})
                print(f"  refused: {refused}", flush=True)
                persons = (None, None)
            if "persons" in local:
                rows[-1]["same_as_local"] = bool(local["persons"][0].equals(persons[0])
                                                 and local["persons"][1].equals(persons[1]))
            _machine_peak_mb(client, rows)
            if args.linkage_only:
                rows[-1]["rules"] = args.blocking or "PERSON_BLOCKING"
                started["client"] = None
                H.write("national-linkage", rows, notes=[
                    "person linkage alone on Dask, the workers reading the folder; rules: the rows' rules column "
                    "(';' between rules, ',' between columns); one run",
                    "peak_mb: this process's peak above what it held before; worker peaks during the stage",
                    "quality: against the generator's planted record -> person truth, pairs across source regions"],
                    quick=args.quick)
                return
            pairs = stage(rows, "region_pairs (dask, folder)", name,
                          lambda: region_pairs(folder, persons=persons[1], clusters=clusters, engine="dask",
                                               client=client), score=pairs_quality)
            if "pairs" in local:
                rows[-1]["same_as_local"] = bool(local["pairs"].equals(pairs))
            _machine_peak_mb(client, rows)
            out = folder.parent / (folder.name + "-report")

            def report():
                """The national report (jindu analyze --folder) from the tables computed above: its
                sections' own work (substance counts on the cluster, figures, tables) and the files."""
                from jinduanalytics.analyze import analyze_into
                from jinduanalytics.analyze.run import Run

                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                run = Run(str(folder), seed=7, engine="dask", client=client)
                run.__dict__.update(case_clusters=clusters, person_linkage=persons, region_pairs=pairs,
                                    linkage_refused=refused)
                analyze_into(str(folder), out, seed=7, source=str(folder), input_sha256={}, progress=False,
                             show_identifiers=False, engine="dask", client=client, run=run)
                return out

            stage(rows, "report (tables, figures, report.html)", name, report)
            _machine_peak_mb(client, rows)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    total = sum(r.get("median_s", 0) for r in rows if "(dask" in r["tool"] or r["tool"].startswith("generate")
                or r["tool"].startswith("report"))
    H.write("national" if not args.folder_only else "national-folder", rows, notes=[
        "one run per stage, in order, in one process; peak_mb: this process's peak resident memory above what it held "
        "before the stage (VmHWM); worker_peak_mb / workers_sum_peak_mb: the largest Dask worker's peak and the sum "
        "over the 2 workers during the stage (a worker restarted by its nanny starts its count again); machine_peak_mb: the "
        "whole machine's memory in use (MemTotal - MemAvailable, sampled every second) during the stage and its scoring",
        f"generate + the Dask stages + the report: {total:,.0f} s",
        "dask rows: the workers read the partitioned folder; this process holds one column per record or case (ids), "
        "the assembled case graph (Leiden consensus runs here), the links, and the region-pair scores",
        "in-process rows read the whole dataset into this process (same_as_local compares with them)",
        "quality: against the generator's planted truth (networks, record -> person, region links); shards share no "
        "persons or entities, so cross-shard ties are absent from this preset",
        "report: jindu analyze --folder's sections rendered from the stages' tables (substance counts on the cluster, "
        "figures, report.html and the result tables written)"], quick=args.quick)


if __name__ == "__main__":
    main()
