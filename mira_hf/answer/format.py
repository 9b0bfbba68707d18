"""Write a [`ScoreCard`][mira_hf.schema.scorecard.ScoreCard] as the exact answer template: what a well-behaved scorer
answers.

Used for distillation targets and fake engines; [`mira_hf.answer.parse.parse_output`][mira_hf.answer.parse.parse_output]
reads it back.
"""

from __future__ import annotations

import math
from decimal import Decimal

from mira_hf.answer.contract import JUSTIFICATION_SEPARATOR
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.scorecard import ScoreCard

__all__ = ["format_output"]


def _number(value: float) -> str:
    """Shortest positional text that reads back as the same float (``7``, ``7.5``, ``0.00001``)."""
    if not math.isfinite(value):
        return "N/A"
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        value = " ".join(value.splitlines())
    return value.strip()


def format_output(card: ScoreCard, rubric: Rubric | str = "agent-group4") -> str:
    """The canonical template text for ``card``: what a well-behaved scorer answers.

    ``parse_output(format_output(card, rubric), rubric) == card`` for every ``ok`` card whose texts are
    single-line and stripped. Missing scores are written ``N/A``; missing metadata lines are left out.

    Example:
        >>> from mira_hf.answer.parse import parse_output
        >>> card = ScoreCard(scores=[7.0] * 15, rationales=["ok"] * 15, overall=70,
        ...     recommendation="keep", domain_tag="swe", brief="Fine.", status="ok")
        >>> card = parse_output(format_output(card))
        >>> card.status, card.scores[0]
        ('ok', 7.0)
    """
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    lines = []
    for i, dim in enumerate(rubric):
        score = card.scores[i] if i < len(card.scores) else None
        why = card.rationales[i] if i < len(card.rationales) else None
        line = f"[{dim.slot}] {dim.dimension}: " + ("N/A" if score is None else f"{_number(score)}/10")
        if why is not None and why.strip():
            line += JUSTIFICATION_SEPARATOR + _one_line(why)
        lines.append(line)
    if card.overall is not None:
        lines.append(f"overall: {_number(card.overall)}")
    if card.recommendation is not None:
        lines.append(f"training_recommendation: {card.recommendation}")
    if card.domain_tag is not None and card.domain_tag.strip():
        lines.append(f"domain_tag: {_one_line(card.domain_tag)}")
    if card.brief is not None and card.brief.strip():
        lines.append(f"brief: {_one_line(card.brief)}")
    return "\n".join(lines)
