"""The cut itself: which rows of one key a rule keeps, in pure numpy (plus the small array helpers it needs)."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.selection.rules import RetentionRule

#: The id hashes of the given positions (``mira_hf.selection.ties.id_hashes``), asked only for rows that tie.
Ties = Callable[[np.ndarray], np.ndarray]


def cut_rows(
    scores: np.ndarray,
    rule: RetentionRule,
    *,
    tokens: np.ndarray | None = None,
    rows: int | None = None,
    ties: Ties | None = None,
) -> tuple[np.ndarray, int | None]:
    """Which rows of one key to keep (a bool mask) and the rule's target, best score first.

    ``scores`` is in original row order with NaN for rows that cannot be kept (unscored or dropped).
    A fraction keeps ``ceil(f·rows)`` rows (``rows`` defaults to ``len(scores)``); ties at the cut go to the
    smaller id hash (``ties``), or without it to the earlier row. A token budget keeps the longest best-first
    prefix whose tokens fit the budget (the row that would cross it is not kept). Pure numpy, O(n) for fractions
    and thresholds, one sort of the rows near the cut for tokens.

    Example:
        >>> keep, target = cut_rows(np.array([3.0, 9.0, 3.0, np.nan]), RetentionRule(kind="fraction", value=0.5))
        >>> keep.tolist(), target
        ([True, True, False, False], 2)
    """
    n = len(scores) if rows is None else rows
    eligible = ~np.isnan(scores)
    if rule.kind == "min_score":
        return eligible & (scores >= rule.value), None
    if rule.kind == "tokens":
        if tokens is None:
            raise ConfigurationError(
                "a {'tokens': n} retention needs token_column= (a column of token counts)", code="MIRA-E202"
            )
        budget = int(rule.value)
        return _token_cut(scores, eligible, tokens, budget, ties=ties), budget
    target = math.ceil(Fraction(repr(rule.value)) * n)  # exact: 0.3 × 10 is 3, not 4
    m = int(eligible.sum())
    if target >= m:
        return eligible, target
    keep = np.zeros(len(scores), dtype=bool)
    if target == 0:
        return keep, target
    threshold = np.partition(scores[eligible], m - target)[m - target]  # the target-th best score
    keep = scores > threshold
    need = target - int(keep.sum())
    tied = np.flatnonzero(scores == threshold)
    if ties is not None and need < len(tied):
        tied = tied[np.argsort(ties(tied), kind="stable")]
    keep[tied[:need]] = True
    return keep, target


def _best_first_prefix(
    scores: np.ndarray, tokens: np.ndarray, budget: int, tie: np.ndarray | None = None
) -> np.ndarray:
    """Positions (into ``scores``) of the longest best-first prefix whose tokens fit ``budget``; ties by ``tie``
    (id hashes), else by position."""
    order = np.argsort(-scores, kind="stable") if tie is None else np.lexsort((tie, -scores))
    fit = int(np.searchsorted(np.cumsum(tokens[order], dtype=np.int64), budget, side="right"))
    return order[:fit]


def _token_cut(
    scores: np.ndarray,
    eligible: np.ndarray,
    tokens: np.ndarray,
    budget: int,
    bins: int = 4096,
    ties: Ties | None = None,
) -> np.ndarray:
    """Keep mask of a token budget filled best-first, in O(n): bucket scores, sort only the bucket at the cut.

    Buckets are monotone in the score, so every row of a higher bucket ranks before every row of a lower one;
    only the bucket where the running total crosses the budget needs ordering by (score desc, position).
    """
    keep = np.zeros(len(scores), dtype=bool)
    pos = np.flatnonzero(eligible)
    s, t = scores[pos], tokens[pos]
    if int(t.sum()) <= budget:
        keep[pos] = True
        return keep
    lo, hi = float(s.min()), float(s.max())
    if len(pos) <= bins or hi == lo:
        keep[pos[_best_first_prefix(s, t, budget, None if ties is None else ties(pos))]] = True
        return keep
    bucket = np.minimum(((s.astype(np.float64) - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    per_bucket = np.bincount(bucket, weights=t, minlength=bins)
    at_or_above = np.cumsum(per_bucket[::-1])[::-1]  # tokens in buckets ≥ j
    crossing = int(np.flatnonzero(at_or_above > budget)[-1])
    above = float(at_or_above[crossing + 1]) if crossing + 1 < bins else 0.0
    keep[pos[bucket > crossing]] = True
    rows = np.flatnonzero(bucket == crossing)
    tie = None if ties is None else ties(pos[rows])
    keep[pos[rows[_best_first_prefix(s[rows], t[rows], budget - int(above), tie)]]] = True
    return keep


def _min_per_code(codes: np.ndarray, values: np.ndarray, n_codes: int) -> np.ndarray:
    """Minimum of ``values`` per code (``inf`` where a code has none): one radix sort and a ``reduceat``."""
    out = np.full(n_codes, np.inf)
    if not len(codes):
        return out
    order = np.argsort(
        codes.astype(np.uint16 if n_codes <= np.iinfo(np.uint16).max else np.int32, copy=False), kind="stable"
    )
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.minimum.reduceat(values[order], starts)
    return out


def _positions_by_key(codes: np.ndarray, n_keys: int) -> list[np.ndarray]:
    """Row positions of each key, ascending (a stable radix sort on small integer codes)."""
    small = codes.astype(np.uint16 if n_keys <= np.iinfo(np.uint16).max else np.int32, copy=False)
    order = np.argsort(small, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_keys))])
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_keys)]
