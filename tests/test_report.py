"""`jindu analyze`: result tables, manifest, a self-contained report that a browser renders cleanly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jinduanalytics.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis")
    assert main(["analyze", str(SAMPLE), "--out", str(out), "--quiet"]) == 0
    return out


def test_analyze_writes_tables_report_and_manifest(analysed):
    manifest = json.loads((analysed / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["outputs"]:
        assert (analysed / name).exists(), name
    for name in ("case_clusters", "cluster_summary", "cluster_evidence", "upstream_trace", "trace_coverage",
                 "flow_legs"):
        assert pq.read_table(analysed / f"{name}.parquet").num_rows > 0, name
    assert manifest["seed"] == 7 and manifest["parameters"]["cluster_cases"]["rarity"] == "newman"
    assert manifest["input_sha256"], "input files are hashed"
    for rel, digest in manifest["input_sha256"].items():
        assert hashlib.sha256((SAMPLE / rel).read_bytes()).hexdigest() == digest
    assert manifest["input_rows"]["cases"] == pq.read_table(SAMPLE / "cases.parquet").num_rows


def test_report_is_self_contained_and_masks_identifiers(analysed):
    text = (analysed / "report.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 4
    assert not re.search(r"""(src|href)=["'](?!data:)""", text), "report must not load external resources"
    ce = pq.read_table(SAMPLE / "case_entities.parquet").to_pandas()
    pr = pq.read_table(SAMPLE / "person_records.parquet").to_pandas()
    secrets = set(ce.loc[ce["kind"].isin(["phone", "account"]), "value"]) | set(pr["id_number"].dropna()) \
        | set(pr["phone"].dropna()) | set(pr["name"].dropna())
    leaked = [s for s in secrets if len(s) >= 2 and s in text]
    assert not leaked, f"{len(leaked)} raw identifiers in the report"


