"""Agreement statistics as pure functions on matrices: ranks by counting, MAE, Spearman, Pearson, the mask."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import rankdata

from mira_hf.errors import ConfigurationError
from mira_hf.reliability.constants import (
    _TOLERANCE,
    DEFAULT_MAE_MAX,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_SPEARMAN_MIN,
)

#: Beyond this many distinct values a matrix is ranked with ``scipy.stats.rankdata`` instead of by counting.
_MAX_LEVELS = 1 << 16


def _level_codes(x: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Order-preserving integer codes of the values (NaN → any code), or ``None`` when there are too many.

    Scores are usually whole or half points, so codes are ``2 * (x - min)``; otherwise ``np.unique`` levels.
    Codes let every group be ranked by counting (``np.bincount``) instead of sorting.
    """
    finite = ~np.isnan(x)
    if not finite.any():
        return np.zeros(x.shape, dtype=np.int64), 1
    lo, hi = float(np.fmin.reduce(x, axis=None)), float(np.fmax.reduce(x, axis=None))
    if np.isfinite(hi - lo) and (hi - lo) * 2 < _MAX_LEVELS:
        scaled = (x - lo) * 2.0
        whole = np.rint(scaled)
        if np.all((whole == scaled) | ~finite):
            return np.where(finite, whole, 0.0).astype(np.int64), int(whole[finite].max()) + 1
    levels = np.unique(x[finite])
    if len(levels) >= _MAX_LEVELS:
        return None
    return np.searchsorted(levels, np.where(finite, x, levels[0])), len(levels)


def _ranks(x: np.ndarray, valid: np.ndarray, codes: tuple[np.ndarray, int] | None) -> np.ndarray:
    """Average ranks (``scipy.stats.rankdata`` semantics) per column among the ``valid`` rows."""
    if codes is None:
        return rankdata(np.where(valid, x, np.nan), axis=0, nan_policy="omit")
    code, n_levels = codes
    n_dims = x.shape[1]
    bins = n_levels + 1  # one extra bin collects the invalid cells
    flat = np.where(valid, code, n_levels) + np.arange(n_dims) * bins
    counts = np.bincount(flat.ravel(), minlength=n_dims * bins).reshape(n_dims, bins)[:, :n_levels]
    below = np.cumsum(counts, axis=1) - counts
    table = np.concatenate([below + (counts + 1) / 2.0, np.zeros((n_dims, 1))], axis=1)
    return table.ravel()[flat]


