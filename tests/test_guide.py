"""The user guide's Python examples run as written (each page in order, in a scratch directory)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import jinduanalytics as ja

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [DOCS / "index.md"] + sorted((DOCS / "guide").glob("*.md"))


def test_every_guide_page_is_in_the_guide_index():
    index = (DOCS / "guide" / "index.md").read_text(encoding="utf-8")
    assert {p.stem for p in (DOCS / "guide").glob("*.md")} - {"index"} <= set(re.findall(r"^(\w+)$", index, re.M))


@pytest.mark.parametrize("page", [p for p in PAGES if "```python" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_guide_python_blocks_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    monkeypatch.chdir(tmp_path)
    env: dict = {}
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, f"{page.name} python block {i + 1}", "exec"), env)
    finally:
        ja.set_output("arrow")  # the index page shows set_output("pandas"); leave the default for other tests
    assert blocks
