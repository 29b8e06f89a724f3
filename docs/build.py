"""Build the documentation site: ``python docs/build.py`` -> ``docs/_build/html/index.html``.

It stages a Sphinx source folder under ``--out`` (never writing into the repository's own files):
the pages of ``docs/``, the README as the getting-started page, the notebooks executed top to
bottom (their outputs and figures are the tutorials), the API reference generated from every public
module's ``__all__``, the data model generated from ``jinduanalytics.schema`` and the benchmark
results from ``benchmarks/results/``. Then Sphinx runs with warnings as errors (``-W``): a broken
docstring, cross-reference or notebook fails the build.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"

# The API reference, one page per subject; each object is documented once, under the first module
# (in this order) whose __all__ exports it. A public module missing here fails the build (see api_pages).
API = {
    "jinduanalytics": "Top level: graphs, community detection, datasets, validation, pseudonyms, output",
    "jinduanalytics.clusters": "集群打零: case links, clusters, summary, evidence, upstream trace",
    "jinduanalytics.linkage": "Record linkage across regions",
    "jinduanalytics.linkage.names": "Chinese names: pinyin keys and surname readings",
    "jinduanalytics.region_pairs": "环北部湾: which regions are tied together",
    "jinduanalytics.routes": "Routes: legs, trips, the leg network",
    "jinduanalytics.checkpoints": "Checkpoint placement and interception",
    "jinduanalytics.disruption": "Disruption: removal curves and key players",
    "jinduanalytics.money": "毒资: the account graph, money tracing, collection accounts, typologies",
    "jinduanalytics.investigate": "The investigation graph: linked items and paths",
    "jinduanalytics.channels": "New substances, the parcel channel, precursors",
    "jinduanalytics.temporal": "Date windows and time-respecting paths",
    "jinduanalytics.trends": "Indicators and change points",
    "jinduanalytics.lifecycle": "Clusters tracked across periods",
    "jinduanalytics.wastewater": "Wastewater back-calculation and early warning",
    "jinduanalytics.risk": "Hidden demand, region and person grading",
    "jinduanalytics.plot": "Figures from result tables",
    "jinduanalytics.analyze": "The analysis pipeline and its report",
    "jinduanalytics.analyze.config": "The analysis configuration",
    "jinduanalytics.analyze.report": "Report rendering",
    "jinduanalytics.analyze.run": "Pipeline run helpers",
    "jinduanalytics.synthetic": "Synthetic data and its planted truth",
    "jinduanalytics.synthetic.shards": "Presets written shard by shard (the national tier)",
    "jinduanalytics.synthetic.shipping": "Synthetic shipping legs",
    "jinduanalytics.synthetic.wastewater": "Synthetic wastewater constants",
    "jinduanalytics.graph": "Graph builders and conversions",
    "jinduanalytics.io": "Datasets on disk",
    "jinduanalytics.distributed": "The national tier on Dask (engine=\"dask\")",
    "jinduanalytics.tables": "The input-coercion layer",
    "jinduanalytics.validate": "Validation",
    "jinduanalytics.schema": "Canonical table schemas",
    "jinduanalytics.vocabulary": "Open vocabularies",
    "jinduanalytics.identifiers": "How identifiers are normalised",
    "jinduanalytics.pseudonymise": "Keyed pseudonymisation",
    "jinduanalytics.options": "Arrow or pandas output",
    "jinduanalytics.regions": "The shipped regions",
    "jinduanalytics.periods": "Month, quarter and year buckets",
    "jinduanalytics.metrics": "Partition comparison",
    "jinduanalytics.stats": "Significance helpers",
    "jinduanalytics.demo": "The demo",
    "jinduanalytics.cli": "The command line",
}


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no private part."""
    import pkgutil

    import jinduanalytics

    names = ["jinduanalytics"] + [m.name for m in pkgutil.walk_packages(jinduanalytics.__path__, "jinduanalytics.")]
    return [n for n in names if not any(p.startswith("_") for p in n.split(".")[1:])]


def _directive(module: str, name: str, obj) -> str:
    target = f"{module}.{name}"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return f".. autoexception:: {target}\n"
        members = _documented_members(obj)
        return f".. autoclass:: {target}\n" + (f"   :members: {', '.join(members)}\n" if members else "")
    if inspect.isfunction(obj):
        return f".. autofunction:: {target}\n"
    if inspect.ismodule(obj):
        return ""
    short = len(repr(obj)) <= 120  # a short constant shows its value; a large one (TABLES) only its doc
    return f".. autodata:: {target}\n" + ("" if short else "   :no-value:\n")


def _documented_members(cls) -> list[str]:
    """The public methods and properties ``cls`` itself defines with a docstring of their own (an
    override that only implements its base class's method is documented there)."""
    names = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        fn = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if (inspect.isfunction(fn) or isinstance(value, property)) and getattr(fn, "__doc__", None):
            names.append(name)
    return names


