"""Teacher–student agreement per (source × dimension) with the reliability mask, from scores or raw texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.reliability.bootstrap import cell_intervals
from mira_hf.reliability.constants import (
    ANY_SOURCE,
    DEFAULT_MAE_MAX,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_SPEARMAN_MIN,
    STAT_NAMES,
)
from mira_hf.reliability.matrices import _encode_sources
from mira_hf.reliability.stats import (
    _cell_stats,
    _level_codes,
    _slice_codes,
    cell_mask,
    recommendation_agreement,
)
from mira_hf.reliability.tables import (
    MAX_TABLE_LEVELS,
    Rows,
    check_failed,
    count_tables,
    find_grid,
    score_rows,
    table_stats,
)
from mira_hf.rubric import Rubric, load_rubric


def _listify(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values.tolist()]


def _macro(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


#: Interval statistics a bootstrap adds per dimension.
INTERVAL_NAMES: tuple[str, ...] = ("mae_low", "mae_high", "spearman_low", "spearman_high")


def _stats_dict(stats: dict[str, np.ndarray], n_records: int) -> dict[str, Any]:
    out: dict[str, Any] = {k: _listify(stats[k]) for k in STAT_NAMES if k != "support"}
    out["support"] = [int(v) for v in stats["support"].tolist()]
    out["n_records"] = int(n_records)
    out.update({k: _listify(stats[k]) for k in INTERVAL_NAMES if k in stats})
    if "parse_failures" in stats:
        out["parse_failures"] = [int(v) for v in stats["parse_failures"].tolist()]
    return out


def _rubric_or_none(rubric: str | Path | Rubric | None) -> Rubric | None:
    return None if rubric is None else load_rubric(rubric)


def _check_interval_options(bootstrap: Any, confidence: Any, seed: Any, mask_by: Any) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ConfigurationError(
            f"bootstrap={bootstrap!r}; give a number of resamples ≥ 0 (0 = no intervals, e.g. 1000)"
        )
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ConfigurationError(f"confidence={confidence!r}; give a level in (0, 1), e.g. 0.95")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigurationError(f"seed={seed!r}; give a whole number ≥ 0")
    if mask_by not in ("point", "bound"):
        raise ConfigurationError(
            f"mask_by={mask_by!r}; use 'point' (the estimates) or 'bound' (the interval's "
            "pessimistic bound: upper for MAE, lower for ρ)"
        )
    if mask_by == "bound" and bootstrap == 0:
        raise ConfigurationError(
            "mask_by='bound' judges cells by their confidence interval; pass bootstrap= (e.g. bootstrap=1000)",
            code="MIRA-E201",
        )


def _cells(
    pred: Rows,
    ref: Rows,
    codes: np.ndarray,
    n_sources: int,
    failed: np.ndarray | None,
    *,
    bootstrap: int,
    confidence: float,
    seed: int,
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Statistics of every dimension overall and per source (arrays of ``n_dims``), from tables when on a grid."""
    grids = find_grid(pred), find_grid(ref)
    if grids[0] is not None and grids[1] is not None:
        tables = count_tables(pred, ref, codes, n_sources, grids[0], grids[1], failed)
        pv, rv = grids[0].values, grids[1].values
        per = table_stats(tables.counts, pv, rv)
        both = table_stats(tables.counts.sum(0), pv, rv)
        if bootstrap:
            per.update(cell_intervals(tables.counts, pv, rv, resamples=bootstrap, confidence=confidence, seed=seed))
            both.update(
                cell_intervals(tables.counts.sum(0), pv, rv, resamples=bootstrap, confidence=confidence, seed=seed + 1)
            )
        if failed is not None:
            per["parse_failures"], both["parse_failures"] = tables.parse_failures, tables.parse_failures.sum(0)
        return both, [{k: v[i] for k, v in per.items()} for i in range(n_sources)]
    if bootstrap:
        raise ConfigurationError(
            "bootstrap intervals need scores on a whole- or half-point grid (at most "
            f"{MAX_TABLE_LEVELS} levels per side), as the scorers write them; round the scores "
            "or pass bootstrap=0"
        )
    return _matrix_cells(pred, ref, codes, n_sources, failed)


