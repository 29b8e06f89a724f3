"""The documentation site (issue 29): it builds with warnings as errors, documents every public
object, shows the tutorials with their figures, and its Chinese text renders without a CJK font."""

from __future__ import annotations

import importlib
import inspect
import io
import os
import re
import shutil
import subprocess

import pytest
from conftest import docs_build_module

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(executed_notebooks, tmp_path_factory):
    folder, errors = executed_notebooks
    failed = [k for k, v in errors.items() if v is not None]
    if failed:
        pytest.fail(f"notebooks failed (see test_notebooks): {failed}")
    return docs_build_module().build(tmp_path_factory.mktemp("docs"), executed=folder)


def test_docs_build_and_document_every_public_object(site):
    build = docs_build_module()
    pages = {p.name for p in (site / "api").glob("*.html")}
    assert "jinduanalytics.html" in pages and "ja.clusters.html" in pages
    anchors = set()
    for page in (site / "api").glob("*.html"):
        anchors |= set(re.findall(r'id="(jinduanalytics\.[\w.]+)"', page.read_text(encoding="utf-8")))
    missing = []
    for module in build.public_modules():
        mod = importlib.import_module(module)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if name == "__version__" or inspect.ismodule(obj):
                continue
            # documented under some public path that imports the same object
            if not any(build._import_attr(a) is obj for a in anchors if a.endswith("." + name)):
                missing.append(f"{module}.{name}")
    assert not missing, missing
    for page in ("getting-started", "data-model", "guide/clusters", "guide/beibu", "benchmarks/index"):
        assert (site / f"{page}.html").exists(), page
    # the data model page is generated from the schemas: every table and column is there
    from jinduanalytics.schema import TABLES

    text = (site / "data-model.html").read_text(encoding="utf-8")
    assert all(t in text and all(c.name in text for c in spec.columns) for t, spec in TABLES.items())


def test_tutorials_show_outputs_and_figures(site):
    pages = sorted((site / "tutorials").glob("0*.html"))
    assert len(pages) >= 7
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "all checks passed" in text, page.name
    figures = sum(len(re.findall(r"<img[^>]+\.png", p.read_text(encoding="utf-8"))) for p in pages)
    assert figures >= 10, figures


def test_site_font_covers_its_chinese_text(site):
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO((site / "_static" / "jindu-sc.otf").read_bytes()))
    cmap = font.getBestCmap()
    text = docs_build_module().site_text(site)
    cjk = {c for c in text if 0x2E80 <= ord(c) <= 0x9FFF or 0xFF00 <= ord(c) <= 0xFFEF}
    assert len(cjk) >= 100
    # 張偉: the README's example of traditional characters compared in simplified form; the shipped
    # subset of Noto Sans SC holds simplified characters only, so these two stay uncovered
    assert not sorted(c for c in cjk if ord(c) not in cmap and c not in "張偉")
    assert "JinduSC" in (site / "_static" / "jindu.css").read_text(encoding="utf-8")


def test_site_renders_chinese_in_headless_chromium(site, tmp_path):
    """This machine has no CJK font: the site's own font must load and cover the page's text."""
    if CHROMIUM is None:
        if os.environ.get("JINDU_REQUIRE_CHROMIUM") == "1":
            pytest.fail("JINDU_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH")
    page = (site / "tutorials").glob("02_*.html").__next__()
    text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    cjk = "".join(sorted({c for c in text if 0x4E00 <= ord(c) <= 0x9FFF}))
    assert len(cjk) >= 20
    probe = site / "_probe.html"  # the site's stylesheet and a text in its font, checked by the browser
    probe.write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="_static/jindu.css"></head>
<body style="font-family: var(--pst-font-family-base)"><p id="t">{cjk}</p>
<script>document.fonts.load('16px JinduSC', '{cjk}').then(f => {{
  document.body.setAttribute('data-font', f.length && document.fonts.check('16px JinduSC', '{cjk}') ? 'ok' : 'missing');
}});</script></body></html>""", encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert 'data-font="ok"' in run.stdout, run.stdout[:400]
