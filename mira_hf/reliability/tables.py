"""Chunked counts: one (prediction level × reference level) contingency table per (source, dimension) cell.

Scores on a whole- or half-point grid (what the scorers write) take few levels, so every agreement statistic —
MAE, share within one point, Pearson r, and Spearman ρ with average ranks for ties — is a function of the
table of counts. Rows are read in chunks of ``CHUNK_ROWS`` as float32, so 10 M rows × 15 dimensions need the
tables and one chunk, not ``rows × dims`` float64 copies. Each table is also a sufficient statistic for the
row bootstrap (see `mira_hf.reliability.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf.errors import ConfigurationError
from mira_hf.reliability.matrices import _arrow_of, _list_array_to_matrix, score_matrix

#: Rows per chunk (× 15 dims × 4 bytes ≈ 30 MiB per side).
CHUNK_ROWS = 1 << 19
#: Largest number of grid levels per side for the table path (0–10 in half points is 21).
MAX_TABLE_LEVELS = 64


class Grid(NamedTuple):
    """Half-point levels ``lo, lo + 0.5, …`` of one side."""

    lo: float
    levels: int

    @property
    def values(self) -> np.ndarray:
        return self.lo + np.arange(self.levels) / 2.0


class Rows(NamedTuple):
    """One side's scores, read as ``(rows, dims)`` chunks (float32 unless asked for float64)."""

    n_rows: int
    n_dims: int
    chunk: Callable[..., np.ndarray]


def score_rows(values: Any, n_dims: int | None, *, what: str) -> Rows:
    """Per-record score lists → chunked float32 access; Arrow columns and numpy arrays are never copied whole."""
    arrow = _arrow_of(values)
    if arrow is not None:
        arr = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks != 1 else arrow
        arr = arr.chunk(0) if isinstance(arr, pa.ChunkedArray) else arr
        head = _list_array_to_matrix(arr.slice(0, min(len(arr), CHUNK_ROWS)), n_dims, what) if len(arr) else None
        dims = n_dims if n_dims is not None else (head.shape[1] if head is not None else 0)

        def arrow_chunk(start: int, stop: int, dtype: Any = np.float32) -> np.ndarray:
            return _list_array_to_matrix(arr.slice(start, stop - start), dims, f"{what}[{start}:]").astype(
                dtype, copy=False
            )

        return Rows(len(arr), dims, arrow_chunk)
    if (
        isinstance(values, np.ndarray)
        and values.dtype != object
        and values.ndim == 2
        and (n_dims is None or values.shape[1] == n_dims)
    ):
        return Rows(
            values.shape[0], values.shape[1], lambda a, b, dtype=np.float32: values[a:b].astype(dtype, copy=False)
        )
    matrix = score_matrix(values, n_dims, what=what)
    return Rows(matrix.shape[0], matrix.shape[1], lambda a, b, dtype=np.float32: matrix[a:b].astype(dtype, copy=False))