def _column_corr(x: np.ndarray, y: np.ndarray, valid: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Pearson r per column over the rows where ``valid``; NaN when a side is constant or fewer than 2 rows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = np.where(valid, x, 0.0)
        dx -= dx.sum(0) / n
        dx[~valid] = 0.0
        dy = np.where(valid, y, 0.0)
        dy -= dy.sum(0) / n
        dy[~valid] = 0.0
        r = np.einsum("ij,ij->j", dx, dy) / np.sqrt(np.einsum("ij,ij->j", dx, dx) * np.einsum("ij,ij->j", dy, dy))
    r[_constant(x, valid) | _constant(y, valid) | (n < 2)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _constant(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Columns whose valid values are all equal (scipy reports NaN for those; so do we)."""
    v = np.where(valid, x, np.nan)
    return np.fmin.reduce(v, axis=0, initial=np.inf) == np.fmax.reduce(v, axis=0, initial=-np.inf)


def _cell_stats(
    pred: np.ndarray,
    ref: np.ndarray,
    pred_codes: tuple[np.ndarray, int] | None,
    ref_codes: tuple[np.ndarray, int] | None,
) -> dict[str, np.ndarray]:
    valid = ~(np.isnan(pred) | np.isnan(ref))
    n = valid.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(pred - ref)
        mae = np.where(valid, diff, 0.0).sum(0) / n
        within_1 = (diff <= 1.0).sum(0) / n  # NaN compares False
    spearman = _column_corr(_ranks(pred, valid, pred_codes), _ranks(ref, valid, ref_codes), valid, n)
    pearson = _column_corr(pred, ref, valid, n)
    return {"mae": mae, "spearman": spearman, "pearson": pearson, "within_1": within_1, "support": n}


def cell_stats(pred: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, Spearman ρ, Pearson r, share within 1 point and support per column, over rows where both have a value.

    Example:
        >>> s = cell_stats(np.array([[1.0], [2.0], [4.0]]), np.array([[1.0], [3.0], [np.nan]]))
        >>> s["mae"].tolist(), s["support"].tolist()
        ([0.5], [2])
    """
    return _cell_stats(pred, ref, _level_codes(pred), _level_codes(ref))


def _slice_codes(codes: tuple[np.ndarray, int] | None, rows: slice) -> tuple[np.ndarray, int] | None:
    return None if codes is None else (codes[0][rows], codes[1])


def reliability_mask(
    mae: Sequence[float | None] | np.ndarray,
    spearman: Sequence[float | None] | np.ndarray,
    support: Sequence[int] | np.ndarray,
    *,
    mae_max: float = DEFAULT_MAE_MAX,
    spearman_min: float = DEFAULT_SPEARMAN_MIN,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> np.ndarray:
    """Reliable cells: ``mae <= mae_max`` and ``spearman >= spearman_min`` and ``support >= min_support``.

    Inclusive thresholds; a missing (NaN / ``None``) MAE or ρ — e.g. a constant column — is never reliable.

    Example:
        >>> reliability_mask([0.5, 1.0, 0.2], [0.9, 0.4, None], [40, 30, 50]).tolist()
        [True, True, False]
    """
    m = np.array(mae, dtype=np.float64)
    s = np.array(spearman, dtype=np.float64)
    n = np.asarray(support)
    return (m <= mae_max + _TOLERANCE) & (s >= spearman_min - _TOLERANCE) & (n >= min_support)


def cell_mask(
    stats: Mapping[str, Any] | Any,
    mask_by: str,
    *,
    mae_max: float = DEFAULT_MAE_MAX,
    spearman_min: float = DEFAULT_SPEARMAN_MIN,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> list[bool]:
    """The mask of one cell group: its bootstrap bounds (``mask_by="bound"``) or its point estimates tested.

    ``stats`` is a dict of arrays or an object with the same attributes (``mae``, ``spearman``, ``support``
    and, for bounds, ``mae_high`` / ``spearman_low``: the pessimistic side of each interval).

    Example:
        >>> stats = {"mae": [0.5], "spearman": [0.9], "mae_high": [1.4], "spearman_low": [0.6], "support": [40]}
        >>> cell_mask(stats, "point"), cell_mask(stats, "bound")
        ([True], [False])
    """
    get = stats.__getitem__ if isinstance(stats, Mapping) else functools.partial(getattr, stats)
    bound = mask_by == "bound"
    mae, rho = (get("mae_high"), get("spearman_low")) if bound else (get("mae"), get("spearman"))
    cells = reliability_mask(
        mae, rho, get("support"), mae_max=mae_max, spearman_min=spearman_min, min_support=min_support
    )
    return [bool(b) for b in cells]


def recommendation_agreement(pred: Sequence[str | None], ref: Sequence[str | None]) -> dict[str, float | int | None]:
    """Accuracy and Cohen's κ on ``training_recommendation`` over pairs where both sides are given.

    Example:
        >>> recommendation_agreement(["keep", "drop", None], ["keep", "keep", "drop"])["recommendation_accuracy"]
        0.5
    """
    if len(pred) != len(ref):
        raise ConfigurationError(
            f"prediction_recommendations has {len(pred)} values and reference_recommendations {len(ref)}; "
            f"give one per record (None where missing)."
        )
    a = pa.array(list(pred), type=pa.string())
    b = pa.array(list(ref), type=pa.string())
    both = pc.and_(a.is_valid(), b.is_valid())
    a, b = a.filter(both), b.filter(both)
    n = len(a)
    if n == 0:
        return {"recommendation_accuracy": None, "recommendation_kappa": None, "recommendation_support": 0}
    labels = pc.unique(pa.concat_arrays([a, b]))
    ia = pc.index_in(a, value_set=labels).to_numpy(zero_copy_only=False)
    ib = pc.index_in(b, value_set=labels).to_numpy(zero_copy_only=False)
    k = len(labels)
    confusion = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k).astype(np.float64)
    observed = np.trace(confusion) / n
    expected = float(confusion.sum(1) @ confusion.sum(0)) / (n * n)
    kappa = (observed - expected) / (1.0 - expected) if expected < 1.0 else None
    return {"recommendation_accuracy": float(observed), "recommendation_kappa": kappa, "recommendation_support": n}
