"""The ``mira_*`` columns scoring adds: their declared types, and typed batches for ``datasets.map``.

``datasets.map`` infers a column's type from the first batch it writes, so a first batch whose
``mira_error`` is all null would fix that column as ``null`` and fail later. `ArrowColumn` is a
``list`` (what ``map`` accepts) that also carries its Arrow array with the declared type
(``__arrow_array__``), so every batch — all failures or all successes — has the same schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

PREFIX = "mira_"

#: Column name → Arrow type, in the order columns are added.
SCORE_SCHEMA: dict[str, pa.DataType] = {
    "mira_scores": pa.list_(pa.float32()),
    "mira_rationales": pa.list_(pa.string()),
    "mira_overall": pa.float32(),
    "mira_recommendation": pa.string(),
    "mira_domain_tag": pa.string(),
    "mira_brief": pa.string(),
    "mira_status": pa.string(),
    "mira_error": pa.string(),
    "mira_truncated": pa.bool_(),
    "mira_format": pa.string(),
    "mira_prompt_tokens": pa.int32(),
    "mira_completion_tokens": pa.int32(),
    "mira_raw": pa.string(),
}
#: Added when several samples are drawn per record (``n`` > 1): the per-slot standard deviation.
SPREAD_COLUMN = "mira_scores_std"
SCORE_COLUMNS: tuple[str, ...] = tuple(SCORE_SCHEMA)


def score_schema(n: int = 1) -> dict[str, pa.DataType]:
    """The columns a scorer drawing ``n`` samples per record adds, with their Arrow types."""
    schema = dict(SCORE_SCHEMA)
    if n > 1:
        schema[SPREAD_COLUMN] = pa.list_(pa.float32())
    return schema


def score_features(n: int = 1):
    """The ``datasets.Features`` of the scoring columns (for ``features=`` or ``IterableDataset``).

    Example:
        >>> score_features()["mira_overall"]
        Value('float32')
    """
    from datasets import Features

    return Features.from_arrow_schema(pa.schema(list(score_schema(n).items())))


class ArrowColumn(list):
    """A list of Python values that converts to Arrow with a declared type.

    ``pa.array(col)`` (and so ``datasets``' writer) gets ``col.arrow``, typed even when every value is null.
    """

    __slots__ = ("arrow",)

    def __init__(self, values: Sequence[Any], type: pa.DataType):
        super().__init__(values)
        self.arrow = pa.array(values, type=type)

    def __arrow_array__(self, type: pa.DataType | None = None) -> pa.Array:
        return self.arrow if type is None or type == self.arrow.type else self.arrow.cast(type)


def typed_batch(rows: Sequence[dict[str, Any]], n: int = 1) -> dict[str, ArrowColumn]:
    """Turn one dict per row into one typed column per ``mira_*`` name (missing keys → null)."""
    return typed_rows(rows, score_schema(n))


#: The columns a mixture adds beside the scoring ones: which group scored the row, with which rubric.
#: ``mira_scores`` is a variable-length list, so groups whose rubrics have 15 and 5 dimensions share it.
MIXTURE_EXTRA: dict[str, pa.DataType] = {"mira_group": pa.string(), "mira_rubric": pa.string()}


def mixture_schema(n: int = 1) -> dict[str, pa.DataType]:
    """The columns [`MixtureScorer`][mira_hf.mixture.router.MixtureScorer] adds: the scoring ones plus ``mira_group``
    and ``mira_rubric``.

    Example:
        >>> list(mixture_schema())[-2:]
        ['mira_group', 'mira_rubric']
    """
    return {**score_schema(n), **MIXTURE_EXTRA}


def typed_rows(rows: Sequence[dict[str, Any]], schema: dict[str, pa.DataType]) -> dict[str, ArrowColumn]:
    """One typed column per name of ``schema`` from one dict per row (missing keys → null)."""
    return {name: ArrowColumn([row.get(name) for row in rows], type) for name, type in schema.items()}
