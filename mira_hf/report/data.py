"""What the report shows, as numbers: the scored dataset and the selection reduced per source.

`summarize` reads only the columns it needs with Arrow and reduces them with numpy (per source, never per
row) into a `ReportData`; `read_selection` accepts a ``SelectionReport``, its JSON or a plain dict.
`mira_hf.report` draws and writes them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from mira_hf._util.arrow import rows_table, source_codes
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.scorecard import STATUSES

logger = logging.getLogger(__name__)

#: Used for the score plots when the requested score column (``mira_quality`` by default) is absent.
FALLBACK_SCORE_COLUMN = "mira_overall"
SCORES_COLUMN = "mira_scores"
STATUS_COLUMN = "mira_status"
TRUNCATED_COLUMN = "mira_truncated"
#: Label of rows whose source is null.
NULL_SOURCE = "(no source)"
#: Sources beyond this many (largest first) are left out of the per-source plots, never out of the tables.
MAX_PLOTTED_SOURCES = 24
#: Points on each retention curve.
CURVE_POINTS = 201
#: Percentiles drawn by the per-dimension boxes (whiskers at 5/95).
BOX_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------


class SourceSelection(BaseModel):
    """What a selection kept of one source (or group): rows, kept rows and the cut score."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    rows: int | None = Field(default=None, validation_alias=AliasChoices("rows", "n_rows", "total_rows"))
    kept: int = Field(validation_alias=AliasChoices("kept", "kept_rows", "n_kept"))
    cut_score: float | None = Field(default=None, validation_alias=AliasChoices("cut_score", "cut", "threshold"))


_ENTRY_KEYS = ("sources", "per_source", "by_source", "by_key", "groups", "entries")
_MASK_KEYS = ("reliability", "mask")


def _as_mapping(obj: Any, what: str) -> dict[str, Any]:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, Mapping):
        return dict(obj)
    raise ConfigurationError(
        f"{what} must be a pydantic model (with model_dump()) or a dict; got {type(obj).__name__}."
    )


def _entries(container: Any) -> dict[str, Any] | None:
    if isinstance(container, Mapping) and container and all(isinstance(v, Mapping) for v in container.values()):
        return {str(k): v for k, v in container.items()}
    if isinstance(container, Sequence) and not isinstance(container, str) and container:
        out = {}
        for item in container:
            if not isinstance(item, Mapping):
                return None
            name = next((item[k] for k in ("source", "name", "key", "group") if k in item), None)
            if name is None:
                return None
            out[str(name)] = item
        return out
    return None


@dataclass
class SelectionView:
    """What the report reads from a selection: per-source entries, cuts shared by several sources, the other
    parameters, and the reliability mask it carries (if any)."""

    entries: dict[str, SourceSelection]
    shared_cuts: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    mask: Any = None


def read_selection(selection: Any) -> SelectionView:
    """Read a ``SelectionReport`` (or its dict) into per-source entries, shared cuts, parameters and mask.

    Entries come from ``sources`` / ``per_source`` / ``by_source`` (a ``{name: {...}}`` dict or a list of dicts
    with a ``source`` key), or from the top level when every value is such an entry. ``cuts`` whose key is not
    a source (a group, or ``global``) become shared cuts.

    Example:
        >>> view = read_selection({"sources": {"swe_qa": {"rows": 10, "kept": 5, "cut_score": 6.5}}, "by": "source"})
        >>> view.entries["swe_qa"].kept, view.parameters
        (5, {'by': 'source'})
    """
    data = _as_mapping(selection, "selection")
    found_key, raw = None, None
    for key in _ENTRY_KEYS:
        raw = _entries(data.get(key))
        if raw is not None:
            found_key = key
            break
    if raw is None:
        raw = _entries(data)
        if raw is None or not all(any(a in v for a in ("kept", "kept_rows", "n_kept")) for v in raw.values()):
            raise ConfigurationError(
                "selection has no per-source entries; pass the SelectionReport that filter_by_retention returned, "
                "or a dict like {'sources': {'swe_qa': {'rows': 1000, 'kept': 500, 'cut_score': 6.5}}}.",
                cli="the --selection file has no per-source entries; pass the selection_report.json `mira-hf select` "
                "wrote.",
            )
        return SelectionView(entries=_parse_entries(raw))
    entries = _parse_entries(raw)
    shared: dict[str, float] = {}
    cuts = data.get("cuts")
    if isinstance(cuts, Mapping):
        for key, cut in cuts.items():
            value = cut.get("cut_score") if isinstance(cut, Mapping) else None
            if key not in entries and isinstance(value, (int, float)):
                shared[str(key)] = float(value)
    params = {k: v for k, v in data.items() if k not in (found_key, "cuts", *_MASK_KEYS)}
    mask = next((data[k] for k in _MASK_KEYS if data.get(k)), None)
    return SelectionView(entries=entries, shared_cuts=shared, parameters=params, mask=mask)


def _parse_entries(raw: Mapping[str, Any]) -> dict[str, SourceSelection]:
    out = {}
    for name, entry in raw.items():
        try:
            out[name] = SourceSelection.model_validate(entry)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigurationError(
                f"selection entry {name!r}: {where}: {err['msg']}; each entry needs at least `kept` "
                f"(and `rows`, `cut_score` where known)."
            ) from None
    return out


