"""The full analysis of one dataset: result tables, figures, a self-contained HTML report, a manifest.

``jindu analyze DATASET --out DIR`` and ``jindu demo`` both run :func:`analyze`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._output import output_folder
from ._progress import stages
from .io import dataset_files
from ._version import __version__

__all__ = ["analyze", "cross_region_clusters"]

_STAGES = ["clusters", "summary", "evidence", "upstream trace", "coverage", "person linkage", "region pairs", "routes",
           "checkpoints", "disruption",
           "figures", "report"]


def cross_region_clusters(data, summary: pa.Table) -> pa.Table:
    """Region pairs tied by case clusters: ``region_a``, ``region_b``, ``n_clusters`` (clusters
    with cases in both), ``n_cases`` (their cases). Observed counts only — the null model
    and significance belong to the linkage module."""
    s = summary.select(["cluster", "regions", "n_cases"]).to_pandas()
    rows = []
    for regions, n in zip(s["regions"], s["n_cases"]):
        regs = sorted(regions)
        for i in range(len(regs)):
            for j in range(i + 1, len(regs)):
                rows.append((regs[i], regs[j], n))
    df = pd.DataFrame(rows, columns=["region_a", "region_b", "n"])
    out = df.groupby(["region_a", "region_b"], as_index=False).agg(n_clusters=("n", "size"), n_cases=("n", "sum"))
    return pa.Table.from_pandas(out.sort_values(["n_clusters", "region_a", "region_b"], ascending=[False, True, True])
                                .reset_index(drop=True), preserve_index=False)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _table_html(df: pd.DataFrame, max_rows: int = 15) -> str:
    return df.head(max_rows).to_html(index=False, border=0, classes="t", escape=True, na_rep="")


def analyze(data, out, *, seed: int = 7, source: str | None = None, progress: bool = True,
            show_identifiers: bool = False, force: bool = False) -> dict:
    """Run 集群打零 (clusters, ranking, evidence, upstream trace, coverage) and the route summary.

    Writes into ``out``: ``case_clusters``, ``cluster_summary``, ``cluster_evidence``,
    ``upstream_trace``, ``trace_coverage``, ``flow_legs``, ``cross_region_clusters``
    (Parquet), ``report.html`` (self-contained: figures embedded) and ``manifest.json``
    (version, parameters, seed, input hashes, timings, outputs).

    Parameters
    ----------
    data : Dataset
        Validated tables (e.g. :func:`jinduanalytics.read_dataset`).
    source : str, optional
        Folder the dataset was read from: its Parquet files are hashed into the manifest.
    show_identifiers : bool
        Entity values (phones, accounts) appear masked in the report (``phone …1234``)
        unless this is True. Result tables always hold the raw values.
    force : bool, default False
        Replace a non-empty ``out`` that holds no earlier jindu output.

    The output folder is complete or absent: everything is written into a temporary sibling
    folder that replaces ``out`` only at the end (an interrupted run leaves ``out`` as it
    was). ``out`` may not be, contain or lie inside the input dataset, and a non-empty ``out``
    is replaced only when it is an earlier jindu output (it has ``manifest.json``) or
    ``force=True``. Input files are hashed into the manifest before the run.

    Raises
    ------
    OutputError
        ``out`` overlaps the input, holds other files, or cannot be written (nothing is
        written then).

    Returns
    -------
    dict
        Result tables by name, plus ``"timings"`` and ``"report"`` (its path).
    """
    files = input_files(data, source)
    hashes = {name: _sha256(path) for name, path in files.items()}  # before anything is written
    src = source if source is not None else getattr(data, "source", None)
    with output_folder(out, inputs=[src, *files.values()], marker="manifest.json", force=force) as tmp:
        res = analyze_into(data, tmp, seed=seed, source=src, input_sha256=hashes, progress=progress,
                           show_identifiers=show_identifiers)
    res["report"] = Path(out) / "report.html"
    return res


def input_files(data, source=None) -> dict[str, Path]:
    """The files a dataset was read from (tables and truth), by path relative to its folder."""
    folder = source if source is not None else getattr(data, "source", None)
    if folder is None or not Path(folder).is_dir():
        return {}
    folder = Path(folder)
    known = getattr(data, "files", None)
    read = known.read if known is not None else dataset_files(folder).read
    out = {p.name: p for p in read.values()}
    truth = folder / "truth"
    if truth.is_dir():
        out.update({f"truth/{p.name}": p for p in sorted(truth.glob("*.parquet"))})
    return dict(sorted(out.items()))


def analyze_into(data, out: Path, *, seed: int, source, input_sha256: dict, progress: bool,
                 show_identifiers: bool) -> dict:
    """Compute every result and write it into the folder ``out`` (which must exist), in place:
    :func:`analyze` calls it on a temporary folder it renames into place at the end."""
    from . import plot
    from .clusters import (cluster_cases, cluster_evidence, cluster_persons, cluster_summary, cluster_timeline,
                           mask_value, trace_coverage, trace_upstream)
    from .community import provenance
    from .checkpoints import interception, place_checkpoints
    from .disruption import key_players, removal_curves
    from .linkage import explain_link, region_pairs, resolve_persons
    from .routes import flow_legs

    out = Path(out)
    res: dict = {}
    figs: dict = {}
    with stages(_STAGES, enabled=progress, desc="jindu analyze") as step:
        step("clusters")
        res["case_clusters"] = cluster_cases(data, seed=seed)
        step("summary")
        res["cluster_summary"] = cluster_summary(data, res["case_clusters"])
        step("evidence")
        res["cluster_evidence"] = cluster_evidence(data, res["case_clusters"], min_size=3)
        step("upstream trace")
        res["upstream_trace"] = trace_upstream(data, res["case_clusters"])
        step("coverage")
        res["trace_coverage"] = trace_coverage(data, res["upstream_trace"])
        step("person linkage")
        persons = None
        if "person_records" in data:
            res["record_links"], res["linked_persons"] = resolve_persons(data["person_records"], seed=seed)
            persons = res["linked_persons"]
        step("region pairs")
        res["region_pairs"] = region_pairs(data, persons=persons, clusters=res["case_clusters"])
        step("routes")
        res["flow_legs"] = flow_legs(data) if "flows" in data else None
        res["cross_region_clusters"] = cross_region_clusters(data, res["cluster_summary"])
        step("checkpoints")
        if res["flow_legs"] is not None and res["flow_legs"].num_rows:
            res["checkpoints"] = place_checkpoints(data, 5, kind="leg")
            res["checkpoints_evasive"] = place_checkpoints(data, 5, kind="leg", evasive=True)
            moved = interception(data, res["checkpoints"], kind="leg", evasive=True)
            res["rerouted_flows"] = moved.filter(moved.column("rerouted"))
            q = moved.column("quantity_g").to_numpy()
            res["plain_share_under_evasion"] = float(q[moved.column("intercepted").to_numpy(zero_copy_only=False)].sum()
                                                     / max(q.sum(), 1e-12))
        step("disruption")
        top_persons = None
        if res["cluster_summary"].num_rows:
            top = res["cluster_summary"].column("cluster")[0].as_py()
            top_persons = cluster_persons(data, res["case_clusters"], top)
            person_edges = top_persons[1]
            if person_edges.num_rows >= 3:
                res["disruption_curves"] = removal_curves(person_edges, modes=("sequential",), weightings=(False,),
                                                          stop_at=2)
                res["key_players"] = key_players(person_edges, min(3, person_edges.num_rows - 1))
        step("figures")
        summary = res["cluster_summary"]
        if summary.num_rows:  # an empty dataset gives empty tables and a report that says so, no figure
            figs["ranking"] = plot.cluster_ranking(summary)
            figs["timeline"] = plot.case_timeline(cluster_timeline(data, res["case_clusters"], summary))
        if top_persons is not None:
            nodes, edges = top_persons
            figs["network"] = plot.cluster_network(nodes, edges, title=f"排名第一的集群 top cluster #{top}: persons")
        if res["region_pairs"].num_rows:
            figs["pairs"] = plot.region_heatmap(res["region_pairs"], value="z", significant="significant", vmin=0.0,
                                                regions=data["regions"] if "regions" in data else None,
                                                title="地区关联 region pairs: combined z (* = z >= 3)")
        links = res.get("record_links")
        if links is not None and links.num_rows:
            lk = links.column("name_level").to_numpy()
            row = int(np.flatnonzero(lk == 1)[0]) if (lk == 1).any() else 0
            figs["waterfall"] = plot.linkage_waterfall(explain_link(links, row), threshold=0.0,
                                                       title="一条跨地区记录关联 one cross-region record link, explained")
        if res["flow_legs"] is not None and res["flow_legs"].num_rows:
            figs["map"] = plot.beibu_map(data["regions"] if "regions" in data else None, res["flow_legs"])
        if res.get("disruption_curves") is not None:
            figs["disruption"] = plot.disruption_curve(
                res["disruption_curves"].to_pandas(), x="removed", y="rho",
                title="打击效果 top cluster: largest component as persons are removed")
        step("report")
        written = []
        for name, t in res.items():
            if isinstance(t, pa.Table):
                pq.write_table(t, out / f"{name}.parquet")
                written.append(f"{name}.parquet")
        images = {k: _png(f) for k, f in figs.items()}
        report = out / "report.html"
        report.write_text(_report_html(data, res, images, mask=None if show_identifiers else mask_value),
                          encoding="utf-8")
        written.append("report.html")
    res["timings"] = dict(step.timings)
    manifest = {
        "jinduanalytics": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "seed": seed,
        "source": str(source) if source is not None else None,
        "input_sha256": input_sha256,
        "input_rows": {name: data[name].num_rows for name in data},
        "parameters": {"cluster_cases": provenance(res["case_clusters"])["params"]},
        "input_digest": provenance(res["case_clusters"])["input_digest"],
        "timings_s": {k: round(v, 3) for k, v in res["timings"].items()},
        "outputs": written + ["manifest.json"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    res["report"] = report
    return res


_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.5;padding:0 1em}
h1{border-bottom:2px solid #c62828;padding-bottom:.2em}h2{margin-top:2em;color:#1f4e79}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}table.t th,table.t td{padding:3px 8px;
border-bottom:1px solid #ddd;text-align:left}table.t th{background:#f3f6fa}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}.note{color:#666;font-size:13px}
.kpi{display:inline-block;margin:0 1.5em .5em 0}.kpi b{font-size:22px;display:block;color:#c62828}
"""


