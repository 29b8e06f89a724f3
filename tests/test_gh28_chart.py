"""Issue 28: the interactive link chart — a standalone page that works offline, driven by a scripted user."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from browser import Browser, need_chromium

from jinduanalytics import investigate as inv
from jinduanalytics import plot
from jinduanalytics.errors import OutputError, ParameterError


@pytest.fixture(scope="module")
def neighbourhood(city):
    """A 500-item neighbourhood of the investigation graph around a seller (every link type but places)."""
    ds = city
    nodes, edges = inv.investigation_graph(ds)
    seller = ds.case_persons.filter(pc.equal(ds.case_persons.column("role"), "seller")).column("record_id")[0]
    n, e = inv.expand(nodes, edges, f"person:{seller.as_py()}", hops=8, max_nodes=500,
                      edge_types=["role", "entity", "own_phone", "contact", "transfer"])
    assert n.num_rows == 500
    return n, e


def test_chart_page_is_self_contained_and_safe(neighbourhood, tmp_path):
    nodes, edges = neighbourhood
    chart = plot.link_chart(nodes, edges, title="<b>测试</b>")
    page = chart.html()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page must not load anything"
    assert "<b>测试</b>" not in page and "&lt;b&gt;测试&lt;/b&gt;" in page  # text, never markup
    data = chart.data
    assert len(data["nodes"]) == 500 and len(data["edges"]) == edges.num_rows
    # without identifiers: no node id in the page (labels only)
    masked = nodes.set_column(nodes.schema.get_field_index("label"), "label",
                              pa.array([f"item {i}" for i in range(nodes.num_rows)]))
    quiet = plot.link_chart(masked, edges, identifiers=False).html()
    leaked = [x for x in nodes.column("node_id").to_pylist() if x in quiet]
    assert not leaked, leaked[:3]


def test_chart_bad_input_and_save(neighbourhood, tmp_path):
    nodes, edges = neighbourhood
    bad = edges.set_column(0, "source", pa.array(["phone:nope"] + edges.column("source").to_pylist()[1:]))
    with pytest.raises(ParameterError, match=r"edges rows \[0\]"):
        plot.link_chart(nodes, bad)
    with pytest.raises(ParameterError, match="max_nodes"):
        plot.link_chart(nodes, edges, max_nodes=100)
    mine = tmp_path / "notes.html"
    mine.write_text("my own notes")
    chart = plot.link_chart(nodes.slice(0, 20), edges.filter(pc.and_(
        pc.is_in(edges.column("source"), nodes.column("node_id").slice(0, 20)),
        pc.is_in(edges.column("target"), nodes.column("node_id").slice(0, 20)))))
    with pytest.raises(OutputError, match="not a link chart"):
        chart.save(mine)
    assert mine.read_text() == "my own notes"
    out = chart.save(tmp_path / "chart.html")
    chart.save(out)  # an earlier chart is replaced
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*jindu-tmp*"))


def test_chart_widget_is_an_ipysigma_graph(neighbourhood):
    ipysigma = pytest.importorskip("ipysigma")
    nodes, edges = neighbourhood
    w = plot.link_chart(nodes, edges).widget()
    assert isinstance(w, ipysigma.Sigma)
    assert len(w.data["nodes"]) == 500 and len(w.data["edges"]) == len({
        tuple(sorted(p)) for p in zip(edges.column("source").to_pylist(), edges.column("target").to_pylist())})
    types = {n["attributes"]["type"] for n in w.data["nodes"]}
    assert types == set(nodes.column("type").to_pylist())


def test_chart_in_headless_chromium_offline(neighbourhood, tmp_path):
    """Draws every node of a 500-node neighbourhood with no network; a scripted hover shows the item,
    a click its evidence, search finds it, the date filter hides links outside it."""
    need_chromium()
    nodes, edges = neighbourhood
    chart = plot.link_chart(nodes, edges, title="链接图 500 items")
    path = chart.save(tmp_path / "chart.html")
    b = Browser(tmp_path / "profile")
    try:
        b.open(path.as_uri())
        assert b.js("window.jinduCharts.length") == 1
        assert b.js("window.jinduCharts[0].drawnNodes") == 500
        assert b.js("window.jinduCharts[0].drawnEdges") == edges.num_rows
        assert b.js("document.fonts.check('13px JinduSC', '搜索日期连线')") is True
        person = next(n for n in chart.data["nodes"] if n["type"] == "person" and n["attrs"]["hop"] == 0)
        x, y = b.js(f"window.jinduCharts[0].screenPosition({json.dumps(person['label'])})")
        b.mouse("mouseMoved", x, y)
        assert b.js("document.querySelector('.jc-tip').style.display") == "block"
        assert person["label"] in b.js("document.querySelector('.jc-tip').textContent")
        b.click(x, y)
        panel = b.js("document.querySelector('.jc-panel').innerText")
        mine = edges.filter(pc.or_(pc.equal(edges.column("source"), person["key"]),
                                   pc.equal(edges.column("target"), person["key"])))
        assert f"连线 links: {mine.num_rows}" in panel and "case_persons" in panel and person["key"] in panel
        b.screenshot(tmp_path / "clicked.png")
        # search: typing an id rings the one item and opens its evidence
        b.js("document.querySelector('.jc-search').focus()")
        b.type_text(person["key"])
        assert b.js("document.querySelector('.jc').dataset.matches") == "1"
        # the date filter: links dated outside the window disappear, undated ones stay
        lo, hi = chart.data["dates"]
        b.js(f"window.jinduCharts[0].setDates('{hi}', '{hi}')")
        dated = [e for e in chart.data["edges"] if e["first"]]
        inside = sum(1 for e in chart.data["edges"] if not e["first"] or (e["first"] <= hi <= e["last"]))
        assert dated and b.js("window.jinduCharts[0].drawnEdges") == inside < edges.num_rows
        assert b.requests == [] and b.console == [], (b.requests, b.console)
    finally:
        b.close()
