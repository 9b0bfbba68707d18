"""Default thresholds, the any-source mask key and the names of the per-dimension statistics."""

from __future__ import annotations

from typing import Literal

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