def _matrix_cells(
    pred: Rows, ref: Rows, codes: np.ndarray, n_sources: int, failed: np.ndarray | None
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Scores off the grid: whole float64 matrices, grouped by source once (every statistic is order-free)."""
    p = pred.chunk(0, pred.n_rows, np.float64)
    r = ref.chunk(0, ref.n_rows, np.float64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_sources + 1))
    p, r = p[order], r[order]
    fails = None if failed is None else failed[order][:, None] & np.isnan(p)
    p_codes, r_codes = _level_codes(p), _level_codes(r)
    overall = _cell_stats(p, r, p_codes, r_codes)
    per: list[dict[str, np.ndarray]] = []
    for i in range(n_sources):
        rows = slice(int(bounds[i]), int(bounds[i + 1]))
        per.append(_cell_stats(p[rows], r[rows], _slice_codes(p_codes, rows), _slice_codes(r_codes, rows)))
        if fails is not None:
            per[-1]["parse_failures"] = fails[rows].sum(0)
    if fails is not None:
        overall["parse_failures"] = fails.sum(0)
    return overall, per


def agreement(
    predictions: Any,
    references: Any,
    *,
    sources: Any = None,
    rubric: str | Path | Rubric | None = "agent-group4",
    mae_max: float = DEFAULT_MAE_MAX,
    spearman_min: float = DEFAULT_SPEARMAN_MIN,
    min_support: int = DEFAULT_MIN_SUPPORT,
    prediction_recommendations: Sequence[str | None] | None = None,
    reference_recommendations: Sequence[str | None] | None = None,
    statuses: Any = None,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    mask_by: Literal["point", "bound"] = "point",
) -> dict[str, Any]:
    """Teacher–student agreement per dimension and per source, with the reliability mask.

    ``predictions`` (student) and ``references`` (teacher) hold one list of scores per record, one value per
    rubric slot (``None``/NaN where missing); every statistic uses the rows where both sides have a value.
    Without ``sources`` the mask has a single key ``"*"`` that applies to every source. ``bootstrap=1000`` adds
    seeded percentile intervals at ``confidence`` for MAE and Spearman ρ per cell (``mae_low`` … ``spearman_high``);
    ``mask_by="bound"`` then keeps a cell only when the upper MAE bound and the lower ρ bound pass. ``statuses``
    (the student's ``mira_status`` per row) adds ``parse_failures``: rows whose output failed to parse
    (``parse_error`` or ``partial``) with no score in that dimension.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> teacher = rng.integers(0, 11, (200, 15)).astype(float)
        >>> student = np.clip(teacher + rng.integers(-1, 2, teacher.shape), 0, 10)
        >>> result = agreement(student, teacher, sources=["swe_qa"] * 200)
        >>> result["mask"]["swe_qa"][:3], round(result["macro_mae"], 2)
        ([True, True, True], 0.59)
        >>> result = agreement(student, teacher, sources=["swe_qa"] * 200, bootstrap=200)
        >>> cell = result["by_source"]["swe_qa"]
        >>> bool(cell["mae_low"][0] < cell["mae"][0] < cell["mae_high"][0])
        True
    """
    if min_support < 1:
        raise ConfigurationError(f"min_support must be at least 1; got {min_support}.")
    _check_interval_options(bootstrap, confidence, seed, mask_by)
    rub = _rubric_or_none(rubric)
    pred, ref = _paired_rows(predictions, references, len(rub) if rub is not None else None)
    n_rows, n_dims = pred.n_rows, pred.n_dims
    names = rub.names if rub is not None else [f"A{i + 1}" for i in range(n_dims)]
    thresholds = {"mae_max": float(mae_max), "spearman_min": float(spearman_min), "min_support": int(min_support)}

    source_names: list[str] = []
    codes = np.zeros(n_rows, dtype=np.int64)
    if sources is not None:
        codes, source_names = _encode_sources(sources, n_rows)
    failed = None if statuses is None else check_failed(statuses, n_rows)
    overall, per_source = _cells(
        pred,
        ref,
        codes,
        max(len(source_names), 1),
        failed,
        bootstrap=int(bootstrap),
        confidence=float(confidence),
        seed=int(seed),
    )
    by_source, mask = _masks(overall, per_source, source_names, codes, sources is None, mask_by, thresholds)
    result: dict[str, Any] = {
        "dimensions": list(names),
        "slots": [f"A{i + 1}" for i in range(n_dims)],
        "sources": source_names,
        "n_records": int(n_rows),
        **_stats_dict(overall, n_rows),
        **{f"macro_{k}": _macro(overall[k]) for k in ("mae", "spearman", "pearson", "within_1")},
        "by_source": by_source,
        "mask": mask,
        "reliable_cells": int(sum(sum(m) for m in mask.values())),
        "total_cells": int(len(mask) * n_dims),
        **thresholds,
        "rubric": rub.name if rub is not None else None,
    }
    if bootstrap:
        result.update(bootstrap=int(bootstrap), confidence=float(confidence), seed=int(seed), mask_by=mask_by)
    result.update(_recommendations(prediction_recommendations, reference_recommendations, n_rows))
    return result


def _paired_rows(predictions: Any, references: Any, n_dims: int | None) -> tuple[Rows, Rows]:
    """Both sides' score rows, checked to pair row by row with one value per slot each."""
    pred = score_rows(predictions, n_dims, what="predictions")
    ref = score_rows(references, pred.n_dims if n_dims is None else n_dims, what="references")
    if pred.n_rows != ref.n_rows:
        raise ConfigurationError(
            f"predictions has {pred.n_rows} records and references {ref.n_rows}; they must be paired row by row."
        )
    if pred.n_dims != ref.n_dims:
        raise ConfigurationError(
            f"predictions have {pred.n_dims} scores per record and references {ref.n_dims}; "
            "give one value per rubric slot on both sides."
        )
    return pred, ref


def _masks(
    overall: dict[str, np.ndarray],
    per_source: list[dict[str, np.ndarray]],
    source_names: list[str],
    codes: np.ndarray,
    any_source: bool,
    mask_by: str,
    thresholds: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], dict[str, list[bool]]]:
    """(statistics per source, mask per source); without sources one ``"*"`` mask row from the overall cells."""
    by_source: dict[str, dict[str, Any]] = {}
    mask: dict[str, list[bool]] = {}
    if any_source:
        mask[ANY_SOURCE] = cell_mask(overall, mask_by, **thresholds)
    counts = np.bincount(codes, minlength=len(source_names))
    for i, name in enumerate(source_names):
        by_source[name] = _stats_dict(per_source[i], int(counts[i]))
        mask[name] = cell_mask(per_source[i], mask_by, **thresholds)
    return by_source, mask


def _recommendations(
    predicted: Sequence[str | None] | None, reference: Sequence[str | None] | None, n_rows: int
) -> dict[str, Any]:
    """Accuracy and κ of the training recommendations when both sides give them (none when neither does)."""
    if (predicted is None) != (reference is None):
        raise ConfigurationError("give both prediction_recommendations and reference_recommendations, or neither.")
    if predicted is None or reference is None:
        return {}
    if len(predicted) != n_rows:
        raise ConfigurationError(
            f"prediction_recommendations has {len(predicted)} values but there are "
            f"{n_rows} records; give one per record (None where missing)."
        )
    return recommendation_agreement(predicted, reference)


def texts_to_scores(
    texts: Sequence[str | None], rubric: str | Path | Rubric = "agent-group4"
) -> tuple[np.ndarray, list[str | None]]:
    """Parse raw scorer outputs with [`mira_hf.answer.parse.parse_output`][mira_hf.answer.parse.parse_output] → (score
    matrix, recommendations).

    Example:
        >>> m, recs = texts_to_scores(["not a score card"])
        >>> int(np.isnan(m).sum()), recs
        (15, [None])
    """
    matrix, recs, _ = _parse_texts(texts, rubric)
    return matrix, recs


def _parse_texts(
    texts: Sequence[str | None], rubric: str | Path | Rubric
) -> tuple[np.ndarray, list[str | None], list[str | None]]:
    """(score matrix, recommendations, parse statuses) of raw outputs, each parsed once."""
    from mira_hf.answer.parse import parse_output

    rub = load_rubric(rubric)
    cards = [parse_output(t, rub) if isinstance(t, str) else None for t in texts]
    empty = [None] * len(rub)
    matrix = np.array([c.scores if c is not None else empty for c in cards], dtype=np.float64).reshape(-1, len(rub))
    return (
        matrix,
        [c.recommendation if c is not None else None for c in cards],
        [c.status if c is not None else None for c in cards],
    )


def agreement_from_texts(
    predictions: Sequence[str | None],
    references: Sequence[str | None],
    *,
    rubric: str | Path | Rubric = "agent-group4",
    prediction_recommendations: Sequence[str | None] | None = None,
    reference_recommendations: Sequence[str | None] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """[`agreement`][mira_hf.reliability.agreement.agreement] on raw model texts (student, teacher); recommendations
    come from the texts too.

    Example:
        >>> agreement_from_texts(["junk"], ["junk"], min_support=1)["support"][0]
        0
    """
    if len(predictions) != len(references):
        raise ConfigurationError(
            f"predictions has {len(predictions)} texts and references {len(references)}; pair them row by row."
        )
    pred, pred_recs, statuses = _parse_texts(predictions, rubric)
    ref, ref_recs = texts_to_scores(references, rubric)
    kwargs.setdefault("statuses", statuses)  # the student's texts say which rows failed to parse
    return agreement(
        pred,
        ref,
        rubric=rubric,
        prediction_recommendations=pred_recs if prediction_recommendations is None else prediction_recommendations,
        reference_recommendations=ref_recs if reference_recommendations is None else reference_recommendations,
        **kwargs,
    )
