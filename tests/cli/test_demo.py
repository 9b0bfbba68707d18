"""`make demo` end to end: the real vLLM CPU engine on the tiny model → agree → mask → select → report."""

from __future__ import annotations

import json
import math

import datasets
import pytest
from typer.testing import CliRunner

from mira_hf.cli import app

pytestmark = pytest.mark.vllm


def test_demo_runs_the_whole_pipeline_on_the_example(tmp_path, tiny_model_path, monkeypatch):
    # The demo builds its tiny model under <out>/tiny-model; reuse the session's so the engine is shared.
    monkeypatch.setattr("mira_hf.testing.tiny_model.build_tiny_model", lambda path, **kw: tiny_model_path)
    out = tmp_path / "mira-demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--cpu"])
    assert result.exit_code == 0, result.output
    assert "NOT meaningful" in result.output  # says plainly that the tiny model's scores mean nothing

    selected = datasets.load_from_disk(str(out / "selected"))
    source = datasets.load_dataset("json", data_files="examples/data/trajectories.jsonl", split="train")
    report = json.loads((out / "selection_report.json").read_text())
    for name in ("agent_openhands", "davinc_dev", "swe_qa"):
        n = source["source"].count(name)
        stats = report["sources"][name]
        assert stats["rows"] == n
        assert selected["source"].count(name) == stats["kept"] <= math.ceil(0.5 * n)
    assert len(selected) > 0 and "mira_quality" in selected.column_names
    assert set(selected["id"]) <= set(source["id"])
    html = (out / "report.html").read_text()
    assert html.count("<img") >= 4 and "data:image/png;base64," in html
    assert 'id="reads"' in html and "What the scorer reads" in html  # formats, coverage and samples
    assert 'id="records"' in html and 'class="rec"' in html  # the records section: sampled records to read
    reliability = json.loads((out / "reliability.json").read_text())
    assert set(reliability["mask"]) == {"agent_openhands", "davinc_dev", "swe_qa"}
    assert "selected dataset:" in result.output and "report:" in result.output
    assert "Scoring 36 records" in result.output and "scored 36 rows in" in result.output  # our lines
    assert "Generating train split" not in result.output and "Saving the dataset" not in result.output

    again = CliRunner().invoke(app, ["demo", "--out", str(out), "--cpu"])  # a rerun reads the resume store
    assert again.exit_code == 0, again.output
    assert "ok 36 — 36 from the store, 0 scored now" in " ".join(again.output.split())
