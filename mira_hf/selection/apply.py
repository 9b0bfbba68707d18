"""The columns a cut needs as numpy arrays, the cuts over every key, and the per-source figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf._util.arrow import rows_table, source_codes
from mira_hf.errors import ConfigurationError
from mira_hf.schema.selection import CutStats, SourceStats
from mira_hf.selection.budget import BudgetSplit, budget_rules
from mira_hf.selection.checks import _check_groups
from mira_hf.selection.cut import _min_per_code, _positions_by_key, cut_rows
from mira_hf.selection.gumbel import Sampling, gumbel_keys
from mira_hf.selection.rules import GLOBAL_KEY, By, RetentionRule, _is_single_rule, parse_rule, resolve_rules
from mira_hf.selection.ties import id_hashes

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


class _Arrays:
    """The columns the cut needs, as numpy arrays (NaN for a null score)."""

    def __init__(
        self,
        ds: Dataset,
        *,
        score_column: str,
        source_column: str | None,
        token_column: str | None,
        drop_values: list[str] | None,
        recommendation_column: str,
        id_column: str | None = None,
    ) -> None:
        names = [
            c
            for c in (
                score_column,
                source_column,
                token_column,
                recommendation_column if drop_values else None,
                id_column,
            )
            if c is not None
        ]
        table: pa.Table = rows_table(ds, names)  # zero-copy slices without an indices mapping
        self.n = n = table.num_rows
        score = table.column(score_column)
        if not (pa.types.is_floating(score.type) or pa.types.is_integer(score.type) or pa.types.is_decimal(score.type)):
            raise ConfigurationError(
                f"score column {score_column!r} has type {score.type}, expected numbers "
                "(float32 from mira_hf.aggregate)"
            )
        if not pa.types.is_floating(score.type):
            score = pc.cast(score, pa.float64())
        self.scores = pc.fill_null(score, float("nan")).to_numpy() if n else np.zeros(0, dtype=np.float32)
        self.unscored = np.isnan(self.scores)
        if source_column is not None:
            self.src_codes, self.sources = source_codes(table.column(source_column), source_column)
        else:
            self.src_codes, self.sources = np.zeros(n, dtype=np.int32), (["all"] if n else [])
        self.dropped = np.zeros(n, dtype=bool)
        if drop_values:
            rec = table.column(recommendation_column)
            hit = pc.fill_null(pc.is_in(rec, value_set=pa.array(drop_values, type=rec.type)), False)
            self.dropped = hit.to_numpy(zero_copy_only=False) & ~self.unscored
        self.tokens: np.ndarray | None = None
        if token_column is not None:
            tok = table.column(token_column)
            if not pa.types.is_integer(tok.type):
                raise ConfigurationError(f"token column {token_column!r} has type {tok.type}, expected integers")
            if tok.null_count:
                raise ConfigurationError(
                    f"token column {token_column!r} has {tok.null_count:,} null value(s); "
                    "fill them (e.g. with the row's prompt token count) before selecting"
                )
            self.tokens = tok.to_numpy().astype(np.int64, copy=False) if n else np.zeros(0, dtype=np.int64)
            if n and self.tokens.min() < 0:
                raise ConfigurationError(f"token column {token_column!r} has negative counts")
        # what a rule may choose from: scored and not dropped
        self.eligible_scores = np.where(self.dropped, np.nan, self.scores) if drop_values else self.scores
        #: the id column: ties at a cut and the Gumbel noise follow a hash of it (None: the row order), so the same
        #: rows are kept however the dataset is ordered or sharded; hashed only where needed (``ties``)
        self.ids: pa.ChunkedArray | None = table.column(id_column) if id_column is not None else None
        self._ties: np.ndarray | None = None

    def ties(self, rows: np.ndarray | None) -> np.ndarray:
        """The id hashes of ``rows`` (positions; ``None``: every row); the whole column is hashed at most once."""
        assert self.ids is not None
        if self._ties is None and (rows is None or len(rows) > self.n // 8):
            self._ties = id_hashes(self.ids)
        if self._ties is not None:
            return self._ties if rows is None else self._ties[rows]
        return id_hashes(self.ids.take(pa.array(rows, type=pa.int64())))


def _keys_and_rules(
    arrays: _Arrays,
    *,
    by: By,
    retention: Any,
    default: Any,
    groups: Any,
    budget_tokens: int | None = None,
    budget_split: BudgetSplit = "shares",
) -> tuple[list[str], np.ndarray, dict[str, RetentionRule], dict[str, list[str]] | None]:
    """The retention keys, the key of each source, one rule per key, and the cleaned groups.

    With ``budget_tokens`` the rules are the budget's parts (``{'tokens': n}`` per key) instead of ``retention``.
    """
    sources = arrays.sources
    clean = None
    if by == "source":
        keys, key_of_src = list(sources), np.arange(len(sources), dtype=np.int32)
    elif by == "group":
        clean, group_of = _check_groups(groups, sources)
        keys = list(clean)
        key_of_src = np.array([keys.index(group_of[s]) for s in sources], dtype=np.int32)
    else:
        keys, key_of_src = [GLOBAL_KEY], np.zeros(len(sources), dtype=np.int32)
    if budget_tokens is not None:
        assert arrays.tokens is not None  # checked: a budget needs token_column
        per_source = np.bincount(arrays.src_codes, weights=arrays.tokens, minlength=len(sources))
        per_key = np.bincount(key_of_src, weights=per_source, minlength=len(keys)).astype(np.int64)
        rules = budget_rules(int(budget_tokens), budget_split, keys, per_key, what="group" if by == "group" else by)
    elif by == "global":
        spec = retention[GLOBAL_KEY] if not _is_single_rule(retention) else retention
        rules = {GLOBAL_KEY: parse_rule(spec, key=GLOBAL_KEY)}
    else:
        rules = resolve_rules(retention, keys, by=by, default=default, what=by)
    return keys, key_of_src, rules, clean


def _apply_cuts(
    arrays: _Arrays,
    keys: list[str],
    key_of_src: np.ndarray,
    rules: Mapping[str, RetentionRule],
    *,
    sampling: Sampling = "cut",
    temperature: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, CutStats]]:
    """The kept-row mask over the whole dataset and the figures of each cut.

    With ``sampling="gumbel"`` each key ranks its rows by ``score + τ·Gumbel`` (its own seeded stream) and the
    same cut keeps the best of that ranking; the figures are still of the true scores. With an id column
    (``arrays.ids``) ties go by the id hash and each row's noise is drawn from it, so neither follows the row
    order.
    """
    n, scores, tokens = arrays.n, arrays.eligible_scores, arrays.tokens
    row_key = key_of_src[arrays.src_codes] if len(arrays.sources) else np.zeros(0, dtype=np.int32)
    positions: list[np.ndarray | None] = [None] if len(keys) == 1 else list(_positions_by_key(row_key, len(keys)))
    kept = np.zeros(n, dtype=bool)
    cuts: dict[str, CutStats] = {}
    for k, key in enumerate(keys):
        idx = positions[k]
        s = scores if idx is None else scores[idx]
        t = None if tokens is None else (tokens if idx is None else tokens[idx])
        ties = None
        if arrays.ids is not None:

            def ties(local: np.ndarray, idx: np.ndarray | None = idx) -> np.ndarray:
                return arrays.ties(local if idx is None else idx[local])

        ranking = (
            s
            if sampling == "cut"
            else gumbel_keys(
                s,
                temperature=temperature,
                seed=seed,
                key=key,
                ties=None if ties is None or temperature == 0 else ties(np.arange(len(s))),
            )
        )
        keep, target = cut_rows(ranking, rules[key], tokens=t, ties=ties)
        if idx is None:
            kept = keep
        else:
            kept[idx[keep]] = True
        kept_scores = s[keep]
        cuts[key] = CutStats(
            key=key,
            rule=rules[key],
            sources=[src for i, src in enumerate(arrays.sources) if key_of_src[i] == k],
            rows=len(s),
            eligible=int((~np.isnan(s)).sum()),
            target=target,
            kept=int(keep.sum()),
            tokens_kept=None if t is None else int(t[keep].sum()),
            cut_score=float(kept_scores.min()) if kept_scores.size else None,
        )
    return kept, cuts


def _source_stats(arrays: _Arrays, kept: np.ndarray, keys: list[str], key_of_src: np.ndarray) -> dict[str, SourceStats]:
    """Per-source figures with bincounts over the whole dataset (no loop over rows)."""
    m, codes, scores, tokens = len(arrays.sources), arrays.src_codes, arrays.scores, arrays.tokens
    kept_src, kept_scores = codes[kept], scores[kept]
    rows = np.bincount(codes, minlength=m)
    n_kept = np.bincount(kept_src, minlength=m)
    unscored = np.bincount(codes[arrays.unscored], minlength=m)
    dropped = np.bincount(codes[arrays.dropped], minlength=m)
    score_sum = np.bincount(kept_src, weights=kept_scores, minlength=m)
    lowest = _min_per_code(kept_src, kept_scores, m)
    tok = tok_kept = None
    if tokens is not None:
        tok = np.bincount(codes, weights=tokens, minlength=m)
        tok_kept = np.bincount(kept_src, weights=tokens[kept], minlength=m)
    return {
        src: SourceStats(
            source=src,
            key=keys[key_of_src[i]],
            rows=int(rows[i]),
            unscored=int(unscored[i]),
            dropped=int(dropped[i]),
            kept=int(n_kept[i]),
            tokens=None if tok is None else int(tok[i]),
            tokens_kept=None if tok_kept is None else int(tok_kept[i]),
            cut_score=float(lowest[i]) if n_kept[i] else None,
            mean_score_kept=float(score_sum[i] / n_kept[i]) if n_kept[i] else None,
        )
        for i, src in enumerate(arrays.sources)
    }
