"""Bootstrap intervals for MAE and Spearman ρ per cell, vectorised over resamples of the cell's count table.

Resampling a cell's n rows with replacement is drawing its table from Multinomial(n, table / n), so each
resample is one vector of counts (only the level pairs that occur), and the statistics of a block of resamples
come from `mira_hf.reliability.tables.mae_and_spearman` at once. Percentile intervals; seeded.
"""

from __future__ import annotations

import numpy as np

from mira_hf.reliability.tables import mae_and_spearman

#: Resamples computed together (bounds the (resamples × levels²) working array).
_BLOCK = 256


def cell_intervals(
    counts: np.ndarray, pred_values: np.ndarray, ref_values: np.ndarray, *, resamples: int, confidence: float, seed: int
) -> dict[str, np.ndarray]:
    """``mae_low/high`` and ``spearman_low/high`` (NaN where undefined) for each ``(…, Lp, Lr)`` table of counts.

    Example:
        >>> t = np.array([[40, 5], [6, 49]])
        >>> iv = cell_intervals(t[None], np.array([0.0, 1.0]), np.array([0.0, 1.0]), resamples=500,
        ...                     confidence=0.9, seed=0)
        >>> bool(iv["mae_low"][0] < 0.11 < iv["mae_high"][0])
        True
    """
    shape = counts.shape[:-2]
    lp, lr = counts.shape[-2:]
    flat = counts.reshape(-1, lp * lr)
    out = {k: np.full(flat.shape[0], np.nan) for k in ("mae_low", "mae_high", "spearman_low", "spearman_high")}
    rng = np.random.default_rng(seed)
    tail = (1.0 - confidence) / 2.0 * 100.0
    for i, row in enumerate(flat):
        n = int(row.sum())
        if n < 2:
            continue
        used = np.flatnonzero(row)
        draws = rng.multinomial(n, row[used] / n, size=resamples)
        mae = np.empty(resamples)
        rho = np.empty(resamples)
        for start in range(0, resamples, _BLOCK):
            block = draws[start : start + _BLOCK]
            tables = np.zeros((len(block), lp * lr), dtype=np.int64)
            tables[:, used] = block
            mae[start : start + len(block)], rho[start : start + len(block)] = mae_and_spearman(
                tables.reshape(-1, lp, lr), pred_values, ref_values
            )
        out["mae_low"][i], out["mae_high"][i] = np.percentile(mae, [tail, 100.0 - tail])
        if np.isfinite(rho).any():
            out["spearman_low"][i], out["spearman_high"][i] = np.nanpercentile(rho, [tail, 100.0 - tail])
    return {k: v.reshape(shape) for k, v in out.items()}
