"""SWE-agent ``.traj`` files and mini-swe-agent ``.traj.json`` files.

A SWE-agent ``.traj`` holds ``environment``, ``trajectory`` (steps: ``thought``, ``action``, ``observation``,
``response``, ``state``), ``history`` (the chat the model saw: ``role``, ``content``, ``agent``,
``message_type``, ``is_demo``, ``tool_calls``, ``tool_call_ids``) and ``info`` (``exit_status``,
``submission``, model stats). The history gives the system prompt (shortened when long) and the issue; the
steps give every action, each with the reasoning (``thinking_blocks``) of its history message and its
observation as the history showed it to the agent; demonstrations are left out. Without steps the history is
read; without a history, the issue is taken from ``replay_config``. The exit status and the submitted patch
come last.

A mini-swe-agent ``.traj.json`` holds ``messages`` (chat) and ``info``; it reads the same way.
"""

from __future__ import annotations

import json
from typing import Any

from mira_hf.records.chat import _message, _result_id, message_text
from mira_hf.records.common import Transcript, as_list, boilerplate, first_str, is_seq, opt, reasoning_text, trim
from mira_hf.records.generic import element_block

_OUTCOME_KEYS = ("exit_status", "submission")


def _is_history_message(d: dict) -> bool:
    return isinstance(d.get("role"), str) and (
        d.get("message_type") is not None or d.get("agent") is not None or d.get("is_demo") is not None
    )


def is_step(d: dict) -> bool:
    """A SWE-agent trajectory step: a string ``action`` or ``observation`` beside ``response`` or ``thought``."""
    return (
        (isinstance(d.get("action"), str) or isinstance(d.get("observation"), str))
        and (isinstance(d.get("response"), str) or isinstance(d.get("thought"), str))
        and d.get("args") is None
        and d.get("extras") is None
    )


def is_element(d: dict) -> bool:
    """A SWE-agent history message (``agent`` / ``message_type`` / ``is_demo``) or trajectory step."""
    return _is_history_message(d) or is_step(d)


def is_traj(d: dict) -> bool:
    """A SWE-agent ``.traj``: a history or trajectory beside ``info`` / ``environment`` / ``replay_config``."""
    if not ("info" in d or "environment" in d or "replay_config" in d):
        return False
    for key in ("history", "trajectory"):
        items = d.get(key)
        if is_seq(items) and len(items) and isinstance(as_list(items)[0], dict) and is_element(as_list(items)[0]):
            return True
    return False


def is_mini_traj(d: dict) -> bool:
    """A mini-swe-agent ``.traj.json``: ``messages`` and ``info`` (``trajectory_format`` ``mini-swe-agent-*``)."""
    fmt = d.get("trajectory_format")
    info = d.get("info")
    return is_seq(d.get("messages")) and (
        (isinstance(fmt, str) and fmt.startswith("mini-swe-agent"))
        or (isinstance(info, dict) and ("mini_version" in info or "exit_status" in info))
    )


# --------------------------------------------------------------------------------------------- render
def render(record: Any) -> str:
    """A ``.traj`` dict, or its ``history`` or ``trajectory`` list alone.

    With both, the history gives the system prompt and the task (the chat up to the first user message) and the
    steps give what the agent did and saw: every step, also those the history leaves out (a response without a
    tool call that the agent was asked to redo).
    """
    if isinstance(record, dict):
        t = Transcript()
        history = [m for m in as_list(record.get("history") or []) if not _is_demo(m)]
        steps = as_list(record.get("trajectory") or [])
        if steps and any(isinstance(s, dict) for s in steps):
            preamble = _preamble(history)
            _history(t, preamble)
            if not any(isinstance(m, dict) and m.get("role") == "user" for m in preamble):
                task = _replay_task(record.get("replay_config"))
                if task:
                    t.source(record)
                    t.add("user", task)
            chat = history[len(preamble) :]
            pairs = _pair(steps, chat)
            _steps(t, steps, pairs)
            paired = {id(m) for step_chat in pairs.values() for m in step_chat}
            for m in chat:  # the chat form of the steps: each message shown by its step, or by the steps
                if isinstance(m, dict) and id(m) not in paired:
                    t.attribution.link(m, *[s for s in steps if isinstance(s, dict)])
        else:
            _history(t, history)
        _outcome(t, record.get("info"))
        return t.text("a SWE-agent trajectory")
    items = as_list(record)
    t = Transcript()
    if any(isinstance(x, dict) and _is_history_message(x) for x in items):
        _history(t, [m for m in items if not _is_demo(m)])
    else:
        _steps(t, items)
    return t.text("a SWE-agent trajectory")


def _is_demo(m: Any) -> bool:
    return isinstance(m, dict) and (m.get("is_demo") is True or m.get("message_type") == "demonstration")


def _preamble(history: list) -> list:
    """The history up to and including the task (its first user message)."""
    for i, m in enumerate(history):
        if isinstance(m, dict) and m.get("role") == "user":
            return history[: i + 1]
    return [m for m in history if isinstance(m, dict) and m.get("role") == "system"]


