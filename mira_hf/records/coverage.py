"""Coverage: the share of a record's text that the prompt shows, each field looked for where it is rendered.

The public entry points: they render the record (unless given its rendering) and measure it. What counts, and
where each field's text is looked for, is `mira_hf.records.measure`.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.detect import render
from mira_hf.records.measure import Coverage, measure
from mira_hf.records.rendering import Rendering


def coverage(record: Any, rendering: Rendering | None = None, *, format: str | None = None) -> float:
    """The share (0–1) of ``record``'s text that the prompt shows where its field is rendered (`.measure`).

    Example:
        >>> coverage([{"role": "user", "content": "Fix the failing test."},
        ...           {"role": "assistant", "content": "Done.", "id": "msg-0001"}])
        1.0
    """
    return coverage_report(record, rendering, format=format).ratio


def coverage_report(record: Any, rendering: Rendering | None = None, *, format: str | None = None) -> Coverage:
    """`coverage` with the counts, the counts per kind of field and the fields whose text is not shown.

    Example:
        >>> thinking = {"type": "thinking", "thinking": "Run the tests first."}
        >>> report = coverage_report([
        ...     {"role": "user", "content": "Fix the failing test."},
        ...     {"role": "assistant", "content": None, "thinking_blocks": [thinking]},
        ... ])
        >>> report.ratio, sorted(report.by_kind)
        (1.0, ['message', 'reasoning'])
    """
    if rendering is None:
        rendering = render(record, format)
    return measure(record, rendering)
