"""The plan runner on data as it comes and on edited plans.

The same plan on the example data sorted by source, shuffled (sources interleaved) or saved in shards gives the
same masks, quality, kept rows, counts and report numbers; each group's mask is measured on its own rows. A rerun
after an edit runs exactly the steps the edit touches, sends the engine only what changed, and ends with the
outputs a fresh run of the edited plan writes. Every engine is the fake one (``engines=`` of ``run_plan``).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pytest

import mira_hf
from mira_hf.errors import PlanError
from mira_hf.mixture import Plan, load_plan, run_plan
from mira_hf.mixture.router import MixtureScorer
from mira_hf.mixture.steps import all_reliable
from mira_hf.rubric import load_rubric
from mira_hf.schema.selection import SelectionReport
from mira_hf.testing.fake_engine import FakeEngine

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = REPO / "examples" / "data" / "trajectories.jsonl"
QA_RUBRIC = REPO / "examples" / "data" / "qa5_dim_anchors.jsonl"
DEFAULT_PROMPT = REPO / "mira_hf" / "prompting" / "templates" / "default.jinja"
STEPS = ("score", "masks", "aggregate", "select", "report")
#: The mixture columns a run adds (``mira_raw`` and the token counts included: a rerun must not change them).
AGENT_SOURCES = ("agent_openhands", "davinc_dev")


def example_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLE_DATA.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def steps(ran: str = "", *, report: str = "ran") -> dict[str, str]:
    """The steps dict with the steps from ``ran`` on (``""``: none) ``ran`` and the ones before ``skipped``."""
    first = STEPS.index(ran) if ran else len(STEPS)
    out = {s: ("ran" if i >= first else "skipped") for i, s in enumerate(STEPS)}
    if report != "ran":
        out["report"] = report
    return out


# --------------------------------------------------------------------------------------------- the same answer
def two_groups(data: str, **extra: Any) -> dict[str, Any]:
    """The two-group plan of tests/mixture/test_mixture.py: agents (15 dimensions, teacher columns) and qa (5)."""
    return {
        "data": data,
        "text_column": "trajectory",
        "token_column": "num_tokens",
        "batch_size": 5,
        **extra,
        "groups": {
            "agents": {
                "sources": list(AGENT_SOURCES),
                "retention": 0.5,
                "reliability": {
                    "teacher_column": "teacher_scores",
                    "mae_max": 3.0,
                    "spearman_min": -1.0,
                    "min_support": 1,
                },
            },
            "qa": {"sources": ["swe_qa"], "rubric": str(QA_RUBRIC), "retention": {"min_score": 3}},
        },
    }


def fake_engines(qa_rubric: Path | str = QA_RUBRIC) -> dict[str, FakeEngine]:
    return {"agents": FakeEngine(), "qa": FakeEngine(rubric=str(qa_rubric))}


def run_outputs(out: Path, *, key: str = "id") -> dict[str, Any]:
    """What a user compares between two runs: masks, per-row scores and quality (by id), kept rows, the report."""
    aggregated = datasets.load_from_disk(str(out / "aggregated"))
    cols = [c for c in aggregated.column_names if c.startswith("mira_")]
    per_row = {r[key]: {c: r[c] for c in cols} for r in aggregated.select_columns([key, *cols]).to_list()}
    selected = datasets.load_from_disk(str(out / "selected"))
    report = json.loads((out / "selected" / "selection_report.json").read_text())
    for volatile in ("input_fingerprint", "output_fingerprint"):  # datasets fingerprints name the files read
        report.pop(volatile)
    return {
        "masks": {p.name: json.loads(p.read_text()) for p in sorted((out / "masks").glob("*.json"))},
        "rows": per_row,
        "kept": sorted(selected[key]),
        "report": report,
    }


@pytest.mark.parametrize("selection", ["retention", "budget", "gumbel"])
def test_shuffled_and_sharded_data_give_the_sorted_runs_masks_kept_rows_and_report(tmp_path, selection):
    """Sources interleaved (a JSONL file) or a save_to_disk folder in 3 shards: the same masks, quality per id,
    kept ids, counts and report numbers as on the file sorted by source; kept rows stay in input order. With
    Gumbel sampling in one group the plan names its id column, so the noise follows the ids, not the order."""
    rows = example_rows()
    shuffled = random.Random(7).sample(rows, len(rows))
    assert [r["source"] for r in shuffled] != sorted(r["source"] for r in shuffled)  # interleaved
    sharded = tmp_path / "sharded"
    datasets.Dataset.from_list(random.Random(8).sample(rows, len(rows))).save_to_disk(str(sharded), num_shards=3)
    data = {
        "sorted": write_jsonl(tmp_path / "sorted.jsonl", rows),
        "shuffled": write_jsonl(tmp_path / "shuffled.jsonl", shuffled),
        "sharded": sharded,
    }
    extra = {
        "retention": {},
        "budget": {"budget_tokens": 40_000},
        "gumbel": {"budget_tokens": 40_000, "id_column": "id", "seed": 3},
    }[selection]
    got = {}
    for name, path in data.items():
        plan = two_groups(str(path), report=False, **extra)
        if selection == "gumbel":
            plan["groups"]["agents"].update(sampling="gumbel", temperature=0.5)
        result = run_plan(Plan.model_validate(plan), tmp_path / f"out-{name}", engines=fake_engines())
        assert result.steps == steps("score", report="off"), name
        got[name] = run_outputs(tmp_path / f"out-{name}")
        order = datasets.load_from_disk(str(tmp_path / f"out-{name}" / "aggregated"))["id"]
        kept = datasets.load_from_disk(str(result.selected_path))["id"]
        assert kept == [i for i in order if i in set(kept)], name  # input order kept
        # a rerun of the unchanged plan runs nothing, though mapping a save_to_disk folder writes datasets'
        # cache-*.arrow files into it
        again = run_plan(Plan.model_validate(plan), tmp_path / f"out-{name}", engines=fake_engines())
        assert again.steps == steps(report="off"), name
    assert any(p.name.startswith("cache-") for p in sharded.iterdir())
    assert got["shuffled"] == got["sorted"]
    assert got["sharded"] == got["sorted"]
    report = got["sorted"]["report"]
    assert {s: v["rows"] for s, v in report["sources"].items()} == {
        "agent_openhands": 12,
        "davinc_dev": 12,
        "swe_qa": 12,
    }
    assert set(got["sorted"]["masks"]["agents.json"]["mask"]) == set(AGENT_SOURCES)


def test_groups_sharing_a_rubric_measure_each_mask_on_their_own_rows(tmp_path):
    """Both groups on the card's rubric, each with teacher columns, on shuffled data: each group's mask has its
    own sources only, with the agreement of its own rows (as `mira_hf.agreement` gives on those rows alone)."""
    rows = random.Random(11).sample(example_rows(), 36)
    plan = two_groups(str(write_jsonl(tmp_path / "shuffled.jsonl", rows)), report=False)
    plan["groups"]["qa"].update(
        rubric="agent-group4",
        retention=0.5,
        reliability={"teacher_column": "teacher_scores", "mae_max": 3.0, "spearman_min": -1.0, "min_support": 1},
    )
    result = run_plan(Plan.model_validate(plan), tmp_path / "out", engines={"agents": FakeEngine(), "qa": FakeEngine()})
    assert result.steps["masks"] == "ran"
    scored = datasets.load_from_disk(str(tmp_path / "out" / "scored"))
    for group, sources in (("agents", set(AGENT_SOURCES)), ("qa", {"swe_qa"})):
        saved = json.loads((tmp_path / "out" / "masks" / f"{group}.json").read_text())
        assert set(saved["mask"]) == sources, group
        own = scored.filter(lambda r, group=group: r["mira_group"] == group)
        expected = mira_hf.agreement(
            own["mira_scores"],
            own["teacher_scores"],
            sources=own["source"],
            rubric="agent-group4",
            mae_max=3.0,
            spearman_min=-1.0,
            min_support=1,
        )
        assert saved["mask"] == {s: list(v) for s, v in expected["mask"].items()}, group


# ------------------------------------------------------------------------------------------ per-group reports
def test_groups_that_sample_differently_each_have_their_parameters_in_the_report(tmp_path):
    """One Gumbel group (τ=0.5), one hard cut, one budget: the merged selection_report.json, its table, the dataset
    card and each group's section of report.html state each group's own sampling, and the plan-wide budget."""
    plan = two_groups(str(EXAMPLE_DATA), budget_tokens=60_000, seed=4)
    plan["groups"]["agents"].update(sampling="gumbel", temperature=0.5)
    result = run_plan(Plan.model_validate(plan), tmp_path / "out", engines=fake_engines())
    report = SelectionReport.load(result.selected_path / "selection_report.json")
    p = report.parameters
    assert (p.sampling, p.temperature, p.budget_tokens, p.budget_split) == ("per group", None, 60_000, "shares")
    agents, qa = p.per_group["agents"], p.per_group["qa"]
    assert (agents.sources, agents.sampling, agents.temperature, agents.seed) == (list(AGENT_SOURCES), "gumbel", 0.5, 4)
    assert (qa.sources, qa.sampling, qa.temperature, qa.seed) == (["swe_qa"], "cut", None, None)
    for g in (agents, qa):  # the group's share: its sources' token rules, as applied
        assert g.budget_tokens == sum(report.cuts[s].target for s in g.sources)
        assert {s: r.kind for s, r in g.retention.items()} == dict.fromkeys(g.sources, "tokens")
    assert agents.budget_tokens + qa.budget_tokens <= 60_000
    described = (
        "each group's own rule (agents: Gumbel sampling (τ=0.5, seed 4), {:,} tokens of the budget; qa: "
        "hard cut, {:,} tokens of the budget), budget 60,000 tokens split by token shares"
    )
    assert p.describe_sampling() == described.format(agents.budget_tokens, qa.budget_tokens)
    assert "qa: hard cut" in str(report)

    from mira_hf.publish.card import render_card

    card = render_card(report)
    assert "agents: Gumbel sampling (τ=0.5, seed 4)" in card and "qa: hard cut" in card
    # "Reproduce it" gives one call per group with its own rule; run on the scored rows, they keep what the plan kept
    code = card.split("## Reproduce it")[1].split("```python")[1].split("```")[0]
    assert "'per group'" not in code and code.count("mira_hf.filter_by_retention(") == 2
    scope = {"mira_hf": mira_hf, "scored": datasets.load_from_disk(str(tmp_path / "out" / "aggregated"))}
    exec(code[code.index("part = ") :], scope)
    reproduced = set(scope["kept_agents"]["id"]) | set(scope["kept_qa"]["id"])
    assert reproduced == set(datasets.load_from_disk(str(result.selected_path))["id"])
    html = result.report_path.read_text(encoding="utf-8")
    agents_html, qa_html = html.split('id="group-agents"')[1].split('id="group-qa"')
    cell = '<td class="name">selection.{}</td><td>{}</td>'.format
    assert cell("sampling", "gumbel") in agents_html and cell("temperature", "0.5") in agents_html
    assert cell("sampling", "cut") in qa_html and "gumbel" not in qa_html and "selection.temperature" not in qa_html
    assert cell("group_budget_tokens", qa.budget_tokens) in qa_html and cell("budget_tokens", 60000) in qa_html

    plan["seed"] = 5  # a selection setting: the report is written again with the new selection
    again = run_plan(Plan.model_validate(plan), tmp_path / "out", engines=fake_engines())
    assert again.steps == steps("select")
    assert SelectionReport.load(again.selected_path / "selection_report.json").parameters.per_group["agents"].seed == 5
    assert cell("seed", 5) in again.report_path.read_text(encoding="utf-8").split('id="group-qa"')[0]


def test_groups_that_sample_alike_keep_a_one_call_report_with_each_groups_parameters(tmp_path):
    """Every group a hard cut: one filter_by_retention call, its parameters as before, plus each group's own."""
    result = run_plan(
        Plan.model_validate(two_groups(str(EXAMPLE_DATA), report=False)), tmp_path / "out", engines=fake_engines()
    )
    report = SelectionReport.load(result.selected_path / "selection_report.json")
    assert (report.parameters.sampling, report.parameters.describe_sampling()) == ("cut", "hard cut")
    per_group = report.parameters.per_group
    assert {g: (v.sources, v.sampling, v.budget_tokens) for g, v in per_group.items()} == {
        "agents": (list(AGENT_SOURCES), "cut", None),
        "qa": (["swe_qa"], "cut", None),
    }
    assert per_group["qa"].retention["swe_qa"].kind == "min_score"
    old = report.model_dump(mode="json")  # a report written before per-group parameters still loads
    del old["parameters"]["per_group"]
    assert SelectionReport.model_validate(old).parameters.per_group is None


