"""Aggregation: one ``mira_quality`` per record from its reliable dimensions (stage 3 → 4 of MIRA)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf._util.arrow import rows_table, source_codes
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.reliability.agreement import _rubric_or_none
from mira_hf.reliability.constants import ANY_SOURCE, Default, Method
from mira_hf.reliability.matrices import score_matrix
from mira_hf.reliability.model import Reliability, as_reliability
from mira_hf.rubric import Rubric

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


def quality_scores(
    scores: np.ndarray,
    reliable: np.ndarray,
    *,
    method: Method = "trimmed_mean",
    trim: float = 0.1,
    weights: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
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
    ds: Dataset,
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
) -> Dataset:
    """Add ``mira_quality`` (float32) and ``mira_quality_reason`` from each row's reliable dimensions.

    ``mask`` is a [`Reliability`][mira_hf.reliability.Reliability], an agreement result, its ``["mask"]`` dict or a
    saved JSON path. Rows whose source is not in the mask raise, unless ``default="all"`` (every dimension reliable) or
    ``"none"``. A row with no reliable scored dimension gets a null quality and a reason. Columns are read and added
    with Arrow (no row is materialised in Python), so a memory-mapped dataset stays on disk.

    Example:
        >>> from datasets import Dataset
        >>> scores = [[8.0, 6.0], [None, 2.0]]
        >>> ds = Dataset.from_dict({"mira_scores": scores, "source": ["a", "a"]})
        >>> out = aggregate(ds, {"a": [True, False]}, rubric=None, method="mean")
        >>> out["mira_quality"][:], out["mira_quality_reason"][1][:28]
        ([8.0, None], 'none of the reliable dimensi')
    """
    rub, rel = _checked_mask(mask, rubric, method, default)
    n_dims = len(rel.dimensions)
    scores, codes, names = _read_columns(ds, rel, n_dims, scores_column, source_column, default)
    has_source = source_column in ds.column_names
    source_mask, notes = _source_masks(rel, names, codes, n_dims, has_source, default)
    weights = np.asarray(rub.cluster_sizes, dtype=np.float64) if rub is not None else None
    quality = quality_scores(scores, source_mask[codes], method=method, trim=trim, weights=weights)
    reason_arr = _reasons(quality, scores, codes, names, source_mask, notes, has_source)
    quality_arr = pa.array(quality.astype(np.float32), mask=np.isnan(quality))

    from datasets import Value

    out = ds.remove_columns([c for c in (quality_column, reason_column) if c in ds.column_names])
    out = out.add_column(quality_column, quality_arr, feature=Value("float32"))
    return out.add_column(reason_column, reason_arr, feature=Value("string"))


def _checked_mask(
    mask: Any, rubric: str | Path | Rubric | None, method: Method, default: Default | None
) -> tuple[Rubric | None, Reliability]:
    """(rubric, mask) once the options are valid and the mask's dimensions are the rubric's."""
    if method not in ("trimmed_mean", "mean", "weighted"):
        raise ConfigurationError(f"unknown method {method!r}; use 'trimmed_mean', 'mean' or 'weighted'.")
    if default not in (None, "all", "none"):
        raise ConfigurationError(f"default must be None, 'all' or 'none'; got {default!r}.")
    rub = _rubric_or_none(rubric)
    rel = as_reliability(mask, rub)
    n_dims = len(rel.dimensions)
    if rub is not None:
        if len(rub) != n_dims:
            raise ConfigurationError(
                f"the mask has {n_dims} dimensions but rubric {rub.name!r} has {len(rub)}; "
                f"pass the rubric the agreement was measured with."
            )
        if rel.rubric is not None and rel.dimensions != rub.names:
            raise ConfigurationError(f"the mask's dimensions ({rel.rubric!r}) differ from rubric {rub.name!r}'s.")
    if method == "weighted" and rub is None:
        raise ConfigurationError("method='weighted' weighs by the rubric's cluster sizes; pass `rubric=`.")
    return rub, rel


def _read_columns(
    ds: Dataset, rel: Reliability, n_dims: int, scores_column: str, source_column: str, default: Default | None
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """(score matrix, source code per row, source names): names in first-seen order, then ``None`` for nulls.

    Without a source column every row has code 0 and the one name ``None``.
    """
    cols = ds.column_names
    if scores_column not in cols:
        raise ColumnNotFoundError(
            f"no column {scores_column!r} (columns: {cols}); score the dataset first or pass scores_column=.",
            cli=f"no column {scores_column!r} (columns: {cols}); score the dataset first (`mira-hf score`).",
        )
    has_source = source_column in cols
    if not has_source and not (ANY_SOURCE in rel.mask or default is not None):
        raise ColumnNotFoundError(
            f"no column {source_column!r} (columns: {cols}); pass source_column=, or a mask "
            f"measured without sources, or default='all'|'none'.",
            code="MIRA-E203",
            cli=f"no column {source_column!r} (columns: {cols}); pass source_column= with the column naming each "
            "row's source, or a mask measured without sources (`mira-hf agree --source-column ''`).",
        )
    table = rows_table(ds, [scores_column] + ([source_column] if has_source else []))
    scores = score_matrix(table.column(scores_column), n_dims, what=scores_column)
    if not has_source:
        return scores, np.zeros(scores.shape[0], dtype=np.int64), [None]
    codes, found = source_codes(table.column(source_column), source_column, nulls="last", sort=False)
    return scores, codes, [*found, None]  # null sources get the last code


def _source_masks(
    rel: Reliability,
    names: list[str | None],
    codes: np.ndarray,
    n_dims: int,
    has_source: bool,
    default: Default | None,
) -> tuple[np.ndarray, list[str | None]]:
    """One mask row per source name (``(names, dims)``) and a note per name that ``default`` filled in."""
    present = np.bincount(codes, minlength=len(names)) > 0
    rows: list[list[bool]] = []
    notes: list[str | None] = []
    missing = []
    for name, used in zip(names, present):
        key = ANY_SOURCE if name is None and not has_source else name
        if not used:
            rows.append([False] * n_dims)
            notes.append(None)
        elif key in rel.mask or ANY_SOURCE in rel.mask:
            rows.append(rel.for_source(key))  # type: ignore[arg-type]
            notes.append(None)
        elif default is None:
            missing.append(key)
        else:
            rows.append([default == "all"] * n_dims)
            notes.append(
                f"source {key!r} is not in the mask (default={default!r})"
                if key is not None
                else f"the source is null (default={default!r})"
            )
    if missing:
        shown = ", ".join("null" if m is None else repr(m) for m in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ConfigurationError(
            f"{len(missing)} source(s) of the dataset are not in the reliability mask: {shown}; the mask has "
            f"{sorted(rel.mask)}. Measure their agreement, or pass default='all' (trust every dimension) or "
            f"default='none' (no quality for them)."
        )
    return np.array(rows, dtype=bool).reshape(len(names), n_dims), notes


def _reasons(
    quality: np.ndarray,
    scores: np.ndarray,
    codes: np.ndarray,
    names: list[str | None],
    source_mask: np.ndarray,
    notes: list[str | None],
    has_source: bool,
) -> pa.Array:
    """Why each null quality is null (null where there is a quality): one string per (case, source), one take."""
    texts: list[str] = []
    reason = np.full(len(quality), -1, dtype=np.int64)
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
    return pc.take(pa.array(texts, type=pa.string()), pa.array(reason, mask=reason < 0))
