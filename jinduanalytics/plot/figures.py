"""Figures of what the analyses found. Each function takes result tables and returns a Figure.

Nothing here computes results: the tables come from :mod:`jinduanalytics.clusters`,
:mod:`jinduanalytics.routes` and friends. Layout and drawing only.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
from matplotlib.patches import Patch, Rectangle

from ..errors import ParameterError, SchemaError
from ._style import MODE_COLORS, MODE_ZH, PART_COLORS, PROVINCE_COLORS, ROLE_COLORS, ROLE_ZH, new_figure, style

__all__ = ["cluster_network", "region_heatmap", "beibu_map", "cluster_ranking", "case_timeline",
           "linkage_waterfall", "disruption_curve", "substance_trend", "parcel_channel_plot", "indicator_lines",
           "lifecycle_plot", "wastewater_series", "risk_levels"]


def _frame(table, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if table is None:
        raise ParameterError(f"{name}: a table is required")
    df = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{name}: missing column(s) {', '.join(map(repr, missing))}; found: {', '.join(df.columns)}")
    return df


def _region_names(regions) -> dict:
    if regions is None:
        from ..regions import beibu_regions

        regions = beibu_regions()
    r = _frame(regions, "regions", ("region_id", "name"))
    return dict(zip(r["region_id"], r["name"]))


# ----------------------------------------------------------------------------- cluster network

def cluster_network(nodes, edges, *, color: str = "role", label: str | None = None, group: str | None = None,
                    max_nodes: int = 250, min_group_size: int = 2, title: str | None = None, seed: int = 0):
    """Draw a network: node by node when small, one bubble per ``group`` when large.

    Parameters
    ----------
    nodes : table
        ``node_id`` plus the ``color`` column (roles get the role palette; any other
        categorical column gets a generic one), optional ``label`` and ``group`` columns.
    edges : table
        ``source``, ``target``, ``weight`` (line width scales with weight).
    color : str
        The nodes' column that colours them.
    label : str, optional
        The nodes' column written beside each node.
    group : str, optional
        Column to aggregate by when there are more than ``max_nodes`` nodes (e.g. the
        community); required then. Groups smaller than ``min_group_size`` with no link to
        another group are not drawn (their number is noted on the figure).
    max_nodes : int
        Draw node by node up to this many nodes.
    min_group_size : int
        See ``group``.
    title : str, optional
    seed : int
        Of the layout (the same seed draws the same picture).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import networkx as nx

    nd = _frame(nodes, "nodes", ("node_id",))
    ed = _frame(edges, "edges", ("source", "target"))
    if "weight" not in ed:
        ed = ed.assign(weight=1.0)
    aggregated = len(nd) > max_nodes
    if aggregated:
        if group is None or group not in nd:
            raise ParameterError(f"cluster_network: {len(nd)} nodes is more than max_nodes={max_nodes}; pass "
                                 "group= a column of the nodes table (e.g. the community) to draw one bubble per group")
        gmap = dict(zip(nd["node_id"], nd[group]))
        sizes = nd.groupby(group).size()
        ed = ed.assign(source=ed["source"].map(gmap), target=ed["target"].map(gmap)).dropna()
        ed = ed[ed["source"] != ed["target"]]
        ed = ed.groupby(["source", "target"], as_index=False)["weight"].sum()
        nd = pd.DataFrame({"node_id": sizes.index, "members": sizes.to_numpy()})
        linked = set(ed["source"]) | set(ed["target"])
        hidden = (nd["members"] < min_group_size) & ~nd["node_id"].isin(linked)
        n_hidden = int(hidden.sum())
        nd = nd[~hidden].reset_index(drop=True)
        color = None
    g = nx.Graph()
    g.add_nodes_from(nd["node_id"])
    g.add_weighted_edges_from(ed[["source", "target", "weight"]].itertuples(index=False, name=None))
    pos = nx.spring_layout(g, seed=seed, weight="weight", k=1.5 / np.sqrt(max(len(g), 1)))
    with style():
        fig = new_figure(8, 7)
        ax = fig.add_subplot()
        w = ed["weight"].to_numpy(float)
        lw = 0.5 + 3.0 * (w / w.max()) if len(w) and w.max() > 0 else []
        for (u, v), width in zip(zip(ed["source"], ed["target"]), lw):
            ax.plot([pos[u][0], pos[v][0]], [pos[u][1], pos[v][1]], color="#999999", lw=width, alpha=0.6, zorder=1)
        xy = np.array([pos[n] for n in nd["node_id"]]) if len(nd) else np.zeros((0, 2))
        if aggregated:
            s = 30 + 400 * nd["members"].to_numpy() / nd["members"].max()
            ax.scatter(xy[:, 0], xy[:, 1], s=s, color="#4c72b0", alpha=0.8, edgecolor="white", zorder=2)
            for (x, y), gid, m in sorted(zip(xy, nd["node_id"], nd["members"]), key=lambda t: -t[2])[:12]:
                ax.annotate(f"{gid} ({m})", (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8)
            note = f"{len(nd)} groups by '{group}' (bubble area = members)"
            if n_hidden:
                note += f"; {n_hidden} unlinked groups under {min_group_size} members not drawn"
            ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=9, color="#555555")
        else:
            cats = nd[color].fillna("?").astype(str) if color in nd else pd.Series(["node"] * len(nd))
            palette = ROLE_COLORS if set(cats) <= set(ROLE_COLORS) | {"?"} else {
                c: f"C{i % 10}" for i, c in enumerate(sorted(set(cats)))}
            for cat in sorted(set(cats), key=lambda c: list(ROLE_COLORS).index(c) if c in ROLE_COLORS else 99):
                m = (cats == cat).to_numpy()
                name = f"{ROLE_ZH[cat]} ({cat})" if cat in ROLE_ZH else cat
                ax.scatter(xy[m, 0], xy[m, 1], s=90, color=palette.get(cat, "#cccccc"), edgecolor="black",
                           linewidth=0.5, label=f"{name}: {int(m.sum())}", zorder=2)
            if label and label in nd and len(nd) <= 60:
                for (x, y), text in zip(xy, nd[label].astype(str)):
                    ax.annotate(text, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9, title=color)
        ax.set_axis_off()
        ax.set_title(title or f"网络图 network: {len(nd)} nodes, {len(ed)} links")
    return fig


