"""The interactive link chart: a graph's nodes and edges as a standalone, offline HTML page (and, in
Jupyter, inline or as an ipysigma widget).

The page carries everything it needs — the data as JSON and a small canvas renderer shipped with
the package (``chart.js``, no libraries, no network): nodes coloured by type or role, a legend that
hides types, search, hover for a summary, click for the evidence of a node (its attributes and
every link with its source table, counts and dates) or of a link, a date filter over the links'
dates, pan and zoom. Positions are a spring layout drawn once here (the same seed draws the same
chart); nothing else is computed.
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OutputError, ParameterError
from ._style import ROLE_COLORS, font_face
from .figures import _frame

__all__ = ["link_chart", "LinkChart"]

_PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974",
            "#64b5cd")
_TYPE_COLORS = {"case": "#4c72b0", "person": "#dd8452", "phone": "#55a868", "account": "#c44e52", "region": "#8172b3"}
_MARK = '<meta name="generator" content="jinduanalytics link chart">'
_CSS = """
.jc-title{font-family:"JinduSC","Noto Sans SC",sans-serif;font-size:15px;margin:12px 0 4px}
.jc{font-family:"JinduSC","Noto Sans SC","Noto Sans CJK SC",sans-serif;font-size:13px;color:#222;display:grid;
 grid-template-columns:minmax(0,1fr) 320px;grid-template-rows:auto auto 560px;gap:4px 10px;margin:8px 0}
