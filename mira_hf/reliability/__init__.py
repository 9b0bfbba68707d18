"""Teacher–student agreement per (source × dimension), the reliability mask, and record aggregation.

Stage 3 of MIRA. On a validation split scored by both the teacher and the student,
[`agreement`][mira_hf.reliability.agreement.agreement] measures MAE, Spearman ρ, Pearson r and the share within one
point per dimension and per source, and marks a cell reliable when ``mae <= mae_max`` and ``spearman >= spearman_min``
with ``support >= min_support`` (or, with ``bootstrap=`` and ``mask_by="bound"``, when the confidence interval's
pessimistic bound passes). [`aggregate`][mira_hf.reliability.aggregate.aggregate] then turns each record's reliable
dimension scores into one ``mira_quality``.

Everything is vectorised. Scores on a whole- or half-point grid are counted chunk by chunk into one small
contingency table per (source, dimension) cell, so memory does not grow with the rows beyond one chunk, and
every statistic and bootstrap resample is computed from those tables; other scores become a
``(rows × dimensions)`` matrix with NaN for missing values. One module per concern: ``matrices`` (inputs),
``stats`` (pure statistics), ``tables`` (chunked counts), ``bootstrap`` (intervals), ``agreement``, ``model``
([`Reliability`][mira_hf.reliability.Reliability]) and ``aggregate``.
"""

from __future__ import annotations

from mira_hf.reliability.aggregate import aggregate, quality_scores
from mira_hf.reliability.agreement import agreement, agreement_from_texts, texts_to_scores
from mira_hf.reliability.constants import (
    ANY_SOURCE,
    DEFAULT_MAE_MAX,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_SPEARMAN_MIN,
    STAT_NAMES,
    Default,
    Method,
)
from mira_hf.reliability.matrices import score_matrix
from mira_hf.reliability.model import Reliability, SourceStats, as_reliability
from mira_hf.reliability.stats import cell_stats, recommendation_agreement, reliability_mask

__all__ = [
    "ANY_SOURCE",
    "DEFAULT_MAE_MAX",
    "DEFAULT_MIN_SUPPORT",
    "DEFAULT_SPEARMAN_MIN",
    "STAT_NAMES",
    "Reliability",
    "SourceStats",
    "aggregate",
    "agreement",
    "agreement_from_texts",
    "as_reliability",
    "cell_stats",
    "quality_scores",
    "recommendation_agreement",
    "reliability_mask",
    "score_matrix",
    "texts_to_scores",
]
