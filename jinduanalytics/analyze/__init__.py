"""The full analysis of one dataset: result tables, figures, a self-contained HTML report, a manifest.

``jindu analyze DATASET --out DIR`` and ``jindu demo`` both run it. The shape is a pipeline:

* :class:`~jinduanalytics.analyze.run.Run` holds the intermediates (case links, trips, clusters,
  resolved persons, ...), each computed once, on first use;
* :data:`~jinduanalytics.analyze.sections.SECTIONS` lists the sections; each reads the run and
  returns its tables, figures and template values;
* :func:`~jinduanalytics.analyze.report.render_report` renders one Jinja2 template per section
  (``templates/sections/``) into the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._checks import check_choice
from .._output import output_folder
from .._progress import stages
from .._version import __version__
from ..clusters import mask_value
from ..community import provenance
from ..distributed import ENGINES, engine_client, folder_vocabulary, is_folder
from ..errors import ParameterError
from ..io import _partition_files, dataset_files
from ..vocabulary import vocabulary_of
from .report import png_base64, render_report
from .run import Run, cross_region_clusters
from .sections import FOLDER_SECTIONS, SECTIONS, Section

__all__ = ["analyze", "analyze_into", "input_files", "file_hashes", "Run", "SECTIONS", "FOLDER_SECTIONS", "Section",
           "cross_region_clusters"]


def analyze(data, out, *, seed: int | None = None, config: dict | None = None, source: str | None = None,
            progress: bool = True, show_identifiers: bool = False, force: bool = False, engine: str = "local",
            client=None, scheduler: str | None = None) -> dict:
    """Run every section (集群打零, upstream trace, person linkage and region pairs, routes,
    checkpoints, disruption) and write tables, report and manifest into ``out``.

    Writes into ``out``: every section's result tables (``case_clusters``, ``cluster_summary``,
    ``cluster_evidence``, ``upstream_trace``, ``trace_coverage``, ``record_links``,
    ``linked_persons``, ``region_pairs``, ``flow_legs``, ``cross_region_clusters``,
    ``checkpoints``, ``checkpoints_evasive``, ``rerouted_flows``, ``disruption_curves``,
    ``key_players``; Parquet), ``report.html`` (self-contained: figures embedded) and
    ``manifest.json`` (version, parameters, seed, input hashes, timings, outputs).

    The output folder is complete or absent: everything is written into a temporary sibling
    folder that replaces ``out`` only at the end (an interrupted run leaves ``out`` as it
    was). ``out`` may not be, contain or lie inside the input dataset, and a non-empty ``out``
    is replaced only when it is an earlier jindu output (it has ``manifest.json``) or
    ``force=True``. Input files are hashed into the manifest before the run.

    Parameters
    ----------
    data : Dataset
        Validated tables (e.g. :func:`jinduanalytics.read_dataset`).
    out : path
        Output folder.
    seed : int, optional
        Overrides the configuration's seed (default 7).
    config : dict, optional
        Parameters of every step: any subset of :data:`jinduanalytics.analyze.config.DEFAULTS`
        (``jindu analyze --print-config`` shows them). The resolved configuration goes into the
        manifest, so a run can be repeated from its output folder (``--config OUT/manifest.json``).
    source : str, optional
        Folder the dataset was read from (default: ``data.source``): the files read from it are
        hashed into the manifest.
    progress : bool, default True
        A progress bar on stderr, one tick per section.
    show_identifiers : bool
        Entity values (phones, accounts) appear masked in the report (``phone …1234``)
        unless this is True. Result tables always hold the raw values.
    force : bool, default False
        Replace a non-empty ``out`` that holds no earlier jindu output.
    engine : {"local", "dask"}
        ``"dask"``: the distributed stages (:mod:`jinduanalytics.distributed`) run on a Dask cluster — the
        results are the same tables.
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster (default: a local one started for the run, or ``scheduler``).
    scheduler : str, optional
        With ``engine="dask"``: the address of a running Dask scheduler.

    Returns
    -------
    dict
        Result tables by name, plus ``"timings"`` (seconds per section) and ``"report"`` (its path).

    Raises
    ------
    OutputError
        ``out`` overlaps the input, holds other files, or cannot be written (nothing is
        written then).
    """
    check_choice("engine", engine, ENGINES)
    if is_folder(data):
        if engine != "dask":
            raise ParameterError(f"analyze: a dataset folder ({data}) is read by the Dask workers with engine='dask'; "
                                 "otherwise pass read_dataset(folder)")
        source = data if source is None else source
    files = input_files(data, source)
    hashes = file_hashes(files)  # before anything is written
    src = source if source is not None else getattr(data, "source", None)
    with contextlib.ExitStack() as stack:
        if engine == "dask":
            client = stack.enter_context(engine_client(client, scheduler))
        with output_folder(out, inputs=[src, *files.values()], marker="manifest.json", force=force) as tmp:
            res = analyze_into(data, tmp, seed=seed, config=config, source=src, input_sha256=hashes,
                               progress=progress, show_identifiers=show_identifiers, engine=engine, client=client)
    res["report"] = Path(out) / "report.html"
    return res


def input_files(data, source=None) -> dict[str, Path]:
    """The files a dataset was read from (tables and truth), by path relative to its folder.

    Parameters
    ----------
    data : Dataset
    source : path, optional
        Default ``data.source``.
    """
    folder = source if source is not None else getattr(data, "source", None)
    if folder is None or not Path(folder).is_dir():
        return {}
    folder = Path(folder)
    known = getattr(data, "files", None)
    read = known.read if known is not None else dataset_files(folder).read
    found = {p.name: p for p in read.values()}
    truth = folder / "truth"
    if truth.is_dir():
        found.update({f"truth/{p.name}": p for p in sorted(truth.iterdir())
                      if (p.is_file() and p.suffix == ".parquet") or (p.is_dir() and _partition_files(p))})
    return dict(sorted(found.items()))


def analyze_into(data, out: Path, *, seed: int | None, source, input_sha256: dict, progress: bool,
                 show_identifiers: bool, config: dict | None = None, engine: str = "local", client=None,
                 run: Run | None = None) -> dict:
    """Run every section and write its tables, the report and the manifest into the existing
    folder ``out``, in place (:func:`analyze` calls it on a temporary folder it renames into place).

    Parameters
    ----------
    data
        As in :func:`analyze`.
    out : pathlib.Path
        An existing folder.
    seed
        As in :func:`analyze`.
    source : str or None
        Recorded in the manifest.
    input_sha256 : dict
        Input file -> hash, taken before the run.
    progress, show_identifiers, config, engine, client
        As in :func:`analyze`.
    run : Run, optional
        A run of ``data`` whose intermediates are (partly) computed already (default: a new one).

    Returns
    -------
    dict
        As :func:`analyze` (without ``"report"``).
    """
    out = Path(out)
    run = run if run is not None else Run(data, config=config, seed=seed, engine=engine, client=client)
    mask = None if show_identifiers else mask_value
    sections: list[Section] = []
    which = FOLDER_SECTIONS if run.folder else SECTIONS
    with stages([fn.__name__.removesuffix("_section") for fn in which] + ["report"], enabled=progress,
                desc="jindu analyze") as step:
        for fn in which:
            step(fn.__name__.removesuffix("_section"))
            sections.append(fn(run, mask))
        step("report")
        res: dict = {}
        written = []
        for section in sections:
            for name, table in section.tables.items():
                if table is not None:
                    pq.write_table(table, out / f"{name}.parquet")
                    written.append(f"{name}.parquet")
                res[name] = table
        images = {key: png_base64(fig) for section in sections for key, fig in section.figures.items()}
        html = render_report(sections, images, kpis=_kpis(run), masked=mask is not None)
        (out / "report.html").write_text(html, encoding="utf-8")
        written.append("report.html")
    res["timings"] = dict(step.timings)
    if not run.folder and run.checkpoints is not None:
        res["plain_share_under_evasion"] = run.checkpoints["plain_share_under_evasion"]
    prov = provenance(run.case_clusters)
    vocab = folder_vocabulary(data) if run.folder else vocabulary_of(data)
    manifest = {
        "jinduanalytics": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "seed": run.seed,
        "engine": engine,
        "config": run.config,
        "source": str(source) if source is not None else None,
        "input_sha256": input_sha256,
        "input_rows": dict(run.table_rows()) if run.folder else {name: data[name].num_rows for name in data},
        "window": list(run.data.window) if getattr(run.data, "window", None) else None,
        "analysed_rows": dict(run.table_rows()),
        "parameters": {"cluster_cases": prov["params"]},
        "input_digest": prov["input_digest"],
        "vocabulary": {"sources": list(vocab.sources),
                       "sha256": hashlib.sha256(vocab.to_toml().encode("utf-8")).hexdigest()},
        "timings_s": {k: round(v, 3) for k, v in res["timings"].items()},
        "outputs": written + ["manifest.json"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return res


def _kpis(run: Run) -> list[tuple[str, str]]:
    cl = run.case_clusters.to_pandas()
    n3 = int((cl["cluster_size"] >= 3).sum())
    if run.folder:  # no summary or trace: they read every table in this process
        sizes = cl.groupby("cluster").size()
        return [("cases", f"{len(cl):,d}"), ("clusters (3+ cases)", f"{int((sizes >= 3).sum()):,d}"),
                ("cases in them", f"{n3:,d}"), ("mean stability", f"{cl['stability'].mean():.3f}" if len(cl) else "–")]
    cov = run.trace_coverage.to_pandas()
    traced = cov["traced"].sum() / max(cov["cases"].sum(), 1)
    stability = f"{cl['stability'].mean():.3f}" if len(cl) else "–"
    return [("cases", f"{len(cl):,d}"), ("clusters (3+ cases)", f"{run.cluster_summary.num_rows:,d}"),
            ("cases in them", f"{n3:,d}"), ("mean stability", stability), ("user cases traced", f"{traced:.0%}")]


def file_hashes(files: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of each file, by the same names (what the manifest records as ``input_sha256``).

    Parameters
    ----------
    files : dict of name -> pathlib.Path
        E.g. :func:`input_files`.

    Returns
    -------
    dict of name -> hex digest
    """
    return {name: _sha256(path) for name, path in files.items()}


def _sha256(path: Path) -> str:
    """Of a file's bytes; of a partitioned table's folder: of its Parquet files' relative paths and bytes,
    in path order."""
    h = hashlib.sha256()
    files = [(None, path)] if not path.is_dir() else [(f.relative_to(path).as_posix(), f)
                                                      for f in _partition_files(path)]
    for rel, f in files:
        if rel is not None:
            h.update(rel.encode("utf-8") + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 (read at once, in this loop)
                h.update(chunk)
    return h.hexdigest()