def _columns_of(ds: Any) -> list[str]:
    try:
        from datasets import DatasetDict, IterableDataset

        if isinstance(ds, DatasetDict):
            raise ConfigurationError(
                f"build_report needs one split, not a DatasetDict; pass e.g. ds[{next(iter(ds), 'train')!r}]."
            )
        if isinstance(ds, IterableDataset):
            raise ConfigurationError(
                "build_report needs a map-style Dataset (its columns are read with Arrow); "
                "save the scored stream with Dataset.from_generator or load it without streaming."
            )
    except ImportError:  # pragma: no cover - datasets is a dependency
        pass
    if isinstance(ds, pa.Table):
        return list(ds.column_names)
    if hasattr(ds, "select_columns") and hasattr(ds, "with_format"):
        return list(ds.column_names)
    raise ConfigurationError(f"build_report needs a datasets.Dataset or a pyarrow.Table; got {type(ds).__name__}.")


def _read_columns(ds: Any, columns: list[str]) -> tuple[pa.Table, int]:
    """The named columns as one Arrow table (respecting a filtered/shuffled ``Dataset``'s index map)."""
    if isinstance(ds, pa.Table):
        return ds.select(columns), ds.num_rows
    if not columns:
        return pa.table({}), len(ds)
    table = rows_table(ds, columns)
    return table, table.num_rows