def render_mini(record: dict) -> str:
    t = Transcript()
    _history(t, as_list(record.get("messages") or []))
    _outcome(t, record.get("info"))
    return t.text("a mini-swe-agent trajectory")


def _history(t: Transcript, messages: list, text_key: str = "content") -> None:
    """Chat messages; after the task, a user message is what the environment answered (a tool result)."""
    call_names: dict[str, str] = {}
    seen_task = False
    for _i, m in enumerate(messages):
        t.source(m)
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            t.line(element_block(m))
            continue
        role = m["role"].strip().lower()
        if role == "system":
            text = message_text(m, text_key) or first_str(m, "system_prompt")
            t.add("system", boilerplate(text, "system prompt"))
        elif role == "user" and seen_task:
            t.result(_result_id(m), "", message_text(m, text_key))
        else:
            seen_task = seen_task or role == "user"
            _message(t, m, text_key, call_names)


def render_text_rows(rows: Any) -> str:
    """``role`` / ``text`` rows (nebius/SWE-agent-trajectories): SWE-agent's chat with ``text`` for ``content``."""
    t = Transcript()
    _history(t, as_list(rows), "text")
    return t.text("a list of role / text rows")


def _pair(steps: list, chat: list) -> dict[int, list[dict]]:
    """Each step's messages in the history (its assistant message and the answers that follow it), in order:
    the steps do not keep the model's reasoning (``thinking_blocks``) nor the observation as the agent saw it."""
    out: dict[int, list[dict]] = {}
    j = 0
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        keys = {opt(step.get("thought")), opt(step.get("response"))} - {""}
        for k in range(j, len(chat)):
            m = chat[k]
            if (
                isinstance(m, dict)
                and m.get("role") == "assistant"
                and (opt(m.get("thought")) in keys or message_text(m) in keys)
            ):
                answers = []
                for a in chat[k + 1 :]:
                    if not isinstance(a, dict) or a.get("role") == "assistant":
                        break
                    answers.append(a)
                out[i] = [m, *answers]
                j = k + 1 + len(answers)
                break
    return out


def _steps(t: Transcript, steps: list, pairs: dict[int, list[dict]] | None = None) -> None:
    for i, step in enumerate(steps):
        t.source(step)
        if not isinstance(step, dict):
            t.line(element_block(step))
            continue
        thought = opt(step.get("thought")) or (opt(step.get("response")) if not opt(step.get("action")) else "")
        action = trim(step.get("action") or "") if isinstance(step.get("action"), str) else ""
        if not (thought or action or isinstance(step.get("observation"), str)):
            t.line(element_block(step))
            continue
        chat = (pairs or {}).get(i, [])
        for m in chat:  # shown here, as this step
            t.attribution.link(m, step)
        thinking = reasoning_text(chat[0]) if chat else ""
        lines = [x for x in (thinking, thought) if x]
        response = trim(step.get("response") or "") if isinstance(step.get("response"), str) else ""
        if action and thought and action in response and thought.split("\n", 1)[0] in response:
            lines = [x for x in (thinking, response) if x]  # the model's own words, its command in them (0.x)
        elif action:
            lines.append(f"→ action:\n{action}" if "\n" in action else f"→ {action}")
        t.agent("\n".join(lines), new_block=True)
        if isinstance(step.get("observation"), str):
            observation = trim(step["observation"])
            seen = "\n".join(x for x in (message_text(a) for a in chat[1:]) if x)
            if seen and observation.split("\n", 1)[0] in seen:
                observation = seen  # as the agent saw it (with the harness's prompt around the output)
            t.result("", "", observation)


def _replay_task(replay_config: Any) -> str:
    """The issue text from a ``.traj``'s ``replay_config`` (a JSON string or dict of the run's settings)."""
    config = replay_config
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except (ValueError, RecursionError):
            return ""
    if not isinstance(config, dict):
        return ""
    statement = config.get("problem_statement")
    if isinstance(statement, dict):
        return first_str(statement, "text", "problem_statement")
    return opt(statement)


def _outcome(t: Transcript, info: Any) -> None:
    if isinstance(info, dict):
        t.source(info)
        shown_text = "\n\n".join(t.blocks)
        patch = info.get("submission")
        t.add("outcome", outcome_text(opt(info.get("exit_status")), patch, shown_text))
        if isinstance(patch, str) and patch.strip() and patch.strip("\n")[:300] in shown_text:
            at = shown_text.find(patch.strip("\n")[:300])  # shown above, once: attributed there
            t.shown_at(info, at, at + len(patch.strip("\n")))


def outcome_text(status: str, patch: Any, shown_text: str) -> str:
    """The run's end: exit status, and whether a patch was submitted (the patch itself unless shown above)."""
    lines = []
    if status:
        lines.append(f"exit status: {status}")
    if isinstance(patch, str) and patch.strip():
        patch = patch.strip("\n")
        n = patch.count("\n") + 1
        shown = patch[:300] in shown_text
        lines.append(f"patch submitted: yes ({n} lines{', shown above' if shown else ''})")
        if not shown:
            lines.append(patch)
    elif status:
        lines.append("patch submitted: no")
    return "\n".join(lines)
