"""Batches of records: which column holds the record, each row's record, and the batch shapes of ``datasets`` and
Ray Data (lists or numpy arrays) — shared by scoring, inspection, the estimate, stage 1 and the mixture."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mira_hf._util.problems import missing_column
from mira_hf.errors import ColumnNotFoundError
from mira_hf.records import common

#: Column names searched, in order, when ``text_column`` is not given.
RECORD_COLUMNS: tuple[str, ...] = ("messages", "conversations", "events", "trajectory", "history", "text")
#: Column sets that together hold one record (a ``.traj`` file loaded with ``datasets`` gives one column per
#: top-level key): when no ``text_column`` is given and a dataset has one of these, each row is the record.
ROW_RECORDS: tuple[frozenset[str], ...] = (
    frozenset({"history", "info"}),
    frozenset({"trajectory", "info"}),
    frozenset({"history", "environment"}),
    frozenset({"trajectory", "environment"}),
    frozenset({"messages", "info"}),
)
#: Columns that hold what the agent was given beside its trajectory (a system prompt, the task): a dataset with a
#: record column and one of these is read row by row, so they reach the prompt when the trajectory lacks them.
CONTEXT_COLUMNS: tuple[str, ...] = ("system", "problem_statement", "instruction")


def as_list(values: Any) -> list[Any]:
    """A batch column as a list: datasets gives lists (returned as they are, no copy), Ray Data numpy arrays."""
    return values if isinstance(values, list) else common.as_list(values)


def record_column(columns: Sequence[str], text_column: str | None = None) -> str | None:
    """The record column among ``columns`` (``text_column`` when given); ``None`` when each row is the record.

    Raises [`ColumnNotFoundError`][mira_hf.errors.ColumnNotFoundError] listing the columns when none fits.

    Example:
        >>> record_column(["id", "messages", "source"])
        'messages'
        >>> record_column(["environment", "trajectory", "history", "info"]) is None   # a SWE-agent .traj per row
        True
        >>> record_column(["instance_id", "instruction", "history"]) is None  # the task beside the trajectory
        True
    """
    cols = list(columns)
    if text_column is not None:
        if text_column not in cols:
            raise ColumnNotFoundError(missing_column(text_column, cols, "text_column"))
        return text_column
    if any(shape <= set(cols) for shape in ROW_RECORDS):
        return None
    for name in RECORD_COLUMNS:
        if name in cols:
            return None if name != "text" and any(c in cols for c in CONTEXT_COLUMNS) else name
    raise ColumnNotFoundError(
        f"No record column found: looked for {list(RECORD_COLUMNS)} among the dataset's columns {cols}. "
        "Pass Scorer(text_column=...) (or set MIRA_TEXT_COLUMN) to name it."
    )


def batch_records(batch: Mapping[str, Any], column: str | None) -> list[Any]:
    """The records of a batch: one column's values, or (``column=None``) each row as a dict of its columns."""
    if column is not None:
        return as_list(batch[column])
    names = [k for k in batch if not k.startswith("mira_")]
    values = [as_list(batch[k]) for k in names]
    return [dict(zip(names, row)) for row in zip(*values)]


def is_numpy_batch(batch: Mapping[str, Any]) -> bool:
    """Ray Data hands a batch as numpy arrays; ``datasets`` as lists."""
    return bool(batch) and all(isinstance(v, np.ndarray) for v in batch.values())


def ray_table(batch: Mapping[str, Any], out: Mapping[str, Any]) -> Any:
    """Ray Data replaces a batch with what the function returns: input columns plus the typed scores."""
    import pyarrow as pa

    columns = {k: pa.array(list(v) if v.dtype == object else v) for k, v in batch.items() if k not in out}
    columns.update({k: v.arrow for k, v in out.items()})
    return pa.table(columns)
