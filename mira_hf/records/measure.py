"""Measure coverage: the share of a record's text a rendering shows, each field looked for where it is rendered.

What counts: every string in the record, line by line (blank lines and surrounding whitespace aside), with
JSON strings (tool-call arguments, serialized records) read as the values they hold: messages, reasoning
(``thinking_blocks``, ``reasoning_content``, thinking parts), tool calls, tool results, system prompts, tasks,
outcomes. A field's lines count as shown only when they appear, in order and as whole words, in the text
rendered for the element that holds the field (the message, event or step: the readers record which element
each part of the text was rendered for, see `Attribution`), as they are or
JSON-escaped. So a field that is never rendered does not count as shown because its lines appear elsewhere.

What is left out of the count (`METADATA_KEYS`, `NOT_SEEN`, `COPIES`; never the renderers'
own list) holds no text the agent produced or saw: metadata (identifiers, times, metrics, costs, token counts,
hashes and signatures, run settings, encrypted reasoning, media, and one-word labels such as roles, kinds, statuses
and paths outside text fields); what the harness derived for its own use and the agent never saw (OpenHands'
one-line UI summaries, its diffs and file snapshots around an edit, SWE-agent's patch summaries, the harness's
traceback); copies of fields counted where they are (SWE-agent's per-step ``query`` and ``messages``, and a
history message's ``action``, the command line the harness made of the tool calls it holds).

Text given to the agent that the rendering shortens on purpose and says so is counted like any other text, so
what it leaves out lowers the ratio: tool schemas (kind ``tools``; the prompt shows at most the tools' names, so
their descriptions count as not shown), demonstrations (kind ``demonstration``; never shown) and the
middle of a system prompt or of an OpenHands workspace context (recall) over 6,000 characters (kind ``system``;
its head and tail are shown).
`Coverage.shortened` says how many of the characters not shown were left out that way on purpose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mira_hf.records.common import BOILERPLATE_CHARS, Attribution, as_list, boilerplate, is_seq
from mira_hf.records.fields import NON_TEXT_SUFFIXES
from mira_hf.records.rendering import Rendering

_MAX_DEPTH = 64
_HEAD_CHECK = 200  # characters compared to recognise a system prompt the rendering shortened

#: Keys whose values are metadata: they identify, time, measure or configure a run, or are opaque or media.
METADATA_KEYS = frozenset(
    {
        # identifiers, hashes, signatures
        "id",
        "ids",
        "uuid",
        "cause",
        "hash",
        "checksum",
        "signature",
        "llm_response_id",
        "response_id",
        # times
        "timestamp",
        "created",
        "created_at",
        "updated_at",
        "time",
        "date",
        "cutoff_date",
        "start_time",
        "end_time",
        "execution_time",
        "duration",
        "elapsed",
        # metrics, costs, token counts, training weights
        "metrics",
        "llm_metrics",
        "model_stats",
        "usage",
        "token_usage",
        "token_usages",
        "cost",
        "costs",
        "accumulated_cost",
        "accumulated_token_usage",
        "response_latencies",
        "tokens",
        "logprobs",
        "mask",
        "weight",
        # run settings
        "replay_config",
        "config",
        "agent_config",
        "llm_config",
        "trajectory_format",
        "mini_version",
        "cache_prompt",
        "cache_control",
        "kernel_init_code",
        "metadata_only",
        # opaque: encrypted reasoning
        "encrypted_content",
        # media (shown as a marker) and a browser page's raw structure (its text is the observation's content)
        "image_urls",
        "images",
        "image_url",
        "screenshot",
        "set_of_marks",
        "axtree_object",
        "extra_element_properties",
        "dom_object",
    }
)
#: Events that only record the run's state (OpenHands' status changes, pauses, token counts): metadata.
STATE_EVENTS = frozenset({"ConversationStateUpdateEvent", "PauseEvent", "TokenEvent", "agent_state_changed"})
#: Per format: what the harness derived for its own use, which the agent never saw.
NOT_SEEN: dict[str, frozenset[str]] = {
    "openhands": frozenset({"message", "diff", "translated_ipython_code", "old_content", "new_content"}),
    "openhands_v1": frozenset({"old_content", "new_content"}),
    "swe_agent": frozenset({"edited_files30", "edited_files50", "edited_files70", "traceback"}),
    "mini_swe_agent": frozenset({"traceback"}),
}
#: Per format: copies of fields counted where they are.
COPIES: dict[str, frozenset[str]] = {"swe_agent": frozenset({"query", "messages"})}
#: Keys holding text given to the agent that the rendering shortens on purpose (tool schemas become their names).
_GIVEN_KEYS = frozenset({"tools"})
#: Kinds that hold for everything under the element or key that sets them (a tool schema's ``function`` part is
#: not a tool call; a demonstration's messages are not the agent's).
_GIVEN_KINDS = frozenset({"tools", "demonstration"})
#: Keys whose string is text even when it is one word (an output ``23``, an answer ``ok``, a command ``ls``).
_TEXT_KEYS = frozenset(
    {
        "content",
        "text",
        "value",
        "thought",
        "thinking",
        "reasoning_content",
        "output",
        "response",
        "final_thought",
        "error",
        "summary",
        "code",
        "arguments",
        "submission",
    }
)
_LABEL = re.compile(r"\S{1,200}")
#: The kinds of field coverage is reported for.
KINDS = ("system", "tools", "demonstration", "message", "reasoning", "tool_call", "observation", "outcome")
#: What the rendering leaves out on purpose, per kind (text given to the agent; counted as not shown). Nothing of
#: the other kinds is (the token budget may still shorten a long record, with a visible marker).
KIND_NOTES = {
    "system": "the middle of a system prompt or workspace context over 6,000 characters",
    "tools": "the tool schemas (at most the tools' names are shown)",
    "demonstration": "all of it",
}
_REASONING_KEYS = frozenset(
    {
        "reasoning_content",
        "reasoning",
        "thinking",
        "thinking_blocks",
        "thought",
        "reasoning_details",
        "responses_reasoning_item",
    }
)
_CALL_KEYS = frozenset({"tool_calls", "function_call", "tool_call", "arguments"})
_OUTCOME_KEYS = frozenset(
    {"info", "exit_status", "submission", "git_patch", "model_patch", "generated_patch", "patch", "test_result"}
)
_TOOL_ROLES = frozenset(
    {"tool", "function", "ipython", "tool_result", "tool_response", "observation", "environment", "function_response"}
)
_CALL_ROLES = frozenset({"tool_call", "function_call", "tool_calls"})
_WORD = re.compile(r"\w")
_OMITTED = re.compile(r"\n\[\.\.\. [\d,]+ characters of the [^\n\]]+ omitted \.\.\.\]\n")  # ``boilerplate``'s marker
_ESCAPES = frozenset({"\\n", "\\t", "\\r"})


@dataclass(frozen=True)
class Coverage:
    """How much of a record's text reaches the prompt: characters shown / characters counted, also per kind."""

    shown: int
    total: int
    format: str
    missing: tuple[str, ...] = ()  # paths of the fields with the most text not shown (up to 5)
    #: ``kind → (shown, total)`` for the kinds in `KINDS` the record holds.
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Characters not shown because the rendering shortens text given to the agent on purpose (tool schemas, shown
    #: by name; demonstrations; a long system prompt's middle). They are in ``total`` and not in ``shown``.
    shortened: int = 0

    @property
    def ratio(self) -> float:
        """``shown / total`` (1.0 for a record with nothing countable)."""
        return 1.0 if self.total == 0 else self.shown / self.total

    @property
    def ratio_by_kind(self) -> dict[str, float]:
        """``shown / total`` for each kind of field the record holds."""
        return {k: (s / t if t else 1.0) for k, (s, t) in self.by_kind.items()}


def measure(record: Any, rendering: Rendering) -> Coverage:
    """How much of ``record``'s text ``rendering`` shows (what counts: the module doc).

    `mira_hf.records.coverage_report` renders the record first; the format detection calls this on each
    candidate reading, so it never renders.

    Example:
        >>> from mira_hf.records import render
        >>> record = [{"role": "user", "content": "Fix the failing test."}, {"role": "assistant", "content": "Done."}]
        >>> measure(record, render(record)).ratio
        1.0
    """
    walk = _Walk(rendering, NOT_SEEN.get(rendering.format, frozenset()), COPIES.get(rendering.format, frozenset()))
    walk.leaves(record, "", 0, "message", 0)
    worst = tuple(p for p, _ in sorted(walk.missing.items(), key=lambda kv: -kv[1])[:5])
    return Coverage(
        shown=walk.shown,
        total=walk.total,
        format=rendering.format,
        missing=worst,
        by_kind=dict(walk.by_kind),
        shortened=walk.shortened,
    )


class _Walk:
    """One pass over a record: each text field's lines looked for in the text of the element holding it."""

    def __init__(self, rendering: Rendering, not_seen: frozenset[str], copies: frozenset[str]) -> None:
        self.text = rendering.text
        self.attr: Attribution | None = rendering.attribution
        self.not_seen = not_seen  # string fields the harness derived (an OpenHands event's ``message`` summary)
        self.copies = copies
        self.shown = self.total = self.shortened = 0
        self.missing: dict[str, int] = {}
        self.by_kind: dict[str, tuple[int, int]] = {}
        self._regions: dict[tuple[int, ...], str] = {}

    # ------------------------------------------------------------------------------------------- walking
    def leaves(
        self, value: Any, path: str, owner: int, kind: str, depth: int, key: str = "", given: bool = False
    ) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, str):
            parsed = self._json(value)
            if parsed is not None:
                self.leaves(parsed, path, owner, kind, depth + 1, key, given)
            elif not (_LABEL.fullmatch(value.strip() or "-") and key not in _TEXT_KEYS):
                self.count(path or "(record)", value, owner, kind, given)
            return
        if isinstance(value, dict) or is_seq(value) or isinstance(value, np.ndarray):
            if self.attr is not None and (id(value) in self.attr.spans or id(value) in self.attr.links):
                owner = id(value)
        if isinstance(value, dict):
            if value.get("is_demo") is True or value.get("message_type") == "demonstration":
                given, kind = True, "demonstration"
                owner = id(value)  # looked for only where the demonstration itself is rendered (nowhere, today)
            if (
                any(isinstance(value.get(k), str) and value[k] in STATE_EVENTS for k in ("kind", "observation"))
                or value.get("type") == "redacted_thinking"
            ):  # state bookkeeping; encrypted reasoning
                return
            if kind not in _GIVEN_KINDS:
                kind = _element_kind(value, kind)
            calls = value.get("tool_calls") is not None and value.get("role") == "assistant"
            for k, v in value.items():
                if (
                    v is None
                    or _is_metadata(k)
                    or k in self.copies
                    or (k in self.not_seen and isinstance(v, str))
                    or (calls and k == "action")
                ):
                    continue  # a history message's ``action``: the command line made of its tool calls, a copy
                schemas = k in _GIVEN_KEYS and kind in ("system", "message")  # not a call's own ``tools`` argument
                self.leaves(
                    v,
                    f"{path}.{k}" if path else str(k),
                    owner,
                    "tools" if schemas else kind if kind in _GIVEN_KINDS else _key_kind(value, k, kind),
                    depth + 1,
                    k if isinstance(k, str) else "",
                    given or schemas,
                )
        elif is_seq(value) or isinstance(value, np.ndarray):
            for v in as_list(value):
                self.leaves(v, f"{path}[]" if len(path) < 200 else path, owner, kind, depth + 1, key, given)

    def _json(self, value: str) -> Any:
        if self.attr is not None and value in self.attr.parsed:
            return self.attr.parsed[value]  # the very objects the reader rendered
        return _json(value)

    # ------------------------------------------------------------------------------------------ counting
    def count(self, path: str, leaf: str, owner: int, kind: str, given: bool) -> None:
        region = self.region(owner)
        omitted = 0
        if len(leaf) > BOILERPLATE_CHARS and boilerplate(leaf, "")[:_HEAD_CHECK] in region:
            kept = _kept_boilerplate(leaf, region)  # shortened on purpose (and said so): the middle is not shown
            omitted = _chars(leaf) - _chars(kept)
            leaf = kept
        # setup text in an element the rendering shortened (and said so): what is not found was left out on purpose
        cut = given or (kind == "system" and _OMITTED.search(region) is not None)
        shown = total = 0
        pos = 0
        for line in leaf.split("\n"):
            line = line.strip()
            if not line:
                continue
            total += len(line)
            end = _find(region, line, pos)
            if end < 0:
                end = _find(region, json.dumps(line, ensure_ascii=False)[1:-1], pos)
            if end >= 0:
                shown += len(line)
                pos = end
            else:
                self.missing[path] = self.missing.get(path, 0) + len(line)
        if omitted:
            total += omitted
            self.missing[path] = self.missing.get(path, 0) + omitted
        self.shortened += omitted + (total - shown - omitted if cut else 0)
        if total:
            self.shown += shown
            self.total += total
            s, t = self.by_kind.get(kind, (0, 0))
            self.by_kind[kind] = (s + shown, t + total)

    def region(self, owner: int) -> str:
        """The text rendered for ``owner`` (and for what it is shown through); all of it without attribution."""
        if self.attr is None:
            return self.text
        keys = tuple(sorted({owner, *self.attr.links.get(owner, ())}))
        region = self._regions.get(keys)
        if region is None:
            spans = sorted({span for k in keys for span in self.attr.spans.get(k, ())})
            region = "\n\x00\n".join(self.text[s:e] for s, e in spans)
            self._regions[keys] = region
        return region