# ------------------------------------------------------------------------------------------------ id_column
def test_the_plans_id_column_reaches_every_groups_scorer_and_is_checked_before_scoring(tmp_path):
    """`id_column` reaches each group's Scorer (also in a copy sent to a worker process); a missing one stops the
    run before any engine call, naming it; a relative prompt path is read from the plan's folder."""
    plan_file = tmp_path / "plan.yaml"
    plan = two_groups(str(EXAMPLE_DATA), id_column="id", report=False)
    plan["groups"]["qa"]["scorer"] = {"temperature": 0.3}
    plan_file.write_text(json.dumps(plan))
    scorer = MixtureScorer(load_plan(plan_file), engines=fake_engines())
    assert {g: s.config.id_column for g, s in scorer.scorers.items()} == {"agents": "id", "qa": "id"}
    copy = pickle.loads(pickle.dumps(scorer))  # num_proc > 1 and Ray send the scorer to other processes
    assert {g: s.config.id_column for g, s in copy.scorers.items()} == {"agents": "id", "qa": "id"}
    assert copy.scorers["qa"].config.temperature == 0.3

    engines = fake_engines()
    plan_file.write_text(json.dumps({**plan, "id_column": "row_id"}))
    with pytest.raises(PlanError, match=r"id_column: no column 'row_id' in the dataset"):
        run_plan(plan_file, tmp_path / "out", engines=engines)
    assert engines["agents"].calls == [] and engines["qa"].calls == []

    (tmp_path / "p.jinja").write_text(DEFAULT_PROMPT.read_text(encoding="utf-8"), encoding="utf-8")
    plan["groups"]["qa"]["scorer"]["prompt"] = "p.jinja"  # beside the plan, not in the working directory
    plan_file.write_text(json.dumps(plan))
    assert MixtureScorer(load_plan(plan_file), engines=engines).scorers["qa"].prompt.name == str(tmp_path / "p.jinja")
    out = run_plan(plan_file, tmp_path / "out", engines=engines)
    assert out.steps == steps("score", report="off")
    assert datasets.load_from_disk(str(out.selected_path)).column_names[0] == "id"


