"""Coverage: the share of a record's text-bearing characters that reach the prompt.

What counts: every string in the record, line by line (blank lines and surrounding whitespace aside), with
JSON strings (tool-call arguments, serialized records) read as the values they hold. What does not count:
single words of up to 200 characters (roles, kinds, statuses, names, paths, URLs); fields that identify, time or
measure (ids, timestamps, metrics, costs, token counts); metadata that repeats what the record shows elsewhere
or configures the run (``tool_call_metadata``, ``replay_config``, tool schemas, file snapshots around an edit,
SWE-agent's per-step copies of the chat); images; demonstrations (``is_demo``); and the middle of a system
prompt over 6,000 characters, which the rendering shortens on purpose and says so. A line counts as shown when
it appears in the rendered text, as it is or JSON-escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from mira_hf.records.common import BOILERPLATE_CHARS, as_list, boilerplate, is_seq
from mira_hf.records.detect import READERS, Rendering, render
from mira_hf.records.fields import is_label, is_non_text_key

_MAX_DEPTH = 64
_HEAD_CHECK = 200  # characters compared to recognise a system prompt the rendering shortened


@dataclass(frozen=True)
class Coverage:
    """How much of a record's text reaches the prompt: characters shown / characters counted."""

    shown: int
    total: int
    format: str
    missing: tuple[str, ...] = ()  # paths of the fields with the most text not shown (up to 5)

    @property
    def ratio(self) -> float:
        """``shown / total`` (1.0 for a record with nothing countable)."""
        return 1.0 if self.total == 0 else self.shown / self.total


def coverage(record: Any, rendering: Rendering | None = None, *, format: str | None = None) -> float:
    """The share (0–1) of ``record``'s text-bearing characters that reach the prompt (see the module doc).

    Example:
        >>> coverage([{"role": "user", "content": "Fix the failing test."},
        ...           {"role": "assistant", "content": "Done.", "id": "msg-0001"}])
        1.0
    """
    return coverage_report(record, rendering, format=format).ratio


def coverage_report(record: Any, rendering: Rendering | None = None, *, format: str | None = None) -> Coverage:
    """:func:`coverage` with the counts and the fields whose text is not shown."""
    if rendering is None:
        rendering = render(record, format)
    reader = READERS.get(rendering.format)
    skip = reader.coverage_skip if reader is not None else frozenset()
    from mira_hf.records import swe_agent

    if rendering.format in ("swe_agent", "mini_swe_agent"):
        skip = skip | swe_agent.COVERAGE_SKIP
    leaves: list[tuple[str, str]] = []
    _leaves(record, "", skip, leaves, 0)
    text = rendering.text
    lines = {line.strip() for line in text.split("\n")}
    shown = total = 0
    missing: dict[str, int] = {}
    for path, leaf in leaves:
        if len(leaf) > BOILERPLATE_CHARS and boilerplate(leaf, "")[:_HEAD_CHECK] in text:
            leaf = _kept_boilerplate(leaf, text)  # shortened on purpose (and said so): only what is kept counts
        for line in leaf.split("\n"):
            line = line.strip()
            if not line:
                continue
            total += len(line)
            if line in lines or line in text or json.dumps(line, ensure_ascii=False)[1:-1] in text:
                shown += len(line)
            else:
                missing[path] = missing.get(path, 0) + len(line)
    worst = tuple(p for p, _ in sorted(missing.items(), key=lambda kv: -kv[1])[:5])
    return Coverage(shown=shown, total=total, format=rendering.format, missing=worst)


def _kept_boilerplate(leaf: str, text: str) -> str:
    """The head and tail of a long system prompt that the rendering keeps, when it shortened that prompt."""
    shortened = boilerplate(leaf.strip(), "")
    head, _, rest = shortened.partition("\n[... ")
    if head[-_HEAD_CHECK:] not in text:
        return leaf
    tail = rest.partition(" omitted ...]\n")[2]
    return head + "\n" + tail


def _leaves(value: Any, path: str, skip: frozenset[str], out: list[tuple[str, str]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        parsed = _json(value)
        if parsed is not None:
            _leaves(parsed, path, skip, out, depth + 1)
        elif not is_label(value):
            out.append((path or "(record)", value))
    elif isinstance(value, dict):
        if value.get("is_demo") is True:
            return
        for key, v in value.items():
            if v is None or is_non_text_key(key) or key in skip:
                continue
            _leaves(v, f"{path}.{key}" if path else str(key), skip, out, depth + 1)
    elif is_seq(value) or isinstance(value, np.ndarray):
        for v in as_list(value):
            _leaves(v, f"{path}[]" if len(path) < 200 else path, skip, out, depth + 1)


def _json(value: str) -> Any:
    s = value.strip()
    if len(s) < 2 or not ((s[0] == "{" and s[-1] == "}") or (s[0] == "[" and s[-1] == "]")):
        return None
    try:
        parsed = json.loads(s)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, (dict, list)) else None