def _chars(text: str) -> int:
    """Characters counted in ``text``: its lines without surrounding whitespace."""
    return sum(len(line.strip()) for line in text.split("\n"))


def _find(region: str, line: str, pos: int) -> int:
    """End of the first occurrence of ``line`` in ``region`` at or after ``pos`` that is not part of a longer
    word (``ok`` is not found in ``broken``); -1 when there is none."""
    if not line:
        return -1
    head, tail = _WORD.match(line[0]) is not None, _WORD.match(line[-1]) is not None
    start = region.find(line, pos)
    while start >= 0:
        end = start + len(line)
        before = (
            head
            and start > 0
            and _WORD.match(region[start - 1]) is not None
            and region[start - 2 : start] not in _ESCAPES
        )  # after a JSON escape (``\tcode``) is a word's start
        if not before and not (tail and end < len(region) and _WORD.match(region[end])):
            return end
        start = region.find(line, start + 1)
    return -1


def _is_metadata(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    k = key.lower()
    return k in METADATA_KEYS or k.endswith(NON_TEXT_SUFFIXES)


def _element_kind(d: dict, inherited: str) -> str:
    """What kind of field an element's text is, from the element's own labels (role, from, kind, type …)."""
    role = d.get("role")
    if isinstance(role, str):
        role = role.strip().lower()
        if role in ("system", "developer"):
            return "system"
        if role in _TOOL_ROLES:
            return "observation"
        return "tool_call" if role in _CALL_ROLES else "message"
    speaker = d.get("from")
    if isinstance(speaker, str) and "value" in d:
        speaker = speaker.strip().lower()
        if speaker == "system":
            return "system"
        if speaker in _CALL_ROLES:
            return "tool_call"
        return "observation" if speaker in _TOOL_ROLES else "message"
    kind = d.get("kind")
    if isinstance(kind, str):
        if kind == "SystemPromptEvent":
            return "system"
        if kind == "ActionEvent":
            return "tool_call"
        if kind.endswith("Observation") or kind in ("ObservationEvent", "AgentErrorEvent"):
            return "observation"
        if kind == "MessageEvent":
            return "message"
    part = d.get("type")
    if isinstance(part, str):
        if part in ("thinking", "reasoning", "redacted_thinking"):
            return "reasoning"
        if part in ("tool_use", "tool_call", "function_call", "function"):
            return "tool_call"
        if part == "tool_result":
            return "observation"
    action = d.get("action")
    if isinstance(action, str) and ("args" in d or "source" in d):  # an OpenHands action
        return "system" if action == "system" else "message" if action == "message" else "tool_call"
    if d.get("observation") == "recall":  # the workspace context the harness gave the agent: setup, like a prompt
        return "system"
    if isinstance(d.get("observation"), str) and ("extras" in d or "cause" in d or "content" in d):
        return "observation"
    return inherited


def _key_kind(d: dict, key: Any, kind: str) -> str:
    """The kind of ``d[key]``'s text: a reasoning, call or outcome key overrides its element's kind."""
    if not isinstance(key, str):
        return kind
    if key in _REASONING_KEYS:
        return "reasoning"
    if key in ("system", "system_prompt"):
        return "system"
    if key in _OUTCOME_KEYS:
        return "outcome"
    if kind in ("observation", "reasoning", "system"):
        return kind
    if key in _CALL_KEYS or (key == "args" and kind == "tool_call"):
        return "tool_call"
    if key == "action" and isinstance(d.get(key), str):  # a SWE-agent step's command
        return "tool_call"
    if key == "observation" and isinstance(d.get(key), str):
        return "observation"
    return kind


def _kept_boilerplate(leaf: str, text: str) -> str:
    """The head and tail of a long system prompt that the rendering keeps, when it shortened that prompt."""
    shortened = boilerplate(leaf.strip(), "")
    head, _, rest = shortened.partition("\n[... ")
    said = rest.partition(" characters of the ")[0]  # the rendering says how much it left out
    if head[-_HEAD_CHECK:] not in text or f"\n[... {said} characters of the " not in text:
        return leaf
    tail = rest.partition(" omitted ...]\n")[2]
    return head + "\n" + tail


def _json(value: str) -> Any:
    s = value.strip()
    if len(s) < 2 or not ((s[0] == "{" and s[-1] == "}") or (s[0] == "[" and s[-1] == "]")):
        return None
    try:
        parsed = json.loads(s)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, (dict, list)) else None
