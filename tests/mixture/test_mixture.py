"""The whole mixture: the plan file, routing rows to each group's scorer, per-group masks, `mira-hf run`.

Two groups with different rubrics: the card's 15 dimensions and the 5-dimension example rubric
(``examples/data/qa5_dim_anchors.jsonl``). Plumbing runs on the fake engine or a loopback stub server; one test runs
the real vLLM engine in process and through the session's `vllm serve`.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

import mira_hf
from mira_hf.errors import PlanError
from mira_hf.mixture import Plan, load_plan, run_plan
from mira_hf.testing.fake_engine import FakeEngine

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "mixture"
QA_RUBRIC = REPO / "examples" / "data" / "qa5_dim_anchors.jsonl"
EXAMPLE_DATA = REPO / "examples" / "data" / "trajectories.jsonl"
GROUP_OF = {"agent_openhands": "agents", "davinc_dev": "agents", "swe_qa": "qa"}


def two_groups(**extra) -> dict:
    """A plan over the example data: agents (the card's rubric) and qa (5 dimensions)."""
    return {
        "data": str(EXAMPLE_DATA),
        "text_column": "trajectory",
        "batch_size": 5,
        **extra,
        "groups": {
            "agents": {
                "sources": ["agent_openhands", "davinc_dev"],
                "retention": 0.5,
                "reliability": {
                    "teacher_column": "teacher_scores",
                    "mae_max": 10.0,
                    "spearman_min": -1.0,
                    "min_support": 1,
                },
            },
            "qa": {"sources": ["swe_qa"], "rubric": str(QA_RUBRIC), "retention": {"min_score": 3}},
        },
    }


def fake_engines() -> dict[str, FakeEngine]:
    return {"agents": FakeEngine(), "qa": FakeEngine(rubric=str(QA_RUBRIC))}


@pytest.fixture(scope="module")
def example_rows() -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=str(EXAMPLE_DATA), split="train")


