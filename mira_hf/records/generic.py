"""The fallback reader: elements (and records) no other reader knows are shown, never dropped or rejected.

An unknown element becomes one short block: its kind (the labels it carries) and its text-bearing fields.
A record is ``invalid_input`` only when none of its elements carries any text.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import Transcript, element_text, scalar, trim
from mira_hf.records.fields import KIND_KEYS, is_label, is_non_text_key


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