# --------------------------------------------------------------------------------------------------- reruns
def write_inputs(folder: Path, *, report: bool = False) -> None:
    """A plan with every kind of input as a file beside it: data, a rubric, a prompt template, a mask."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "data.jsonl", example_rows())
    shutil.copyfile(QA_RUBRIC, folder / "qa5.jsonl")
    shutil.copyfile(DEFAULT_PROMPT, folder / "qa.jinja")
    all_reliable(load_rubric(QA_RUBRIC), ["swe_qa", "davinc_dev"]).save(folder / "qa_mask.json")
    plan = {
        "data": "data.jsonl",
        "text_column": "trajectory",
        "token_column": "num_tokens",
        "batch_size": 7,
        "report": report,
        "groups": {
            "agents": {
                "sources": list(AGENT_SOURCES),
                "sampling": "gumbel",
                "temperature": 0.5,
                "retention": 0.5,
                "reliability": {
                    "teacher_column": "teacher_scores",
                    "mae_max": 3.0,
                    "spearman_min": -1.0,
                    "min_support": 1,
                },
            },
            "qa": {
                "sources": ["swe_qa"],
                "rubric": "qa5.jsonl",
                "scorer": {"prompt": str(folder / "qa.jinja")},
                "reliability": {"mask": "qa_mask.json"},
                "retention": {"min_score": 3},
            },
        },
    }
    (folder / "plan.yaml").write_text(json.dumps(plan, indent=1))


def folder_engines(folder: Path) -> dict[str, FakeEngine]:
    return fake_engines(folder / "qa5.jsonl")


@dataclass
class Edit:
    """One edit of a finished run's plan or inputs, the steps a rerun must run, and the requests it may send."""

    name: str
    apply: Callable[[Path, dict[str, Any]], None]
    steps: dict[str, str]
    calls: tuple[int, int] | None = (0, 0)  # (agents, qa) requests; None: not checked
    report: bool = False  # write report.html (the report step follows select)


