"""Which reader a record goes to: unwrap it, recognise its shape by each format's own signature, render it.

A record may arrive as Python objects, a JSON string, a ``datasets`` row (every key present, ``None`` where
absent), tuples or numpy object arrays; all give the same text. A list's elements vote for the format whose
signature they carry; when several formats could read a record, the reading that keeps more of it (higher
coverage, `measure`) wins. ``format=`` forces one reader.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mira_hf.errors import InvalidRecordError
from mira_hf.records import chat, generic, openhands, openhands_sdk, sharegpt, swe_agent
from mira_hf.records.common import Attribution, as_list, describe, dict_at, first_str, is_seq, keys_of
from mira_hf.records.measure import measure
from mira_hf.records.rendering import Rendering

Format = Literal[
    "openai", "nebius", "sharegpt", "openhands", "openhands_v1", "swe_agent", "mini_swe_agent", "generic", "text"
]

#: Keys under which a dict record may hold its trajectory, in the order they are looked up.
WRAPPER_KEYS: tuple[str, ...] = ("messages", "conversations", "events", "trajectory", "history")
#: Keys of a wrapper that hold the task; shown first when the trajectory itself does not show it.
TASK_KEYS: tuple[str, ...] = ("problem_statement", "instruction", "task", "issue")
#: Keys of a wrapper (or of its ``test_result``) that hold the final patch; shown last unless already shown.
PATCH_KEYS: tuple[str, ...] = ("git_patch", "model_patch", "generated_patch", "submission", "patch")
_MAX_WRAPPING = 4  # dict-in-dict / JSON-in-JSON levels followed before giving up
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True)
class Reader:
    """One family of record shapes: its signature (per list element, or per whole dict) and its renderer."""

    name: str
    description: str
    render: Callable[[Any], str]
    claims: Callable[[dict], bool] | None = None  # does a list element carry this format's signature?
    claims_record: Callable[[dict], bool] | None = None  # does a whole dict record?
    #: The string-valued key its elements carry (``role``, ``from``, ``kind``; ``None``: none of these), so
    #: an element is only tested against the readers that could claim it.
    markers: tuple[str | None, ...] = ()


#: The readers, in the order their signatures are tried (more specific first).
READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader(
            "swe_agent",
            "SWE-agent .traj (environment, trajectory, history, info)",
            swe_agent.render,
            claims=swe_agent.is_element,
            claims_record=swe_agent.is_traj,
            markers=("role", None),
        ),
        Reader(
            "mini_swe_agent",
            "mini-swe-agent .traj.json (messages, info)",
            swe_agent.render_mini,
            claims_record=swe_agent.is_mini_traj,
        ),
        Reader(
            "nebius",
            "role / text rows (nebius/SWE-agent-trajectories)",
            swe_agent.render_text_rows,
            claims=chat.is_text_row,
            markers=("role",),
        ),
        Reader(
            "openai",
            "chat messages (role, content, tool_calls)",
            chat.render_messages,
            claims=chat.is_message,
            markers=("role",),
        ),
        Reader(
            "sharegpt",
            "ShareGPT turns (from, value)",
            sharegpt.render_turns,
            claims=sharegpt.is_turn,
            markers=("from",),
        ),
        Reader(
            "openhands_v1",
            "OpenHands V1 SDK events (kind)",
            openhands_sdk.render_events,
            claims=openhands_sdk.is_event,
            markers=("kind",),
        ),
        Reader(
            "openhands",
            "OpenHands V0 events (action/args, observation/content/extras)",
            openhands.render_events,
            claims=openhands.is_event,
            markers=(None,),
        ),
        Reader("generic", "anything else: every element's kind and text fields", generic.render_generic),
    )
}
FORMATS: tuple[str, ...] = (*READERS, "text")
_MARKERS = ("role", "from", "kind")
#: For each marker key, the readers whose elements may carry it, most specific first.
_CLAIMERS = {m: [r for r in READERS.values() if r.claims is not None and m in r.markers] for m in (*_MARKERS, None)}


def _rendered(text: str, fmt: str) -> Rendering:
    """A reader's output (text carrying its attribution) as a `Rendering` of plain text."""
    return Rendering(str(text), fmt, getattr(text, "attribution", None))


# --------------------------------------------------------------------------------------------- public
def render(record: Any, format: str | None = None) -> Rendering:
    """Render ``record`` and say which format it was read as (``format=`` forces one).

    Raises [`InvalidRecordError`][mira_hf.errors.InvalidRecordError] for a record with no text to score.

    Example:
        >>> r = render('[{"from": "human", "value": "Fix the failing test."}]')
        >>> r.format, r.text
        ('sharegpt', '### user\\nFix the failing test.')
    """
    if format is not None and format not in FORMATS:
        raise InvalidRecordError(f"unknown record format {format!r}; expected one of {list(FORMATS)}.")
    return _render(record, format, 0)