def test_plan_errors_name_the_key_and_its_line():
    """Every mistake in the file is one line: file, line number, key path, what is wrong."""
    with pytest.raises(PlanError) as err:
        load_plan(FIXTURES / "plan_errors.yaml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("2 problems: (1) ")
    assert "plan_errors.yaml:7: groups.agents.scorer.max_model_lenn: unknown key (did you mean 'max_model_len'?)" in (
        message
    )
    assert message.endswith("; (2) plan_errors.yaml:10: groups.qa.retention: 'lots' is not a number nor a mapping")


def test_plan_rejects_a_source_in_two_groups_and_budget_without_token_column(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("data: rows.jsonl\nbudget_tokens: 1000\ngroups:\n  a: {sources: [x, y]}\n  b: {sources: [y]}\n")
    with pytest.raises(PlanError, match=r"plan.yaml:1: \(top level\): .*source 'y' is in groups 'a' and 'b'"):
        load_plan(plan)
    plan.write_text("data: rows.jsonl\nbudget_tokens: 1000\ngroups:\n  a: {sources: [x]}\n")
    with pytest.raises(PlanError, match="budget_tokens needs token_column"):
        load_plan(plan)


def test_the_card_fixes_the_defaults(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("data: rows.jsonl\ngroups:\n  qa:\n    sources: [swe_qa]\n    rubric: qa.jsonl\n")
    loaded = load_plan(plan)
    g = loaded.groups["qa"]
    assert (g.scorer.model, g.scorer.engine, g.retention, g.sampling) == ("whw06/MIRA-Agent-Group4", "vllm", 0.5, "cut")
    assert loaded.rubric_ref("qa") == str(tmp_path / "qa.jsonl")  # relative to the plan file


def test_a_source_in_no_group_fails_before_any_engine_work(example_rows):
    engines = fake_engines()
    plan = Plan.model_validate(
        {**two_groups(), "groups": {k: v for k, v in two_groups()["groups"].items() if k == "agents"}}
    )
    scorer = mira_hf.MixtureScorer(plan, engines=engines)
    with pytest.raises(PlanError, match=r"source 'swe_qa' \(12 rows\) is in no group"):
        example_rows.map(scorer, batched=True, batch_size=100, load_from_cache_file=False)
    assert engines["agents"].calls == []


def test_rows_go_to_their_groups_scorer_and_come_back_in_order(example_rows):
    """Interleaved sources, batches cutting across groups: each row scored once by its group, order kept."""
    ds = example_rows.shuffle(seed=1)
    engines = fake_engines()
    out = ds.map(
        mira_hf.MixtureScorer(Plan.model_validate(two_groups()), engines=engines),
        batched=True,
        batch_size=7,
        load_from_cache_file=False,
    )
    assert out["id"] == ds["id"]
    assert out["mira_group"] == [GROUP_OF[s] for s in ds["source"]]
    assert [len(s) for s in out["mira_scores"]] == [15 if GROUP_OF[s] == "agents" else 5 for s in ds["source"]]
    assert set(zip(out["mira_group"], out["mira_rubric"])) == {("agents", "group_D"), ("qa", "qa5")}
    assert set(out["mira_status"]) == {"ok"}
    assert (sum(engines["agents"].calls), sum(engines["qa"].calls)) == (24, 12)
    assert all("Answer Correctness" in p for p in engines["qa"].seen)  # the qa rubric's prompt
    assert not any("Answer Correctness" in p for p in engines["agents"].seen)


def test_a_rerun_skips_unchanged_steps_and_force_reruns_from_a_step(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps(two_groups()))  # JSON is YAML
    engines = fake_engines()
    first = run_plan(plan, tmp_path / "out", engines=engines)
    assert set(first.steps.values()) == {"ran"}
    masks = {g: json.loads((tmp_path / "out" / "masks" / f"{g}.json").read_text()) for g in ("agents", "qa")}
    assert (len(masks["agents"]["dimensions"]), len(masks["qa"]["dimensions"])) == (15, 5)
    assert set(masks["agents"]["mask"]) == {"agent_openhands", "davinc_dev"} and list(masks["qa"]["mask"]) == ["swe_qa"]
    selected = datasets.load_from_disk(str(first.selected_path))
    assert 0 < len(selected) < 36 and "mira_quality" in selected.column_names
    report = first.report_path.read_text()
    assert 'id="group-agents"' in report and 'id="group-qa"' in report

    calls = sum(map(len, (e.seen for e in engines.values())))
    assert set(run_plan(plan, tmp_path / "out", engines=engines).steps.values()) == {"skipped"}
    assert sum(map(len, (e.seen for e in engines.values()))) == calls  # nothing scored again

    changed = two_groups(report=False)  # the report was checked above
    changed["groups"]["qa"]["retention"] = 1.0
    plan.write_text(json.dumps(changed))
    assert run_plan(plan, tmp_path / "out", dry_run=True, engines=engines).steps == {
        "score": "skipped",
        "masks": "skipped",
        "aggregate": "skipped",
        "select": "planned",
        "report": "off",
    }
    again = run_plan(plan, tmp_path / "out", engines=engines)
    assert [again.steps[s] for s in ("score", "select")] == ["skipped", "ran"]
    assert datasets.load_from_disk(str(again.selected_path))["source"].count("swe_qa") == 12
    forced = run_plan(plan, tmp_path / "out", engines=engines, force="masks")
    assert forced.steps == {"score": "skipped", "masks": "ran", "aggregate": "ran", "select": "ran", "report": "off"}
    assert sum(map(len, (e.seen for e in engines.values()))) == calls


def _stub_handler(rubrics, delay=0.15):
    from mira_hf.answer.format import format_output
    from mira_hf.testing.fake_engine import card_for
    from tests._server_loopback import Reply, completion_body

    def handler(body, nth):
        user = body["messages"][-1]["content"]
        rubric = rubrics[body["model"]]
        text = format_output(card_for(user, len(rubric)), rubric)
        return Reply(body=completion_body([text], len(user) // 4, len(text) // 4), delay=delay)

    return handler


def test_groups_served_by_endpoints_are_scored_at_the_same_time():
    """One row per group in a batch: both requests are at the server together (one thread per endpoint group)."""
    from mira_hf.rubric import load_rubric
    from tests._server_loopback import StubServer

    rubrics = {"m15": load_rubric("agent-group4"), "m5": load_rubric(QA_RUBRIC)}
    plan = two_groups()
    with StubServer(_stub_handler(rubrics, delay=1.0), max_model_len=16384) as stub:
        for group, model in (("agents", "m15"), ("qa", "m5")):
            plan["groups"][group]["scorer"] = {
                "model": model,
                "engine": "openai",
                "base_urls": [stub.url],
                "max_model_len": 16384,
            }
        scorer = mira_hf.MixtureScorer(Plan.model_validate(plan))
        for group_scorer in scorer.scorers.values():
            assert group_scorer.engine is not None  # both engines ready before the batch
        out = scorer({"source": ["swe_qa", "davinc_dev"], "trajectory": ["agent ran pytest", "agent read a file"]})
        assert stub.peak == 2 and len(stub.chat_requests()) == 2
    assert list(out["mira_group"]) == ["qa", "agents"] and list(out["mira_status"]) == ["ok", "ok"]


def test_the_cli_runs_a_plan_dry_and_says_which_steps_would_run(tmp_path):
    from typer.testing import CliRunner

    from mira_hf.cli import app

    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps(two_groups()))
    result = CliRunner().invoke(app, ["run", str(plan), "-o", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 0, result.output
    steps = ("score", "masks", "aggregate", "select", "report")
    assert [line.split() for line in result.output.splitlines()] == [[s, "planned"] for s in steps]
    bad = CliRunner().invoke(app, ["run", str(FIXTURES / "plan_errors.yaml"), "--dry-run"])
    assert bad.exit_code == 2 and "plan_errors.yaml:10: groups.qa.retention" in bad.output
    assert "Traceback" not in bad.output


#: The session's shared in-process engine (tests/scoring/test_vllm_scoring.py) and the answer bounds of the tiny model.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
SAMPLING = dict(max_tokens=1024, max_rationale_chars=24, seed=3)


@pytest.mark.vllm
@pytest.mark.server
def test_two_groups_one_served_by_vllm_serve_one_by_the_in_process_engine(
    tmp_path, tiny_model_path, vllm_server, monkeypatch
):
    """The real engines: agents through the session's `vllm serve` (its key from the variable the plan names),
    qa on the in-process CPU engine with the shared settings; columns, routing, per-group masks, selection."""
    from mira_hf.engines.vllm import VLLMSettings, engines

    rows = [json.loads(line) for line in EXAMPLE_DATA.read_text().splitlines()]
    first = {s: [r for r in rows if r["source"] == s][:3] for s in ("agent_openhands", "swe_qa")}
    picked = first["agent_openhands"] + first["swe_qa"]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in picked))
    monkeypatch.setenv("MIRA_TEST_MIX_KEY", vllm_server.key)
    model = str(tiny_model_path)
    plan = {
        "data": str(data),
        "text_column": "trajectory",
        "report": False,
        "groups": {  # report: tested above
            "agents": {
                "sources": ["agent_openhands"],
                "retention": 0.5,
                "scorer": {
                    "model": model,
                    "engine": "openai",
                    "base_urls": [vllm_server.url],
                    "api_key_env": "MIRA_TEST_MIX_KEY",
                    "max_model_len": 8192,
                    **SAMPLING,
                },
                "reliability": {
                    "teacher_column": "teacher_scores",
                    "mae_max": 10.0,
                    "spearman_min": -1.0,
                    "min_support": 1,
                },
            },
            "qa": {
                "sources": ["swe_qa"],
                "rubric": str(QA_RUBRIC),
                "retention": 0.5,
                "scorer": {"model": model, "engine": "vllm", **ENGINE_SETTINGS, **SAMPLING},
            },
        },
    }
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))
    before = {e.settings for e in engines()}  # other tests' engines (closed or not) stay registered
    result = run_plan(tmp_path / "plan.yaml", tmp_path / "out")
    assert result.steps == {"score": "ran", "masks": "ran", "aggregate": "ran", "select": "ran", "report": "off"}

    scored = datasets.load_from_disk(str(tmp_path / "out" / "aggregated"))
    assert scored["id"] == [r["id"] for r in picked]
    assert scored["mira_group"] == ["agents"] * 3 + ["qa"] * 3
    assert scored["mira_rubric"] == ["group_D"] * 3 + ["qa5"] * 3
    assert [len(s) for s in scored["mira_scores"]] == [15] * 3 + [5] * 3
    assert "engine_error" not in scored["mira_status"] and "invalid_input" not in scored["mira_status"]
    masks = {g: json.loads((tmp_path / "out" / "masks" / f"{g}.json").read_text()) for g in ("agents", "qa")}
    assert list(masks["agents"]["mask"]) == ["agent_openhands"] and len(masks["agents"]["dimensions"]) == 15
    assert list(masks["qa"]["mask"]) == ["swe_qa"] and len(masks["qa"]["dimensions"]) == 5
    selected = datasets.load_from_disk(str(result.selected_path))
    for source in ("agent_openhands", "swe_qa"):
        assert 1 <= selected["source"].count(source) <= 2  # half of 3 (rounded up); rows with no score never kept
    shared = VLLMSettings(model=model, **ENGINE_SETTINGS)
    new = {e.settings for e in engines()} - before
    assert new <= {shared}  # the plan made no engine of its own settings: the session's one, never a second
    assert [e.started for e in engines() if e.settings == shared] == [True]


def test_one_token_budget_over_groups_that_sample_differently(tmp_path):
    """budget_tokens for the whole mixture: never over, each source near its token share; the agents group samples
    (Gumbel, seeded: the same rows again), the qa group cuts."""
    plan = two_groups(token_column="num_tokens", budget_tokens=60_000, report=False)
    plan["groups"]["agents"].update(sampling="gumbel", temperature=0.5)
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))
    engines = fake_engines()
    result = run_plan(tmp_path / "plan.yaml", tmp_path / "out", engines=engines)
    kept = datasets.load_from_disk(str(result.selected_path))
    rows = datasets.load_dataset("json", data_files=str(EXAMPLE_DATA), split="train")
    total = sum(rows["num_tokens"])
    assert 0 < sum(kept["num_tokens"]) <= 60_000
    assert kept["id"] == [i for i in rows["id"] if i in set(kept["id"])]  # input order
    report = json.loads((result.selected_path / "selection_report.json").read_text())
    for source in GROUP_OF:
        tokens = [t for s, t in zip(rows["source"], rows["num_tokens"]) if s == source]
        share = 60_000 * sum(tokens) / total
        got = sum(t for s, t in zip(kept["source"], kept["num_tokens"]) if s == source)
        assert share - max(tokens) <= got <= share + 1, source  # within one row of its share, never over
        assert report["sources"][source]["kept"] == kept["source"].count(source)
    again = run_plan(tmp_path / "plan.yaml", tmp_path / "out", engines=engines, force="select")
    assert datasets.load_from_disk(str(again.selected_path))["id"] == kept["id"]
