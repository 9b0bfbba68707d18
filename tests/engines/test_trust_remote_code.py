"""A model's own code runs only when asked: the in-process engine's settings, without starting an engine."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import mira_hf
from mira_hf.cli import app
from mira_hf.cli._shared import library_error_line
from mira_hf.engines.vllm import remote_code_message
from mira_hf.errors import EngineUnavailableError
from mira_hf.mixture import MixtureScorer
from mira_hf.mixture.plan import Plan

USER_MODEL = "someone/custom-arch"


@pytest.fixture(autouse=True)
def no_trust_variable(monkeypatch):
    monkeypatch.delenv("MIRA_TRUST_REMOTE_CODE", raising=False)


def trusted(scorer) -> bool:
    return scorer.engine_settings().trust_remote_code


def test_a_model_the_user_names_runs_no_code_from_its_repository():
    assert trusted(mira_hf.Scorer(USER_MODEL)) is False


def test_the_cards_own_scorer_is_trusted():
    assert mira_hf.Scorer().config.model == "whw06/MIRA-Agent-Group4"
    assert trusted(mira_hf.Scorer()) is True


def test_asking_turns_it_on_and_changes_no_fingerprint(monkeypatch):
    asked = mira_hf.Scorer(USER_MODEL, trust_remote_code=True)
    assert trusted(asked) is True
    assert asked.fingerprint == mira_hf.Scorer(USER_MODEL).fingerprint  # the resume store is kept
    monkeypatch.setenv("MIRA_TRUST_REMOTE_CODE", "1")
    assert trusted(mira_hf.Scorer(USER_MODEL)) is True


def test_a_plan_key_turns_it_on_for_every_group_or_one():
    groups = {"a": {"sources": ["x"], "scorer": {"model": USER_MODEL}}, "b": {"sources": ["y"]}}
    plain = MixtureScorer(Plan.model_validate({"data": "d.jsonl", "groups": groups}))
    assert trusted(plain.scorers["a"]) is False and trusted(plain.scorers["b"]) is True  # b: the card's model
    whole = MixtureScorer(Plan.model_validate({"data": "d.jsonl", "trust_remote_code": True, "groups": groups}))
    assert trusted(whole.scorers["a"]) is True
    one = {**groups, "a": {"sources": ["x"], "scorer": {"model": USER_MODEL, "trust_remote_code": True}}}
    assert trusted(MixtureScorer(Plan.model_validate({"data": "d.jsonl", "groups": one})).scorers["a"]) is True


@pytest.mark.parametrize("flag", [[], ["--trust-remote-code"]])
def test_score_trust_remote_code_flag(flag, tmp_path, monkeypatch):
    import datasets

    data = tmp_path / "rows.jsonl"
    datasets.Dataset.from_dict({"text": ["$ pytest\n1 passed"]}).to_json(str(data))
    seen = []

    def capture(ds, job, say=print):  # the scorer the command built; no engine starts
        seen.append(trusted(job.scorer()))
        raise typer.Exit(0)

    monkeypatch.setattr("mira_hf.scoring.job.run_score_job", capture)
    result = CliRunner().invoke(app, ["score", str(data), "--model", USER_MODEL, "-o", str(tmp_path / "out"), *flag])
    assert result.exit_code == 0, result.output
    assert seen == [bool(flag)]


@pytest.mark.parametrize("flag", [[], ["--trust-remote-code"]])
def test_run_trust_remote_code_flag(flag, tmp_path, monkeypatch):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"data: rows.jsonl\ngroups:\n  a: {{sources: [x], scorer: {{model: {USER_MODEL}}}}}\n")
    seen = []

    def capture(plan, output, **kw):
        seen.append(trusted(MixtureScorer(plan).scorers["a"]))
        raise typer.Exit(0)

    monkeypatch.setattr("mira_hf.mixture.run.run_plan", capture)
    result = CliRunner().invoke(app, ["run", str(plan), "-o", str(tmp_path / "out"), *flag])
    assert result.exit_code == 0, result.output
    assert seen == [bool(flag)]


def test_a_model_that_needs_its_code_fails_naming_the_flag():
    score = typer.main.get_command(app).commands["score"]
    line = library_error_line(EngineUnavailableError(remote_code_message(USER_MODEL)), score)
    assert f"model '{USER_MODEL}' needs Python code from its repository" in line
    assert "pass --trust-remote-code" in line and "MIRA_TRUST_REMOTE_CODE=1" in line