def render_record(record: Any, format: str | None = None) -> str:
    """Render one record as compact, attributed text for the scorer (see `render`).

    Example:
        >>> call = {"name": "bash", "arguments": '{"command": "pytest -x"}'}
        >>> print(render_record([
        ...     {"role": "user", "content": "Tests fail."},
        ...     {"role": "assistant", "content": None,
        ...      "tool_calls": [{"id": "call_1", "type": "function", "function": call}]},
        ...     {"role": "tool", "tool_call_id": "call_1", "content": "1 failed"},
        ... ]))
        ### user
        Tests fail.
        <BLANKLINE>
        ### assistant
        → call bash [call_1]: {"command": "pytest -x"}
        <BLANKLINE>
        ### tool result [call_1] (bash)
        1 failed
    """
    return render(record, format).text


def detect_format(record: Any) -> str:
    """Which shape ``record`` has (one of `FORMATS`); raises ``InvalidRecordError`` when it has no text.

    Example:
        >>> detect_format([{"from": "human", "value": "Fix the failing test."}])
        'sharegpt'
        >>> detect_format('{"messages": [{"role": "user", "content": "hi"}]}')
        'openai'
    """
    return render(record).format


# ------------------------------------------------------------------------------------------ resolution
def _render(record: Any, forced: str | None, depth: int) -> Rendering:
    if depth > _MAX_WRAPPING:
        raise InvalidRecordError(
            f"record is wrapped more than {_MAX_WRAPPING} levels deep (dicts or JSON strings inside each other)."
        )
    if isinstance(record, str):
        return _render_str(record, forced, depth)
    if isinstance(record, dict):
        return _render_dict(record, forced, depth)
    if is_seq(record) or isinstance(record, np.ndarray):
        if isinstance(record, np.ndarray) and record.ndim == 0:
            return _render(record.item(), forced, depth)
        return _render_list(as_list(record), forced)
    if record is None:
        raise InvalidRecordError("record is missing (None); there is nothing to score.")
    if isinstance(record, Mapping):
        return _render_dict(dict(record), forced, depth)
    if isinstance(record, (bytes, bytearray)):
        return _render_str(bytes(record).decode("utf-8", "replace"), forced, depth)
    as_py = getattr(record, "as_py", None)  # a pyarrow scalar
    if callable(as_py):
        return _render(as_py(), forced, depth)
    raise InvalidRecordError(
        f"record is {describe(record)}, which holds no text; expected a string, a list of "
        "messages or events, or a dict holding one."
    )


def _render_str(text: str, forced: str | None, depth: int) -> Rendering:
    if not text or text.isspace():
        raise InvalidRecordError("record is empty or whitespace only; there is nothing to score.")
    if type(text) is not str:  # numpy.str_ and other subclasses
        text = str(text)
    value = _json_value(text)
    if value is not None and forced != "text":
        rendering = _render(value, forced, depth + 1)
        attribution = rendering.attribution if rendering.attribution is not None else Attribution()
        attribution.parsed[text] = value  # coverage walks the objects the reader read
        return Rendering(rendering.text, rendering.format, attribution)
    if forced not in (None, "text", "generic"):
        raise InvalidRecordError(f"record is plain text, not {forced!r} (record_format={forced!r}).")
    return Rendering(text, "text")


def _json_value(text: str) -> Any:
    """The dict or list of records a JSON string holds; ``None`` for prose (even prose starting with a bracket)."""
    first = _NON_SPACE.search(text)
    opener = text[first.start()] if first else ""
    if opener not in "[{":
        return None
    end = len(text) - 1
    while text[end].isspace():
        end -= 1
    if not ((opener == "[" and text[end] == "]") or (opener == "{" and text[end] == "}")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict) or (
        isinstance(value, list) and value and (isinstance(value[0], dict) or openhands.is_pair(value[0]))
    ):
        return value
    return None


def _render_dict(record: dict, forced: str | None, depth: int) -> Rendering:
    for reader in READERS.values():
        if reader.claims_record is None:
            continue
        if reader.name == forced or (forced is None and reader.claims_record(record)):
            return _rendered(reader.render(record), reader.name)
    found = [key for key in WRAPPER_KEYS if record.get(key) is not None]
    if found:
        options = []
        for key in found:
            try:
                options.append(_render(record[key], forced, depth + 1))
            except InvalidRecordError as e:
                if len(found) == 1:
                    raise e
        if options:
            best = options[0] if len(options) == 1 else _most_kept(record, options)
            return _with_context(record, best)
        raise InvalidRecordError(f"record is a dict whose {found} hold no text; there is nothing to score.")
    if forced not in (None, "generic"):
        raise InvalidRecordError(
            f"record is a dict with keys {keys_of(record)}, which holds no {forced!r} "
            f"record under {list(WRAPPER_KEYS)} (record_format={forced!r})."
        )
    try:
        return _rendered(generic.render_generic(record), "generic")
    except InvalidRecordError:
        raise InvalidRecordError(
            f"record is a dict with keys {keys_of(record)} and no text in it; expected a "
            f"trajectory under one of {list(WRAPPER_KEYS)}."
        ) from None