def api_pages(dest: Path) -> list[str]:
    """Write ``dest/api/*.md``; return the page names. Fails on a public module with an ``__all__`` the table misses."""
    seen: set[int] = set()
    pages, out = [], dest / "api"
    out.mkdir(parents=True, exist_ok=True)
    for module, title in API.items():
        names = list(_new_names(module, seen))
        if not names:
            continue
        mod = importlib.import_module(module)
        # a module named like a function the package exports (jinduanalytics.pseudonymise) is no target
        shadowed = _import_attr(module) is not mod
        body = [f"# `{module}`\n", f"{title}.\n", "```{eval-rst}", f".. module:: {module}",
                "   :no-index:\n" if shadowed else ""]
        body += [_directive(module, n, getattr(mod, n)) for n in names]
        body.append("```\n")
        page = module.replace("jinduanalytics", "ja") if module != "jinduanalytics" else "jinduanalytics"
        (out / f"{page}.md").write_text("\n".join(body), encoding="utf-8")
        pages.append(page)
    undocumented = [f"{m}.{n}" for m in public_modules() for n in _new_names(m, seen)]
    if undocumented:  # exported by a module the table misses
        raise SystemExit(f"docs/build.py: public objects no API page documents: {undocumented} (add their module to API)")
    index = ["# API reference\n", "Every public function, class and constant, grouped by module. Functions take tables "
             "(a `Dataset`, a mapping of tables, pyarrow or pandas) or a `CSRGraph` and return pyarrow Tables "
             "(or pandas DataFrames under `ja.set_output(\"pandas\")`) with their provenance.\n",
             "```{toctree}", ":maxdepth: 1\n"] + pages + ["```\n"]
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")
    return pages


def _import_attr(dotted: str):
    """What ``jinduanalytics.a.b`` names, as Python's attribute access sees it (``jinduanalytics.pseudonymise``
    is the function the package exports), falling back to the submodule where an attribute is missing
    (``jinduanalytics.pseudonymise.KEY_ENV``); None when neither exists."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        nxt = getattr(obj, part, None)
        if nxt is None:
            try:
                nxt = getattr(importlib.import_module(".".join(parts[: i - 1])), part, None)
            except ImportError:
                nxt = None
        if nxt is None:
            try:
                nxt = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                return None
        obj = nxt
    return obj


def _new_names(module: str, seen: set[int]):
    """The names of ``module.__all__`` not documented yet (an object re-exported elsewhere is documented once)."""
    mod = importlib.import_module(module)
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if name == "__version__" or inspect.ismodule(obj) or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield name


def data_model_page(dest: Path) -> None:
    """Write ``dest/data-model.md`` from the canonical schemas (so it cannot drift from them)."""
    from jinduanalytics.schema import TABLE_ORDER, TABLES

    lines = ["# Data model\n",
             "Inputs are Arrow tables (Parquet, Feather, CSV, pandas or pyarrow). A dataset folder holds "
             "`<table>.parquet` per table (or `.feather`, `.csv`), optionally `vocabulary.toml` (values it adds to the "
             "shipped vocabulary, see {mod}`jinduanalytics.vocabulary`) and, for synthetic data, `truth/*.parquet` with "
             "the planted answers. This page is generated from {mod}`jinduanalytics.schema`: key columns are **bold**; "
             "personal columns are never shown in messages and are pseudonymised by {func}`jinduanalytics.pseudonymise`; "
             "validation ({func}`jinduanalytics.validate_dataset`) checks every rule below and names the table, column "
             "and rows that break one.\n"]
    for name in TABLE_ORDER:
        spec = TABLES[name]
        lines.append(f"## `{name}`\n")
        if spec.description:
            lines.append(f"One row: {spec.description}.\n")
        lines += ["| column | type | nullable | personal | values | checks |", "|---|---|---|---|---|---|"]
        for col in spec.columns:
            name_md = f"**{col.name}**" if col.name in spec.key else col.name
            values = (", ".join(col.choices) if col.choices else
                      f"vocabulary `{col.vocabulary}`" if col.vocabulary else "")
            checks = [f"→ `{col.references[0]}.{col.references[1]}`" if col.references else "",
                      ">= 0" if col.nonnegative else "", f"<= {col.max_value:g}" if col.max_value else "",
                      f"at most {col.max_length} characters" if col.max_length else "",
                      f"from {col.date_min} to today" if col.date_min else "",
                      f"{col.coord} on the map" if col.coord else "",
                      f"canonical {col.canonical}" if col.canonical else ""]
            lines.append(f"| {name_md} | {col.type} | {'yes' if col.nullable else ''} | {'yes' if col.personal else ''} "
                         f"| {values} | {'; '.join(c for c in checks if c)} |")
        extra = []
        if spec.date_order:
            extra.append(f"`{spec.date_order[0]}` <= `{spec.date_order[1]}` on every row")
        if spec.distinct_columns:
            extra.append(f"`{spec.distinct_columns[0]}` and `{spec.distinct_columns[1]}` differ on every row")
        if extra:
            lines.append("\nAlso: " + "; ".join(extra) + ".")
        lines.append("")
    (dest / "data-model.md").write_text("\n".join(lines), encoding="utf-8")


def benchmark_pages(dest: Path) -> None:
    """Copy the recorded benchmark results (the full runs, not the ``--quick`` smoke runs)."""
    src = ROOT / "benchmarks" / "results"
    out = dest / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.stem for p in src.glob("*.md") if not p.stem.endswith("-quick"))
    for n in names:
        shutil.copyfile(src / f"{n}.md", out / f"{n}.md")
    index = ["# Benchmarks\n",
             "Each suite (`benchmarks/bench_<suite>.py`) measures jinduanalytics and the anchors (igraph, NetworKit, "
             "networkx, leidenalg, Splink, recordlinkage …) on the same input in one run: the median of several runs, "
             "the ratio to the anchor, quality (modularity, NMI, F1) and peak memory, on a 2-core machine. These are "
             "the recorded results; run a suite with `python -m benchmarks.bench_<suite>` (`--quick` for a smoke "
             "run; the anchors install with `pip install -e \".[bench]\"`).\n",
             "```{toctree}", ":maxdepth: 1\n"] + names + ["```\n"]
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")


def execute_notebooks(dest: Path, timeout: int = 600) -> dict[str, BaseException | None]:
    """Run every notebook top to bottom in ``notebooks/`` (its relative paths hold) and write the executed
    copy to ``dest``; return each notebook's error (None when it ran)."""
    import nbformat
    from nbclient import NotebookClient

    dest.mkdir(parents=True, exist_ok=True)
    errors: dict[str, BaseException | None] = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}},
                           extra_arguments=["--IPKernelApp.log_level=ERROR"]).execute()  # no transport notices
            errors[path.name] = None
        except Exception as exc:  # recorded; the build refuses to go on with a failed notebook
            errors[path.name] = exc
        nbformat.write(nb, dest / path.name)
    return errors