# ----------------------------------------------------------------------------- region heatmap

def region_heatmap(pairs, *, value: str = "z", significant: str | None = "significant", regions=None,
                   title: str | None = None, cmap: str = "Reds", vmin: float | None = None):
    """Region x region heatmap of a pair score, with significant pairs marked ``*``.

    ``pairs`` has ``region_a``, ``region_b``, the ``value`` column and optionally a boolean
    ``significant`` column. The matrix is symmetric; names come from ``regions`` (default:
    the shipped Beibu regions). ``vmin`` clips the colour scale from below (e.g. 0 for z:
    fewer ties than chance is not what an analyst scans for).

    Parameters
    ----------
    pairs : pyarrow.Table or pandas.DataFrame
        ``region_a``, ``region_b`` and the ``value`` column (e.g. :func:`jinduanalytics.region_pairs.region_pairs`).
    value : str, default "z"
    significant : str or None, default "significant"
        A boolean column marking pairs with ``*``.
    regions : table, optional
        For region names (default the shipped Beibu regions).
    title : str, optional
    cmap : str, default "Reds"
    vmin : float, optional
    """
    df = _frame(pairs, "pairs", ("region_a", "region_b", value))
    names = _region_names(regions)
    ids = sorted(set(df["region_a"]) | set(df["region_b"]))
    idx = {r: i for i, r in enumerate(ids)}
    mat = np.full((len(ids), len(ids)), np.nan)
    sig = np.zeros_like(mat, dtype=bool)
    has_sig = significant is not None and significant in df
    for row in df.itertuples(index=False):
        a, b, v = idx[row.region_a], idx[row.region_b], getattr(row, value)
        mat[a, b] = mat[b, a] = v
        if has_sig and bool(getattr(row, significant)):
            sig[a, b] = sig[b, a] = True
    with style():
        n = len(ids)
        fig = new_figure(max(6, 0.45 * n + 3), max(5, 0.45 * n + 2))
        ax = fig.add_subplot()
        im = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, vmin=vmin)
        labels = [f"{names.get(r, r)}" for r in ids]
        ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=9)
        ax.set_yticks(range(n), labels, fontsize=9)
        ax.spines[:].set_visible(False)
        for a, b in zip(*np.nonzero(sig)):
            ax.text(b, a, "*", ha="center", va="center", color="white" if mat[a, b] > np.nanmax(mat) * 0.6 else "black",
                    fontsize=13)
        fig.colorbar(im, ax=ax, label=value, shrink=0.8)
        ax.set_title(title or f"地区关联 region pairs: {value}" + (" (* significant)" if has_sig else ""))
    return fig


# ----------------------------------------------------------------------------- Beibu Gulf map

_MAP_EXTENT = (105.6, 115.0, 17.8, 23.6)  # lon_min, lon_max, lat_min, lat_max


def _coastline() -> pd.DataFrame:
    with resources.files("jinduanalytics.data").joinpath("coastline.csv").open("rb") as f:
        return pd.read_csv(f)