def _with_context(record: dict, rendering: Rendering) -> Rendering:
    """A wrapper's system prompt and task (first) and its exit status and final patch (last), each shown when
    the trajectory does not show it itself."""
    head, tail = [], []
    shown: list[tuple[Any, str]] = []  # (holder, text) shown in the trajectory already: attributed there
    system = record.get("system")
    if isinstance(system, str) and system.strip():
        if system.strip()[:200] not in rendering.text:
            head.append(f"### system\n{system.strip()}")
        else:
            shown.append((record, system.strip()))
    task = first_str(record, *TASK_KEYS)
    if task and task[:200] not in rendering.text:
        head.append(f"### task\n{task}")
    elif task:
        shown.append((record, task))
    result = dict_at(record, "test_result")
    patch = first_str(record, *PATCH_KEYS) or first_str(result, *PATCH_KEYS)
    status = first_str(record, "exit_status")
    if (patch or status) and "### outcome\n" not in rendering.text:
        tail.append("### outcome\n" + swe_agent.outcome_text(status, patch, rendering.text))
        if patch and patch.strip("\n")[:300] in rendering.text:
            shown.append((record if first_str(record, *PATCH_KEYS) else result, patch.strip("\n")))
    if not head and not tail and not shown:
        return rendering
    offset = sum(len(h) + 2 for h in head)
    attribution = Attribution()
    if rendering.attribution is not None:
        rendering.attribution.shifted(offset, attribution)
    else:  # plain text: its own, unattributed
        attribution.add(None, offset, offset + len(rendering.text))
    for holder, value in shown:  # shown once, in the trajectory: attributed there
        at = rendering.text.find(value[:300])
        attribution.add(holder, offset + at, offset + at + len(value))
    text = "\n\n".join([*head, rendering.text, *tail])
    if head:
        attribution.add(record, 0, offset - 2)
    if tail:
        attribution.add(record, offset + len(rendering.text) + 2, len(text))
    return Rendering(text, rendering.format, attribution)


def _render_list(items: list, forced: str | None) -> Rendering:
    if not items:
        raise InvalidRecordError("record is an empty list; there is nothing to score.")
    if forced is not None:
        reader = READERS.get(forced)
        if reader is None or reader.claims is None and reader.name != "generic":
            raise InvalidRecordError(
                f"record is a list, which {forced!r} records never are (record_format={forced!r})."
            )
        return _rendered(reader.render(items), forced)
    votes = _votes(items)
    if not votes:
        if all(isinstance(x, str) or x is None for x in items):
            text = "\n\n".join(x.strip() for x in items if isinstance(x, str) and x.strip())
            if text:
                return Rendering(text, "text")
        return _rendered(generic.render_generic(items), "generic")
    ranked = [name for name, _ in votes.most_common()]
    if len(ranked) == 1:
        return _rendered(READERS[ranked[0]].render(items), ranked[0])
    options = []
    for name in ranked[:3]:
        try:
            options.append(_rendered(READERS[name].render(items), name))
        except InvalidRecordError:
            continue
    if not options:
        return _rendered(generic.render_generic(items), "generic")
    return _most_kept(items, options)


#: Elements that vote on a long list's format: evenly spaced, first and last included (a record is one shape).
_VOTERS = 7


def _votes(items: list) -> Counter:
    """How many elements carry each format's signature (each votes for the most specific one)."""
    votes: Counter = Counter()
    if len(items) > _VOTERS:
        step = (len(items) - 1) / (_VOTERS - 1)
        items = [items[round(k * step)] for k in range(_VOTERS)]
    for item in items:
        if isinstance(item, dict):
            marker = (
                "role"
                if type(item.get("role")) is str
                else "from"
                if type(item.get("from")) is str
                else "kind"
                if type(item.get("kind")) is str
                else None
            )
            for reader in _CLAIMERS[marker]:
                if reader.claims is not None and reader.claims(item):  # every claimer has a signature
                    votes[reader.name] += 1
                    break
        elif openhands.is_pair(item):
            votes["openhands"] += 1
    return votes


def _most_kept(record: Any, options: list[Rendering]) -> Rendering:
    """Of several readings of ``record``, the one that keeps the most of its text (the first on a tie)."""
    return max(options, key=lambda r: measure(record, r).ratio)


__all__ = [
    "FORMATS",
    "Format",
    "READERS",
    "Reader",
    "TASK_KEYS",
    "WRAPPER_KEYS",
    "detect_format",
    "render",
    "render_record",
]
