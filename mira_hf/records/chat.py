"""Chat messages: OpenAI-style (``role`` / ``content`` / ``tool_calls``) and ``role`` / ``text`` rows (nebius).

Handled: content as a string, ``None`` or a list of parts (text, reasoning, images, Anthropic ``tool_use`` and
``tool_result``); ``tool_calls`` whose ``arguments`` are a dict or a JSON string; ``role: "tool"`` with
``tool_call_id`` (or SWE-agent's ``tool_call_ids``); ``role: "function"`` and the legacy ``function_call``;
reasoning (``reasoning_content``, ``thinking_blocks``, ``thinking`` …). Demonstrations (``is_demo: true``) are
left out. A tool result names the call it answers: ``→ call bash [call_1]: {...}`` is answered by
``### tool result [call_1] (bash)``.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import (
    Transcript,
    args_text,
    as_list,
    call_line,
    call_lines,
    content_text,
    first_str,
    is_seq,
    opt,
    reasoning_text,
)
from mira_hf.records.generic import element_block

#: Role names, lower-cased, mapped to the role shown.
ROLE_NAMES = {
    "human": "user",
    "ai": "assistant",
    "gpt": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "developer": "system",
}
TOOL_ROLES = frozenset({"tool", "function", "ipython", "tool_result", "tool_response", "observation", "environment"})
#: Roles whose content is a call (JSON ``{"name", "arguments"}``), as ShareGPT's ``function_call`` turns.
CALL_ROLES = frozenset({"tool_call", "function_call"})


def is_message(d: dict) -> bool:
    """An OpenAI-style chat message: a string ``role`` and a ``content``, ``tool_calls`` or ``function_call``."""
    return isinstance(d.get("role"), str) and ("content" in d or "tool_calls" in d or "function_call" in d)


def is_text_row(d: dict) -> bool:
    """A ``role`` / ``text`` row (nebius/SWE-agent-trajectories): ``text`` instead of ``content``."""
    return isinstance(d.get("role"), str) and "text" in d and d.get("content") is None


def render_messages(messages: Any, text_key: str = "content") -> str:
    """Render a list of chat messages (``text_key`` names the field holding each message's text)."""
    t = Transcript()
    call_names: dict[str, str] = {}
    for _i, m in enumerate(messages):
        t.source(m)
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            t.line(element_block(m))
            continue
        if m.get("is_demo") is True:
            continue
        _message(t, m, text_key, call_names)
    return t.text("a list of chat messages")


def message_text(m: dict, text_key: str = "content") -> str:
    """A message's text: ``m[text_key]`` (or ``content``) as a string or list of parts."""
    text = content_text(m.get(text_key))
    if not text and text_key != "content":
        text = content_text(m.get("content"))
    return text


def _message(t: Transcript, m: dict, text_key: str, call_names: dict[str, str]) -> None:
    role = m["role"].strip().lower() or "unknown"
    role = ROLE_NAMES.get(role, role)
    text = message_text(m, text_key)
    if not text and role == "system":
        text = first_str(m, "system_prompt")
    if role in CALL_ROLES:
        t.add("assistant", call_lines(m.get(text_key)))
        return
    if role in TOOL_ROLES:
        call_id = _result_id(m)
        name = opt(m.get("name")) or call_names.get(call_id, "")
        t.result(call_id, name, text)
        return
    lines: list[str] = []
    thinking = reasoning_text(m)  # reasoning_content, thinking_blocks, ...: what the model reasoned
    if thinking:
        lines.append(thinking)
    if text:
        lines.append(text)
    calls = m.get("tool_calls")
    if is_seq(calls):
        for _j, call in enumerate(as_list(calls)):
            lines.append(_call(call, call_names))
    elif calls is not None and not (isinstance(calls, str) and not calls.strip()):  # not a list: shown as it is
        lines.append(call_line("→ call", args_text(calls)))
    if isinstance(m.get("function_call"), dict):  # the legacy single function call
        lines.append(_call({"function": m["function_call"]}, call_names))
    action = opt(m.get("action"))  # SWE-agent history: the command parsed from the response
    if action and not is_seq(calls) and action not in text:
        lines.append(call_line("→ action", action))
    t.add(role, "\n".join(lines))


def _result_id(m: dict) -> str:
    call_id = m.get("tool_call_id")
    if isinstance(call_id, str) and call_id:
        return call_id
    ids = m.get("tool_call_ids")
    if is_seq(ids):
        ids = [x for x in as_list(ids) if isinstance(x, str) and x]
        return ", ".join(ids)
    return ""


def _call(call: Any, call_names: dict[str, str]) -> str:
    if not isinstance(call, dict):
        return call_line("→ call", args_text(call))
    fn = call.get("function")
    if not isinstance(fn, dict):
        fn = call  # flattened {"name", "arguments"} calls
    name = opt(fn.get("name")) or "tool"
    call_id = call.get("id")
    head = f"→ call {name}"
    if isinstance(call_id, str) and call_id:
        call_names[call_id] = name
        head += f" [{call_id}]"
    args = fn.get("arguments")
    if args is None:
        args = fn.get("parameters", fn.get("input"))
    return call_line(head, args_text(args))