def beibu_map(regions=None, legs=None, *, value: str = "quantity_g", min_share: float = 0.0, risk=None,
              title: str | None = None):
    """The Beibu Gulf rim: regions at their coordinates, province colours, flow arrows.

    Parameters
    ----------
    regions : table, optional
        ``region_id``, ``name``, ``province``, ``level``, ``lon``, ``lat`` (default: shipped).
    legs : table, optional
        ``origin``, ``destination``, ``mode`` and the ``value`` column (e.g. from
        :func:`jinduanalytics.routes.flow_legs`); arrow width scales with ``value``, colour
        shows the mode. Legs under ``min_share`` of the largest are not drawn.
    value : str
        The legs' column that sets arrow widths.
    min_share : float
        See ``legs``.
    risk : table, optional
        From :func:`jinduanalytics.risk.region_risk`: regions coloured by their level in its latest
        period (pass one period's rows for another) instead of by province.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The coastline is a simplified outline shipped with the package (no downloads); the
    琼州海峡 crossing between 徐闻 and 海口 is labelled.
    """
    from matplotlib.patches import FancyArrowPatch, Polygon

    if regions is None:
        from ..regions import beibu_regions

        regions = beibu_regions()
    r = _frame(regions, "regions", ("region_id", "name", "province", "level", "lon", "lat"))
    r = r[r["level"] != "province"].copy()
    x0, x1, y0, y1 = _MAP_EXTENT
    # regions off the map (e.g. 瑞丽 on the Yunnan border) are drawn at its edge
    off = ~(r["lon"].between(x0, x1) & r["lat"].between(y0, y1))
    r["x"] = r["lon"].clip(x0 + 0.15, x1 - 0.15)
    r["y"] = r["lat"].clip(y0 + 0.15, y1 - 0.15)
    pos = {rid: (x, y) for rid, x, y in zip(r["region_id"], r["x"], r["y"])}
    coast = _coastline()
    with style():
        fig = new_figure(10, 7.5)
        ax = fig.add_subplot()
        ax.set_facecolor("#eaf2fb")
        main = coast[coast["part"] == "mainland"][["lon", "lat"]].to_numpy()
        land = np.vstack([main, [[116.5, 22.85], [116.5, 26.5], [96.5, 26.5], [96.5, 18.9]]])
        ax.add_patch(Polygon(land, closed=True, facecolor="#f7f4ea", edgecolor="#7f8c8d", lw=1.0, zorder=0))
        for _, pts in coast[coast["part"] != "mainland"].groupby("part"):
            ax.add_patch(Polygon(pts[["lon", "lat"]].to_numpy(), closed=True, facecolor="#f7f4ea",
                                 edgecolor="#7f8c8d", lw=1.0, zorder=0))
        handles = []
        if legs is not None:
            lg = _frame(legs, "legs", ("origin", "destination", "mode", value))
            lg = lg[lg["origin"].isin(pos) & lg["destination"].isin(pos) & (lg["origin"] != lg["destination"])]
            vmax = float(lg[value].max()) if len(lg) else 1.0
            lg = lg[lg[value] >= min_share * vmax].sort_values(value)
            for o, d, mode, v in zip(lg["origin"], lg["destination"], lg["mode"], lg[value]):
                ax.add_patch(FancyArrowPatch(pos[o], pos[d], connectionstyle="arc3,rad=0.15", arrowstyle="-|>",
                                             mutation_scale=8 + 8 * v / vmax, lw=0.5 + 3.5 * v / vmax,
                                             color=MODE_COLORS.get(mode, "#555555"), alpha=0.7, zorder=2))
            for mode in sorted(set(lg["mode"])):
                handles += ax.plot([], [], color=MODE_COLORS.get(mode, "#555555"), lw=3,
                                   label=f"{MODE_ZH.get(mode, mode)} {mode}")
        level_of = {}
        if risk is not None:
            rk = _frame(risk, "risk", ("region_id", "period", "level"))
            rk = rk[rk["period"] == rk["period"].max()]
            level_of = dict(zip(rk["region_id"], rk["level"]))
            for lv, color in LEVEL_COLORS.items():
                handles.append(ax.scatter([], [], s=60, color=color, edgecolor="black", lw=0.5, label=lv))
        for prov, part in r.groupby("province"):
            origin = (part["level"] == "origin").to_numpy()
            if level_of:
                colors = [LEVEL_COLORS.get(level_of.get(x), "#dddddd") for x in part.loc[~origin, "region_id"]]
                ax.scatter(part.loc[~origin, "x"], part.loc[~origin, "y"], s=110, c=colors, edgecolor="black", lw=0.6,
                           zorder=3)
                continue
            handles.append(ax.scatter(part.loc[~origin, "x"], part.loc[~origin, "y"], s=60,
                                      color=PROVINCE_COLORS.get(prov, "gray"), edgecolor="black", lw=0.5, zorder=3,
                                      label=prov))
            ax.scatter(part.loc[origin, "x"], part.loc[origin, "y"], s=70, marker="^",
                       color=PROVINCE_COLORS.get(prov, "gray"), edgecolor="black", lw=0.5, zorder=3)
        for name, x, y, o in zip(r["name"], r["x"], r["y"], off):
            ax.annotate(name + (" (图外)" if o else ""), (x, y), xytext=(4, 3), textcoords="offset points",
                        fontsize=9, zorder=4)
        ax.annotate("琼州海峡", (110.3, 20.18), xytext=(111.3, 19.4), fontsize=10, color="#1f4e79",
                    arrowprops={"arrowstyle": "-", "color": "#1f4e79", "lw": 0.8}, zorder=4)
        ax.text(107.6, 20.3, "北部湾", fontsize=13, color="#5d6d7e")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect(1.0 / np.cos(np.radians((y0 + y1) / 2)))
        ax.set_xlabel("经度 lon")
        ax.set_ylabel("纬度 lat")
        ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=True, title="▲ 源头 origin",
                  title_fontsize=8)
        ax.set_title(title or "环北部湾 Beibu Gulf rim" + (f": flows by {value}" if legs is not None else "")
                     + (f" · 风险等级 levels {str(rk['period'].iloc[0])[:10]}" if level_of else ""))
    return fig


