"""OpenHands V1 (software-agent SDK) events, tagged by ``kind``.

``SystemPromptEvent`` (the system prompt, shortened when long, and the tool names), ``MessageEvent``
(``llm_message``), ``ActionEvent`` (thought, reasoning, the tool call with every argument),
``ObservationEvent`` (the tool's output, exit code, error flag), ``AgentErrorEvent`` and
``UserRejectObservation``; ``CondensationSummaryEvent`` shows its summary. State updates, pauses, token
events and condensation bookkeeping carry no trajectory content and are skipped; any other ``kind`` is shown
as a generic line.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import (
    Transcript,
    args_text,
    boilerplate,
    call_line,
    content_text,
    dict_at,
    first_str,
    opt,
    parse_json_args,
    reasoning_text,
    scalar,
)
from mira_hf.records.fields import is_label
from mira_hf.records.generic import element_block
from mira_hf.records.openhands import _tool_names

_SKIP = frozenset({"ConversationStateUpdateEvent", "Condensation", "CondensationRequest", "PauseEvent", "TokenEvent"})


def is_event(d: dict) -> bool:
    """A V1 SDK event: a string ``kind`` (``MessageEvent``, ``ActionEvent`` …)."""
    kind = d.get("kind")
    return isinstance(kind, str) and (kind.endswith(("Event", "Observation")) or kind in _SKIP or "source" in d)


def render_events(events: Any) -> str:
    t = Transcript()
    for i, ev in enumerate(events):
        t.source(ev)
        if not isinstance(ev, dict) or not isinstance(ev.get("kind"), str):
            t.line(element_block(ev))
            continue
        _event(t, ev, ev["kind"], i)
    return t.text("a list of OpenHands events")


def _ref(ev: dict) -> str:
    call_id = ev.get("tool_call_id")
    return call_id if isinstance(call_id, str) and call_id else ""


def _event(t: Transcript, ev: dict, kind: str, i: int) -> None:
    if kind in _SKIP:
        return
    if kind == "MessageEvent":
        msg = dict_at(ev, "llm_message")
        text = content_text(msg.get("content"))
        thinking = reasoning_text(msg, t)
        role = opt(msg.get("role")) or opt(ev.get("source")) or "user"
        if role in ("agent", "assistant"):
            t.agent("\n".join(x for x in (thinking, text) if x), new_block=True)
        else:
            t.add(role, text)
        return
    if kind == "SystemPromptEvent":
        text = content_text(ev.get("system_prompt"))
        tools = _tool_names(ev.get("tools"))
        t.add("system", boilerplate(text, "system prompt") + (f"\n(tools: {tools})" if tools else ""))
        return
    if kind == "CondensationSummaryEvent":
        t.add("summary of earlier steps", opt(ev.get("summary")))
        return
    tool = opt(ev.get("tool_name"))
    ref = _ref(ev)
    if kind == "ActionEvent":
        t.agent(_action(t, ev, tool, ref))
        if ref:
            t.refs[ref] = ev  # its observation names it by the call id
        return
    if kind == "ObservationEvent":
        obs = dict_at(ev, "observation")
        t.answers(obs, ref or None)  # the observation repeats the action's command and path
        text = content_text(obs.get("content")) or first_str(obs, "output", "text", "error", "message")
        details = [tool] if tool else []
        code = scalar(obs.get("exit_code"))
        if code is None and isinstance(obs.get("metadata"), dict):
            code = scalar(obs["metadata"].get("exit_code"))
        if code is not None and code != -1:
            details.append(f"exit code {code}")
        if obs.get("is_error") is True or obs.get("error") not in (None, "", False):
            details.append("error")
        metadata = dict_at(obs, "metadata")
        text = "\n".join(x for x in (opt(metadata.get("prefix")), text, opt(metadata.get("suffix"))) if x)
        t.result(ref, ", ".join(details), text)
        return
    if kind in ("AgentErrorEvent", "UserRejectObservation"):
        label, text = (
            ("error", opt(ev.get("error")))
            if kind == "AgentErrorEvent"
            else ("rejected", opt(ev.get("rejection_reason")))
        )
        t.result(ref, ", ".join(d for d in (tool, label) if d), text)
        return
    t.line(element_block(ev))


def _action(t: Transcript, ev: dict, tool: str, ref: str) -> str:
    lines = []
    reasoning = reasoning_text(ev, t)  # reasoning_content, thinking_blocks, responses_reasoning_item
    if reasoning:
        lines.append(reasoning)
    thought = content_text(ev.get("thought"))
    if thought:
        lines.append(thought)
    call = dict_at(ev, "tool_call")
    args = call.get("arguments")
    if args is None and isinstance(ev.get("action"), dict):
        args = {k: v for k, v in ev["action"].items() if k != "kind"}
    name = tool or opt(call.get("name")) or "tool"
    lines.append(call_line(f"→ call {name}" + (f" [{ref}]" if ref else ""), args_text(args)))
    executed = _executed_differently(ev.get("action"), args)
    if executed:
        lines.append(call_line("  (run as)", args_text(executed)))
    return "\n".join(lines)


def _executed_differently(action: Any, args: Any) -> dict:
    """The text fields of the executed ``action`` that its tool call's arguments do not hold (they normally agree)."""
    if not isinstance(action, dict) or args is None:
        return {}
    parsed = parse_json_args(args) if isinstance(args, str) else args
    if not isinstance(parsed, dict):
        return {}
    return {
        k: v
        for k, v in action.items()
        if k != "kind" and isinstance(v, str) and v.strip() and not is_label(v) and parsed.get(k) != v
    }