def _array(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def encode_labels(arr: pa.Array, null_label: str, order: Sequence[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Strings per row → (code per row, labels): ``order`` first (always listed), then the rest sorted.

    Example:
        >>> codes, labels = encode_labels(pa.array(["b", None, "a", "b"]), "(null)")
        >>> codes.tolist(), labels
        ([1, 2, 0, 1], ['a', 'b', '(null)'])
    """
    codes, labels = source_codes(arr, nulls="last", order=order)  # null rows get the code after the last label
    return codes, (labels + [null_label] if arr.null_count else labels)


# --------------------------------------------------------------------------------------------------------------
# Summaries (numpy over columns, one pass per source)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ReportData:
    """Everything the report shows, reduced per source. Arrays are indexed ``[source]`` or ``[dim, source]``."""

    n_rows: int
    sources: list[str]
    rows: np.ndarray
    statuses: list[str] | None = None
    status_counts: np.ndarray | None = None  # (sources, statuses)
    truncated: np.ndarray | None = None  # (sources,) row counts
    score_column: str | None = None
    scores: list[np.ndarray] | None = None  # per source: sorted finite scores
    score_range: tuple[float, float] = (0.0, 10.0)
    slots: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    dim_means: np.ndarray | None = None  # (dims, sources)
    dim_missing: np.ndarray | None = None  # (dims, sources) share of null scores
    dim_quantiles: np.ndarray | None = None  # (dims, sources, 5)
    notes: list[str] = field(default_factory=list)


def retention_curve(sorted_scores: np.ndarray, n_rows: int, cuts: np.ndarray) -> np.ndarray:
    """Share of ``n_rows`` whose score is ≥ each cut (null scores are never kept), from sorted finite scores.

    Example:
        >>> retention_curve(np.array([1.0, 2.0, 2.0, 5.0]), 5, np.array([0.0, 2.0, 6.0])).tolist()
        [0.8, 0.6, 0.0]
    """
    if n_rows == 0:
        return np.zeros(len(cuts))
    return (len(sorted_scores) - np.searchsorted(sorted_scores, cuts, side="left")) / n_rows


def score_range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    """The axis range of a score: 0–10 (dimension / quality scale), 0–100 (``overall``), or the data's."""
    finite = [v for v in values if len(v)]
    if not finite:
        return 0.0, 10.0
    lo = min(float(v[0]) for v in finite)
    hi = max(float(v[-1]) for v in finite)
    lo = min(0.0, np.floor(lo))
    if hi <= 10:
        return lo, 10.0
    if hi <= 100:
        return lo, 100.0
    return lo, float(np.ceil(hi))


def _float_column(arr: pa.Array, name: str) -> np.ndarray:
    try:
        return pc.fill_null(arr.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ConfigurationError(f"column {name!r} must hold numbers; its Arrow type is {arr.type}.") from None


def _quiet_nan(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def summarize(
    ds: Any,
    *,
    rubric: str | Path | Rubric = "agent-group4",
    source_column: str | None = "source",
    score_column: str = "mira_quality",
) -> ReportData:
    """Reduce a scored dataset to per-source counts, score samples and per-dimension statistics.

    Reads only ``source``, ``mira_status``, ``mira_truncated``, the score column and ``mira_scores`` with Arrow;
    a missing ``mira_*`` column just leaves its part out (with a note). ``source_column=None`` treats every row
    as one source.

    Example:
        >>> from datasets import Dataset
        >>> data = summarize(Dataset.from_dict({"source": ["a", "b", "a"], "mira_status": ["ok", "ok", "partial"]}))
        >>> data.sources, data.rows.tolist(), data.status_counts[0, :2].tolist()
        (['a', 'b'], [2, 1], [1, 1])
    """
    cols = _columns_of(ds)
    rub = load_rubric(rubric)
    notes: list[str] = []
    if source_column is not None and source_column not in cols:
        raise ColumnNotFoundError(
            f"no column {source_column!r} (columns: {cols}); pass source_column= with the "
            f"column that names each row's source, or source_column=None for one group.",
            code="MIRA-E203",
            cli=f"no column {source_column!r} (columns: {cols}); pass source_column= with the column that names "
            "each row's source.",
        )
    score = _score_column(cols, score_column, notes)
    wanted = [
        c for c in (source_column, STATUS_COLUMN, TRUNCATED_COLUMN, score, SCORES_COLUMN) if c is not None and c in cols
    ]
    table, n = _read_columns(ds, list(dict.fromkeys(wanted)))

    if source_column is not None:
        codes, sources = encode_labels(_array(table, source_column), NULL_SOURCE)
    else:
        codes, sources = np.zeros(n, dtype=np.int64), ["(all rows)"]
    rows = np.bincount(codes, minlength=len(sources))
    data = ReportData(n_rows=n, sources=sources, rows=rows, notes=notes, slots=rub.slots, dimensions=rub.names)
    if n == 0:
        notes.append("The dataset has no rows.")
        return data
    _add_counts(data, table, codes)
    # Group rows by source once; every statistic below is a slice.
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(sources) + 1))
    if score is not None:
        _add_scores(data, _float_column(_array(table, score), score)[order], bounds, score)
    if SCORES_COLUMN in table.column_names:
        from mira_hf.reliability import score_matrix

        _add_dimensions(data, score_matrix(_array(table, SCORES_COLUMN), len(rub), what=SCORES_COLUMN)[order], bounds)
    else:
        notes.append(f"No {SCORES_COLUMN!r} column: per-dimension plots are left out.")
    return data


def _score_column(cols: list[str], score_column: str, notes: list[str]) -> str | None:
    """The score column to plot: the one asked for, or ``mira_overall`` (noted) when ``mira_quality`` is absent."""
    if score_column in cols:
        return score_column
    if score_column != "mira_quality":
        raise ColumnNotFoundError(
            f"no column {score_column!r} (columns: {cols}); pass score_column= with a "
            f"numeric score column, e.g. 'mira_quality' or 'mira_overall'."
        )
    fallback = FALLBACK_SCORE_COLUMN if FALLBACK_SCORE_COLUMN in cols else None
    notes.append(
        f"No {score_column!r} column (run mira_hf.aggregate with a reliability mask to add it); "
        + (f"score plots use {fallback!r} instead." if fallback else "score plots are left out.")
    )
    return fallback


def _add_counts(data: ReportData, table: pa.Table, codes: np.ndarray) -> None:
    """Status counts and truncated rows per source, or a note where their column is absent."""
    k = len(data.sources)
    if STATUS_COLUMN in table.column_names:
        s_codes, statuses = encode_labels(_array(table, STATUS_COLUMN), "(null)", order=STATUSES)
        data.statuses = statuses
        data.status_counts = np.bincount(codes * len(statuses) + s_codes, minlength=k * len(statuses)).reshape(
            k, len(statuses)
        )
    else:
        data.notes.append(f"No {STATUS_COLUMN!r} column: status counts are left out.")
    if TRUNCATED_COLUMN in table.column_names:
        trunc = pc.fill_null(_array(table, TRUNCATED_COLUMN).cast(pa.bool_()), False).to_numpy(zero_copy_only=False)
        data.truncated = np.bincount(codes, weights=trunc, minlength=k).astype(np.int64)
    else:
        data.notes.append(f"No {TRUNCATED_COLUMN!r} column: truncation shares are left out.")


def _add_scores(data: ReportData, values: np.ndarray, bounds: np.ndarray, score_column: str) -> None:
    """Each source's sorted finite scores (``values`` grouped by source, cut at ``bounds``) and their range."""
    per_source = []
    for s in range(len(data.sources)):
        v = values[bounds[s] : bounds[s + 1]]
        per_source.append(np.sort(v[np.isfinite(v)]))
    data.score_column, data.scores = score_column, per_source
    data.score_range = score_range(per_source)


def _add_dimensions(data: ReportData, matrix: np.ndarray, bounds: np.ndarray) -> None:
    """Per (dimension, source): mean, share missing and box percentiles of a score matrix grouped by source."""
    d, k = matrix.shape[1], len(data.sources)
    means, missing = np.full((d, k), np.nan), np.full((d, k), np.nan)
    quant = np.full((d, k, len(BOX_PERCENTILES)), np.nan)
    for s in range(k):
        block = matrix[bounds[s] : bounds[s + 1]]
        if not len(block):
            continue
        means[:, s] = _quiet_nan(np.nanmean, block, axis=0)
        missing[:, s] = np.isnan(block).mean(0)
        quant[:, s, :] = _quiet_nan(np.nanpercentile, block, BOX_PERCENTILES, axis=0).T
    data.dim_means, data.dim_missing, data.dim_quantiles = means, missing, quant