# ----------------------------------------------------------------------------- cluster ranking

def cluster_ranking(summary, *, top: int = 15, title: str | None = None):
    """Top clusters as stacked bars of their score parts (``score_<part>`` columns).

    Parameters
    ----------
    summary : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.clusters.cluster_summary`.
    top : int, default 15
    title : str, optional
    """
    df = _frame(summary, "summary", ("cluster", "score", "n_cases"))
    parts = [c for c in df.columns if c.startswith("score_")]
    if not parts:
        raise SchemaError("summary: no score_<part> columns (pass the table from cluster_summary)")
    df = df.sort_values("score", ascending=False).head(top).iloc[::-1]
    with style():
        fig = new_figure(9, 0.38 * len(df) + 1.8)
        ax = fig.add_subplot()
        left = np.zeros(len(df))
        labels = [f"#{c}  ({n} 案)" for c, n in zip(df["cluster"], df["n_cases"])]
        for p in parts:
            name = p.removeprefix("score_")
            ax.barh(labels, df[p], left=left, color=PART_COLORS.get(name, None), label=name, edgecolor="white")
            left += df[p].to_numpy()
        for y, s in enumerate(df["score"]):
            ax.text(s + 0.005, y, f"{s:.2f}", va="center", fontsize=8)
        ax.set_xlabel("score (sum of weighted parts)")
        ax.set_xlim(0, max(1.0, float(left.max()) + 0.08))
        ax.legend(loc="lower right", fontsize=8, ncols=len(parts), frameon=False, bbox_to_anchor=(1, 1.0))
        ax.set_title(title or f"集群排序 top {len(df)} clusters", loc="left")
    return fig


# ----------------------------------------------------------------------------- case timeline

def case_timeline(cases, *, top: int | None = 12, color: str = "case_type", title: str | None = None):
    """Cases over time, one row per cluster (``cluster``, ``date``, optional ``rank``, ``quantity_g``).

    Marker size scales with ``quantity_g`` when present; colour shows ``color``.

    Parameters
    ----------
    cases : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.clusters.cluster_timeline`.
    top : int or None, default 12
    color : str, default "case_type"
        Column colouring the points.
    title : str, optional
    """
    df = _frame(cases, "cases", ("cluster", "date"))
    df = df.assign(date=pd.to_datetime(df["date"]))
    order = (df.groupby("cluster")["rank"].first().sort_values() if "rank" in df
             else df.groupby("cluster").size().sort_values(ascending=False))
    clusters = list(order.index[:top] if top else order.index)
    df = df[df["cluster"].isin(clusters)]
    row = {c: i for i, c in enumerate(clusters)}
    with style():
        fig = new_figure(10, 0.42 * len(clusters) + 1.8)
        ax = fig.add_subplot()
        cats = df[color].astype(str) if color in df else pd.Series(["case"] * len(df), index=df.index)
        q = df["quantity_g"].fillna(0).to_numpy(float) if "quantity_g" in df else np.ones(len(df))
        size = 12 + 120 * np.sqrt(q / q.max()) if q.max() > 0 else np.full(len(df), 20.0)
        for i, cat in enumerate(sorted(set(cats))):
            m = (cats == cat).to_numpy()
            ax.scatter(df.loc[m, "date"], [row[c] for c in df.loc[m, "cluster"]], s=size[m], alpha=0.65,
                       color=f"C{i % 10}", edgecolor="black", lw=0.3, label=cat)
        ax.set_yticks(range(len(clusters)), [f"#{c}" for c in clusters])
        ax.invert_yaxis()
        ax.set_ylabel("cluster")
        ax.grid(axis="x", alpha=0.3)
        leg = ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9, title=color)
        for handle in leg.legend_handles:
            handle.set_sizes([30])
        ax.set_title(title or "案件时间线 cases over time (marker area ~ grams)", loc="left")
    return fig