def stage(src: Path, executed: Path) -> None:
    """Assemble the Sphinx source folder ``src``."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "build.py", "__pycache__"))
    shutil.copyfile(ROOT / "README.md", src / "README.md")
    tutorials = src / "tutorials"
    tutorials.mkdir()
    names = sorted(p.name for p in executed.glob("*.ipynb"))
    for n in names:
        shutil.copyfile(executed / n, tutorials / n)
    (tutorials / "index.md").write_text("\n".join([
        "# Tutorials\n",
        "The notebooks of `notebooks/`, run top to bottom on synthetic data (and, in 06, the real CAVIAR phases when "
        "`shared/reference-networks` sits beside the repository) with their outputs and figures. Their last cells "
        "assert what they found; the test suite runs them.\n",
        "```{toctree}", ":maxdepth: 1\n"] + [Path(n).stem for n in names] + ["```\n"]), encoding="utf-8")
    api_pages(src)
    data_model_page(src)
    benchmark_pages(src)


def build(out: Path, executed: Path | None = None, builder: str = "html") -> Path:
    """Stage and build; return the folder of the built site. Raises SystemExit when Sphinx reports a warning."""
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    if executed is None:
        executed = out / "executed"
        errors = execute_notebooks(executed)
        failed = {k: v for k, v in errors.items() if v is not None}
        if failed:
            raise SystemExit("docs/build.py: notebooks failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    src, html = out / "src", out / builder
    stage(src, Path(executed))
    code = build_main(["-W", "--keep-going", "-q", "-b", builder, "-d", str(out / "doctrees"), str(src), str(html)])
    if code:
        raise SystemExit(f"docs/build.py: sphinx-build reported warnings or errors (exit {code})")
    embed_font(html)
    return html


def site_text(html: Path) -> str:
    """Every character the built pages can show (their HTML and the search index)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(html.rglob("*.html"))) + \
        (html / "searchindex.js").read_text(encoding="utf-8")


def embed_font(html: Path) -> None:
    """Write ``_static/jindu-sc.otf``, the shipped Noto Sans SC cut to the characters of the site
    (``_static/jindu.css`` names it as the CJK fallback)."""
    import logging

    from jinduanalytics.plot._style import font_subset

    logging.getLogger("fontTools").setLevel(logging.WARNING)
    (html / "_static" / "jindu-sc.otf").write_bytes(font_subset(site_text(html)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DOCS / "_build"), help="build folder (default docs/_build)")
    parser.add_argument("--executed", help="a folder of already executed notebooks (skip running them)")
    args = parser.parse_args(argv)
    html = build(Path(args.out), Path(args.executed) if args.executed else None)
    print(f"built {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
