"""Thresholds checked against the data before agreement is measured: a ``min_support`` that masks every cell.

Example:
    >>> support_warning({"swe_qa": 12, "davinc_dev": 12}, 30)
    'min_support=30 but every source has at most 12 rows: every (source × dimension) cell will be masked; pass min_support= <= 12'
    >>> support_warning({"swe_qa": 40}, 30) is None
    True
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def source_counts(ds: Any, column: str) -> dict[Any, int]:
    """Rows per source value (``None`` for rows with no source), counted over every row with ``pyarrow``.

    The counts are the same however the rows are ordered or sharded.

    Example:
        >>> import datasets
        >>> source_counts(datasets.Dataset.from_dict({"source": ["b", "a", "b"]}), "source")
        {'a': 1, 'b': 2}
    """
    from mira_hf._util.arrow import rows_column

    return value_counts(rows_column(ds, column))


def value_counts(values: Any) -> dict[Any, int]:
    """How many times each value of a ``pyarrow`` array occurs (``None`` for nulls), ordered by value."""
    import pyarrow.compute as pc

    counts = pc.value_counts(values)
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())
    return dict(sorted(pairs, key=lambda p: (p[0] is None, str(p[0]))))


def support_warning(
    rows_per_source: Mapping[Any, int], min_support: int, *, fix: str = "pass min_support= <= {n}"
) -> str | None:
    """The warning when ``min_support`` is more than the rows of some source (those cells are all masked);
    ``None`` when every source has enough rows.

    A cell's support is the rows where both the student and the teacher scored the dimension, so it is never
    more than the source's rows: a source with fewer rows than ``min_support`` has no reliable dimension.
    ``fix`` says what to do, ``{n}`` standing for the largest ``min_support`` that measures the sources.
    """
    if not rows_per_source:
        return None
    most = max(rows_per_source.values())
    if most < min_support:
        what = "every source has" if len(rows_per_source) > 1 else f"source {str(next(iter(rows_per_source)))!r} has"
        return (
            f"min_support={min_support} but {what} at most {most:,} row{'' if most == 1 else 's'}: every "
            f"(source × dimension) cell will be masked; {fix.format(n=most)}"
        )
    short = {str(s): n for s, n in rows_per_source.items() if n < min_support}
    if not short:
        return None
    names = ", ".join(f"{s!r} ({n:,} rows)" for s, n in short.items())
    return (
        f"min_support={min_support} but source(s) {names} have fewer rows: every cell of "
        f"{'it' if len(short) == 1 else 'them'} will be masked; {fix.format(n=min(short.values()))} "
        "to measure them"
    )