# ----------------------------------------------------------------------------- linkage waterfall

def linkage_waterfall(contributions, *, threshold: float | None = None, title: str | None = None):
    """Match weight of one record pair, built up comparison by comparison.

    ``contributions`` has ``comparison`` and ``weight`` (log2 Bayes factor each; a row named
    ``prior`` is drawn first when present). The last bar is the total; ``threshold`` draws
    the link threshold.

    Parameters
    ----------
    contributions : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.linkage.explain_link`.
    threshold : float, optional
        Match weight drawn as the decision line.
    title : str, optional
    """
    df = _frame(contributions, "contributions", ("comparison", "weight"))
    names = df["comparison"].astype(str).tolist()
    w = df["weight"].to_numpy(float)
    start = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    total = float(w.sum())
    with style():
        fig = new_figure(max(6, 0.8 * len(w) + 3), 4.5)
        ax = fig.add_subplot()
        colors = ["#2e7d32" if x >= 0 else "#c62828" for x in w]
        ax.bar(range(len(w)), w, bottom=start, color=colors, edgecolor="black", lw=0.4)
        ax.bar(len(w), total, color="#1565c0", edgecolor="black", lw=0.4)
        for i, (s, x) in enumerate(zip(start, w)):
            ax.text(i, s + x + (0.3 if x >= 0 else -0.3), f"{x:+.1f}", ha="center", va="bottom" if x >= 0 else "top",
                    fontsize=8)
        ax.text(len(w), total + (0.3 if total >= 0 else -0.3), f"{total:.1f}", ha="center",
                va="bottom" if total >= 0 else "top", fontsize=10)
        if threshold is not None:
            ax.axhline(threshold, color="black", ls="--", lw=0.8)
            ax.text(-0.45, threshold, f"link threshold {threshold:g}", va="bottom", ha="left", fontsize=8)
        ax.axhline(0, color="gray", lw=0.6)
        ends = np.concatenate([[0.0, total], start, start + w] + ([[threshold]] if threshold is not None else []))
        span = float(ends.max() - ends.min()) or 1.0
        ax.set_ylim(ends.min() - 0.12 * span, ends.max() + 0.12 * span)
        ax.set_xticks(range(len(w) + 1), names + ["total"], rotation=30, ha="right")
        ax.set_ylabel("match weight (log2 Bayes factor)")
        ax.set_title(title or "比对贡献 match weight by comparison", loc="left")
    return fig


# ----------------------------------------------------------------------------- disruption curve

def disruption_curve(curves, *, x: str = "removed", y: str = "lcc", by: str = "strategy", title: str | None = None):
    """Largest-component curves of node-removal strategies (one line per ``by`` value).

    Parameters
    ----------
    curves : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.disruption.removal_curves`.
    x, y : str
        Columns on the axes.
    by : str, default "strategy"
        One line per value of this column.
    title : str, optional
    """
    df = _frame(curves, "curves", (x, y, by))
    with style():
        fig = new_figure(7, 4.5)
        ax = fig.add_subplot()
        for i, (name, part) in enumerate(df.groupby(by, sort=True)):
            part = part.sort_values(x)
            ax.plot(part[x], part[y], marker="o", ms=3, lw=1.5, color=f"C{i % 10}", label=str(name))
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9, title=by)
        ax.set_title(title or "打击效果 disruption: largest component as nodes are removed", loc="left")
    return fig


# ----------------------------------------------------------------------------- channels

#: Colours of the drug categories of the shipped vocabulary (others cycle through the palette).
CATEGORY_COLORS = {"合成毒品": "#4c72b0", "传统毒品": "#8c8c8c", "新精神活性物质": "#dd8452",
                   "非列管成瘾物质": "#c44e52", "易制毒化学品": "#55a868", "其他": "#cccccc"}


