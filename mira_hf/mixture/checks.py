"""The check phase of a mixture run: everything a run needs, checked against the data before any engine starts.

[check_plan][mira_hf.mixture.checks.check_plan] runs in ``run_plan`` (a dry run and a real one) right after the data
is loaded: every column the plan names, each group's rubric, mask file, retention and the budget, the plan's
sources against the data's (each with its true row count and the closest name), and the reliability thresholds
against the rows there are. Every problem is collected and raised together in one
[PlanError][mira_hf.errors.PlanError]; a threshold that will mask every cell is a warning, not an error.

Example:
    >>> plan = Plan.model_validate({"data": "d.jsonl", "groups": {"qa": {"sources": ["swe_qaa"]}}})
    >>> plan_problems(plan, ["source", "text"], {"swe_qa": 12})
    ["groups.qa.sources: source 'swe_qaa' of group 'qa' is not in the data (did you mean 'swe_qa', 12 rows?)", "source 'swe_qa' (12 rows) is in no group of the plan; add it to a group's sources (column 'source')"]
"""  # noqa: E501

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mira_hf._util.problems import closest, joined, missing_column
from mira_hf.errors import MiraError, PlanError
from mira_hf.mixture.plan import Plan
from mira_hf.reliability.checks import source_counts, support_warning
from mira_hf.reliability.constants import DEFAULT_MIN_SUPPORT

__all__ = ["check_plan", "plan_problems", "plan_warnings", "raise_problems", "source_counts"]


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def column_problems(plan: Plan, columns: Sequence[str]) -> list[str]:
    """Every column the plan names (record, source, id, token, teacher columns) that the data lacks."""
    from mira_hf.records.batches import record_column

    named = {
        "source_column": plan.source_column,
        "id_column": plan.id_column,
        "token_column": plan.token_column,
    }
    for name, g in plan.groups.items():
        named[f"groups.{name}.reliability.teacher_column"] = g.reliability.teacher_column
        named[f"groups.{name}.reliability.teacher_recommendation_column"] = g.reliability.teacher_recommendation_column
    problems = []
    if plan.text_column is not None:
        named = {"text_column": plan.text_column, **named}
    else:
        try:
            record_column(columns)
        except MiraError as e:
            problems.append(f"text_column: {e} (set text_column: in the plan)")
    for key, column in named.items():
        fix = f"set {key.rsplit('.', 1)[-1]}: to"
        problem = missing_column(column, columns, key, fix=fix) if column is not None else None
        if problem is not None:
            problems.append(f"{key}: {problem}")
    return problems


def source_problems(plan: Plan, counts: Mapping[Any, int]) -> list[str]:
    """The plan's sources missing from the data and the data's sources in no group, each with its row count and,
    for a missing one, the closest source of the data."""
    problems = []
    present = {str(s): n for s, n in counts.items() if s is not None}
    for name, g in plan.groups.items():
        for source in g.sources:
            if source in present:
                continue
            near = closest(source, [s for s in present if s not in plan.group_of()])
            near = near or closest(source, present)
            hint = f" (did you mean {near!r}, {_rows(present[near])}?)" if near else ""
            problems.append(f"groups.{name}.sources: source {source!r} of group {name!r} is not in the data{hint}")
    group_of = plan.group_of()
    orphans = {s: n for s, n in present.items() if s not in group_of}
    if orphans:
        names = ", ".join(f"{s!r} ({_rows(n)})" for s, n in orphans.items())
        one = len(orphans) == 1
        problems.append(
            f"source {names} {'is' if one else 'are'} in no group of the plan; add {'it' if one else 'them'} "
            f"to a group's sources (column {plan.source_column!r})"
        )
    if counts.get(None):
        problems.append(
            f"{_rows(counts[None])} have no source (null in column {plan.source_column!r}); give every row a source"
        )
    return problems


def _retention_problem(key: str, value: Any, token_column: str | None) -> str | None:
    """A group's retention: a fraction in (0, 1], or one rule ``{min_score: x}`` / ``{tokens: n}``."""
    from mira_hf.selection.rules import parse_rule

    if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0 < value <= 1:
        return (
            f"{key}: {value!r} is not a fraction in (0, 1]; write e.g. 0.5, or {{min_score: {value!r}}} for a score "
            f"threshold, or {{tokens: {value!r}}} for a token budget"
        )
    try:
        rule = parse_rule(value, key=key)
    except MiraError as e:
        return f"{key}: {e}"
    if rule.kind == "tokens" and token_column is None:
        return f"{key}: a {{tokens: n}} rule needs token_column: (the column of each row's token count)"
    return None


