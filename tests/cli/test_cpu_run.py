"""`mira-hf run plan.yaml --cpu`: a real run without a GPU, on the real vLLM CPU engine and the tiny model."""

from __future__ import annotations

import datasets
import pytest
from typer.testing import CliRunner

from mira_hf.cli import app

pytestmark = pytest.mark.vllm


def test_run_cpu_scores_the_bundled_plan_with_the_tiny_model_and_says_the_scores_mean_nothing(
    tmp_path, tiny_model_path, monkeypatch
):
    # --cpu builds its tiny model under <output>/tiny-model; reuse the session's so the engine is shared (the demo's
    # settings: the same engine as tests/cli/test_demo.py).
    monkeypatch.setattr("mira_hf.testing.tiny_model.build_tiny_model", lambda path, **kw: tiny_model_path)
    out = tmp_path / "mixture-out"
    # the bundled plan's qa group is served by endpoints at localhost:8000: --cpu scores it in this process too
    result = CliRunner().invoke(app, ["run", "examples/mixture.yaml", "--cpu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "meaningless" in warning[0] and "--cpu" in warning[0]
    for step in ("score", "masks", "aggregate", "select", "report"):
        assert f"{step:<10} ran" in result.output
    assert "scored 36 rows in" in result.output and "Generating train split" not in result.output

    scored = datasets.load_from_disk(str(out / "scored"))
    assert len(scored) == 36 and "engine_error" not in scored["mira_status"]
    source = datasets.load_dataset("json", data_files="examples/data/trajectories.jsonl", split="train")
    selected = datasets.load_from_disk(str(out / "selected"))
    assert 0 < len(selected) < 36 and set(selected["id"]) <= set(source["id"])
    assert set(selected["source"]) <= {"agent_openhands", "davinc_dev", "swe_qa"}
    assert (out / "report.html").is_file()
