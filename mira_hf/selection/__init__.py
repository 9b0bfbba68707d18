"""Stage 4 of MIRA: keep the best share of each source (or group, or the whole corpus) by ``mira_quality``.

The cut is computed from the score, source (and token / recommendation) columns alone, as Arrow → numpy
arrays, so it runs on memory-mapped datasets of tens of millions of rows; the kept rows are then taken with
``Dataset.select`` and stay in their original order. Beside the hard cut, rows can be sampled by score
(``sampling="gumbel"``) and one token budget can be split over the sources (``budget_tokens=``);
[`preview`][mira_hf.selection.preview.preview] shows what several settings would keep without writing anything.

One module per concern: ``rules`` (what a user writes), ``cut`` (the numpy cut), ``budget`` (one budget split
over keys), ``gumbel`` (soft selection keys), ``apply`` (the cuts over a dataset), ``report``, ``identity``,
``checks``, ``preview`` and ``api`` ([`filter_by_retention`][mira_hf.selection.filter_by_retention]).

Example:
    >>> from datasets import Dataset
    >>> import mira_hf
    >>> ds = Dataset.from_dict({"source": ["a", "a", "b", "b"], "mira_quality": [7.0, 5.0, None, 8.0]})
    >>> kept, report = mira_hf.filter_by_retention(ds, retention=0.5)
    >>> list(kept["mira_quality"]), report.sources["b"].unscored
    ([7.0, 8.0], 1)
"""

from __future__ import annotations

from mira_hf.schema.selection import (
    CutStats,
    PushBy,
    PushInfo,
    RubricInfo,
    SelectionParameters,
    SelectionReport,
    SourceStats,
    extract_mask,
)
from mira_hf.selection.api import filter_by_retention
from mira_hf.selection.budget import budget_rules, split_budget
from mira_hf.selection.cut import cut_rows
from mira_hf.selection.gumbel import gumbel_keys
from mira_hf.selection.identity import reliability_payload, rubric_info, scorer_identity
from mira_hf.selection.preview import PreviewCell, SelectionPreview, preview
from mira_hf.selection.rules import GLOBAL_KEY, By, RetentionRule, parse_rule, resolve_rules

__all__ = [
    "CutStats",
    "PreviewCell",
    "PushInfo",
    "RetentionRule",
    "RubricInfo",
    "SelectionParameters",
    "SelectionPreview",
    "SelectionReport",
    "SourceStats",
    "budget_rules",
    "cut_rows",
    "filter_by_retention",
    "gumbel_keys",
    "parse_rule",
    "preview",
    "resolve_rules",
    "split_budget",
]