def _group(key: str, value: Any, group: str = "agents") -> Callable[[Path, dict[str, Any]], None]:
    def apply(folder: Path, plan: dict[str, Any]) -> None:
        plan["groups"][group][key] = value

    return apply


def _top(key: str, value: Any) -> Callable[[Path, dict[str, Any]], None]:
    def apply(folder: Path, plan: dict[str, Any]) -> None:
        plan[key] = value

    return apply


def _move_davinc(folder: Path, plan: dict[str, Any]) -> None:
    plan["groups"]["agents"]["sources"] = ["agent_openhands"]
    plan["groups"]["qa"]["sources"] = ["swe_qa", "davinc_dev"]


def _replace_in(name: str, old: str, new: str) -> Callable[[Path, dict[str, Any]], None]:
    def apply(folder: Path, plan: dict[str, Any]) -> None:
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text
        (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def _same_size_and_mtime(folder: Path, plan: dict[str, Any]) -> None:
    """One record's text changed in place: the same size, the modification time set back."""
    path = folder / "data.jsonl"
    before = path.stat()
    first, rest = path.read_bytes().split(b"\n", 1)
    assert b"You are OpenHands agent" in first
    path.write_bytes(first.replace(b"You are OpenHands agent", b"You are OpenHands agenT") + b"\n" + rest)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def _scorer_setting(group: str, **settings: Any) -> Callable[[Path, dict[str, Any]], None]:
    def apply(folder: Path, plan: dict[str, Any]) -> None:
        plan["groups"][group].setdefault("scorer", {}).update(settings)

    return apply


OFF = {"report": "off"}
EDITS = [
    Edit("nothing", lambda folder, plan: None, steps(**OFF)),
    Edit("davinc_dev moved to qa", _move_davinc, steps("score", **OFF), (0, 12)),
    Edit("retention", _group("retention", 0.25), steps("select", **OFF)),
    Edit("sampling", _group("sampling", "cut"), steps("select", **OFF)),
    Edit("gumbel temperature", _group("temperature", 2.0), steps("select", **OFF)),
    Edit("temperature of a hard-cut group", _group("temperature", 3.0, "qa"), steps(**OFF)),
    Edit("seed", _top("seed", 5), steps("select", **OFF)),
    Edit("budget_tokens", _top("budget_tokens", 50_000), steps("select", **OFF)),
    Edit("token_column", _top("token_column", None), steps("select", **OFF)),
    Edit("id_column", _top("id_column", "id"), steps("select", **OFF), (0, 0)),
    Edit("scorer temperature", _scorer_setting("agents", temperature=0.2), steps("score", **OFF), (24, 0)),
    Edit(
        "rubric file content",
        _replace_in("qa5.jsonl", "Whether the answer", "Whether the reply"),
        steps("score", **OFF),
        (0, 12),
    ),
    Edit(
        "prompt file content",
        _replace_in("qa.jinja", "Score this agent trajectory.", "Score this trajectory."),
        steps("score", **OFF),
        (0, 12),
    ),
    Edit(
        "reliability threshold",
        lambda folder, plan: plan["groups"]["agents"]["reliability"].update(mae_max=2.0),
        steps("masks", **OFF),
    ),
    Edit("mask file content", _replace_in("qa_mask.json", "true", "false"), steps("masks", **OFF)),
    Edit("data content, same size and mtime", _same_size_and_mtime, steps("score", **OFF), (1, 0)),
    Edit("report on", _top("report", True), steps("report")),
]


@pytest.mark.parametrize("edit", EDITS, ids=[e.name for e in EDITS])
def test_a_rerun_after_an_edit_runs_what_it_touches_and_ends_as_a_fresh_run(edit, tmp_path):
    """Each plan key and input edited in turn after a finished run: the rerun runs exactly the steps that read it
    (scoring only for scoring inputs, and then only the rows whose prompts changed); its outputs equal a fresh
    run's of the edited plan."""
    work = tmp_path / "run"
    write_inputs(work, report=edit.report)
    run_plan(work / "plan.yaml", work / "out", engines=folder_engines(work))
    plan = json.loads((work / "plan.yaml").read_text())
    edit.apply(work, plan)
    (work / "plan.yaml").write_text(json.dumps(plan, indent=1))
    engines = folder_engines(work)
    assert run_plan(work / "plan.yaml", work / "out", engines=engines, dry_run=True).steps == {
        s: "planned" if v == "ran" else v for s, v in edit.steps.items()
    }
    result = run_plan(work / "plan.yaml", work / "out", engines=engines)
    assert result.steps == edit.steps
    if edit.calls is not None:
        assert (len(engines["agents"].seen), len(engines["qa"].seen)) == edit.calls

    fresh = tmp_path / "fresh"
    shutil.copytree(work, fresh, ignore=shutil.ignore_patterns("out"))
    assert run_plan(fresh / "plan.yaml", fresh / "out", engines=folder_engines(fresh)).steps == steps(
        "score", report="off" if edit.steps["report"] == "off" else "ran"
    )
    assert run_outputs(work / "out") == run_outputs(fresh / "out")
    if edit.name == "davinc_dev moved to qa":
        scored = datasets.load_from_disk(str(work / "out" / "scored"))
        assert {g for s, g in zip(scored["source"], scored["mira_group"]) if s == "davinc_dev"} == {"qa"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the plan's inputs and a finished run in ``out/``."""
    folder = tmp_path_factory.mktemp("finished")
    write_inputs(folder)
    assert run_plan(folder / "plan.yaml", folder / "out", engines=folder_engines(folder)).steps == steps(
        "score", report="off"
    )
    return folder


def test_a_renamed_group_and_an_earlier_releases_per_group_stores_re_send_nothing(finished, tmp_path):
    """Every group shares the run's row store (a row's key holds its scorer's settings): renaming a group re-runs
    the steps but sends no request; a run folder with one store per group (an earlier release's layout) is folded
    into the shared store and resumes without sending anything."""
    from mira_hf.scoring.store import RowStore

    work = tmp_path / "run"
    shutil.copytree(finished, work)
    cache = work / "out" / "cache"
    legacy = cache / "agents"
    legacy.mkdir()  # the earlier layout: the rows in cache/<group>/
    for seg in [p for p in cache.iterdir() if p.is_file()]:
        seg.rename(legacy / seg.name)
    rows = len(RowStore(legacy))
    plan = json.loads((work / "plan.yaml").read_text())
    plan["groups"]["answers"] = plan["groups"].pop("qa")
    (work / "plan.yaml").write_text(json.dumps(plan))
    engines = {"agents": FakeEngine(), "answers": FakeEngine(rubric=str(work / "qa5.jsonl"))}
    assert run_plan(work / "plan.yaml", work / "out", engines=engines).steps == steps("score", report="off")
    assert [len(e.seen) for e in engines.values()] == [0, 0]
    assert not legacy.exists() and len(RowStore(cache)) == rows
    scored = datasets.load_from_disk(str(work / "out" / "scored"))
    assert set(scored["mira_group"]) == {"agents", "answers"} and set(scored["mira_status"]) <= {"ok", "invalid_input"}


def test_the_data_is_hashed_once_per_change(finished, tmp_path, monkeypatch):
    """The content hash of the data is kept beside the manifests: a rerun reads no data file to hash it unless
    the file changed (a rewrite changes its change time even when size and mtime are set back)."""
    from mira_hf.mixture import run as run_module

    work = tmp_path / "run"
    shutil.copytree(finished, work)
    read: list[str] = []
    real = run_module._file_sha256

    def counting(path: Path) -> str:
        read.append(path.name)
        return real(path)

    monkeypatch.setattr(run_module, "_file_sha256", counting)
    assert run_plan(work / "plan.yaml", work / "out", engines=folder_engines(work)).steps == steps(**OFF)
    assert "data.jsonl" in read  # a copied file: hashed once again (a copy is the same run: nothing runs) ...
    read.clear()
    assert run_plan(work / "plan.yaml", work / "out", engines=folder_engines(work)).steps == steps(**OFF)
    assert read == []  # ... and then not at all
    _same_size_and_mtime(work, {})
    assert run_plan(work / "plan.yaml", work / "out", engines=folder_engines(work)).steps == steps("score", **OFF)
    assert read == ["data.jsonl"]


# ------------------------------------------------------------------------------------------ the messy corpus
def test_a_plan_gives_the_same_answer_on_every_view_of_the_messy_corpus(tmp_path):
    """The messy corpus (interleaved sources, duplicate ids, dirty teacher labels, a source whose every row is
    bad, a 500 KB record) saved in each order and layout a corpus comes in, sorted, shuffled, sharded, behind an
    indices mapping, flattened: the plan gives the same masks, quality per row, kept rows and report numbers."""
    import hashlib

    from mira_hf.testing.messy import views, write_messy_corpus

    corpus = write_messy_corpus(tmp_path / "corpus", seed=0)
    plan = {
        "text_column": "trajectory",
        "token_column": "num_tokens",
        "id_column": "id",
        "batch_size": 16,
        "report": False,
        "budget_tokens": 30_000,
        "seed": 2,
        "groups": {
            "agents": {
                "sources": list(AGENT_SOURCES),
                "sampling": "gumbel",
                "temperature": 0.5,
                "reliability": {
                    "teacher_column": "teacher_scores",
                    "mae_max": 3.0,
                    "spearman_min": -1.0,
                    "min_support": 1,
                },
            },
            "qa": {"sources": ["swe_qa", corpus.bad_source], "rubric": str(QA_RUBRIC)},
        },
    }

    def key(row: dict[str, Any]) -> str:  # ids repeat in this corpus; (id, record) does not
        return hashlib.sha256(json.dumps([row["id"], row["trajectory"]]).encode()).hexdigest()

    got = {}
    for name, view in views(corpus.load(), seed=1).items():
        data = tmp_path / f"{name}.parquet"
        view.map(lambda r: {"row_key": key(r)}).to_parquet(str(data))  # Parquet keeps the NaN teacher scores
        result = run_plan(Plan.model_validate({"data": str(data), **plan}), tmp_path / name, engines=fake_engines())
        assert result.steps == steps("score", report="off"), name
        got[name] = run_outputs(tmp_path / name, key="row_key")
        order = datasets.load_from_disk(str(tmp_path / name / "aggregated"))["row_key"]
        kept = datasets.load_from_disk(str(result.selected_path))["row_key"]
        assert order == view.map(lambda r: {"row_key": key(r)})["row_key"] and kept == [
            k for k in order if k in set(kept)
        ], name
    first = got.pop("sorted")
    for name, other in got.items():
        assert other == first, name
    report = first["report"]
    assert report["sources"][corpus.bad_source]["kept"] == 0 and report["sources"]["swe_qa"]["kept"] > 0
    assert sum(s["rows"] for s in report["sources"].values()) == corpus.rows
