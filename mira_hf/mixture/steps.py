"""Per-group agreement, masks and aggregation over a scored mixture: one mask file per group.

Each group's rows are measured against its own rubric: a mask from a file, from teacher columns, or (with
neither) every dimension reliable; ``mira_quality`` is then the trimmed mean of each row's reliable dimensions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mira_hf._util.arrow import rows_column, rows_table
from mira_hf.errors import ColumnNotFoundError
from mira_hf.mixture.plan import Plan
from mira_hf.reliability import Reliability, aggregate, agreement
from mira_hf.rubric import Rubric, load_rubric

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


def group_rows(ds: Dataset, group: str) -> np.ndarray:
    """Positions of the rows a group scored (``mira_group``), in order."""
    col = rows_column(ds, "mira_group").to_numpy()
    return np.flatnonzero(col == group)


def all_reliable(rubric: Rubric, sources: list[str]) -> Reliability:
    """A mask with every dimension reliable for every source (a group with no teacher labels and no mask file).

    Example:
        >>> all_reliable(load_rubric("agent-group4"), ["swe_qa"]).mask["swe_qa"][:3]
        [True, True, True]
    """
    return Reliability(
        rubric=rubric.name,
        dimensions=rubric.names,
        mask={s: [True] * len(rubric) for s in sources},
        mae_max=10.0,
        spearman_min=-1.0,
        min_support=0,
    )


def group_mask(plan: Plan, group: str, sub: Dataset) -> tuple[Reliability, dict[str, Any] | None]:
    """The group's reliability (and the agreement result when measured from teacher columns)."""
    g = plan.groups[group]
    rubric = load_rubric(plan.rubric_ref(group))
    rel_plan = g.reliability
    if rel_plan.mask:
        return Reliability.load(plan.path(rel_plan.mask)), None
    if rel_plan.teacher_column:
        for col in (rel_plan.teacher_column, rel_plan.teacher_recommendation_column):
            if col and col not in sub.column_names:
                raise ColumnNotFoundError(
                    f"groups.{group}.reliability: column {col!r} is not in the dataset; its "
                    f"columns are {sub.column_names}"
                )
        table = rows_table(sub)
        recs = {}
        if rel_plan.teacher_recommendation_column:
            recs = dict(
                prediction_recommendations=table.column("mira_recommendation").to_pylist(),
                reference_recommendations=table.column(rel_plan.teacher_recommendation_column).to_pylist(),
            )
        result = agreement(
            table.column("mira_scores"),
            table.column(rel_plan.teacher_column),
            sources=table.column(plan.source_column),
            rubric=rubric,
            **rel_plan.thresholds,
            **recs,
        )
        return Reliability.from_result(result), result
    return all_reliable(rubric, list(g.sources)), None


def masks_and_quality(plan: Plan, scored: Dataset, masks_dir: Path) -> tuple[Dataset, dict[str, Reliability]]:
    """Write ``masks_dir/<group>.json`` for every group and add ``mira_quality`` (+ reason) to every row."""
    masks_dir.mkdir(parents=True, exist_ok=True)
    n = len(scored)
    quality = np.full(n, np.nan, dtype=np.float32)
    reasons: list[str | None] = [None] * n
    masks: dict[str, Reliability] = {}
    for name in plan.groups:
        rows = group_rows(scored, name)
        sub = scored.select(rows)
        rel, _ = group_mask(plan, name, sub)
        rel.save(masks_dir / f"{name}.json")
        masks[name] = rel
        if not len(rows):
            continue
        done = aggregate(sub, mask=rel, rubric=load_rubric(plan.rubric_ref(name)), source_column=plan.source_column)
        q = rows_column(done, "mira_quality").to_numpy()
        quality[rows] = np.asarray(q, dtype=np.float32)  # nulls arrive as NaN
        for i, reason in zip(rows, rows_column(done, "mira_quality_reason").to_pylist()):
            reasons[i] = reason
    out = scored.remove_columns([c for c in ("mira_quality", "mira_quality_reason") if c in scored.column_names])
    out = out.add_column("mira_quality", pa.array(quality, type=pa.float32(), mask=np.isnan(quality)))
    out = out.add_column("mira_quality_reason", pa.array(reasons, type=pa.string()))
    return out, masks
