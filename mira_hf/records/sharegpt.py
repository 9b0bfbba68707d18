"""ShareGPT turns: ``{"from": ..., "value": ...}``.

``from`` is ``human``/``user``, ``gpt``/``assistant`` (and other model names), ``system``, ``function_call`` /
``tool_call`` (a JSON ``{"name", "arguments"}``, a list of them, or raw text) and ``observation`` / ``tool`` /
``function_response`` / ``tool_response``. ShareGPT has no call ids, so calls are numbered and each result
answers the oldest unanswered call. Other speaker names are shown as they are.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import Transcript, call_line, calls_of, content_text
from mira_hf.records.generic import element_block

_USER = frozenset({"human", "user"})
_ASSISTANT = frozenset({"gpt", "assistant", "chatgpt", "model", "bot", "bing", "bard", "claude", "ai"})
_CALL = frozenset({"function_call", "tool_call", "tool_calls"})
_RESULT = frozenset({"observation", "tool", "function", "function_response", "tool_response", "tool_result", "ipython"})


def is_turn(d: dict) -> bool:
    """A ShareGPT turn: a string ``from`` and a ``value``."""
    return isinstance(d.get("from"), str) and "value" in d


def render_turns(turns: Any) -> str:
    t = Transcript()
    pending: list[tuple[int, str]] = []  # calls waiting for their result, in order
    n_calls = 0
    for _i, turn in enumerate(turns):
        t.source(turn)
        if not isinstance(turn, dict) or not isinstance(turn.get("from"), str):
            t.line(element_block(turn))
            continue
        speaker = turn["from"].strip().lower()
        value = turn.get("value")
        if speaker in _CALL:
            lines = []
            for name, args in calls_of(value):
                n_calls += 1
                pending.append((n_calls, name))
                lines.append(call_line(f"→ call {name} [#{n_calls}]" if name else f"→ call [#{n_calls}]", args))
            t.agent("\n".join(lines))
            continue
        text = content_text(value)
        if speaker in _RESULT:
            num, name = pending.pop(0) if pending else (0, "")
            t.result(f"#{num}" if num else "", name, text)
            continue
        role = "user" if speaker in _USER else "assistant" if speaker in _ASSISTANT else speaker
        if role == "assistant":
            t.agent(text, new_block=True)
        else:
            t.add(role, text)
    return t.text("a list of ShareGPT turns")