def test_report_loads_in_headless_chromium_without_console_errors(analysed, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("JINDU_REQUIRE_CHROMIUM") == "1":
            pytest.fail("JINDU_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH (Debian package 'chromium'; .ci/run installs it)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", (analysed / "report.html").as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    body = re.search(r"<body[^>]*>", run.stdout)
    assert body, run.stdout[:500]
    n = re.search(r'data-images="(\d+)"', body.group(0))
    ok = re.search(r'data-images-ok="(\d+)"', body.group(0))
    assert n and ok and int(n.group(1)) >= 4 and ok.group(1) == n.group(1), body.group(0)
    # the embedded font is loaded and covers the page's Chinese text (this machine has no CJK font)
    assert 'data-font="ok"' in body.group(0), body.group(0)
    # issue 28: the top clusters' link charts drew every item of their data
    charts = re.findall(r'<div data-jindu-chart="([^"]+)"[^>]*data-drawn-nodes="(\d+)"', run.stdout)
    assert len(charts) >= 1, "no link chart drawn"
    for data_id, drawn in charts:
        data = re.search(rf'<script type="application/json" id="{data_id}">(.*?)</script>', run.stdout, re.S)
        assert int(drawn) == len(json.loads(data.group(1).replace("<\\/", "</"))["nodes"]) > 0


def test_report_embeds_a_font_subset_covering_its_chinese_text(analysed):
    """Issue 29: the Chinese text rendered as empty boxes on a machine without a CJK font."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    text = (analysed / "report.html").read_text(encoding="utf-8")
    face = re.search(r'@font-face\{font-family:"JinduSC";src:url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)', text)
    assert face, "no embedded font"
    font = TTFont(io.BytesIO(base64.b64decode(face.group(1))))
    cmap = font.getBestCmap()
    shown = re.sub(r"data:(image/png|font/otf);base64,[A-Za-z0-9+/=]+", "", text)
    cjk = {c for c in shown if 0x2E80 <= ord(c) <= 0x9FFF}
    assert len(cjk) >= 20 and not [c for c in cjk if ord(c) not in cmap]
    assert len(face.group(1)) < 200_000  # a subset, not the shipped 1.5 MB font


def test_analyze_bad_dataset_exits_2_with_the_validation_message(tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLE, bad)
    t = pq.read_table(bad / "cases.parquet")
    pq.write_table(t.drop(["date"]), bad / "cases.parquet")
    assert main(["analyze", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cases" in err and "date" in err


def test_analyze_configuration_file_print_and_repeat(tmp_path, capsys):
    """Issue 29: every step's parameters in one TOML file; --print-config; the resolved configuration
    in the manifest repeats a run exactly."""
    import tomllib

    from jinduanalytics.analyze.config import DEFAULTS

    assert main(["analyze", "--print-config"]) == 0
    assert tomllib.loads(capsys.readouterr().out) == DEFAULTS
    cfg = tmp_path / "run.toml"
    cfg.write_text('seed = 3\n[checkpoints]\nk = 2\nkind = "site"\n[clusters]\nn_runs = 3\n')
    out = tmp_path / "a"
    assert main(["analyze", str(SAMPLE), "--out", str(out), "--quiet", "--config", str(cfg)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"]["checkpoints"] == {"k": 2, "kind": "site", "detour": 0.25}
    assert manifest["config"]["clusters"]["n_runs"] == 3 and manifest["parameters"]["cluster_cases"]["n_runs"] == 3
    placed = pq.read_table(out / "checkpoints.parquet").column("checkpoint").to_pylist()
    assert 1 <= len(placed) <= 2 and all(p.startswith("K") for p in placed)  # sites of the checkpoints table
    again = tmp_path / "b"
    assert main(["analyze", str(SAMPLE), "--out", str(again), "--quiet", "--config", str(out / "manifest.json")]) == 0
    for name in manifest["outputs"]:
        if name.endswith(".parquet"):
            assert pq.read_table(out / name).equals(pq.read_table(again / name)), name
    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters]\ndensty = 1\n")
    assert main(["analyze", str(SAMPLE), "--out", str(tmp_path / "c"), "--config", str(bad)]) == 2
    assert "unknown setting clusters.densty; known in [clusters]: density" in capsys.readouterr().err
    bad.write_text('[checkpoints]\nk = "five"\n')
    assert main(["analyze", str(SAMPLE), "--out", str(tmp_path / "c"), "--config", str(bad)]) == 2
    assert "checkpoints.k = 'five' has the wrong type" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_refused_person_linkage_is_said_in_the_report_and_region_pairs_go_on():
    """Linkage over the pair budget (linkage.max_pairs): the section says why, with each rule's count;
    the region pairs are scored from the other ties; every other section is unaffected."""
    from jinduanalytics.analyze.report import render_report
    from jinduanalytics.analyze.run import Run
    from jinduanalytics.analyze.sections import linkage_section
    from jinduanalytics.io import read_dataset

    run = Run(read_dataset(SAMPLE), config={"linkage": {"max_pairs": 10}})
    section = linkage_section(run, None)
    assert run.linkage_refused.startswith("records: the blocking rules would form")
    assert section.tables["record_links"] is None and section.tables["linked_persons"] is None
    pairs = section.tables["region_pairs"]
    assert pairs.num_rows > 0 and "persons" not in pairs.column_names
    html = render_report([section], {}, kpis=[], masked=True)
    assert "Person linkage not run" in html and "_dob_any+_py_surname" in html


def test_the_configured_pair_budget_is_the_library_default():
    """analyze's [linkage] max_pairs is written out in the configuration (a TOML file repeats it); it
    must be link_records's MAX_PAIRS, not a second number."""
    from jinduanalytics.analyze.config import DEFAULTS
    from jinduanalytics.linkage.link import MAX_PAIRS

    assert DEFAULTS["linkage"]["max_pairs"] == MAX_PAIRS
