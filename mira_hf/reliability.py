"""Teacher–student agreement per (source × dimension), the reliability mask, and record aggregation.

Stage 3 of MIRA. On a validation split scored by both the teacher and the student, :func:`agreement`
measures MAE, Spearman ρ, Pearson r and the share within one point per dimension and per source, and marks
a cell reliable when ``mae <= mae_max`` and ``spearman >= spearman_min`` with ``support >= min_support``.
:func:`aggregate` then turns each record's reliable dimension scores into one ``mira_quality``.

Everything is vectorised: scores become a ``(rows × dimensions)`` float64 matrix with NaN for missing
values, and the statistics are column operations on it (one pass per source, never per row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import rankdata

from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.rubric import Rubric, load_rubric

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

#: Default thresholds. The public write-ups only illustrate them (MAE 0.35–1.0, ρ 0.4), so they are parameters.
DEFAULT_MAE_MAX = 1.0
DEFAULT_SPEARMAN_MIN = 0.4
DEFAULT_MIN_SUPPORT = 30
#: Mask key that applies to every source (used when agreement was measured without ``sources``).
ANY_SOURCE = "*"
#: Per-dimension statistics, in the order results list them.
STAT_NAMES: tuple[str, ...] = ("mae", "spearman", "pearson", "within_1", "support")
#: Threshold comparisons are inclusive, with this much slack for floating-point rounding.
_TOLERANCE = 1e-9

Method = Literal["trimmed_mean", "mean", "weighted"]
Default = Literal["all", "none"]


# --------------------------------------------------------------------------------------------------------------
# Inputs → matrices
# --------------------------------------------------------------------------------------------------------------


def _arrow_of(values: Any) -> pa.Array | pa.ChunkedArray | None:
    """The Arrow array behind ``values`` when it has one (Arrow arrays, ``datasets`` columns), else ``None``."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    source = getattr(values, "source", None)
    name = getattr(values, "column_name", None)
    if name is not None and hasattr(source, "select_columns") and hasattr(source, "with_format"):
        return source.select_columns([name]).with_format("arrow")[:][name]  # a datasets Column, zero-copy
    return None