def selection_problems(plan: Plan) -> list[str]:
    """Each group's retention (unless a budget replaces it) and the plan's budget split."""
    from mira_hf.selection.budget import check_budget

    problems = []
    if plan.budget_tokens is None:
        for name, g in plan.groups.items():
            problem = _retention_problem(f"groups.{name}.retention", g.retention, plan.token_column)
            if problem is not None:
                problems.append(problem)
        return problems
    try:
        check_budget(plan.budget_tokens, plan.budget_split, retention=None, default=None, token_column="-")
    except MiraError as e:
        problems.append(f"budget_split: {e}")
    if isinstance(plan.budget_split, Mapping):
        sources = list(plan.group_of())
        for key in plan.budget_split:
            if key not in sources:
                near = closest(key, sources)
                hint = f" (did you mean {near!r}?)" if near else ""
                problems.append(f"budget_split: {key!r} is not a source of the plan{hint}")
        missing = [s for s in sources if s not in plan.budget_split]
        if missing:
            problems.append(f"budget_split: no weight for {', '.join(map(repr, missing))} (give 0 to keep none)")
    return problems


def group_problems(plan: Plan, engines: Collection[str] = ()) -> list[str]:
    """Each group's rubric and mask file, and the variable holding its endpoints' key, before any engine starts."""
    from mira_hf.rubric import load_rubric

    problems = []
    for name, g in plan.groups.items():
        try:
            load_rubric(plan.rubric_ref(name))
        except MiraError as e:
            problems.append(f"groups.{name}.rubric: {e}")
        if g.reliability.mask and not plan.path(g.reliability.mask).is_file():
            problems.append(
                f"groups.{name}.reliability.mask: {plan.path(g.reliability.mask)} does not exist; "
                "write one with `mira-hf agree`, or measure it with teacher_column"
            )
        env = g.scorer.api_key_env
        if env and name not in engines and not os.environ.get(env):
            problems.append(
                f"groups.{name}.scorer.api_key_env: the environment variable {env} is not set; "
                "export it with the endpoints' API key"
            )
    return problems


def plan_problems(
    plan: Plan, columns: Sequence[str], counts: Mapping[Any, int] | None, engines: Collection[str] = ()
) -> list[str]:
    """Every problem that stops ``plan`` from running on data with ``columns`` and ``counts`` rows per source
    (``None`` when the source column is missing); an empty list when it can run."""
    problems = column_problems(plan, columns)
    if counts is not None:
        problems += source_problems(plan, counts)
    return problems + selection_problems(plan) + group_problems(plan, engines)


def plan_warnings(plan: Plan, counts: Mapping[Any, int] | None) -> list[str]:
    """Thresholds that will mask every cell of a group given its rows (a warning: the run still works)."""
    if counts is None:
        return []
    warnings = []
    for name, g in plan.groups.items():
        if not g.reliability.teacher_column:
            continue
        min_support = g.reliability.min_support or DEFAULT_MIN_SUPPORT
        rows = {s: counts.get(s, 0) for s in g.sources}
        warning = support_warning(rows, min_support, fix="set min_support: <= {n}")
        if warning is not None:
            warnings.append(f"groups.{name}.reliability: {warning}")
    return warnings


def check_plan(plan: Plan, ds: Any, engines: Collection[str] = ()) -> tuple[list[str], list[str]]:
    """The problems and warnings of running ``plan`` on ``ds``; counts come from every row of the source column.

    Raise [PlanError][mira_hf.errors.PlanError] listing every problem with ``raise_problems``; this returns them so
    a dry run can print each on its own line first.
    """
    columns = list(ds.column_names)
    counts = source_counts(ds, plan.source_column) if plan.source_column in columns else None
    return plan_problems(plan, columns, counts, engines), plan_warnings(plan, counts)


def raise_problems(problems: Sequence[str]) -> None:
    """Raise one [PlanError][mira_hf.errors.PlanError] naming every problem (one line), when there is any."""
    if problems:
        raise PlanError(joined(problems))
