"""``ScoreCard``: what the parser reads out of one scorer output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mira_hf._util.html import Raw, escape, table

Recommendation = Literal["keep", "downsample", "drop"]
ParseStatus = Literal["ok", "partial", "parse_error"]
#: Every value ``mira_status`` can take, in the order reports list them.
STATUSES: tuple[str, ...] = ("ok", "partial", "parse_error", "invalid_input", "engine_error")


class ScoreCard(BaseModel):
    """Scores (0–10, ``None`` where missing or out of range) and metadata for one record.

    ``status`` is ``ok`` when every slot, ``overall`` and ``recommendation`` parse; ``partial`` when at
    least one slot parses but something is missing; ``parse_error`` when no slot parses.
    """

    model_config = ConfigDict(extra="forbid")

    scores: list[float | None]
    rationales: list[str | None]
    overall: float | None = Field(default=None, ge=0, le=100)
    recommendation: Recommendation | None = None
    domain_tag: str | None = None
    brief: str | None = None
    status: ParseStatus = "parse_error"

    def to_html(self, names: Sequence[str] | None = None) -> str:
        """The card as a small HTML block: one bar per dimension (0–10) with its score and rationale, then the overall
        score, recommendation, domain tag and brief; every text escaped.

        Args:
            names: the dimensions' names in slot order (a rubric's ``names``); the slot ids ``A1`` .. ``An`` without.

        Example:
            >>> card = ScoreCard(scores=[7.0, None], rationales=["clear goal", None],
            ...                  overall=64, status="partial")
            >>> "A2" in card.to_html() and "Goal" in card.to_html(["Goal", "Tests"])
            True
        """
        labels = list(names or [])[: len(self.scores)]
        labels += [f"A{i + 1}" for i in range(len(labels), len(self.scores))]
        rationales = list(self.rationales) + [None] * (len(self.scores) - len(self.rationales))
        rows = [
            [label, "—" if score is None else f"{score:.3g}", _bar(score), rationale or ""]
            for label, score, rationale in zip(labels, self.scores, rationales)
        ]
        facts = [
            ("overall", "—" if self.overall is None else f"{self.overall:.3g} / 100"),
            ("recommendation", self.recommendation or "—"),
            ("domain tag", self.domain_tag or "—"),
            ("status", self.status),
        ]
        head = " · ".join(f"<b>{escape(k)}</b> {escape(v)}" for k, v in facts)
        brief = f"<p>{escape(self.brief)}</p>" if self.brief else ""
        dims = table(["dimension", "score", "", "rationale"], rows, numeric=[1])
        return f'<div class="mira-card"><p>{head}</p>{brief}{dims}</div>'

    def _repr_html_(self) -> str:
        """The card in a notebook, its dimensions named by slot (``A1`` ..); name them with
        [`to_html`][mira_hf.schema.scorecard.ScoreCard.to_html]."""
        return self.to_html()


def _bar(score: float | None) -> Raw:
    """A compact bar, its length the score out of 10 (empty for a missing score)."""
    width = 0.0 if score is None else max(0.0, min(score, 10.0)) * 10
    return Raw(
        '<div style="width: 8em; background: #eee; height: 0.8em">'
        f'<div style="width: {width:.0f}%; background: #4c78a8; height: 100%"></div></div>'
    )