def _report_html(data, res: dict, images: dict, mask) -> str:
    def img(key: str, alt: str) -> str:
        if key not in images:
            return ""
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{images[key]}">'

    summary = res["cluster_summary"].to_pandas()
    cl = res["case_clusters"].to_pandas()
    show = summary.head(15).copy()
    show["regions"] = show["regions"].map(lambda r: ", ".join(r))
    show["drugs"] = show["drugs"].map(lambda r: ", ".join(r))
    show["top_entities"] = show["top_entities"].map(
        lambda items: "; ".join(f"{mask(e['kind'], e['value']) if mask else e['kind'] + ' ' + e['value']} "
                                f"({e['share']:.0%})" for e in items))
    show["upstream_chain"] = show["upstream_chain"].map(lambda r: " → ".join(r))
    show = show[["rank", "cluster", "n_cases", "n_small", "regions", "first_date", "last_date", "drugs", "quantity_g",
                 "top_entities", "upstream_chain", "score"]]
    show["quantity_g"] = show["quantity_g"].round(1)
    show["score"] = show["score"].round(3)
    cov = res["trace_coverage"].to_pandas()
    by_region = cov.groupby("region_id", as_index=False)[["cases", "traced", "traced_any"]].sum()
    by_region["share"] = (by_region["traced"] / by_region["cases"]).round(3)
    rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{data[n].num_rows:,d}</td></tr>" for n in data)
    n3 = int((cl["cluster_size"] >= 3).sum())
    kpis = [("cases", f"{len(cl):,d}"), ("clusters (3+ cases)", f"{len(summary):,d}"),
            ("cases in them", f"{n3:,d}"), ("mean stability", f"{cl['stability'].mean():.3f}"),
            ("user cases traced", f"{by_region['traced'].sum() / max(by_region['cases'].sum(), 1):.0%}")]
    kpi_html = "".join(f'<span class="kpi"><b>{html.escape(v)}</b>{html.escape(k)}</span>' for k, v in kpis)
    rp = res["region_pairs"].to_pandas()
    pairs_show = rp[["rank", "region_a", "region_b"] + [c for c in ("persons", "entities", "clusters", "trips")
                                                       if c in rp] + ["z", "significant", "two_way"]].copy()
    pairs_show["z"] = pairs_show["z"].round(2)
    lp = res.get("linked_persons")
    n_links = res["record_links"].num_rows if res.get("record_links") is not None else 0
    n_multi = int(lp.to_pandas().query("entity_size > 1")["person_id"].nunique()) if lp is not None else 0
    if res.get("checkpoints") is not None:
        plain = res["checkpoints"].to_pandas()
        evasive = res["checkpoints_evasive"].to_pandas()
        n_moved = res["rerouted_flows"].num_rows
        checkpoint_html = (
            f"<p>Five checkpoints on legs (greedy maximum coverage, within (1-1/e) of the optimum) intercept "
            f"{plain['intercepted_share'].iloc[-1]:.0%} of the grams moved. If traffickers reroute within a 25% detour, "
            f"{n_moved} consignments move to other legs or modes and those checkpoints keep "
            f"{res['plain_share_under_evasion']:.0%}; placed with rerouting in mind, five checkpoints keep "
            f"{evasive['intercepted_share'].iloc[-1]:.0%}.</p>"
            + _table_html(plain.assign(intercepted_share=plain["intercepted_share"].round(3)), 10)
            + "<p>Placement that anticipates rerouting:</p>"
            + _table_html(evasive.assign(intercepted_share=evasive["intercepted_share"].round(3)), 10))
    else:
        checkpoint_html = "<p>No flows in this dataset.</p>"
    kp = res.get("key_players")
    kp_html = _table_html(kp.to_pandas().round(3), 10) if kp is not None else "<p>The top cluster is too small.</p>"
    legs = res.get("flow_legs")
    legs_html = _table_html(legs.to_pandas(), 10) if legs is not None else "<p>no flows table</p>"
    masked_note = ("Entity values are masked (last 4 characters); rerun with --show-identifiers to see them."
                   if mask else "Entity values are shown in full (--show-identifiers).")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>jinduanalytics report</title>