def chunks(n_rows: int, size: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    for start in range(0, n_rows, size):
        yield start, min(n_rows, start + size)


def find_grid(rows: Rows) -> Grid | None:
    """The half-point grid every finite value sits on (at most ``MAX_TABLE_LEVELS`` levels), or ``None``."""
    lo, hi = np.inf, -np.inf
    for a, b in chunks(rows.n_rows):
        x = rows.chunk(a, b)
        finite = x[np.isfinite(x)]
        if not finite.size:
            continue
        twice = finite.astype(np.float64) * 2.0
        if not np.all(twice == np.rint(twice)):
            return None
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if (hi - lo) * 2 + 1 > MAX_TABLE_LEVELS:
            return None
    if lo > hi:
        return Grid(0.0, 1)
    return Grid(lo, int(round((hi - lo) * 2)) + 1)


class Tables(NamedTuple):
    """Counts per (source, dimension, prediction level, reference level), and parse failures per cell."""

    counts: np.ndarray  # (sources, dims, Lp, Lr) int64
    parse_failures: np.ndarray  # (sources, dims) int64
    pred_grid: Grid
    ref_grid: Grid


def count_tables(
    pred: Rows,
    ref: Rows,
    codes: np.ndarray,
    n_sources: int,
    pred_grid: Grid,
    ref_grid: Grid,
    failed: np.ndarray | None = None,
) -> Tables:
    """One pass over the rows in chunks: ``np.bincount`` of (source, dim, level, level) for pairs with both values."""
    d, lp, lr = pred.n_dims, pred_grid.levels, ref_grid.levels
    size = n_sources * d * lp * lr
    counts = np.zeros(size + 1, dtype=np.int64)  # the last bin collects pairs with a missing side
    parse = np.zeros((n_sources, d), dtype=np.int64)
    cell = np.arange(d, dtype=np.int64)
    for a, b in chunks(pred.n_rows):
        p, r = pred.chunk(a, b), ref.chunk(a, b)
        src = codes[a:b].astype(np.int64)
        valid = ~(np.isnan(p) | np.isnan(r))
        cp = np.rint((np.where(valid, p, pred_grid.lo) - pred_grid.lo) * 2).astype(np.int64)
        cr = np.rint((np.where(valid, r, ref_grid.lo) - ref_grid.lo) * 2).astype(np.int64)
        flat = ((src[:, None] * d + cell) * lp + cp) * lr + cr
        flat[~valid] = size
        counts += np.bincount(flat.ravel(), minlength=size + 1)
        if failed is not None:
            hit = failed[a:b, None] & np.isnan(p)
            parse += np.bincount((src[:, None] * d + cell)[hit], minlength=n_sources * d).reshape(n_sources, d)
    return Tables(counts[:size].reshape(n_sources, d, lp, lr), parse, pred_grid, ref_grid)


def mae_and_spearman(
    tables: np.ndarray, pred_values: np.ndarray, ref_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """MAE and Spearman ρ only, of each ``(…, Lp, Lr)`` table (what a bootstrap resample needs)."""
    t = tables.astype(np.float64)
    n = t.sum(axis=(-2, -1))
    a, b = t.sum(-1), t.sum(-2)
    gap = np.abs(pred_values[:, None] - ref_values[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = (t.reshape(*t.shape[:-2], -1) @ gap.ravel()) / n
        rho = _weighted_corr(t, a, b, np.cumsum(a, -1) - a + (a + 1) / 2.0, np.cumsum(b, -1) - b + (b + 1) / 2.0, n)
    return mae, rho


def table_stats(tables: np.ndarray, pred_values: np.ndarray, ref_values: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, Spearman ρ (average ranks), Pearson r, share within 1 point and support of each ``(…, Lp, Lr)`` table.

    Example:
        >>> t = np.array([[2, 0], [1, 1]])  # pairs (0,0)×2, (1,0), (1,1)
        >>> s = table_stats(t, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        >>> float(s["mae"]), int(s["support"]), round(float(s["spearman"]), 4)
        (0.25, 4, 0.5774)
    """
    t = tables.astype(np.float64)
    n = t.sum(axis=(-2, -1))
    a, b = t.sum(-1), t.sum(-2)  # marginals of the prediction and the reference levels
    gap = np.abs(pred_values[:, None] - ref_values[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = (t * gap).sum(axis=(-2, -1)) / n
        within_1 = (t * (gap <= 1.0)).sum(axis=(-2, -1)) / n
        ranks_p = np.cumsum(a, -1) - a + (a + 1) / 2.0
        ranks_r = np.cumsum(b, -1) - b + (b + 1) / 2.0
        spearman = _weighted_corr(t, a, b, ranks_p, ranks_r, n)
        pearson = _weighted_corr(
            t, a, b, np.broadcast_to(pred_values, a.shape), np.broadcast_to(ref_values, b.shape), n
        )
    return {"mae": mae, "spearman": spearman, "pearson": pearson, "within_1": within_1, "support": n.astype(np.int64)}


def _weighted_corr(
    t: np.ndarray, a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Pearson r of level values ``x`` (rows) and ``y`` (columns) weighted by the counts; NaN when one is constant."""
    dx = x - ((a * x).sum(-1) / n)[..., None]
    dy = y - ((b * y).sum(-1) / n)[..., None]
    cov = np.einsum("...ij,...i,...j->...", t, dx, dy)
    vx, vy = (a * dx * dx).sum(-1), (b * dy * dy).sum(-1)
    constant = ((a > 0).sum(-1) < 2) | ((b > 0).sum(-1) < 2)  # one level used: scipy says NaN, so do we
    r = np.where(constant | (n < 2), np.nan, cov / np.where(constant, 1.0, np.sqrt(vx * vy)))
    return np.clip(r, -1.0, 1.0)


def check_failed(statuses: Any, n_rows: int) -> np.ndarray:
    """Per-row "the output failed to parse" (``mira_status`` ``parse_error`` or ``partial``) as a bool array."""
    arrow = _arrow_of(statuses)
    if arrow is None:
        arrow = pa.array(list(statuses), type=pa.string())
    if len(arrow) != n_rows:
        raise ConfigurationError(
            f"statuses has {len(arrow)} values but there are {n_rows} records; give one mira_status per record."
        )
    hit = pc.fill_null(pc.is_in(arrow.cast(pa.string()), value_set=pa.array(["parse_error", "partial"])), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
