"""`--cpu` without an engine: what `score --cpu` and `run --cpu` hand the library (the real run: test_cpu_run.py)."""

from __future__ import annotations

from pathlib import Path

import datasets
import typer
from typer.testing import CliRunner

from mira_hf.cli import app
from mira_hf.demo import CPU_SETTINGS, CPU_THRESHOLDS, cpu_plan
from mira_hf.mixture.plan import load_plan


def fake_build(path, **kw):  # the CPU stand-in's model folder, without writing weights
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


def test_score_cpu_scores_with_the_tiny_model_and_warns(tmp_path, monkeypatch):
    monkeypatch.setattr("mira_hf.testing.tiny_model.build_tiny_model", fake_build)
    data = tmp_path / "rows.jsonl"
    datasets.Dataset.from_dict({"text": ["$ pytest\n1 passed"]}).to_json(str(data))
    seen = []

    def capture(ds, job, say=print):
        seen.append(job.scorer())
        raise typer.Exit(0)

    monkeypatch.setattr("mira_hf.scoring.job.run_score_job", capture)
    out = tmp_path / "scored"
    result = CliRunner().invoke(app, ["score", str(data), "-o", str(out), "--engine", "openai", "--cpu"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "meaningless" in warning[0]
    (scorer,) = seen
    assert scorer.config.model == f"{out}.tiny-model" and scorer.config.engine == "vllm"
    assert {k: getattr(scorer.config, k) for k in CPU_SETTINGS} == CPU_SETTINGS
    assert scorer.engine_settings().trust_remote_code is False  # a local folder: no code of its own runs


def test_cpu_plan_scores_every_group_in_process_with_the_tiny_model(tmp_path, monkeypatch):
    monkeypatch.setattr("mira_hf.testing.tiny_model.build_tiny_model", fake_build)
    plan = cpu_plan(load_plan("examples/mixture.yaml"), tmp_path / "tiny-model")
    for name in ("agents", "qa"):  # qa is served by endpoints in the bundled plan
        scorer = plan.groups[name].scorer
        assert (scorer.model, scorer.engine, scorer.base_urls) == (str(tmp_path / "tiny-model"), "vllm", [])
        assert scorer.max_model_len == CPU_SETTINGS["max_model_len"]
    agents = plan.groups["agents"].reliability
    assert agents.teacher_column == "teacher_scores" and agents.thresholds == CPU_THRESHOLDS
    assert plan.rubric_ref("qa") == str(Path("examples/data/qa5_dim_anchors.jsonl").resolve())  # still the file
