"""Retention rules: what a user writes (``0.5``, ``{'min_score': 6.5}``, ``{'tokens': n}``) → one rule per key."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.schema.retention import GLOBAL_KEY, By, RetentionRule

__all__ = ["GLOBAL_KEY", "By", "RetentionRule", "parse_rule", "resolve_rules"]


def parse_rule(spec: Any, *, key: str | None) -> RetentionRule:
    """Turn one user retention value into a `RetentionRule`; the error names ``key`` and the fix.

    Example:
        >>> parse_rule({"min_score": 6.5}, key="swe_qa").describe()
        'score ≥ 6.5'
    """
    if isinstance(spec, RetentionRule):
        return spec
    subject = "retention" if key is None else f"retention for {key!r}"  # None: one value, for every source
    if isinstance(spec, bool) or spec is None:
        raise ConfigurationError(
            f"{subject} is {spec!r}; write a fraction like 0.5, {{'min_score': 6.5}} or {{'tokens': 2_000_000}}",
            code="MIRA-E206",
        )
    if isinstance(spec, (int, float, np.integer, np.floating)):
        value = float(spec)
        if not (0.0 <= value <= 1.0) or math.isnan(value):
            raise ConfigurationError(
                f"{subject} is {spec!r}, not a fraction in [0, 1]; for a score threshold write "
                f"{{'min_score': {spec!r}}}, for a token budget {{'tokens': {spec!r}}}",
                code="MIRA-E206",
            )
        return RetentionRule(kind="fraction", value=value)
    if isinstance(spec, Mapping):
        if len(spec) != 1 or next(iter(spec)) not in ("fraction", "min_score", "tokens"):
            raise ConfigurationError(
                f"{subject} is {dict(spec)!r}; a rule is one of {{'fraction': f}}, "
                "{'min_score': x} or {'tokens': n}",
                code="MIRA-E206",
            )
        kind, value = next(iter(spec.items()))
        if kind == "fraction":
            return parse_rule(value, key=key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value))
        ):
            raise ConfigurationError(f"{subject}: {kind} must be a finite number, got {value!r}", code="MIRA-E206")
        if kind == "tokens":
            if float(value) < 0 or float(value) != int(value):
                raise ConfigurationError(
                    f"{subject}: tokens must be a whole number ≥ 0, got {value!r}", code="MIRA-E206"
                )
            return RetentionRule(kind="tokens", value=float(int(value)))
        return RetentionRule(kind="min_score", value=float(value))
    raise ConfigurationError(
        f"{subject} has type {type(spec).__name__}; write a fraction like 0.5, "
        "{'min_score': 6.5} or {'tokens': 2_000_000}",
        code="MIRA-E206",
    )


def _is_single_rule(retention: Any) -> bool:
    if not isinstance(retention, Mapping):
        return True
    return len(retention) == 1 and next(iter(retention)) in ("fraction", "min_score", "tokens")


def resolve_rules(
    retention: Any, keys: Sequence[str], *, by: By, default: Any = None, what: str = "source"
) -> dict[str, RetentionRule]:
    """One rule per key: a single rule applies to every key; a mapping must cover each key (or ``default``)."""
    default_rule = parse_rule(default, key="default") if default is not None else None
    if _is_single_rule(retention):
        rule = parse_rule(retention, key=GLOBAL_KEY if by == "global" else f"every {what}")
        return dict.fromkeys(keys, rule)
    if not isinstance(retention, Mapping):  # pragma: no cover - _is_single_rule covers it
        raise ConfigurationError("retention must be a number, a rule, or a mapping of rules")
    unknown = [str(k) for k in retention if k not in keys]
    if unknown:
        raise ConfigurationError(
            f"retention names {what}(s) {', '.join(map(repr, unknown))} that are not in the data; "
            f"the {what}s are: {', '.join(map(repr, keys)) or '(none)'}"
        )
    missing = [k for k in keys if k not in retention]
    if missing and default_rule is None:
        raise ConfigurationError(
            f"retention has no rule for {what}(s) {', '.join(map(repr, missing))}; add them to retention or "
            "pass default= (e.g. default=0.5)"
        )
    return {k: parse_rule(retention[k], key=k) if k in retention else default_rule for k in keys}  # type: ignore[misc]
