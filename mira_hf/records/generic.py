"""The fallback reader: elements (and records) no other reader knows are shown, never dropped or rejected.

An unknown element becomes one short block: its kind (the labels it carries) and its text-bearing fields.
A record is ``invalid_input`` only when none of its elements carries any text.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import Transcript, as_list, is_seq, scalar, trim
from mira_hf.records.fields import is_label, is_non_text_key

#: Keys whose one-word value names what an element is, in the order they are shown.
KIND_KEYS = ("kind", "type", "event", "action", "observation", "role", "from", "source", "agent", "status", "name")
_MAX_DEPTH = 32


def _texts(value: Any, prefix: str, out: list[tuple[str, str]], depth: int) -> None:
    """``(field path, text)`` of every text-bearing string under ``value``."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        if value.strip():
            out.append((prefix, trim(value)))
    elif isinstance(value, dict):
        for k, v in value.items():
            if (
                v is None
                or is_non_text_key(k)
                or (depth == 0 and k in KIND_KEYS and isinstance(v, str) and is_label(v))
            ):
                continue
            _texts(v, f"{prefix}.{k}" if prefix else str(k), out, depth + 1)
    elif is_seq(value):
        for v in as_list(value):
            _texts(v, prefix, out, depth + 1)


def kind_label(element: dict) -> str:
    """What an element is, from its one-word labels (``environment``, ``status: error`` …)."""
    parts = []
    for key in KIND_KEYS:
        value = element.get(key)
        if isinstance(value, str) and value.strip() and is_label(value):
            parts.append(
                value.strip()
                if key in ("kind", "type", "event", "action", "observation", "role", "from", "source", "agent")
                else f"{key}: {value.strip()}"
            )
    for key, value in element.items():  # short numbers: exit and error codes, flags
        value = scalar(value)
        if isinstance(value, (bool, int, float)) and not is_non_text_key(key) and key not in KIND_KEYS:
            parts.append(f"{key}: {value}")
    return ", ".join(dict.fromkeys(parts))


def element_text(element: Any) -> str:
    """The text-bearing fields of an unknown element (one field: its text; several: ``field: text`` each)."""
    found: list[tuple[str, str]] = []
    _texts(element, "", found, 0)
    if len(found) == 1:
        return found[0][1]
    return "\n".join((f"{path}: {text}" if path else text) for path, text in found)


def element_block(element: Any) -> str:
    """One block for an element no reader knows: ``### event (its kind)`` and its text fields."""
    if isinstance(element, str):
        return trim(element)
    if not isinstance(element, dict):
        return element_text(element)
    label = kind_label(element)
    text = element_text(element)
    if not text and not label:
        return ""
    return f"### event ({label})" + (f"\n{text}" if text else "") if label else text


def render_generic(items: Any) -> str:
    """A record no reader claims: a dict's text fields, or one block per element of a list."""
    t = Transcript()
    if isinstance(items, dict):
        t.source(items)
        for key, value in items.items():
            if value is None or is_non_text_key(key):
                continue
            text = element_text(value)
            if text:
                t.add(str(key), text)
        return t.text("a dict")
    if not any(element_text(e) for e in items):  # labels and numbers alone are no text to score
        return Transcript().text("a list")
    for element in items:
        t.source(element)
        t.line(element_block(element))
    return t.text("a list")