def substance_trend(table, *, value: str = "cases", share: bool = False, title: str | None = None):
    """Cases (or grams) per period, stacked by drug category or drug.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.channels.substance_table` for one region or ``per_region=False``
        (rows of several regions are stacked together).
    value : {"cases", "quantity_g"}
    share : bool, default False
        Plot each item's share of the period instead of the count (the ``share`` column).
    title : str, optional
    """
    df = _frame(table, "substances", ("period", value))
    item = "drug" if "drug" in df.columns else "category"
    col = "share" if share else value
    wide = df.pivot_table(index="period", columns=item, values=col, aggfunc="sum", fill_value=0).sort_index()
    order = wide.sum().sort_values(ascending=False).index
    with style():
        fig = new_figure(10, 4.2)
        ax = fig.add_subplot()
        x = pd.to_datetime(wide.index)
        colors = [CATEGORY_COLORS.get(c, f"C{i % 10}") for i, c in enumerate(order)]
        ax.stackplot(x, [wide[c].to_numpy(float) for c in order], labels=list(order), colors=colors, alpha=0.9)
        ax.set_ylabel("share of cases" if share else ("cases" if value == "cases" else "grams"))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9, title=item)
        ax.set_title(title or "毒品种类 substances over time", loc="left")
    return fig


def parcel_channel_plot(channels, *, endpoint: str = "origin_outlet", label_top: int = 8, title: str | None = None):
    """Each outlet (or sender, receiver): its parcels against its drug-tied parcels, with what the
    volume null model expects; flagged endpoints in red. Busy endpoints sit on the expected line.

    Parameters
    ----------
    channels : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.channels.parcel_channels`.
    endpoint : {"origin_outlet", "sender", "receiver"}
    label_top : int
        Name the most significant flagged endpoints.
    title : str, optional
    """
    df = _frame(channels, "channels", ("endpoint", "value", "parcels", "tied", "expected", "flagged", "rank"))
    df = df[df["endpoint"] == endpoint].sort_values("parcels")
    if df.empty:
        raise ParameterError(f"channels: no rows for endpoint {endpoint!r}")
    with style():
        fig = new_figure(8, 5)
        ax = fig.add_subplot()
        flagged = df["flagged"].to_numpy(bool)
        ax.scatter(df.loc[~flagged, "parcels"], df.loc[~flagged, "tied"], s=14, color="#8c8c8c", alpha=0.6,
                   label="not flagged")
        ax.scatter(df.loc[flagged, "parcels"], df.loc[flagged, "tied"], s=28, color="#c44e52", edgecolor="black",
                   lw=0.3, label="flagged (FDR)")
        ax.plot(df["parcels"], df["expected"], color="black", lw=1, label="expected from volume")
        for _, r in df[flagged].sort_values("rank").head(label_top).iterrows():
            ax.annotate(str(r["value"]), (r["parcels"], r["tied"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("parcels (all)")
        ax.set_ylabel("parcels tied to drug cases")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        ax.set_title(title or f"寄递渠道 {endpoint}: drug-tied parcels beyond volume", loc="left")
    return fig


# ----------------------------------------------------------------------------- over time

EVENT_COLORS = {"birth": "#55a868", "death": "#c44e52", "merge": "#8172b3", "split": "#dd8452",
                "growth": "#4c72b0", "contraction": "#937860", "continuation": "#8c8c8c"}


def indicator_lines(indicators, change_points=None, *, region: str, names=None, regions=None, title: str | None = None):
    """One region's indicators over time, with the change points found in them marked.

    Parameters
    ----------
    indicators : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.trends.indicators`.
    change_points : pyarrow.Table or pandas.DataFrame, optional
        From :func:`jinduanalytics.trends.change_points`: a vertical line at each, with the levels.
    region : str
    names : list of str, optional
        The indicators to draw (default: cases, new_persons, repeat_persons, outflow_persons).
    regions : pyarrow.Table, optional
        For the region's name.
    title : str, optional
    """
    df = _frame(indicators, "indicators", ("region_id", "period", "indicator", "value"))
    names = list(names or ["cases", "new_persons", "repeat_persons", "outflow_persons"])
    df = df[(df["region_id"] == region) & df["indicator"].isin(names)]
    if df.empty:
        raise ParameterError(f"indicators: no rows for region {region!r} and {names}")
    cps = None if change_points is None else _frame(change_points, "change_points", ("region_id", "indicator", "period"))
    with style():
        fig = new_figure(10, 4.2)
        ax = fig.add_subplot()
        for i, name in enumerate([n for n in names if n in set(df["indicator"])]):
            d = df[df["indicator"] == name].sort_values("period")
            ax.plot(pd.to_datetime(d["period"]), d["value"], marker="o", ms=3, color=f"C{i}", label=name)
            if cps is not None:
                for _, r in cps[(cps["region_id"] == region) & (cps["indicator"] == name)].iterrows():
                    ax.axvline(pd.to_datetime(r["period"]), color=f"C{i}", ls="--", lw=1)
        ax.grid(alpha=0.3)
        ax.set_ylabel("count per period")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
        label = _region_names(regions).get(region, region)
        ax.set_title(title or f"趋势 {label}: indicators (dashed: change points)", loc="left")
    return fig


def lifecycle_plot(events, *, top: int = 25, title: str | None = None):
    """Tracked clusters as lines across periods, each event a coloured marker; a merge or split is
    drawn from the tracks it joins or leaves.

    Parameters
    ----------
    events : pyarrow.Table or pandas.DataFrame
        ``events`` of :func:`jinduanalytics.lifecycle.track_clusters` or ``track_communities``.
    top : int
        The longest-lived tracks shown.
    title : str, optional
    """
    df = _frame(events, "events", ("period", "event", "track", "size"))
    span = df[df["event"] != "death"].groupby("track")["period"].agg(["min", "max", "size"])
    keep = span.sort_values(["size", "min"], ascending=[False, True]).head(top).index
    df = df[df["track"].isin(keep)]
    row = {t: i for i, t in enumerate(span.loc[keep].sort_values("min").index)}
    with style():
        fig = new_figure(10, 0.32 * len(row) + 1.8)
        ax = fig.add_subplot()
        x = df["period"] if pd.api.types.is_numeric_dtype(df["period"]) else pd.to_datetime(df["period"])
        df = df.assign(x=x)
        for t, g in df[df["event"] != "death"].groupby("track"):
            g = g.sort_values("x")
            ax.plot(g["x"], [row[t]] * len(g), color="#bbbbbb", lw=2, zorder=1)
        for ev, g in df.groupby("event"):
            ax.scatter(g["x"], [row[t] for t in g["track"]], s=18 + 2 * np.sqrt(g["size"].clip(lower=0)) * 4,
                       color=EVENT_COLORS.get(ev, "black"), edgecolor="black", lw=0.3, label=ev, zorder=2)
        ax.set_yticks(range(len(row)), [f"track {t}" for t in row])
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9, title="event")
        ax.set_title(title or "集群生命周期 clusters tracked across periods", loc="left")
    return fig


# ----------------------------------------------------------------------------- monitoring

LEVEL_COLORS = {"重点整治": "#c44e52", "黄牌预警": "#dd8452", "关注": "#f2c14e", "一般": "#b8d8b0"}


def wastewater_series(loads, alarms=None, *, plant: str, biomarker: str = "methamphetamine", title: str | None = None):
    """One plant's consumption estimates over time with their 95% intervals, alarms marked.

    Parameters
    ----------
    loads : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.wastewater.wastewater_loads`.
    alarms : pyarrow.Table or pandas.DataFrame, optional
        From :func:`jinduanalytics.wastewater.wastewater_alarms`: a band from each alarm's onset to its week.
    plant : str
    biomarker : str
    title : str, optional
    """
    df = _frame(loads, "loads", ("plant_id", "biomarker", "date", "consumption"))
    df = df[(df["plant_id"] == plant) & (df["biomarker"] == biomarker)].sort_values("date")
    if df.empty:
        raise ParameterError(f"loads: no samples of {biomarker!r} at plant {plant!r}")
    with style():
        fig = new_figure(10, 3.8)
        ax = fig.add_subplot()
        x = pd.to_datetime(df["date"])
        if "consumption_low" in df:
            ax.fill_between(x, df["consumption_low"], df["consumption_high"], color="#4c72b0", alpha=0.15, lw=0,
                            label="95% interval")
        ax.plot(x, df["consumption"], color="#4c72b0", lw=0.8, marker=".", ms=3, label="estimate")
        if alarms is not None:
            a = _frame(alarms, "alarms", ("plant_id", "biomarker", "week", "onset"))
            a = a[(a["plant_id"] == plant) & (a["biomarker"] == biomarker)]
            for i, r in enumerate(a.itertuples()):
                ax.axvspan(pd.Timestamp(r.onset), pd.Timestamp(r.week) + pd.Timedelta(days=6), color="#c44e52",
                           alpha=0.25, lw=0, label="alarm (onset to alarm week)" if i == 0 else None)
        ax.set_ylabel("mg/day/1000 inhabitants")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        ax.set_title(title or f"污水监测 {plant} · {biomarker}", loc="left")
    return fig


def risk_levels(risk, *, regions=None, title: str | None = None):
    """Each region's level per period as a coloured grid, its points written in each cell.

    Parameters
    ----------
    risk : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.risk.region_risk`.
    regions : pyarrow.Table, optional
        For region names.
    title : str, optional
    """
    df = _frame(risk, "risk", ("region_id", "period", "points", "level"))
    names = _region_names(regions)
    periods = sorted(df["period"].unique())
    order = df.groupby("region_id")["points"].mean().sort_values(ascending=False).index
    with style():
        fig = new_figure(1.1 * len(periods) + 3, 0.36 * len(order) + 1.6)
        ax = fig.add_subplot()
        for i, r in enumerate(order):
            for j, p in enumerate(periods):
                row = df[(df["region_id"] == r) & (df["period"] == p)]
                if row.empty:
                    continue
                level, pts = row["level"].iloc[0], row["points"].iloc[0]
                ax.add_patch(Rectangle((j, i), 1, 1, color=LEVEL_COLORS.get(level, "#ddd")))
                ax.text(j + 0.5, i + 0.5, f"{pts:g}", ha="center", va="center", fontsize=8)
        ax.set_xlim(0, len(periods))
        ax.set_ylim(len(order), 0)
        ax.set_xticks(np.arange(len(periods)) + 0.5, [str(p)[:7] for p in periods], rotation=0)
        ax.set_yticks(np.arange(len(order)) + 0.5, [names.get(r, r) for r in order])
        handles = [Patch(color=c, label=k) for k, c in LEVEL_COLORS.items()]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
        ax.set_title(title or "地区风险等级 region levels (points in each cell)", loc="left")
    return fig


# ----------------------------------------------------------------------------- money

MONEY_COLORS = {"case account": "#4c72b0", "passed through": "#8c8c8c", "collection": "#c44e52",
                "cash-out": "#dd8452"}


def money_flow(nodes, edges, *, label_top: int = 8, title: str | None = None):
    """A cluster's money: accounts left to right by how many transfers from the cluster's case
    accounts they are, sized by the money through them, arrows as wide as the money moved.

    Parameters
    ----------
    nodes, edges : pyarrow.Table or pandas.DataFrame
        From :func:`jinduanalytics.money.money_network`.
    label_top : int
        Label the accounts with the most money.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import FancyArrowPatch

    nd = _frame(nodes, "nodes", ("node_id", "label", "kind", "level", "volume"))
    ed = _frame(edges, "edges", ("source", "target", "amount"))
    if nd.empty:
        raise ParameterError("nodes: no accounts to draw")
    nd = nd.sort_values(["level", "volume", "node_id"], ascending=[True, False, True], kind="stable")
    nd["y"] = nd.groupby("level").cumcount()
    nd["y"] = nd["y"] - nd.groupby("level")["y"].transform("max") / 2.0
    pos = {r.node_id: (float(r.level), float(r.y)) for r in nd.itertuples()}
    vmax = max(float(nd["volume"].max()), 1.0)
    amax = max(float(ed["amount"].max()) if len(ed) else 1.0, 1.0)
    with style():
        fig = new_figure(10, 6)
        ax = fig.add_subplot()
        for r in ed.itertuples():
            if r.source not in pos or r.target not in pos:
                continue
            ax.add_patch(FancyArrowPatch(pos[r.source], pos[r.target], arrowstyle="-|>", mutation_scale=10,
                                         lw=0.4 + 5.0 * r.amount / amax, color="#555555", alpha=0.55,
                                         connectionstyle="arc3,rad=0.08", shrinkA=6, shrinkB=6))
        for kind, g in nd.groupby("kind", sort=False):
            ax.scatter([pos[n][0] for n in g["node_id"]], [pos[n][1] for n in g["node_id"]],
                       s=30 + 900 * np.sqrt(g["volume"].to_numpy(float) / vmax), color=MONEY_COLORS.get(kind, "#8172b2"),
                       edgecolor="black", lw=0.4, label=kind, zorder=3)
        for r in nd.sort_values("volume", ascending=False).head(label_top).itertuples():
            ax.annotate(f"{r.label}\n{r.volume:,.0f} 元", pos[r.node_id], fontsize=7, xytext=(6, 6),
                        textcoords="offset points", zorder=4)
        ax.set_xticks(sorted(nd["level"].unique()))
        ax.set_xlabel("transfers from the cluster's case accounts")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.margins(0.12)
        ax.legend(loc="upper left", frameon=False, fontsize=8, markerscale=0.4)
        ax.set_title(title or "毒资 flow: from the cluster's accounts to where the money concentrates", loc="left")
    return fig