def _list_array_to_matrix(arr: pa.Array | pa.ChunkedArray, n_dims: int | None, what: str) -> np.ndarray:
    """Arrow ``list<number>`` → ``(rows, n_dims)`` float64; a null or empty row becomes all-NaN."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
        raise ConfigurationError(f"{what} must hold one list of scores per record; got Arrow type {arr.type}.")
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    if n_dims is None:
        n_dims = int(lengths.max()) if len(lengths) else 0
    bad = np.flatnonzero((lengths != n_dims) & (lengths != 0))
    if bad.size:
        i = int(bad[0])
        raise ConfigurationError(
            f"{what}[{i}] has {int(lengths[i])} scores but the rubric has {n_dims} slots; give one value per slot "
            f"(None or NaN where missing) or pass the matching `rubric=`."
        )
    try:
        flat = pc.fill_null(arr.flatten().cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ConfigurationError(f"{what} must contain numbers (None or NaN where missing): {e}") from None
    out = np.full((len(arr), n_dims), np.nan)
    out[lengths == n_dims] = flat.reshape(-1, n_dims) if n_dims else flat.reshape(0, 0)
    return out


def score_matrix(values: Any, n_dims: int | None = None, *, what: str = "scores") -> np.ndarray:
    """Per-record score lists → a ``(rows, n_dims)`` float64 matrix with NaN where a value is missing.

    Accepts a 2-D array, a list of lists (``None``/NaN for missing, a ``None`` or empty row for "no scores"),
    a ``pyarrow`` list array, or a ``datasets`` column.

    Example:
        >>> score_matrix([[7, None], None], 2)
        array([[ 7., nan],
               [nan, nan]])
    """
    arrow = _arrow_of(values)
    if arrow is not None:
        return _list_array_to_matrix(arrow, n_dims, what)
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.ndim != 2 or (n_dims is not None and values.shape[1] != n_dims):
            raise ConfigurationError(
                f"{what} has shape {values.shape}; expected (records, {n_dims if n_dims is not None else 'slots'})."
            )
        return values.astype(np.float64, copy=False)
    if not isinstance(values, (list, tuple, np.ndarray)):
        values = list(values)
    try:
        out = np.array(values, dtype=np.float64)
        if out.ndim == 2 and (n_dims is None or out.shape[1] == n_dims):
            return out
        if out.ndim == 1 and out.size == 0:
            return np.empty((0, n_dims or 0))
    except (ValueError, TypeError):
        pass  # ragged rows, None rows or bad values: Arrow says exactly which
    try:
        arrow = pa.array(list(values), type=pa.list_(pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise ConfigurationError(
            f"{what} must be one list of numbers per record (None or NaN where missing): {e}"
        ) from None
    return _list_array_to_matrix(arrow, n_dims, what)


def _encode_sources(sources: Any, n_rows: int, what: str = "sources") -> tuple[np.ndarray, list[str]]:
    """Strings per row → (integer code per row, sorted unique names)."""
    arrow = _arrow_of(sources)
    if arrow is None:
        arrow = pa.array(list(sources) if not isinstance(sources, (list, np.ndarray)) else sources)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if len(arrow) != n_rows:
        raise ConfigurationError(f"{what} has {len(arrow)} values but there are {n_rows} records; give one per record.")
    if arrow.null_count:
        i = int(np.flatnonzero(arrow.is_null().to_numpy(zero_copy_only=False))[0])
        raise ConfigurationError(f"{what}[{i}] is null; every record needs a source name.")
    arrow = pc.dictionary_encode(arrow.cast(pa.string()))  # also re-encodes a dictionary column's used values
    names = [str(s) for s in arrow.dictionary.to_pylist()]
    order = np.argsort(np.array(names, dtype=object), kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    codes = rank[arrow.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    return codes, [names[i] for i in order]


# --------------------------------------------------------------------------------------------------------------
# Statistics (pure functions on matrices)
# --------------------------------------------------------------------------------------------------------------


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


def _cell_stats(pred: np.ndarray, ref: np.ndarray, pred_codes: tuple[np.ndarray, int] | None,
                ref_codes: tuple[np.ndarray, int] | None) -> dict[str, np.ndarray]:
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


# --------------------------------------------------------------------------------------------------------------
# The mask as a value that travels with the data
# --------------------------------------------------------------------------------------------------------------


class SourceStats(BaseModel):
    """Per-dimension agreement of one source (lists in slot order; ``None`` where undefined)."""

    model_config = ConfigDict(extra="forbid")

    n_records: int = Field(ge=0)
    mae: list[float | None]
    spearman: list[float | None]
    pearson: list[float | None]
    within_1: list[float | None]
    support: list[int]


class Reliability(BaseModel):
    """Which (source, dimension) cells are reliable, with the thresholds and statistics that decided it.

    Example:
        >>> rel = Reliability(dimensions=["a", "b"], mask={"swe_qa": [True, False]})
        >>> rel.is_reliable("swe_qa", "A1"), rel.is_reliable("swe_qa", "b")
        (True, False)
    """

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = 1
    rubric: str | None = None
    dimensions: list[str]
    mae_max: float = DEFAULT_MAE_MAX
    spearman_min: float = DEFAULT_SPEARMAN_MIN
    min_support: int = DEFAULT_MIN_SUPPORT
    mask: dict[str, list[bool]]
    stats: dict[str, SourceStats] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_lengths(self) -> "Reliability":
        d = len(self.dimensions)
        for source, row in self.mask.items():
            if len(row) != d:
                raise ValueError(f"mask[{source!r}] has {len(row)} values but there are {d} dimensions")
        for source, s in self.stats.items():
            for name in STAT_NAMES:
                if len(getattr(s, name)) != d:
                    raise ValueError(f"stats[{source!r}].{name} has {len(getattr(s, name))} values, expected {d}")
        return self

    @property
    def sources(self) -> list[str]:
        return list(self.mask)

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> "Reliability":
        """Build from the dict :func:`agreement` / ``metric.compute`` returns."""
        try:
            stats = dict(result.get("by_source") or {})
            if not stats and ANY_SOURCE in result["mask"]:
                stats = {ANY_SOURCE: {k: result[k] for k in (*STAT_NAMES, "n_records")}}
            return cls(
                rubric=result.get("rubric"),
                dimensions=list(result["dimensions"]),
                mae_max=result["mae_max"],
                spearman_min=result["spearman_min"],
                min_support=result["min_support"],
                mask={k: list(v) for k, v in result["mask"].items()},
                stats=stats,
            )
        except (KeyError, TypeError, ValidationError) as e:
            raise ConfigurationError(
                f"not an agreement result ({e}); pass what `mira_agreement` / `mira_hf.agreement` returned."
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write as JSON (so the mask travels with the selected data)."""
        path = Path(path)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Reliability":
        """Read a file written by :meth:`save`."""
        path = Path(path)
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"no reliability file at {path}; write one with Reliability.save().") from None
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "<file>"
            raise ConfigurationError(f"{path} is not a reliability file: {where}: {err['msg']}") from None

    def _slot_index(self, slot: str | int) -> int:
        if isinstance(slot, (int, np.integer)):
            i = int(slot)
        elif isinstance(slot, str) and slot in self.dimensions:
            i = self.dimensions.index(slot)
        elif isinstance(slot, str) and slot[:1] == "A" and slot[1:].isdigit():
            i = int(slot[1:]) - 1
        else:
            raise ConfigurationError(f"unknown dimension {slot!r}; use a slot 'A1'..'A{len(self.dimensions)}', "
                                     f"a 0-based index or a dimension name.")
        if not 0 <= i < len(self.dimensions):
            raise ConfigurationError(f"slot {slot!r} is out of range; there are {len(self.dimensions)} dimensions.")
        return i

    def for_source(self, source: str, default: Default | None = None) -> list[bool]:
        """The mask row of ``source`` (``"*"`` covers every source; ``default`` covers sources not in the mask)."""
        row = self.mask.get(source, self.mask.get(ANY_SOURCE))
        if row is not None:
            return list(row)
        if default is None:
            raise ConfigurationError(
                f"source {source!r} is not in the reliability mask (it has {sorted(self.mask)}); measure its "
                f"agreement or pass default='all' or default='none'."
            )
        return [default == "all"] * len(self.dimensions)

    def is_reliable(self, source: str, slot: str | int) -> bool:
        """Whether ``(source, slot)`` is reliable; ``slot`` is ``"A3"``, a 0-based index or a dimension name."""
        return self.for_source(source)[self._slot_index(slot)]

    def with_thresholds(self, *, mae_max: float | None = None, spearman_min: float | None = None,
                        min_support: int | None = None) -> "Reliability":
        """The same statistics under other thresholds (the mask is recomputed, nothing is re-measured)."""
        if not self.stats:
            raise ConfigurationError("this mask carries no statistics, so its thresholds cannot change.")
        t = {"mae_max": self.mae_max if mae_max is None else float(mae_max),
             "spearman_min": self.spearman_min if spearman_min is None else float(spearman_min),
             "min_support": self.min_support if min_support is None else int(min_support)}
        mask = {src: reliability_mask(s.mae, s.spearman, s.support, **t).tolist() for src, s in self.stats.items()}
        return self.model_copy(update={**t, "mask": mask})