.jc-bar{grid-column:1/3;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.jc input,.jc button{font-family:inherit}.jc-search{width:220px;padding:3px 6px}
.jc-legend{grid-column:1/3;display:flex;gap:12px;flex-wrap:wrap}
.jc-key{display:flex;align-items:center;gap:4px;cursor:pointer}
.jc-dot{display:inline-block;width:10px;height:10px;border-radius:50%}
.jc-wrap{position:relative;border:1px solid #ccc;overflow:hidden;height:560px}
.jc-canvas{display:block;cursor:grab}
.jc-tip{position:absolute;pointer-events:none;background:#fffbe6;border:1px solid #aaa;padding:3px 6px;font-size:12px;
 white-space:nowrap}
.jc-panel{overflow:auto;height:560px;border:1px solid #ccc;padding:6px}
.jc-panel h3{font-size:14px;margin:2px 0 6px}.jc-panel h4{font-size:13px;margin:8px 0 4px}
.jc-attrs{border-collapse:collapse;font-size:12px}.jc-attrs th{text-align:left;padding-right:8px;color:#555}
.jc-links{padding-left:16px}.jc-links li{margin-bottom:4px}
"""


def _script() -> str:
    return resources.files("jinduanalytics.plot").joinpath("chart.js").read_text(encoding="utf-8")


def _json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _plain(v):
    """A cell as a JSON value (dates as ISO text, missing as None)."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return round(float(v), 4)
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(str(x) for x in v)
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    return v if isinstance(v, (bool, int, str)) else str(v)


class LinkChart:
    """A link chart ready to show: :meth:`save` writes the standalone page, :meth:`html` returns it,
    Jupyter shows it inline, :meth:`widget` gives the ipysigma widget. Made by :func:`link_chart`.

    Parameters
    ----------
    data : dict
        What the page draws: ``nodes``, ``edges``, ``colors``, ``dates``.
    title : str
    """

    def __init__(self, data: dict, title: str):
        self.data = data
        self.title = title

    def __repr__(self) -> str:
        return f"<LinkChart {self.title!r}: {len(self.data['nodes'])} nodes, {len(self.data['edges'])} links>"

    def fragment(self, chart_id: str = "jindu-chart") -> str:
        """The chart's container and data, for a page that includes the renderer once (``chart_script()``).

        Parameters
        ----------
        chart_id : str
            Unique within the page.
        """
        cid = html.escape(chart_id, quote=True)
        return (f'<h4 class="jc-title">{html.escape(self.title)}</h4>\n'
                f'<div data-jindu-chart="{cid}-data" id="{cid}"></div>\n'
                f'<script type="application/json" id="{cid}-data">{_json(self.data)}</script>')

    def html(self) -> str:
        """The standalone page (no network access needed)."""
        body = f"{self.fragment()}\n<script>{_script()}</script>"
        return (f"<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">{_MARK}"
                f"<title>{html.escape(self.title)}</title><style>{font_face(body)}{_CSS}</style></head>\n<body>"
                f"{body}</body></html>\n")

    def save(self, path, *, force: bool = False) -> Path:
        """Write the page to ``path`` (written whole or not at all).

        Parameters
        ----------
        path : str or Path
        force : bool
            Replace a file that is not an earlier link chart.
        """
        path = Path(path)
        if path.is_dir():
            raise OutputError(f"link chart: {path} is a folder; give a file name ending in .html")
        if path.exists() and not force and _MARK not in path.read_text(encoding="utf-8", errors="replace")[:2000]:
            raise OutputError(f"link chart: {path} exists and is not a link chart; pass force=True to replace it")
        tmp = path.with_name(f".{path.name}.jindu-tmp-{os.getpid()}")
        try:
            tmp.write_text(self.html(), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"writing {path} failed: {exc.strerror or exc}; nothing was written") from None
        return path

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" style="width:100%;height:700px;border:0" '
                'sandbox="allow-scripts"></iframe>')

    def widget(self, **kwargs):
        """The chart as an ipysigma widget (WebGL, for large graphs in Jupyter; ``pip install ipysigma``).

        Parameters
        ----------
        **kwargs
            Passed to ``ipysigma.Sigma`` (``node_size``, ``height``...).
        """
        try:
            import networkx as nx
            from ipysigma import Sigma
        except ImportError:
            raise ImportError("LinkChart.widget needs ipysigma: pip install ipysigma (the page from "
                              ".save()/.html() needs nothing)") from None
        g = nx.Graph()
        for n in self.data["nodes"]:
            g.add_node(n["key"], label=n["label"], type=n["type"], x=n["x"], y=-n["y"], **{
                k: v for k, v in n["attrs"].items() if v is not None and k not in ("label", "type")})
        for e in self.data["edges"]:
            a, b = self.data["nodes"][e["s"]]["key"], self.data["nodes"][e["t"]]["key"]
            g.add_edge(a, b, type=e["type"], **{k: v for k, v in e["attrs"].items() if v is not None and k != "type"})
        kwargs.setdefault("node_color", "type")
        kwargs.setdefault("node_color_palette", self.data["colors"])
        kwargs.setdefault("layout", {n: {"x": d["x"], "y": d["y"]} for n, d in g.nodes(data=True)})
        return Sigma(g, **kwargs)


def chart_script() -> str:
    """The renderer, once per page that holds :meth:`LinkChart.fragment` parts (a ``<script>`` element)."""
    return f"<style>{_CSS}</style><script>{_script()}</script>"


def link_chart(nodes, edges, *, color: str = "type", label: str = "label", identifiers: bool = True,
               title: str | None = None, max_nodes: int = 3000, seed: int = 0) -> LinkChart:
    """An interactive link chart of a graph (an :func:`jinduanalytics.investigate.expand` result, a
    cluster's :func:`jinduanalytics.clusters.cluster_network`, any nodes and edges tables).

    Parameters
    ----------
    nodes : table
        ``node_id`` plus any columns: ``color`` colours the nodes, ``label`` names them, every
        other column is shown as the node's evidence on click.
    edges : table
        ``source``, ``target`` (node ids), optional ``type``, ``weight`` (line width),
        ``first_date``/``last_date`` (or ``date``; the date filter), and any other columns shown as
        the link's evidence.
    color : str
        The nodes' column that colours them (roles get the role palette).
    label : str
        The nodes' column that names them (``node_id`` when absent).
    identifiers : bool
        Show node ids (raw phone numbers, accounts, record ids). False: only ``label`` and the
        other columns (mask them first), for a chart that leaves the analyst's machine.
    title : str, optional
    max_nodes : int
        Refuse larger graphs (expand with a ``max_nodes`` cap first).
    seed : int
        Of the layout.

    Returns
    -------
    LinkChart
    """
    import networkx as nx

    nd = _frame(nodes, "nodes", ("node_id",)).reset_index(drop=True)
    ed = _frame(edges, "edges", ("source", "target")).reset_index(drop=True)
    if len(nd) > max_nodes:
        raise ParameterError(f"link_chart: {len(nd)} nodes is more than max_nodes={max_nodes}; draw an expand() "
                             "result with a max_nodes cap, or raise max_nodes")
    if nd["node_id"].duplicated().any():
        dup = nd.loc[nd["node_id"].duplicated(), "node_id"].head(5).tolist()
        raise ParameterError(f"link_chart: nodes table has duplicate node_id values, rows like {dup}")
    row = pd.Series(np.arange(len(nd)), index=nd["node_id"])
    ends = ed["source"].map(row), ed["target"].map(row)
    missing = ed.index[ends[0].isna() | ends[1].isna()]
    if len(missing):
        raise ParameterError(f"link_chart: edges rows {missing[:5].tolist()} name nodes missing from the nodes "
                             "table (every source and target must be a node_id)")
    ed = ed.assign(_s=ends[0].astype(np.int64), _t=ends[1].astype(np.int64))
    w = ed["weight"].to_numpy(float) if "weight" in ed else np.ones(len(ed))
    w = np.where(np.isfinite(w) & (w > 0), w, 1.0)
    g = nx.Graph()
    g.add_nodes_from(range(len(nd)))
    g.add_weighted_edges_from(zip(ed["_s"], ed["_t"], np.log1p(w)))
    pos = nx.spring_layout(g, seed=seed, k=1.5 / np.sqrt(max(len(nd), 1)), iterations=100) if len(nd) else {}
    deg = np.bincount(np.concatenate([ed["_s"], ed["_t"]]).astype(np.int64), minlength=len(nd)) if len(ed) else \
        np.zeros(len(nd), dtype=np.int64)
    cats = nd[color].fillna("?").astype(str) if color in nd else pd.Series(["node"] * len(nd))
    colors = {c: ROLE_COLORS.get(c) or _TYPE_COLORS.get(c) for c in sorted(set(cats))}  # roles, types, the rest
    spare = iter(p for p in _PALETTE if p not in colors.values())
    colors = {c: v or next(spare, "#999999") for c, v in colors.items()}
    names = nd[label].astype(str) if label in nd and label != "node_id" else nd["node_id"].astype(str)
    skip = {"x", "y"}
    if not identifiers:  # no column that names nodes by id (node_id, an expand result's via ...)
        ids = set(nd["node_id"].astype(str))
        skip |= {"node_id"} | {c for c in nd.columns if c != label and nd[c].dtype == object
                               and nd[c].dropna().astype(str).isin(ids).any()}
        skip |= {c for c in ed.columns if ed[c].dtype == object and ed[c].dropna().astype(str).isin(ids).any()}
    attr_cols = [c for c in nd.columns if c not in skip]
    top = max(int(deg.max()), 1) if len(deg) else 1
    out_nodes = []
    for i in range(len(nd)):
        x, y = (pos[i] if len(nd) else (0.0, 0.0))
        attrs = {c: _plain(nd.at[i, c]) for c in attr_cols}
        out_nodes.append({"key": str(nd.at[i, "node_id"]) if identifiers else f"n{i}", "label": names.iat[i],
                          "type": cats.iat[i], "x": round(float(x), 5), "y": round(float(-y), 5),
                          "size": round(4 + 6 * float(np.sqrt(deg[i] / top)), 2), "attrs": attrs,
                          "search": str(nd.at[i, "node_id"]) if identifiers else ""})
    first = "first_date" if "first_date" in ed else ("date" if "date" in ed else None)
    last = "last_date" if "last_date" in ed else first
    hide = {"source", "target", "_s", "_t", "source_row", "target_row", first, last} | skip
    e_cols = [c for c in ed.columns if c not in hide and c is not None]
    lw = np.log1p(w) / max(float(np.log1p(w).max()), 1e-9) * 3 if len(ed) else w
    out_edges = []
    dates = []
    for j in range(len(ed)):
        f = _plain(ed.at[j, first]) if first else None
        la = _plain(ed.at[j, last]) if last else None
        dates += [d for d in (f, la) if d]
        out_edges.append({"s": int(ed.at[j, "_s"]), "t": int(ed.at[j, "_t"]),
                          "type": str(ed.at[j, "type"]) if "type" in ed else "link", "w": round(float(lw[j]), 3),
                          "first": f, "last": la, "attrs": {c: _plain(ed.at[j, c]) for c in e_cols}})
    data = {"nodes": out_nodes, "edges": out_edges, "colors": colors,
            "dates": [min(dates), max(dates)] if dates else None}
    return LinkChart(data, title or f"关系图 link chart: {len(nd)} nodes, {len(ed)} links")
