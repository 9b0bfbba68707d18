"""The check phase of a mixture run: every column, source, rule and threshold checked against the data before any
engine starts, each problem named with its fix; `mira-hf run --dry-run` through the real command line.

The data is the example mixture (``examples/data/trajectories.jsonl``: 12 rows of each of three sources).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from mira_hf.errors import PlanError
from mira_hf.mixture import Plan, load_plan
from mira_hf.mixture.checks import check_plan, plan_problems, plan_warnings, source_counts

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = REPO / "examples" / "data" / "trajectories.jsonl"
QA_RUBRIC = REPO / "examples" / "data" / "qa5_dim_anchors.jsonl"
MIRA = Path(sys.executable).with_name("mira-hf")
COLUMNS = ["id", "source", "trajectory", "num_tokens", "teacher_scores", "teacher_recommendation"]
COUNTS = {"agent_openhands": 12, "davinc_dev": 12, "swe_qa": 12}

#: The example plan (examples/mixture.yaml) in the shape a user writes it, served groups left out.
PLAN = f"""\
data: {EXAMPLE_DATA}
text_column: trajectory
token_column: num_tokens
groups:
  agents:
    sources: [agent_openhands, davinc_dev]
    reliability: {{teacher_column: teacher_scores, min_support: 10}}
    retention: 0.5
  qa:
    sources: [swe_qa]
    rubric: {QA_RUBRIC}
    retention: {{min_score: 6}}
