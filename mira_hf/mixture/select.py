"""The mixture's select step: each source kept by its group's rule with ``filter_by_retention``, one report with
each group's own parameters, and the push through ``push_selection`` (the same calls a single selection makes).

Groups that sample alike are selected in one ``filter_by_retention`` call; when groups differ (a hard cut here,
Gumbel sampling there) each group is selected apart, the budget first split over the sources exactly as one call
would split it, and the kept rows come back in input order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from mira_hf._util.arrow import rows_table
from mira_hf.errors import PlanError
from mira_hf.mixture.manifests import digest
from mira_hf.mixture.plan import GroupPlan, Plan
from mira_hf.schema.selection import GroupParameters, SelectionReport
from mira_hf.selection import filter_by_retention
from mira_hf.selection.budget import budget_rules, budget_spec

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

    from mira_hf.selection.gumbel import Sampling


def select_mixture(plan: Plan, ds: Dataset) -> tuple[Dataset, SelectionReport]:
    """Keep each source's share by its group's rule, or one token budget for the whole mixture; push the selection
    when the plan names a Hub repo. Either way the report records each group's parameters (``parameters.per_group``).

    Example:
        >>> kept, report = select_mixture(plan, aggregated)   # doctest: +SKIP
        >>> sorted(report.parameters.per_group)               # doctest: +SKIP
        ['agents', 'qa']
    """
    kinds = {_sampling_of(g) for g in plan.groups.values()}
    if len(kinds) == 1:
        kept, report = _select_together(plan, ds, *kinds.pop())
    else:
        kept, report = _select_apart(plan, ds)
    if plan.push_to_hub:
        from mira_hf.publish.hub import push_selection

        push_selection(kept, report, plan.push_to_hub)
    return kept, report


def _sampling_of(group: GroupPlan) -> tuple[Sampling, float | None]:
    """A group's sampling and τ (τ only counts for Gumbel sampling)."""
    return group.sampling, group.temperature if group.sampling == "gumbel" else None


def _retention(plan: Plan) -> dict[str, Any]:
    """Each source's rule: its group's retention."""
    return {s: g.retention for g in plan.groups.values() for s in g.sources}


def _select_together(
    plan: Plan, ds: Dataset, sampling: Sampling, temperature: float | None
) -> tuple[Dataset, SelectionReport]:
    """Every group in one ``filter_by_retention`` call (they sample alike); each group's parameters added."""
    budget = plan.budget_tokens or None
    kept, report = filter_by_retention(
        ds,
        retention=None if budget else _retention(plan),
        by="source",
        source_column=plan.source_column,
        token_column=plan.token_column,
        id_column=plan.id_column,  # ties and Gumbel noise follow the ids: the same rows however the data is ordered
        sampling=sampling,
        temperature=1.0 if temperature is None else temperature,
        seed=plan.seed,
        budget_tokens=budget,
        budget_split=plan.budget_split if budget else "shares",
    )
    per_group = _group_parameters(plan, report)
    return kept, report.model_copy(update={"parameters": report.parameters.model_copy(update={"per_group": per_group})})


def _select_apart(plan: Plan, ds: Dataset) -> tuple[Dataset, SelectionReport]:
    """One ``filter_by_retention`` call per group (the budget split over the sources first), the kept rows back in
    input order, and one report for them all."""
    import datasets

    from mira_hf.mixture.steps import group_rows

    rules = _budget_rules(plan, ds) if plan.budget_tokens else _retention(plan)
    numbered = ds.add_column("__mira_row", list(range(len(ds))))
    kept, reports = [], {}
    for name, g in plan.groups.items():
        sub = numbered.select(group_rows(numbered, name))
        part, reports[name] = filter_by_retention(
            sub,
            retention={s: rules[s] for s in g.sources},
            by="source",
            source_column=plan.source_column,
            token_column=plan.token_column,
            id_column=plan.id_column,
            sampling=g.sampling,
            temperature=g.temperature,
            seed=plan.seed,
        )
        kept.append(part)
    merged = datasets.concatenate_datasets(kept)
    order = np.argsort(np.asarray(merged["__mira_row"]), kind="stable")
    merged = merged.select(order).flatten_indices().remove_columns("__mira_row")
    return merged, _merge_reports(plan, reports, ds)


def _budget_rules(plan: Plan, ds: Dataset) -> dict[str, Any]:
    """The mixture's token budget as one ``{tokens: n}`` rule per source (the split one call would make)."""
    token, total = plan.token_column, plan.budget_tokens
    if token is None or total is None:  # the plan checks this on load
        raise PlanError("budget_tokens needs token_column (the column of each row's token count)", code="MIRA-E202")
    table = rows_table(ds, [plan.source_column, token])
    sums = table.group_by(plan.source_column).aggregate([(token, "sum")])
    per = dict(zip(sums.column(plan.source_column).to_pylist(), sums.column(f"{token}_sum").to_pylist()))
    keys = sorted(per, key=str)
    rules = budget_rules(int(total), plan.budget_split, keys, np.array([per[k] for k in keys]), what="source")
    return {k: r.to_spec() for k, r in rules.items()}


def _group_parameters(plan: Plan, report: SelectionReport) -> dict[str, GroupParameters]:
    """Each group's parameters as the selection applied them: its sources' rules, sampling, budget share."""
    out = {}
    for name, g in plan.groups.items():
        rules = {s: report.parameters.retention[s] for s in g.sources if s in report.parameters.retention}
        share = None
        if plan.budget_tokens is not None:
            share = sum(int(report.cuts[s].target or 0) for s in g.sources if s in report.cuts)
        gumbel = g.sampling == "gumbel"
        out[name] = GroupParameters(
            sources=list(g.sources),
            retention=rules,
            sampling=g.sampling,
            temperature=g.temperature if gumbel else None,
            seed=plan.seed if gumbel else None,
            budget_tokens=share,
        )
    return out


def _merge_reports(plan: Plan, reports: Mapping[str, SelectionReport], ds: Dataset) -> SelectionReport:
    """One report for groups selected apart: their sources and cuts together, each group's own parameters, and
    the plan-wide ones (``sampling="per group"``, the budget, the token column)."""
    parts = list(reports.values())
    gumbel = any(g.sampling == "gumbel" for g in plan.groups.values())
    params = parts[0].parameters.model_copy(
        update=dict(  # the columns every call shared; the rest plan-wide
            retention={k: v for r in parts for k, v in r.parameters.retention.items()},
            sampling="per group",
            temperature=None,
            seed=plan.seed if gumbel else None,
            budget_tokens=plan.budget_tokens,
            budget_split=None if plan.budget_tokens is None else budget_spec(plan.budget_split),
        )
    )
    merged = SelectionReport(
        parameters=params,
        input_rows=len(ds),
        sources={k: v for r in parts for k, v in r.sources.items()},
        cuts={k: v for r in parts for k, v in r.cuts.items()},
    )
    fingerprint = getattr(ds, "_fingerprint", None)
    return merged.model_copy(
        update={
            "parameters": params.model_copy(update={"per_group": _group_parameters(plan, merged)}),
            "input_fingerprint": fingerprint,
            "output_fingerprint": digest(fingerprint, [r.output_fingerprint for r in parts])[:16],
        }
    )