<style>{_CSS}</style></head>
<body>
<h1>jinduanalytics 分析报告 — analysis report</h1>
<p class="note">jinduanalytics {html.escape(__version__)} · generated {time.strftime('%Y-%m-%d %H:%M')} ·
research use on synthetic data. {html.escape(masked_note)}</p>
<div>{kpi_html}</div>
<h2>数据 Data</h2>
<table class="t"><tr><th>table</th><th>rows</th></tr>{rows}</table>
<h2>集群打零 Case clusters</h2>
<p>Cases are linked by the entities and persons they share, each weighted by how rare it is; clusters come
from Leiden over several seeds (stability = agreement between runs). The score adds its parts: size, growth
(recent cases), span (regions and provinces), seized quantity and stability.</p>
{img("ranking", "cluster ranking")}
{_table_html(show)}
{img("timeline", "case timeline")}
{img("network", "top cluster network")}
<h2>查吸必查贩 Upstream tracing</h2>
<p>For each user case, candidate sellers ranked by shared evidence (no evidence dated after the case is used).
Coverage by region:</p>
{_table_html(by_region, 30)}
<h2>环北部湾 Cross-region linkage</h2>
<p>Person records of the regions' systems linked by a Fellegi-Sunter model ({n_links} links between records,
{n_multi} persons recorded in more than one region). Below: what one link rests on, comparison by comparison
(log2 Bayes factors; the link is made above 0).</p>
{img("waterfall", "linkage waterfall")}
<p>Region pairs scored against a null model that spreads each kind of tie (shared persons, shared entities,
shared clusters, consignments) over region pairs in proportion to their case volumes; * marks z &ge; 3.</p>
{img("pairs", "region pairs")}
{_table_html(pairs_show, 15)}
<h2>Routes</h2>
{img("map", "Beibu Gulf map")}
<p>Largest flow legs:</p>
{legs_html}
<h2>查控堵截 Checkpoints</h2>
{checkpoint_html}
<h2>打击 Disruption of the top cluster</h2>
<p>Persons of the top-ranked cluster removed one by one by each centrality; the line is the share of the
largest connected group left. Below: the key-player set (KPP-Neg) against the top-k by centrality.</p>
{img("disruption", "disruption curves")}
{kp_html}
<script>
// self-check: every embedded figure decoded
window.addEventListener("load", function () {{
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.body.setAttribute("data-images", imgs.length);
  document.body.setAttribute("data-images-ok", ok);
}});
</script>
</body></html>
"""
