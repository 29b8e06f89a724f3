"""The ``jindu`` command: batch work with the same public functions a notebook uses.

    jindu demo                         generate a small dataset and run the analysis on it
    jindu generate --preset city --out data/city
    jindu validate data/city           exit code 2 and the validation message on bad input
    jindu analyze data/city --out out  result tables, report.html, manifest.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._version import __version__
from .errors import JinduError

__all__ = ["main"]


def _parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"jindu: --set takes key=value; got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _cmd_generate(args) -> int:
    from ._output import output_folder
    from .io import write_dataset
    from .synthetic import SHARD_NETWORKS, generate, generate_sharded

    t = time.perf_counter()
    overrides = _parse_overrides(args.set)
    # the marker says the folder is generated data: only such a folder is replaced without --force
    sharded = args.preset == "national" or args.shard_networks is not None
    with output_folder(args.out, marker=GENERATED_MARKER, force=args.force) as tmp:
        if sharded:  # one shard in memory at a time, each table a folder of shard partitions
            info = generate_sharded(args.preset, tmp, seed=args.seed, progress=not args.quiet,
                                    shard_networks=args.shard_networks or SHARD_NETWORKS, **overrides)
            what = f"{info['shards']} shards of <= {info['shard_networks']:,d} networks ({info['rows']['cases']:,d} cases)"
        else:
            ds = generate(args.preset, seed=args.seed, progress=not args.quiet, **overrides)
            write_dataset(ds, tmp)
            what = repr(ds)
        (tmp / GENERATED_MARKER).write_text(json.dumps(
            {"jinduanalytics": __version__, "preset": args.preset, "seed": args.seed, "overrides": overrides,
             "shard_networks": args.shard_networks or (SHARD_NETWORKS if sharded else None)}, indent=2))
    print(f"wrote {what} to {args.out} in {time.perf_counter() - t:.1f} s")
    return 0


def _validate_on_dask(args) -> int:
    """``jindu validate DIR --engine dask``: partition by partition on a Dask cluster."""
    from ._output import output_folder
    from .distributed import engine_client, validate_folder

    with engine_client(scheduler=args.scheduler) as client:
        if args.lenient and args.rejected:
            with output_folder(args.rejected, inputs=[args.dataset], marker="rejected.json", force=args.force) as tmp:
                got = validate_folder(args.dataset, lenient=True, rejected_to=tmp, vocabulary=args.vocabulary,
                                      client=client)
                (tmp / "rejected.json").write_text(json.dumps({"dataset": str(args.dataset), "engine": "dask"}))
        else:
            got = validate_folder(args.dataset, lenient=args.lenient, vocabulary=args.vocabulary, client=client)
    summary = json.loads(got.schema.metadata[b"jindu.validation"])
    width = max(len(t) for t in summary)
    for name, r in summary.items():
        print(f"{name:<{width}}  {r['rows']:>12,d} rows  {r['rejected']:>8,d} rejected")
    for p in got.to_pylist()[:20]:
        print(f"  {p['table']} ({p['file']}): {p['message']} ({p['n_rows']:,d} rows)")
    n_rejected = sum(r["rejected"] for r in summary.values())
    if n_rejected and args.rejected:
        print(f"rejected rows (with _row within their file and _reason) written to {args.rejected}, one file per "
              "partition")
    elif n_rejected:
        print(f"{n_rejected:,d} rows rejected; pass --rejected DIR to write them (with _row and _reason)")
    return 0


def _cmd_validate(args) -> int:
    import warnings

    if args.engine == "dask":
        return _validate_on_dask(args)

    from ._output import output_folder
    from .errors import JinduWarning
    from .io import read_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JinduWarning)
        ds = read_dataset(args.dataset, lenient=args.lenient, vocabulary=args.vocabulary)
    files = ds.files
    if ds.vocabulary is not None:
        print(f"vocabulary: shipped + {', '.join(ds.vocabulary.sources[1:])}")
    names = [f.name + ("/" if f.is_dir() else "") for f in files.read.values()]  # a folder: a partitioned table
    print(f"read:    {', '.join(names)}")
    if files.ignored:
        print(f"ignored: {', '.join(files.ignored)} (not canonical table names)")
    if files.missing:
        print(f"missing: {', '.join(files.missing)} (no file; analyses that need them are skipped)")
    summary = ds.summary().to_pylist()
    width = max(len(r["table"]) for r in summary)
    for r in summary:
        print(f"{r['table']:<{width}}  {r['rows']:>10,d} rows  {r['rejected']:>8,d} rejected")
    n_rejected = sum(r["rejected"] for r in summary)
    if n_rejected and args.rejected:
        import pyarrow.parquet as pq

        with output_folder(args.rejected, inputs=[args.dataset], marker="rejected.json",
                           force=args.force) as tmp:
            for name, t in ds.rejected.items():
                if t.num_rows:
                    pq.write_table(t, tmp / f"{name}.parquet")
            (tmp / "rejected.json").write_text(json.dumps(
                {"dataset": str(args.dataset), "rejected_rows": {n: t.num_rows for n, t in ds.rejected.items()
                                                                 if t.num_rows}}, indent=2))
        print(f"rejected rows (with _row and _reason) written to {args.rejected}")
    elif n_rejected:
        print(f"{n_rejected:,d} rows rejected; pass --rejected DIR to write them (with _row and _reason)")
    return 0


def _cmd_analyze(args) -> int:
    import warnings

    from .analyze import analyze
    from .analyze.config import config_toml, load_config, resolve_config
    from .errors import JinduWarning, ParameterError
    from .io import read_dataset

    config = load_config(args.config) if args.config else resolve_config()
    if args.seed is not None:
        config["seed"] = args.seed
    if args.date_from is not None or args.date_to is not None:
        config = resolve_config({**config, "window": {"from": args.date_from or config["window"]["from"],
                                                      "to": args.date_to or config["window"]["to"]}})
    if args.print_config:
        print(config_toml(config), end="")
        return 0
    if args.dataset is None or args.out is None:
        raise ParameterError("jindu analyze needs a DATASET folder and --out DIR (or --print-config)")
    t = time.perf_counter()
    if args.folder:
        if args.engine != "dask":
            raise ParameterError("--folder is for --engine dask (the Dask workers read the folder)")
        if args.vocabulary:
            raise ParameterError("--vocabulary with --folder: put the additions in the folder's vocabulary.toml")
        res = analyze(args.dataset, args.out, config=config, progress=not args.quiet,
                      show_identifiers=args.show_identifiers, force=args.force, engine="dask",
                      scheduler=args.scheduler)
        cl = res["case_clusters"]
        print(f"analysed {args.dataset} on Dask: {cl.num_rows:,d} cases clustered in {time.perf_counter() - t:.1f} s")
        print(f"report: {Path(res['report']).resolve()}")
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JinduWarning)
        ds = read_dataset(args.dataset, vocabulary=args.vocabulary)
    res = analyze(ds, args.out, config=config, source=args.dataset, progress=not args.quiet,
                  show_identifiers=args.show_identifiers, force=args.force, engine=args.engine,
                  scheduler=args.scheduler)
    s = res["cluster_summary"]
    print(f"analysed {args.dataset}: {ds.cases.num_rows if 'cases' in ds else 0:,d} cases -> {s.num_rows:,d} "
          f"clusters of 3+ cases in {time.perf_counter() - t:.1f} s")
    print(f"results (Parquet), manifest.json and the report are in {Path(args.out).resolve()}")
    print(f"report: {Path(res['report']).resolve()}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(out=Path(args.out), preset=args.preset, seed=args.seed, progress=not args.quiet, force=args.force)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jindu", description="jinduanalytics: counter-narcotics network analytics "
                                                          "(synthetic data only).")
    p.add_argument("--version", action="version", version=f"jinduanalytics {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="generate a small synthetic dataset and run the analysis on it")
    d.add_argument("--out", default="jindu-demo", help="output folder (default: ./jindu-demo)")
    d.add_argument("--preset", default="county", help="synthetic preset (default: county)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.add_argument("--force", action="store_true", help=_FORCE)
    d.set_defaults(func=_cmd_demo)

    a = sub.add_parser("analyze", help="run the full analysis on a dataset folder; write tables, report, manifest")
    a.add_argument("dataset", nargs="?", help="dataset folder (one Parquet file per table)")
    a.add_argument("--out", help="output folder")
    a.add_argument("--seed", type=int, default=None, help="overrides the configuration's seed (default 7)")
    a.add_argument("--config", metavar="FILE", help="parameters of every step: a TOML file (any subset of "
                                                     "--print-config's keys) or an earlier run's manifest.json")
    a.add_argument("--print-config", action="store_true", help="print the configuration (defaults, or with --config "
                                                               "the file's) as TOML and exit")
    a.add_argument("--from", dest="date_from", metavar="DATE", help="analyse the period from this date (YYYY-MM-DD): "
                                                                     "dated rows before it are not evidence")
    a.add_argument("--to", dest="date_to", metavar="DATE", help="... up to this date (included)")
    a.add_argument("--vocabulary", metavar="FILE", help=_VOCABULARY)
    a.add_argument("--show-identifiers", action="store_true",
                   help="show entity values (phones, accounts) unmasked in the report")
    a.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="dask: the distributed stages run on a Dask cluster (a local one: 2 worker processes; "
                        "or --scheduler); the same results")
    a.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running Dask scheduler "
                                                          "(tcp://host:8786)")
    a.add_argument("--folder", action="store_true",
                   help="with --engine dask: the workers read the dataset folder and no table is read whole into this "
                        "process (the national tier); the report has the clusters, person linkage, region pairs and "
                        "substances")
    a.add_argument("--quiet", action="store_true", help="no progress bars")
    a.add_argument("--force", action="store_true", help=_FORCE)
    a.set_defaults(func=_cmd_analyze)

    g = sub.add_parser("generate", help="write a synthetic dataset with planted truth")
    g.add_argument("--preset", default="county",
                   choices=["county", "city", "channels", "timeline", "monitoring", "money", "fugitives", "beibu",
                            "national"])
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--shard-networks", type=int, metavar="N",
                   help="write shard by shard, N networks per shard, each table a folder of partitions "
                        "(the national preset always is: 5000)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a generator parameter")
    g.add_argument("--quiet", action="store_true")
    g.add_argument("--force", action="store_true", help=_FORCE)
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser("validate", help="validate a dataset folder; exit code 2 on problems")
    v.add_argument("dataset")
    v.add_argument("--lenient", action="store_true", help="report rejected rows instead of failing")
    v.add_argument("--rejected", metavar="DIR", help="with --lenient: write the rejected rows (one Parquet file "
                                                     "per table, with _row and _reason) to DIR, outside the dataset")
    v.add_argument("--vocabulary", metavar="FILE", help=_VOCABULARY)
    v.add_argument("--force", action="store_true", help=_FORCE)
    v.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="dask: each partition file checked by a Dask worker, keys across partitions joined there "
                        "(nothing read whole into this process)")
    v.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running Dask scheduler "
                                                           "(default: a local cluster for the run)")
    v.set_defaults(func=_cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one ``jindu`` command. Exit codes: 0 done, 2 bad input or unwritable output (one line
    naming the table, file or folder; nothing half-written), 130 interrupted (Ctrl-C).

    Parameters
    ----------
    argv : list of str, optional
        Default: the process's arguments.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except JinduError as exc:
        print(f"jindu: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jindu: interrupted; no output folder was written or changed", file=sys.stderr)
        return 130
    except OSError as exc:  # a read failure outside the loaders (a disk error, a permission)
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"jindu: {type(exc).__name__}:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2


_VOCABULARY = ("a TOML file of extra drugs, case types, roles, entity kinds or flow modes "
               "(shape: jinduanalytics/data/vocabulary.toml; a dataset's own vocabulary.toml is read too)")
_FORCE = "replace a non-empty output folder that holds no earlier jindu output"
#: Written by ``jindu generate`` beside the tables: how the data were made.
GENERATED_MARKER = "generated.json"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
