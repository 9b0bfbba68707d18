"""Teacher–student agreement per (source × dimension) with the reliability mask, from scores or raw texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.reliability.constants import (
    ANY_SOURCE,
    DEFAULT_MAE_MAX,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_SPEARMAN_MIN,
    STAT_NAMES,
)
from mira_hf.reliability.matrices import _encode_sources, score_matrix
from mira_hf.reliability.stats import (
    _cell_stats,
    _level_codes,
    _slice_codes,
    recommendation_agreement,
    reliability_mask,
)
from mira_hf.rubric import Rubric, load_rubric

def _listify(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values.tolist()]


def _macro(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _stats_dict(stats: dict[str, np.ndarray], n_records: int) -> dict[str, Any]:
    out: dict[str, Any] = {k: _listify(stats[k]) for k in STAT_NAMES if k != "support"}
    out["support"] = [int(v) for v in stats["support"].tolist()]
    out["n_records"] = int(n_records)
    return out


def _rubric_or_none(rubric: str | Path | Rubric | None) -> Rubric | None:
    return None if rubric is None else load_rubric(rubric)


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
) -> dict[str, Any]:
    """Teacher–student agreement per dimension and per source, with the reliability mask.

    ``predictions`` (student) and ``references`` (teacher) hold one list of scores per record, one value per
    rubric slot (``None``/NaN where missing); every statistic uses the rows where both sides have a value.
    Without ``sources`` the mask has a single key ``"*"`` that applies to every source.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> teacher = rng.integers(0, 11, (200, 15)).astype(float)
        >>> student = np.clip(teacher + rng.integers(-1, 2, teacher.shape), 0, 10)
        >>> result = agreement(student, teacher, sources=["swe_qa"] * 200)
        >>> result["mask"]["swe_qa"][:3], round(result["macro_mae"], 2)
        ([True, True, True], 0.59)
    """
    if min_support < 1:
        raise ConfigurationError(f"min_support must be at least 1; got {min_support}.")
    rub = _rubric_or_none(rubric)
    n_dims = len(rub) if rub is not None else None
    pred = score_matrix(predictions, n_dims, what="predictions")
    ref = score_matrix(references, pred.shape[1] if n_dims is None else n_dims, what="references")
    if pred.shape != ref.shape:
        raise ConfigurationError(
            f"predictions has {pred.shape[0]} records and references {ref.shape[0]}; they must be paired row by row."
        )
    n_rows, n_dims = pred.shape
    names = rub.names if rub is not None else [f"A{i + 1}" for i in range(n_dims)]
    thresholds = {"mae_max": float(mae_max), "spearman_min": float(spearman_min), "min_support": int(min_support)}

    source_names: list[str] = []
    bounds = np.array([0, n_rows])
    if sources is not None:  # group rows by source once; every statistic is order-free
        codes, source_names = _encode_sources(sources, n_rows)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(source_names) + 1))
        pred, ref = pred[order], ref[order]
    p_codes, r_codes = _level_codes(pred), _level_codes(ref)
    overall = _cell_stats(pred, ref, p_codes, r_codes)
    by_source: dict[str, dict[str, Any]] = {}
    mask: dict[str, list[bool]] = {}
    if sources is None:
        mask[ANY_SOURCE] = reliability_mask(overall["mae"], overall["spearman"], overall["support"],
                                            **thresholds).tolist()
    for i, name in enumerate(source_names):
        rows = slice(int(bounds[i]), int(bounds[i + 1]))
        stats = _cell_stats(pred[rows], ref[rows], _slice_codes(p_codes, rows), _slice_codes(r_codes, rows))
        by_source[name] = _stats_dict(stats, rows.stop - rows.start)
        mask[name] = reliability_mask(stats["mae"], stats["spearman"], stats["support"], **thresholds).tolist()

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
    if (prediction_recommendations is None) != (reference_recommendations is None):
        raise ConfigurationError(
            "give both prediction_recommendations and reference_recommendations, or neither."
        )
    if prediction_recommendations is not None:
        if len(prediction_recommendations) != n_rows:
            raise ConfigurationError(
                f"prediction_recommendations has {len(prediction_recommendations)} values but there are "
                f"{n_rows} records; give one per record (None where missing)."
            )
        result.update(recommendation_agreement(prediction_recommendations, reference_recommendations))
    return result


def texts_to_scores(texts: Sequence[str | None], rubric: str | Path | Rubric = "agent-group4"
                    ) -> tuple[np.ndarray, list[str | None]]:
    """Parse raw scorer outputs with :func:`mira_hf.parse.parse_output` → (score matrix, recommendations).

    Example:
        >>> m, recs = texts_to_scores(["not a score card"])
        >>> int(np.isnan(m).sum()), recs
        (15, [None])
    """
    from mira_hf.parse import parse_output

    rub = load_rubric(rubric)
    cards = [parse_output(t, rub) if isinstance(t, str) else None for t in texts]
    empty = [None] * len(rub)
    matrix = np.array([c.scores if c is not None else empty for c in cards], dtype=np.float64).reshape(-1, len(rub))
    return matrix, [c.recommendation if c is not None else None for c in cards]


def agreement_from_texts(
    predictions: Sequence[str | None],
    references: Sequence[str | None],
    *,
    rubric: str | Path | Rubric = "agent-group4",
    prediction_recommendations: Sequence[str | None] | None = None,
    reference_recommendations: Sequence[str | None] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`agreement` on raw model texts (student, teacher); recommendations come from the texts too.

    Example:
        >>> agreement_from_texts(["junk"], ["junk"], min_support=1)["support"][0]
        0
    """
    if len(predictions) != len(references):
        raise ConfigurationError(
            f"predictions has {len(predictions)} texts and references {len(references)}; pair them row by row."
        )
    pred, pred_recs = texts_to_scores(predictions, rubric)
    ref, ref_recs = texts_to_scores(references, rubric)
    return agreement(
        pred, ref, rubric=rubric,
        prediction_recommendations=pred_recs if prediction_recommendations is None else prediction_recommendations,
        reference_recommendations=ref_recs if reference_recommendations is None else reference_recommendations,
        **kwargs,
    )
