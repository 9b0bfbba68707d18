"""Soft selection: rank rows by ``score + τ·Gumbel(0, 1)`` so a top-k is a sample ∝ ``exp(score / τ)``.

Taking the k best of ``score/τ + G`` (G i.i.d. standard Gumbel) draws k rows without replacement with
probability proportional to ``exp(score/τ)`` (the Gumbel top-k trick); ``score + τ·G`` has the same order and
stays finite as τ → 0, where it becomes the score itself (τ = 0 is exactly the hard cut). The noise comes from
numpy's seeded ``Generator`` with a stable per-key stream, so the same seed keeps the same rows.
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Literal

import numpy as np

from mira_hf.errors import ConfigurationError

Sampling = Literal["cut", "gumbel"]


def key_stream(seed: int, key: str) -> np.random.Generator:
    """The generator of one retention key: ``seed`` plus a stable offset from the key's name (crc32)."""
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])


def gumbel_keys(
    scores: np.ndarray, *, temperature: float, seed: int = 0, key: str = "global", ties: np.ndarray | None = None
) -> np.ndarray:
    """Ranking keys ``score + τ·G`` (NaN stays NaN): the k best are a sample without replacement ∝ exp(score/τ).

    With ``ties`` (each row's id hash) a row's noise is drawn from its id, the seed and the key, so it does not
    depend on the row's position; without, from the key's seeded stream in row order.

    Example:
        >>> s = np.array([9.0, 1.0, np.nan])
        >>> gumbel_keys(s, temperature=0.0) is s
        True
        >>> keys = gumbel_keys(s, temperature=2.0, seed=0)
        >>> again = gumbel_keys(s, temperature=2.0, seed=0)
        >>> bool(np.isnan(keys[2])), bool((keys == again)[:2].all())
        (True, True)
    """
    if temperature == 0:
        return scores
    if ties is not None:
        from mira_hf.selection.ties import gumbel_from_ties

        noise = gumbel_from_ties(ties, seed=seed, key=key)
    else:
        noise = key_stream(seed, key).gumbel(size=len(scores))
    return scores + temperature * noise


def check_sampling(sampling: Any, temperature: Any, seed: Any) -> None:
    """The sampling options, checked before any work."""
    if sampling not in ("cut", "gumbel"):
        raise ConfigurationError(
            f"sampling={sampling!r}; use 'cut' (keep the best rows) or 'gumbel' (sample rows "
            "with probability ∝ exp(score / temperature))"
        )
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.integer, np.floating))
        or not math.isfinite(float(temperature))
        or temperature < 0
    ):
        raise ConfigurationError(
            f"temperature={temperature!r}; give a finite number ≥ 0 (0 is the hard cut; "
            "1 on a 0–10 score keeps mostly high scores)"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigurationError(f"seed={seed!r}; give a whole number ≥ 0")