def as_reliability(mask: Any, rubric: Rubric | None = None) -> Reliability:
    """A :class:`Reliability` from itself, an agreement result, a ``{source: [bool, ...]}`` dict or a JSON path."""
    if isinstance(mask, Reliability):
        return mask
    if isinstance(mask, (str, Path)):
        return Reliability.load(mask)
    if isinstance(mask, Mapping):
        if "mask" in mask and "dimensions" in mask:
            return Reliability.from_result(mask)
        rows = {str(k): [bool(b) for b in v] for k, v in mask.items()}
        widths = {len(v) for v in rows.values()}
        if len(widths) > 1:
            raise ConfigurationError(f"every mask row needs one boolean per dimension; got lengths {sorted(widths)}.")
        width = widths.pop() if widths else (len(rubric) if rubric is not None else 0)
        names = rubric.names if rubric is not None and len(rubric) == width else [f"A{i + 1}" for i in range(width)]
        return Reliability(rubric=rubric.name if rubric is not None else None, dimensions=names, mask=rows)
    raise ConfigurationError(
        f"mask must be a Reliability, an agreement result, a {{source: [bool, ...]}} dict or a path to a saved "
        f"Reliability; got {type(mask).__name__}."
    )


# --------------------------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------------------------


def quality_scores(scores: np.ndarray, reliable: np.ndarray, *, method: Method = "trimmed_mean", trim: float = 0.1,
                   weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """One score per row from its reliable, non-missing dimensions; NaN when there are none.

    ``trimmed_mean`` follows ``scipy.stats.trim_mean`` on each row's k usable values: ``int(trim * k)`` values
    are cut from each end (with ``trim=0.1``: none below 10 values, one from each end for 10–15).

    Example:
        >>> s = np.array([[1.0, 5.0, 9.0, np.nan]])
        >>> quality_scores(s, np.array([[True, True, False, True]]), method="mean").tolist()
        [3.0]
    """
    if not 0 <= trim < 0.5:
        raise ConfigurationError(f"trim must be in [0, 0.5); got {trim}.")
    usable = reliable & ~np.isnan(scores)
    k = usable.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "mean":
            return np.where(usable, scores, 0.0).sum(1) / k
        if method == "weighted":
            if weights is None:
                raise ConfigurationError("method='weighted' needs weights (the rubric's cluster sizes).")
            w = np.where(usable, np.asarray(weights, dtype=np.float64), 0.0)
            return (w * np.where(usable, scores, 0.0)).sum(1) / w.sum(1)
        if method == "trimmed_mean":
            ordered = np.sort(np.where(usable, scores, np.nan), axis=1)  # NaN sorts last
            cut = (trim * k).astype(np.int64)
            pos = np.arange(scores.shape[1])
            keep = (pos >= cut[:, None]) & (pos < (k - cut)[:, None])
            return np.where(keep, ordered, 0.0).sum(1) / (k - 2 * cut)
    raise ConfigurationError(f"unknown method {method!r}; use 'trimmed_mean', 'mean' or 'weighted'.")


def aggregate(
    ds: "Dataset",
    mask: Any,
    *,
    method: Method = "trimmed_mean",
    trim: float = 0.1,
    scores_column: str = "mira_scores",
    source_column: str = "source",
    rubric: str | Path | Rubric = "agent-group4",
    default: Default | None = None,
    quality_column: str = "mira_quality",
    reason_column: str = "mira_quality_reason",
) -> "Dataset":
    """Add ``mira_quality`` (float32) and ``mira_quality_reason`` from each row's reliable dimensions.

    ``mask`` is a :class:`Reliability`, an agreement result, its ``["mask"]`` dict or a saved JSON path. Rows
    whose source is not in the mask raise, unless ``default="all"`` (every dimension reliable) or ``"none"``.
    A row with no reliable scored dimension gets a null quality and a reason. Columns are read and added with
    Arrow (no row is materialised in Python), so a memory-mapped dataset stays on disk.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"mira_scores": [[8.0, 6.0], [None, 2.0]], "source": ["a", "a"]})
        >>> out = aggregate(ds, {"a": [True, False]}, rubric=None, method="mean")
        >>> out["mira_quality"][:], out["mira_quality_reason"][1][:28]
        ([8.0, None], 'none of the reliable dimensi')
    """
    if method not in ("trimmed_mean", "mean", "weighted"):
        raise ConfigurationError(f"unknown method {method!r}; use 'trimmed_mean', 'mean' or 'weighted'.")
    if default not in (None, "all", "none"):
        raise ConfigurationError(f"default must be None, 'all' or 'none'; got {default!r}.")
    rub = _rubric_or_none(rubric)
    rel = as_reliability(mask, rub)
    n_dims = len(rel.dimensions)
    if rub is not None:
        if len(rub) != n_dims:
            raise ConfigurationError(f"the mask has {n_dims} dimensions but rubric {rub.name!r} has {len(rub)}; "
                                     f"pass the rubric the agreement was measured with.")
        if rel.rubric is not None and rel.dimensions != rub.names:
            raise ConfigurationError(f"the mask's dimensions ({rel.rubric!r}) differ from rubric {rub.name!r}'s.")
    if method == "weighted" and rub is None:
        raise ConfigurationError("method='weighted' weighs by the rubric's cluster sizes; pass `rubric=`.")

    cols = ds.column_names
    if scores_column not in cols:
        raise ColumnNotFoundError(f"no column {scores_column!r} (columns: {cols}); score the dataset first or pass "
                                  f"scores_column=.")
    has_source = source_column in cols
    if not has_source and not (ANY_SOURCE in rel.mask or default is not None):
        raise ColumnNotFoundError(f"no column {source_column!r} (columns: {cols}); pass source_column=, or a mask "
                                  f"measured without sources, or default='all'|'none'.")
    table = ds.select_columns([scores_column] + ([source_column] if has_source else [])).with_format("arrow")[:]
    scores = score_matrix(table.column(scores_column), n_dims, what=scores_column)
    n = scores.shape[0]

    # One mask row per distinct source, then gathered per record.
    if has_source:
        col = table.column(source_column)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        encoded = pc.dictionary_encode(col.cast(pa.string()))
        names = encoded.dictionary.to_pylist()
        codes = pc.fill_null(encoded.indices, len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
        names.append(None)  # null sources
    else:
        names, codes = [None], np.zeros(n, dtype=np.int64)
    present = np.bincount(codes, minlength=len(names)) > 0
    rows, notes = [], []
    missing = []
    for name, used in zip(names, present):
        key = ANY_SOURCE if name is None and not has_source else name
        if not used:
            rows.append([False] * n_dims)
            notes.append(None)
        elif key in rel.mask or ANY_SOURCE in rel.mask:
            rows.append(rel.for_source(key))
            notes.append(None)
        elif default is None:
            missing.append(key)
        else:
            rows.append([default == "all"] * n_dims)
            notes.append(f"source {key!r} is not in the mask (default={default!r})" if key is not None
                         else f"the source is null (default={default!r})")
    if missing:
        shown = ", ".join("null" if m is None else repr(m) for m in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ConfigurationError(
            f"{len(missing)} source(s) of the dataset are not in the reliability mask: {shown}; the mask has "
            f"{sorted(rel.mask)}. Measure their agreement, or pass default='all' (trust every dimension) or "
            f"default='none' (no quality for them)."
        )
    source_mask = np.array(rows, dtype=bool).reshape(len(names), n_dims)
    reliable = source_mask[codes]

    weights = np.asarray(rub.cluster_sizes, dtype=np.float64) if rub is not None else None
    quality = quality_scores(scores, reliable, method=method, trim=trim, weights=weights)

    # Reasons: one string per (case, source), gathered with a single Arrow `take`.
    texts: list[str] = []
    reason = np.full(n, -1, dtype=np.int64)
    null_rows = np.flatnonzero(np.isnan(quality))
    null_codes = codes[null_rows]
    unscored = np.isnan(scores[null_rows]).all(1)
    for s in np.unique(null_codes).tolist():
        name = names[s]
        label = "this dataset" if not has_source else f"source {name!r}" if name is not None else "a null source"
        in_source = null_codes == s
        if not source_mask[s].any():
            texts.append(notes[s] or f"{label} has no reliable dimension in the mask")
            reason[null_rows[in_source]] = len(texts) - 1
            continue
        texts.append("no scores: every dimension is null (see mira_status)")
        reason[null_rows[in_source & unscored]] = len(texts) - 1
        texts.append(f"none of the reliable dimensions of {label} were scored in this row")
        reason[null_rows[in_source & ~unscored]] = len(texts) - 1
    reason_arr = pc.take(pa.array(texts, type=pa.string()), pa.array(reason, mask=reason < 0))
    quality_arr = pa.array(quality.astype(np.float32), mask=np.isnan(quality))

    from datasets import Value

    out = ds.remove_columns([c for c in (quality_column, reason_column) if c in cols])
    out = out.add_column(quality_column, quality_arr, feature=Value("float32"))
    return out.add_column(reason_column, reason_arr, feature=Value("string"))

