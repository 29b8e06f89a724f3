import json

import pyarrow as pa
import pyarrow.parquet as pq

from jinduanalytics.cli import main


def test_demo_writes_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "case_graph" in out and "results (Parquet tables, manifest.json) written to" in out
    assert "report: " in out and (tmp_path / "report.html").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tables"]["cases"] > 500
    assert summary["graphs"]["case_graph"]["edges"] > 0
    c = summary["clusters"]
    assert c["vs_planted"]["nmi"] >= 0.85 and c["vs_planted"]["ari"] >= 0.75
    assert c["trace_hit5_sellers"] >= 0.8
    assert [r["rank"] for r in c["top"]] == [1, 2, 3, 4, 5]


def test_generate_then_validate(tmp_path, capsys):
    assert main(["generate", "--preset", "county", "--seed", "2", "--out", str(tmp_path / "d"), "--quiet",
                 "--set", "hub_rate=0.05"]) == 0
    assert main(["validate", str(tmp_path / "d")]) == 0
    assert "0 rejected" in capsys.readouterr().out


def test_validate_bad_input_exits_2(tmp_path, capsys):
    main(["generate", "--out", str(tmp_path / "d"), "--quiet"])
    t = pq.read_table(tmp_path / "d" / "cases.parquet")
    q = t.column("quantity_g").to_pylist()
    q[3] = -1.0
    pq.write_table(t.set_column(5, "quantity_g", pa.array(q)), tmp_path / "d" / "cases.parquet")
    assert main(["validate", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "SchemaError" in err and "column 'quantity_g': 1 negative values (rows 3)" in err
    assert main(["validate", str(tmp_path / "d"), "--lenient", "--rejected", str(tmp_path / "rej")]) == 0
    assert not (tmp_path / "d" / "rejected").exists()  # never into the input
    rej = pq.read_table(tmp_path / "rej" / "cases.parquet")
    assert rej.column("_row").to_pylist() == [3]
