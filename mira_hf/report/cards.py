"""``record_card``: one scored row as a card a notebook draws, its dimensions named by the rubric."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mira_hf._util.html import escape
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.scorecard import ScoreCard


@dataclass(frozen=True)
class RecordCard:
    """A scored row's [`ScoreCard`][mira_hf.schema.scorecard.ScoreCard] with its rubric's dimension names.

    A notebook draws it (``_repr_html_``): one bar per dimension with its score and rationale, the overall score,
    recommendation, domain tag and brief, and the row's error when the scorer gave one.
    """

    card: ScoreCard
    names: list[str]
    error: str | None = None

    def _repr_html_(self) -> str:
        html = self.card.to_html(self.names)
        if not self.error:
            return html
        return html.replace('<div class="mira-card">', f'<div class="mira-card"><p>error: {escape(self.error)}</p>', 1)


def record_card(row: Mapping[str, Any], rubric: str | Rubric | None = "agent-group4") -> RecordCard:
    """One scored row (``mira_scores``, ``mira_rationales``, ``mira_overall`` …) as a card a notebook draws.

    Args:
        row: a row of a scored dataset (``scored[0]``), or any mapping with its ``mira_*`` columns.
        rubric: the rubric the row was scored with (a bundled name, a path or a `Rubric`), whose names label the
            dimensions; ``None`` labels them ``A1`` .. ``An``.

    Example:
        >>> row = {"mira_scores": [7.0] * 15, "mira_rationales": [None] * 15, "mira_overall": 70.0,
        ...        "mira_recommendation": "keep", "mira_status": "ok"}
        >>> "Goal Achievement" in record_card(row)._repr_html_()
        True
    """
    scores = list(row.get("mira_scores") or [])
    card = ScoreCard.model_construct(  # the row's status may be invalid_input or engine_error: shown as it is
        scores=scores,
        rationales=list(row.get("mira_rationales") or [None] * len(scores)),
        overall=row.get("mira_overall"),
        recommendation=row.get("mira_recommendation"),
        domain_tag=row.get("mira_domain_tag"),
        brief=row.get("mira_brief"),
        status=row.get("mira_status") or "parse_error",
    )
    names = [] if rubric is None else load_rubric(rubric).names
    return RecordCard(card=card, names=names, error=row.get("mira_error"))
