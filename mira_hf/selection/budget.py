"""One token budget for the whole dataset, split over the retention keys (sources or groups) exactly.

Each key gets ``floor(total · share)`` tokens, with its share of the input tokens (``"shares"``) or of an
explicit mapping of weights; the parts never sum past the total. Integer and ``Fraction`` arithmetic only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.selection.rules import RetentionRule

BudgetSplit = Literal["shares"] | Mapping[str, float]


def split_budget(total: int, weights: Mapping[str, int | float | Fraction]) -> dict[str, int]:
    """``floor(total · w / Σw)`` tokens per key: never more than ``total`` in all, exact for any size.

    Example:
        >>> split_budget(100, {"a": 600, "b": 300, "c": 100})
        {'a': 60, 'b': 30, 'c': 10}
        >>> sum(split_budget(10, {"a": 1, "b": 1, "c": 1}).values())
        9
    """
    exact = {k: w if isinstance(w, (int, Fraction)) else Fraction(repr(float(w))) for k, w in weights.items()}
    whole = sum(exact.values(), Fraction(0))
    if whole == 0:
        return dict.fromkeys(exact, 0)
    return {k: math.floor(Fraction(int(total)) * w / whole) for k, w in exact.items()}


def check_budget(
    budget_tokens: Any, budget_split: Any, *, retention: Any, default: Any, token_column: str | None
) -> None:
    """Budget options that do not need the data, with an error naming the fix."""
    if budget_tokens is None:
        if retention is None:
            raise ConfigurationError(
                "give retention= (e.g. 0.5) or budget_tokens= (one token budget for the "
                "whole dataset, split over the sources)"
            )
        if budget_split != "shares":
            raise ConfigurationError("budget_split= is only used with budget_tokens=")
        return
    if isinstance(budget_tokens, bool) or not isinstance(budget_tokens, (int, np.integer)) or budget_tokens < 0:
        raise ConfigurationError(
            f"budget_tokens={budget_tokens!r}; give a whole number of tokens ≥ 0, e.g. budget_tokens=25_000_000_000"
        )
    if token_column is None:
        raise ConfigurationError(
            "budget_tokens= needs token_column= (a column of token counts per row)", code="MIRA-E202"
        )
    if retention is not None or default is not None:
        raise ConfigurationError(
            "budget_tokens= replaces retention= and default=; pass retention=None, or drop "
            "budget_tokens= and give {'tokens': n} rules per source"
        )
    if isinstance(budget_split, str):
        if budget_split != "shares":
            raise ConfigurationError(
                f"budget_split={budget_split!r}; use 'shares' (keep each source's token "
                "share) or a mapping {source or group: weight}"
            )
        return
    if not isinstance(budget_split, Mapping) or not budget_split:
        raise ConfigurationError(f"budget_split={budget_split!r}; use 'shares' or a mapping {{key: weight}}")
    for key, w in budget_split.items():
        if (
            isinstance(w, bool)
            or not isinstance(w, (int, float, np.integer, np.floating))
            or not math.isfinite(float(w))
            or w < 0
        ):
            raise ConfigurationError(f"budget_split[{key!r}] is {w!r}; give a weight ≥ 0 (e.g. a share like 0.4)")
    if not any(float(w) > 0 for w in budget_split.values()):
        raise ConfigurationError("budget_split has no positive weight; give at least one key a weight > 0")


def budget_rules(
    total: int, budget_split: BudgetSplit, keys: Sequence[str], key_tokens: np.ndarray, *, what: str
) -> dict[str, RetentionRule]:
    """One ``{'tokens': n}`` rule per key from the total budget (shares of ``key_tokens``, or the mapping).

    Example:
        >>> rules = budget_rules(50, "shares", ["a", "b"], np.array([80, 20]), what="source")
        >>> [r.describe() for r in rules.values()]
        ['40 tokens', '10 tokens']
    """
    if isinstance(budget_split, str):
        weights: Mapping[str, Any] = {k: int(t) for k, t in zip(keys, key_tokens.tolist())}
    else:
        unknown = [str(k) for k in budget_split if k not in keys]
        missing = [k for k in keys if k not in budget_split]
        if unknown or missing:
            raise ConfigurationError(
                f"budget_split must give a weight to every {what} and no other key; "
                + (f"unknown: {', '.join(map(repr, unknown))}; " if unknown else "")
                + (f"missing: {', '.join(map(repr, missing))} (give them 0 to keep none)" if missing else "")
                + f" — the {what}s are {', '.join(map(repr, keys))}"
            )
        weights = {k: budget_split[k] for k in keys}
    return {k: RetentionRule(kind="tokens", value=float(v)) for k, v in split_budget(total, weights).items()}


def budget_spec(budget_split: BudgetSplit) -> str | dict[str, float]:
    """The JSON form of ``budget_split`` for the report."""
    return budget_split if isinstance(budget_split, str) else {str(k): float(v) for k, v in budget_split.items()}