"""


@pytest.fixture(scope="module")
def rows() -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=str(EXAMPLE_DATA), split="train")


def plan_of(text: str) -> Plan:
    import yaml

    return Plan.model_validate(yaml.safe_load(text))


def test_source_counts_are_the_true_row_counts_whatever_the_order_or_sharding(rows):
    counts = source_counts(rows, "source")
    assert counts == COUNTS
    assert source_counts(rows.shuffle(seed=7), "source") == counts
    shards = [source_counts(rows.shard(3, i, contiguous=False), "source") for i in range(3)]
    assert {s: sum(c.get(s, 0) for c in shards) for s in counts} == counts


def test_a_misspelled_source_is_named_with_the_closest_one_and_its_row_count():
    plan = plan_of(PLAN.replace("[swe_qa]", "[swe_qaa]"))
    assert plan_problems(plan, COLUMNS, COUNTS) == [
        "groups.qa.sources: source 'swe_qaa' of group 'qa' is not in the data (did you mean 'swe_qa', 12 rows?)",
        "source 'swe_qa' (12 rows) is in no group of the plan; add it to a group's sources (column 'source')",
    ]


def test_every_missing_column_is_named_with_the_closest_existing_one():
    plan = plan_of(
        PLAN.replace("token_column: num_tokens", "token_column: n_tokens").replace(
            "text_column: trajectory", "text_column: trajectories"
        )
    )
    problems = plan_problems(plan, COLUMNS, COUNTS)
    assert [p.split(" (did you mean")[0] for p in problems] == [
        "text_column: no column 'trajectories' in the dataset",
        "token_column: no column 'n_tokens' in the dataset",
    ]
    assert "(did you mean 'trajectory'?)" in problems[0] and "(did you mean 'num_tokens'?)" in problems[1]
    assert problems[1].endswith(f"its columns are {', '.join(COLUMNS)}; set token_column: to one of them")


def test_retention_and_budget_values_are_checked_before_the_select_step():
    problems = plan_problems(plan_of(PLAN.replace("retention: 0.5", "retention: 1.5")), COLUMNS, COUNTS)
    assert problems == [
        "groups.agents.retention: 1.5 is not a fraction in (0, 1]; write e.g. 0.5, or {min_score: 1.5} for a score "
        "threshold, or {tokens: 1.5} for a token budget"
    ]
    no_tokens = PLAN.replace("token_column: num_tokens\n", "").replace("{min_score: 6}", "{tokens: 5000}")
    assert plan_problems(plan_of(no_tokens), COLUMNS, COUNTS) == [
        "groups.qa.retention: a {tokens: n} rule needs token_column: (the column of each row's token count)"
    ]
    budget = PLAN.replace("groups:", "budget_tokens: 1000\nbudget_split: {swe_qaa: 1, davinc_dev: 1}\ngroups:")
    assert plan_problems(plan_of(budget), COLUMNS, COUNTS) == [
        "budget_split: 'swe_qaa' is not a source of the plan (did you mean 'swe_qa'?)",
        "budget_split: no weight for 'agent_openhands', 'swe_qa' (give 0 to keep none)",
    ]


def test_a_threshold_that_masks_every_cell_is_a_warning_with_the_numbers():
    assert plan_warnings(plan_of(PLAN), COUNTS) == []
    assert plan_warnings(plan_of(PLAN.replace("min_support: 10", "min_support: 30")), COUNTS) == [
        "groups.agents.reliability: min_support=30 but every source has at most 12 rows: every (source × dimension) "
        "cell will be masked; set min_support: <= 12"
    ]


def test_the_example_plan_on_its_data_has_no_problem(rows):
    assert check_plan(plan_of(PLAN), rows) == ([], [])


def test_a_key_written_twice_at_any_depth_is_refused_with_both_lines(tmp_path):
    plan = tmp_path / "plan.yaml"
    text = PLAN.replace("    retention: 0.5\n", "    retention: 0.5\n    retention: 0.1\n")
    plan.write_text(text + "  qa:\n    sources: [swe_qa]\n")
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    assert str(err.value) == (
        "2 problems: (1) plan.yaml:9: groups.agents.retention: the key 'retention' is written twice (lines 8 and 9); "
        "the second would replace the first; (2) plan.yaml:14: groups.qa: the key 'qa' is written twice (lines 10 and "
        "14); the second would replace the first"
    )


# --------------------------------------------------------------------------------------------- the command line


def run_dry(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRA_")}
    return subprocess.run(
        [str(MIRA), "run", str(plan), "-o", str(tmp_path / "out"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def error_lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in out.stderr
    return [line for line in out.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("mistake", "fix"),
    [
        (("token_column: num_tokens", "token_column: n_tokens"), "(did you mean 'num_tokens'?)"),
        (("text_column: trajectory", "text_column: trajectories"), "(did you mean 'trajectory'?)"),
        (("retention: 0.5", "retention: 1.5"), "groups.agents.retention: 1.5 is not a fraction in (0, 1]"),
        (("[swe_qa]", "[swe_qaa]"), "(did you mean 'swe_qa', 12 rows?)"),
        (("    retention: 0.5\n", "    retention: 0.5\n    retention: 1\n"), "the key 'retention' is written twice"),
    ],
)
def test_a_dry_run_stops_at_each_mistake_with_one_error_line_naming_the_fix(tmp_path, mistake, fix):
    out = run_dry(tmp_path, PLAN.replace(*mistake))
    assert out.returncode == 2, out.stderr
    [line] = error_lines(out)
    assert fix in line
    assert "planned" not in out.stdout


def test_a_dry_run_prints_every_problem_then_one_error_line(tmp_path):
    out = run_dry(tmp_path, PLAN.replace("[swe_qa]", "[swe_qaa]").replace("retention: 0.5", "retention: 1.5"))
    assert out.returncode == 2
    problems = [line for line in out.stderr.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 3
    [line] = error_lines(out)
    assert line.startswith("error: 3 problems: (1) groups.qa.sources: source 'swe_qaa'")


def test_a_dry_run_of_a_sound_plan_says_which_steps_would_run_and_warns_of_masked_cells(tmp_path):
    out = run_dry(tmp_path, PLAN.replace("min_support: 10", "min_support: 30"))
    assert out.returncode == 0, out.stderr
    assert [line.split() for line in out.stdout.splitlines()] == [
        [step, "planned"] for step in ("score", "masks", "aggregate", "select", "report")
    ]
    assert "min_support=30 but every source has at most 12 rows" in out.stderr
    assert not error_lines(out)
