"""A retention rule as the selection report records it: one fraction of rows, minimum score or token budget."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

By = Literal["source", "group", "global"]
#: The key of the single retention rule of ``by="global"`` (MIRA-Global).
GLOBAL_KEY = "global"


class RetentionRule(BaseModel):
    """One retention rule: a fraction of rows, a minimum score, or a token budget.

    Written by users as ``0.5`` (or ``{"fraction": 0.5}``), ``{"min_score": 6.5}`` or ``{"tokens": 2_000_000}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fraction", "min_score", "tokens"]
    value: float

    def describe(self) -> str:
        """Human form for tables: ``50% of rows``, ``score ≥ 6.5``, ``2,000,000 tokens``."""
        if self.kind == "fraction":
            return f"{self.value:.4g} of rows" if self.value * 100 % 1 else f"{self.value:.0%} of rows"
        if self.kind == "min_score":
            return f"score ≥ {self.value:g}"
        return f"{int(self.value):,} tokens"

    def to_spec(self) -> float | dict[str, float | int]:
        """The form a user writes in ``retention=`` (used by the card's reproduction snippet)."""
        if self.kind == "fraction":
            return self.value
        if self.kind == "tokens":
            return {"tokens": int(self.value)}
        return {"min_score": self.value}
