"""The sections of ``jindu analyze``: each turns a :class:`~jinduanalytics.analyze.run.Run` into
the tables it writes, the figures it draws and what its report template shows.

Adding an analysis is one function here, one template under ``templates/sections/`` and one
entry in :data:`SECTIONS`; nothing else changes. A section reads intermediates from the run (never
recomputes them), draws with :mod:`jinduanalytics.plot` (which never computes) and leaves HTML to
its template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import distributed, plot
from ..clusters import cluster_timeline
from ..linkage import explain_link
from ..money import TYPOLOGIES, money_network
from ..plot._chart import chart_script
from ..tables import get_table
from .run import Run

__all__ = ["Section", "SECTIONS", "FOLDER_SECTIONS"]


@dataclass
class Section:
    """What one section hands the report: result tables (written as Parquet under their name),
    matplotlib figures (embedded as PNG) and the values its template shows.

    Attributes
    ----------
    name : str
    template : str
        Path of its Jinja2 template under ``analyze/templates/``.
    tables : dict of name -> pyarrow.Table or None
    figures : dict of name -> matplotlib Figure
    context : dict
        Values its template reads as ``s.context``.
    """

    name: str
    template: str
    tables: dict[str, pa.Table | None] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)


def _table_html(df: pd.DataFrame, max_rows: int = 15) -> str:
    """A result table as report HTML (cells escaped)."""
    return df.head(max_rows).to_html(index=False, border=0, classes="t", escape=True, na_rep="")


def _region_names(run: Run) -> dict[str, str]:
    """Region id -> name (the dataset's regions table, or the shipped one), for the report's tables."""
    r = run.regions.select(["region_id", "name"]).to_pydict()
    return dict(zip(r["region_id"], r["name"]))


def _dataset_regions(run: Run) -> pa.Table | None:
    """The dataset's own regions table (None without one)."""
    if run.folder:
        return distributed.folder_table(run.data, "regions")
    return get_table(run.data, "regions", required=False)


def data_section(run: Run, mask) -> Section:
    return Section("data", "sections/data.html.j2", context={"rows": run.table_rows()})


def folder_clusters_section(run: Run, mask) -> Section:
    """集群打零 of a dataset folder: the clusters and their sizes (the summary, evidence and charts read
    every table in this process; :func:`clusters_section` draws them)."""
    cl = run.case_clusters.to_pandas()
    per = cl.groupby("cluster").agg(n_cases=("case_id", "size"), stability=("stability", "mean")).reset_index()
    per = per.sort_values(["n_cases", "cluster"], ascending=[False, True], kind="stable")
    per["stability"] = per["stability"].round(3)
    bins = [1, 2, 3, 5, 10, 20, 50, 100, np.inf]
    labels = ["1", "2", "3-4", "5-9", "10-19", "20-49", "50-99", "100+"]
    sizes = pd.cut(per["n_cases"], bins=bins, right=False, labels=labels).value_counts().reindex(labels)
    dist = pd.DataFrame({"cases per cluster": labels, "clusters": sizes.to_numpy()})
    return Section("clusters", "sections/folder_clusters.html.j2", tables={"case_clusters": run.case_clusters},
                   context={"n_cases": len(cl), "n_clusters": int((per["n_cases"] >= 3).sum()),
                            "sizes": _table_html(dist, len(dist)), "table": _table_html(per, 15)})


def clusters_section(run: Run, mask) -> Section:
    summary = run.cluster_summary
    figures = {}
    if summary.num_rows:  # an empty dataset gives empty tables and a report that says so, no figure
        figures["ranking"] = plot.cluster_ranking(summary)
        figures["timeline"] = plot.case_timeline(cluster_timeline(run.data, run.case_clusters, summary))
    if run.top_cluster_network is not None:
        nodes, edges = run.top_cluster_network
        figures["network"] = plot.cluster_network(
            nodes, edges, color="type", label="label" if nodes.num_rows <= 40 else None,
            title=f"排名第一的集群 top cluster #{run.top_cluster[0]}: cases and the evidence they share")
    names = _region_names(run)
    show = summary.to_pandas().head(15).copy()
    show["regions"] = show["regions"].map(lambda r: ", ".join(names.get(x, x) for x in r))
    show["drugs"] = show["drugs"].map(lambda r: ", ".join(r))
    show["top_entities"] = show["top_entities"].map(
        lambda items: "; ".join(f"{mask(e['kind'], e['value']) if mask else e['kind'] + ' ' + e['value']} "
                                f"({e['share']:.0%})" for e in items))
    show["upstream_chain"] = show["upstream_chain"].map(lambda r: " → ".join(r))
    show = show[["rank", "cluster", "n_cases", "n_small", "regions", "first_date", "last_date", "drugs", "quantity_g",
                 "top_entities", "upstream_chain", "score"]]
    show["quantity_g"] = show["quantity_g"].round(1)
    show["score"] = show["score"].round(3)
    charts = [plot.link_chart(nodes, edges, identifiers=mask is None,
                              title=f"第{rank}名集群 cluster #{c}: {nodes.num_rows} items").fragment(f"cluster-{c}")
              for rank, (c, nodes, edges) in enumerate(run.top_cluster_charts, start=1)]
    return Section("clusters", "sections/clusters.html.j2",
                   tables={"case_clusters": run.case_clusters, "cluster_summary": summary,
                           "cluster_evidence": run.cluster_evidence},
                   figures=figures, context={"table": _table_html(show), "charts": charts,
                                             "chart_script": chart_script() if charts else ""})


def trace_section(run: Run, mask) -> Section:
    cov = run.trace_coverage.to_pandas()
    by_region = cov.groupby("region_id", as_index=False)[["cases", "traced", "traced_any"]].sum()
    by_region["share"] = (by_region["traced"] / by_region["cases"]).round(3)
    by_region.insert(0, "region", by_region["region_id"].map(_region_names(run)).fillna(by_region["region_id"]))
    return Section("upstream trace", "sections/trace.html.j2",
                   tables={"upstream_trace": run.upstream_trace, "trace_coverage": run.trace_coverage},
                   context={"table": _table_html(by_region, 30)})


def linkage_section(run: Run, mask) -> Section:
    links, persons = run.person_linkage
    figures = {}
    if links is not None and links.num_rows:
        lk = links.column("name_level").to_numpy()
        row = int(np.flatnonzero(lk == 1)[0]) if (lk == 1).any() else 0
        figures["waterfall"] = plot.linkage_waterfall(explain_link(links, row), threshold=0.0,
                                                      title="一条跨地区记录关联 one cross-region record link, explained")
    pairs = run.region_pairs
    if pairs.num_rows:
        figures["pairs"] = plot.region_heatmap(pairs, value="z", significant="significant", vmin=0.0,
                                               regions=_dataset_regions(run),
                                               title="地区关联 region pairs: combined z (* = z >= 3)")
    rp = pairs.to_pandas()
    show = rp[["rank", "region_a", "region_b"] + [c for c in ("persons", "entities", "clusters", "trips") if c in rp]
              + ["z", "significant", "two_way"]].copy()
    show["z"] = show["z"].round(2)
    names = _region_names(run)
    for col in ("region_a", "region_b"):
        show[col] = show[col].map(lambda r: f"{names.get(r, r)} ({r})")
    n_multi = int(persons.to_pandas().query("entity_size > 1")["person_id"].nunique()) if persons is not None else 0
    return Section("linkage", "sections/linkage.html.j2",
                   tables={"record_links": links, "linked_persons": persons, "region_pairs": pairs},
                   figures=figures,
                   context={"n_links": links.num_rows if links is not None else 0, "n_multi": n_multi,
                            "refused": run.linkage_refused, "table": _table_html(show, 15)})


def routes_section(run: Run, mask) -> Section:
    legs = run.flow_legs
    figures = {}
    if legs is not None and legs.num_rows:
        figures["map"] = plot.beibu_map(get_table(run.data, "regions", required=False), legs)
    return Section("routes", "sections/routes.html.j2",
                   tables={"flow_legs": legs, "cross_region_clusters": run.cross_region_clusters},
                   figures=figures, context={"table": _table_html(legs.to_pandas(), 10) if legs is not None else None})


def checkpoints_section(run: Run, mask) -> Section:
    cp = run.checkpoints
    if cp is None:
        return Section("checkpoints", "sections/checkpoints.html.j2", context={"cp": None})
    plain, evasive = cp["plain"].to_pandas(), cp["evasive"].to_pandas()

    def last(t: pd.DataFrame) -> float:  # greedy places fewer than k when more would add nothing
        return float(t["intercepted_share"].iloc[-1]) if len(t) else 0.0

    context = {"k": len(plain), "k_evasive": len(evasive), "cp": True, "kind": run.config["checkpoints"]["kind"],
               "detour": run.config["checkpoints"]["detour"],
               "plain_share": last(plain), "evasive_share": last(evasive),
               "n_moved": cp["rerouted"].num_rows, "kept_share": cp["plain_share_under_evasion"],
               "plain": _table_html(plain.assign(intercepted_share=plain["intercepted_share"].round(3)), 10),
               "evasive": _table_html(evasive.assign(intercepted_share=evasive["intercepted_share"].round(3)), 10)}
    return Section("checkpoints", "sections/checkpoints.html.j2",
                   tables={"checkpoints": cp["plain"], "checkpoints_evasive": cp["evasive"],
                           "rerouted_flows": cp["rerouted"]}, context=context)


def disruption_section(run: Run, mask) -> Section:
    d = run.disruption
    if d is None:
        return Section("disruption", "sections/disruption.html.j2", context={"table": None})
    fig = plot.disruption_curve(d["curves"].to_pandas(), x="removed", y="rho",
                                title="打击效果 top cluster: largest component as persons are removed")
    return Section("disruption", "sections/disruption.html.j2",
                   tables={"disruption_curves": d["curves"], "key_players": d["key_players"]},
                   figures={"disruption": fig}, context={"table": _table_html(d["key_players"].to_pandas().round(3), 10)})


def _substances(run: Run, names: dict) -> tuple[dict, dict]:
    """The substance trend figure and the table of new substances' first appearances."""
    cats = run.substance_categories
    figures, context = {}, {}
    if cats.num_rows:
        figures["substances"] = plot.substance_trend(cats, share=True, title="毒品种类 share of cases by drug category")
    sub = run.substances.to_pandas()
    new = sub[sub["first_seen"] & sub["category"].isin(["新精神活性物质", "非列管成瘾物质"])]
    totals = sub.groupby(["region_id", "drug"], as_index=False)["cases"].sum().rename(columns={"cases": "cases_total"})
    new = new.merge(totals, on=["region_id", "drug"]).sort_values(["period", "region_id"], ascending=[False, True])
    new = new.assign(region=new["region_id"].map(lambda r: names.get(r, r)), first_seen=new["period"].astype(str))
    context["emerging"] = _table_html(new[["region", "drug", "category", "first_seen", "cases_total"]], 12) if len(new) else None
    return figures, context


def substances_section(run: Run, mask) -> Section:
    """Substances per region and period (a dataset folder's report: the parcel and precursor channels
    read every table in this process; :func:`channels_section` adds them)."""
    figures, context = _substances(run, _region_names(run))
    return Section("channels", "sections/substances.html.j2",
                   tables={"substances": run.substances, "substance_categories": run.substance_categories},
                   figures=figures, context=context)


def channels_section(run: Run, mask) -> Section:
    names = _region_names(run)
    cats = run.substance_categories
    figures, context = _substances(run, names)
    ch = run.parcel_channels
    context["parcels"] = ch is not None
    if ch is not None:
        figures["outlets"] = plot.parcel_channel_plot(ch, endpoint="origin_outlet")
        df = ch.to_pandas()
        flagged = df[df["flagged"]]
        context["n_flagged"] = {e: int((flagged["endpoint"] == e).sum()) for e in ("origin_outlet", "sender", "receiver")}
        context["n_endpoints"] = {e: int((df["endpoint"] == e).sum()) for e in ("origin_outlet", "sender", "receiver")}
        out = flagged[flagged["endpoint"] == "origin_outlet"].head(12)
        out = out.assign(region=out["region"].map(lambda r: names.get(r, r)), expected=out["expected"].round(2),
                         q_value=out["q_value"].map(lambda q: f"{q:.1e}"))
        context["outlets"] = _table_html(out[["rank", "value", "region", "parcels", "tied", "expected", "q_value"]], 12)
    pl = run.precursor_links.to_pandas()
    best = pl[pl["rank"] == 1]
    context["n_precursor"] = int(len(best))
    if len(best):
        cases = get_table(run.data, "cases", columns=("case_id", "region_id")).to_pandas().set_index("case_id")["region_id"]
        per = best.groupby("production_case").agg(product=("product", "first"), purchases=("purchase_case", "size"),
                                                  precursors=("precursor", lambda s: ", ".join(sorted(set(s)))),
                                                  regions=("purchase_case", lambda s: ", ".join(
                                                      sorted({names.get(cases[c], cases[c]) for c in s}))),
                                                  best_score=("score", "max")).reset_index()
        per["region"] = per["production_case"].map(lambda c: names.get(cases[c], cases[c]))
        per = per.sort_values(["purchases", "best_score"], ascending=False)
        per["best_score"] = per["best_score"].round(3)
        context["precursor"] = _table_html(per[["production_case", "region", "product", "purchases", "precursors",
                                                "regions", "best_score"]], 12)
    return Section("channels", "sections/channels.html.j2",
                   tables={"substances": run.substances, "substance_categories": cats,
                           "parcel_channels": ch, "parcel_evidence": run.parcel_evidence,
                           "precursor_links": run.precursor_links},
                   figures=figures, context=context)


def time_section(run: Run, mask) -> Section:
    ind, cps = run.indicators, run.change_points
    names = _region_names(run)
    figures, context = {}, {"events": None}
    cases = ind.to_pandas()
    cases = cases[cases["indicator"] == "cases"]
    if len(cases):
        busiest = cases.groupby("region_id")["value"].sum().sort_values(ascending=False).index[0]
        figures["indicators"] = plot.indicator_lines(ind, cps, region=busiest, regions=get_table(run.data, "regions",
                                                                                               required=False))
    cp = cps.to_pandas()
    cp = cp.assign(region=cp["region_id"].map(lambda r: names.get(r, r)), change=(cp["after"] - cp["before"]).round(1),
                   before=cp["before"].round(1), after=cp["after"].round(1), period=cp["period"].astype(str))
    context["change_points"] = _table_html(cp[["region", "indicator", "period", "before", "after", "change", "p_value"]],
                                           20) if len(cp) else None
    context["period"] = run.config["trends"]["period"]
    tables = {"indicators": ind, "change_points": cps}
    lc = run.lifecycle
    if lc is not None:
        events, clusters = lc
        ev = events.to_pandas()
        if len(ev):
            figures["lifecycle"] = plot.lifecycle_plot(events)
        counts = ev.groupby("event").size()
        context["events"] = ", ".join(f"{k} {int(v)}" for k, v in counts.items())
        tables.update({"cluster_events": events, "period_clusters": clusters})
    context["window"] = run.data.window if getattr(run.data, "window", None) else None
    return Section("over time", "sections/time.html.j2", tables=tables, figures=figures, context=context)


def monitoring_section(run: Run, mask) -> Section:
    names = _region_names(run)
    regions = get_table(run.data, "regions", required=False)
    risk = run.region_risk
    figures, context = {}, {"risk": None, "period": None, "alarms": None, "hidden": None, "persons": ""}
    if risk.num_rows:
        figures["levels"] = plot.risk_levels(risk, regions=regions)
        figures["map"] = plot.beibu_map(regions, risk=risk)
        last = risk.to_pandas()
        last = last[last["period"] == last["period"].max()]
        cols = [c for c in last.columns if c.endswith("_points") and c != "max_points"]
        show = last.assign(region=last["region_id"].map(lambda r: names.get(r, r)))[["region", "level", "points"] + cols]
        context["risk"] = _table_html(show.round(1), 30)
        context["period"] = str(last["period"].iloc[0])
    people = run.person_risk
    tables = {"region_risk": risk, "person_risk": people}
    levels = people.to_pandas()["level"].value_counts()
    context["persons"] = ", ".join(f"{k} {int(levels.get(k, 0)):,d}" for k in ("极端", "高", "中", "低"))
    loads, alarms = run.wastewater_loads, run.wastewater_alarms
    context["wastewater"] = loads is not None
    if loads is not None:
        a = alarms.to_pandas()
        if len(a):
            first = a.sort_values("week").iloc[-1]
            figures["wastewater"] = plot.wastewater_series(loads, alarms, plant=first["plant_id"], biomarker=first["biomarker"])
            a = a.assign(region=a["region_id"].map(lambda r: names.get(r, r)), ratio=a["ratio"].round(2),
                         week=a["week"].astype(str), onset=a["onset"].astype(str), samples=a["samples"].map(len))
            context["alarms"] = _table_html(a.sort_values("week", ascending=False)[
                ["plant_id", "region", "biomarker", "onset", "week", "ratio", "samples"]], 15)
        h = run.hidden_demand.to_pandas()
        h = h.assign(region=h["region_id"].map(lambda r: names.get(r, r)))
        context["hidden"] = _table_html(h[["region", "consumption", "user_cases", "cases_per_100k", "expected_per_100k",
                                           "z", "label"]].round(2), 30)
        tables.update({"wastewater_loads": loads, "wastewater_alarms": alarms, "hidden_demand": run.hidden_demand})
    return Section("monitoring", "sections/monitoring.html.j2", tables=tables, figures=figures, context=context)


def money_section(run: Run, mask) -> Section:
    col, summary, found = run.collection_accounts, run.cluster_money, run.money_typologies
    tables = {"collection_accounts": col, "cluster_money": summary, "money_typologies": found}
    figures, context = {}, {"has": col is not None, "clusters": None, "typologies": None, "top": None,
                            "delay": run.config["money"]["max_delay_days"],
                            "keep": round(100 * (1 - run.config["money"]["tolerance"]))}
    if col is None:
        return Section("money", "sections/money.html.j2", tables=tables, figures=figures, context=context)
    show = (lambda v: mask("account", v)) if mask else (lambda v: v)
    s = summary.to_pandas().sort_values(["proceeds", "cluster"], ascending=[False, True], kind="stable")
    if len(s):
        top = int(s["cluster"].iloc[0])
        nodes, edges = money_network(run.data, run.case_clusters, top, mask=mask,
                                     max_delay_days=run.config["money"]["max_delay_days"],
                                     tolerance=run.config["money"]["tolerance"])
        figures["flow"] = plot.money_flow(nodes, edges, title=f"毒资 cluster #{top}: from its accounts to the "
                                                              "collection account")
        context["top"] = top
        c1 = col.to_pandas()
        c1 = c1[c1["rank"] == 1].set_index("cluster")["account"]
        s = s.assign(collection=s["cluster"].map(lambda c: show(c1[c]) if c in c1 else ""),
                     freeze=s["freeze"].map(lambda f: ", ".join(show(a) for a in list(f)[:4]) +
                                            (f" (+{len(f) - 4})" if len(f) > 4 else "")))
        context["clusters"] = _table_html(s[["cluster", "n_accounts", "inflow", "outflow", "collected", "proceeds",
                                             "collection", "freeze"]].round(0), 15)
    if found is not None:
        f = found.to_pandas()
        f = f[f["role"] == "flagged"]
        counts = f.groupby("typology").agg(findings=("instance", "nunique"), accounts=("account", "nunique"),
                                          amount=("amount", "sum")).reindex(list(TYPOLOGIES)).fillna(0)
        context["typologies"] = _table_html(counts.reset_index().round(0), 10)
    return Section("money", "sections/money.html.j2", tables=tables, figures=figures, context=context)


#: The report's sections, in order: (run, mask) -> Section. ``mask`` renders an entity value for
#: the report (None: shown in full).
SECTIONS: list[Callable[[Run, Callable | None], Section]] = [
    data_section, clusters_section, trace_section, money_section, linkage_section, channels_section, time_section,
    monitoring_section, routes_section, checkpoints_section, disruption_section,
]

#: The sections of a dataset folder analysed on Dask (``jindu analyze DIR --engine dask --folder``): what the
#: distributed stages compute, without reading any whole table into this process.
FOLDER_SECTIONS: list[Callable[[Run, Callable | None], Section]] = [
    data_section, folder_clusters_section, linkage_section, substances_section,
]
