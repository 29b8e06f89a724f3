"""Every notebook runs top to bottom (its last cells assert the findings), shows its figures as
pictures, and is committed with its outputs stripped."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_is_stripped(path, executed_notebooks):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"), \
        f"{path.name}: strip outputs before committing"
    folder, errors = executed_notebooks
    if errors[path.name] is not None:
        raise errors[path.name]
    ran = nbformat.read(folder / path.name, as_version=4)
    last = ran.cells[-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []))
    assert "all checks passed" in text
    # a cell ending in a figure call shows a picture, not "<Figure size 900x750 with 1 Axes>"
    for cell in ran.cells:
        lines = [ln for ln in cell.source.strip().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if cell.cell_type == "code" and lines and re.match(r"\s*plot\.\w+\(", lines[-1]):
            kinds = {k for o in cell.outputs for k in o.get("data", {})}
            assert "image/png" in kinds, f"{path.name}: the figure of `{lines[-1].strip()}` is not shown as a picture"
