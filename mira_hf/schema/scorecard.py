"""``ScoreCard``: what the parser reads out of one scorer output."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
