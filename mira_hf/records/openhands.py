"""OpenHands V0 event histories (``event_to_dict``), and the older ``[[action, observation], ...]`` pairs.

Actions carry ``action`` and ``args``; observations carry ``observation``, ``content``, ``extras`` and ``cause``
(the id of the action they answer). As ``datasets`` stores them, every event has every key (``None`` where
absent): ``None`` means absent. State bookkeeping (agent state changes, ``null`` observations, recalls of the
user's message, ``initialize``) adds nothing and is skipped; ``tool_call_metadata`` repeats the model's
response, shown by the actions of that response, except its reasoning (``reasoning_content``,
``thinking_blocks``), which is shown once, with the first of them. Events with neither an action nor an
observation (``{"source": "environment", "content": "ok"}``, ``{"status": ...}``, ``{"error": ...,
"error_code": ...}``) are shown as generic lines.
"""

from __future__ import annotations

from typing import Any

from mira_hf.records.common import (
    Transcript,
    args_text,
    as_list,
    boilerplate,
    call_line,
    content_text,
    first_str,
    is_seq,
    opt,
    reasoning_text,
    scalar,
    trim,
)
from mira_hf.records.generic import element_block

_SKIP_ACTIONS = frozenset(
    {
        "recall",
        "change_agent_state",
        "null",
        "condensation",
        "condensation_request",
        "initialize",
        "start",
        "stop",
        "pause",
        "resume",
    }
)
_SKIP_OBSERVATIONS = frozenset({"agent_state_changed", "null", "condensation"})


def is_event(d: dict) -> bool:
    """An OpenHands V0 event: a string ``action`` or ``observation`` beside V0 event keys."""
    if not (isinstance(d.get("action"), str) or isinstance(d.get("observation"), str)):
        return False
    if d.get("args") is not None or d.get("extras") is not None:
        return True
    from mira_hf.records.swe_agent import is_step

    return not is_step(d)


def is_pair(x: Any) -> bool:
    """An OpenDevin-era ``[action, observation]`` pair."""
    return is_seq(x) and len(x) == 2 and all(isinstance(e, dict) for e in as_list(x))


def render_events(events: Any) -> str:
    t = Transcript()
    responses: dict[str, list[dict]] = {}
    for i, ev in enumerate(events):
        t.source(ev)
        if type(ev) is dict and isinstance(ev.get("tool_call_metadata"), dict):
            _group_by_response(responses, ev)
        if type(ev) is dict:  # the common case, inlined: an action or an observation
            action = ev.get("action")
            if type(action) is str:
                _action(t, ev, action, i)
                continue
            observation = ev.get("observation")
            if type(observation) is str:
                _observation(t, ev, observation, i)
                continue
        if is_pair(ev):
            for e in as_list(ev):
                t.source(e)
                _event(t, e, i)
        else:
            _event(t, ev, i)
    for group in responses.values():  # each event's copy of the model's response is shown by the group's events
        for ev in group:
            t.attribution.link(ev["tool_call_metadata"], *group)
    return t.text("a list of OpenHands events")


def _response_message(ev: dict) -> dict:
    """The model's message in an event's ``tool_call_metadata.model_response`` (``{}`` when absent)."""
    resp = (
        ev.get("tool_call_metadata", {}).get("model_response")
        if isinstance(ev.get("tool_call_metadata"), dict)
        else None
    )
    choices = resp.get("choices") if isinstance(resp, dict) else None
    first = as_list(choices)[0] if is_seq(choices) and len(choices) else None
    msg = first.get("message") if isinstance(first, dict) else None
    return msg if isinstance(msg, dict) else {}


def _group_by_response(responses: dict[str, list[dict]], ev: dict) -> None:
    """Events (the actions of one response and their observations) that carry a copy of the same response."""
    tcm = ev["tool_call_metadata"]
    resp = tcm.get("model_response")
    key = resp.get("id") if isinstance(resp, dict) and isinstance(resp.get("id"), str) else None
    key = key or (tcm.get("tool_call_id") if isinstance(tcm.get("tool_call_id"), str) else None)
    if key is not None:
        responses.setdefault(key, []).append(ev)


def _event(t: Transcript, ev: Any, i: int) -> None:
    if not isinstance(ev, dict):
        t.line(element_block(ev))
        return
    action = ev.get("action")
    if isinstance(action, str):
        _action(t, ev, action.strip(), i)
        return
    observation = ev.get("observation")
    if isinstance(observation, str):
        _observation(t, ev, observation.strip(), i)
        return
    t.line(element_block(ev))


#: Keys of the event itself; in the older flat events every other key is an argument or an extra.
_EVENT_KEYS = frozenset(
    {
        "id",
        "timestamp",
        "source",
        "message",
        "action",
        "observation",
        "cause",
        "args",
        "extras",
        "tool_call_metadata",
        "llm_metrics",
        "timeout",
        "success",
        "content",
    }
)


def _args(ev: dict, i: int) -> dict:
    """An action's arguments: ``args``; in the feedback dataset's fixed schema ``extras``; in older flat events
    the event's own keys."""
    args = ev.get("args")
    if isinstance(args, dict):
        return args
    if isinstance(ev.get("extras"), dict):
        return ev["extras"]
    flat = {k: v for k, v in ev.items() if k not in _EVENT_KEYS}
    if ev.get("action") in ("message", "system") and "content" in ev:
        flat["content"] = ev["content"]
    return flat


def _extras(ev: dict) -> dict:
    """An observation's extras: ``extras``, or (older flat events) the event's own keys."""
    extras = ev.get("extras")
    return extras if isinstance(extras, dict) else {k: v for k, v in ev.items() if k not in _EVENT_KEYS}


def _action(t: Transcript, ev: dict, action: str, i: int) -> None:
    if action in _SKIP_ACTIONS:
        if action == "recall" and isinstance(ev.get("args"), dict):  # repeats the user's message, shown there
            shown_by = t.seen.get(opt(ev["args"].get("query")))
            if shown_by is not None:
                t.attribution.link(ev, shown_by)
        return
    if isinstance(scalar(ev.get("id")), (str, int, float)):
        t.refs[scalar(ev["id"])] = ev  # observations name the action they answer by its id (``cause``)
    args = _args(ev, i)
    if not isinstance(ev.get("args"), (dict, type(None))):  # arguments in an unexpected shape: shown as they are
        ref = f" [{scalar(ev['id'])}]" if ev.get("id") is not None else ""
        t.agent(call_line(f"→ {action}{ref}", args_text(ev["args"])))
        return
    thinking = reasoning_text(_response_message(ev), t)  # the model's reasoning, once per response
    if action in ("message", "system"):
        _message(t, ev, action, args, thinking)
        return
    event_id = scalar(ev.get("id"))
    ref = f" [{event_id}]" if event_id is not None else ""
    thought = opt(args.get("thought")) or opt(ev.get("thought"))
    if action == "think":
        t.agent("\n".join(x for x in (thinking, thought) if x))
        return
    step, thought = _step(action, args, ref, thought)
    t.agent("\n".join(x for x in (thinking, thought, step) if x))


def _message(t: Transcript, ev: dict, action: str, args: dict, thinking: str) -> None:
    """A ``message`` or ``system`` action: the system prompt, the user's message or the agent's own words."""
    text = content_text(args.get("content")) or opt(ev.get("message"))
    if action == "system":
        tools = _tool_names(args.get("tools"))
        text = boilerplate(text, "system prompt") + (f"\n(tools: {tools})" if tools else "")
        t.add("system", text)
    elif ev.get("source") == "user":
        t.add("user", _with_images(text, args))
        t.seen.setdefault(text, ev)
    else:
        t.agent("\n".join(x for x in (thinking, _with_images(text, args)) if x), new_block=True)


def _step(action: str, args: dict, ref: str, thought: str) -> tuple[str, str]:
    """``(step line, thought)`` of a tool action; the thought is dropped when the step already shows it."""
    if action == "run":
        verb = "input" if args.get("is_input") in (True, "true") else "run"
        return _inline(f"→ {verb}{ref}", opt(args.get("command"))), thought
    if action == "run_ipython":
        return _inline(f"→ python{ref}", opt(args.get("code"))), thought
    if action == "read":
        return f"→ read{ref}: {opt(args.get('path'))}{_line_range(args)}", thought
    if action == "edit":
        return _edit(args, ref), thought
    if action == "write":
        return _inline(f"→ write{ref} {opt(args.get('path'))}", trim(args.get("content") or "")), thought
    if action == "browse":
        return f"→ browse{ref}: {opt(args.get('url'))}", thought
    if action == "browse_interactive":
        return _inline(f"→ browse{ref}", opt(args.get("browser_actions"))), thought
    if action == "call_tool_mcp":
        return call_line(f"→ call {opt(args.get('name')) or 'mcp'}{ref}", args_text(args.get("arguments"))), thought
    if action in ("finish", "reject"):
        return _finish(action, args, ref, thought)
    # delegate, summarize, task tracking and anything newer: name and every argument
    rest = {k: v for k, v in args.items() if k not in ("thought", "security_risk", "confirmation_state")}
    return call_line(f"→ {action}{ref}", args_text(rest)), thought


def _finish(action: str, args: dict, ref: str, thought: str) -> tuple[str, str]:
    """A ``finish`` / ``reject`` step: its status, final words and other outputs (the thought once)."""
    outputs = args.get("outputs")
    if not isinstance(outputs, dict):
        outputs = {}
    final = (
        first_str(args, "final_thought", "content")
        or first_str(outputs, "content", "reason")
        or (thought if action == "finish" else "")
    )
    if final == thought:
        thought = ""
    status = scalar(args.get("task_completed"))
    step = f"→ {action}{ref}" + (f" (task_completed: {status})" if status not in (None, "") else "")
    rest = args_text({k: v for k, v in outputs.items() if k not in ("content", "reason")})
    step += "".join(f"\n{x}" for x in (final, rest) if x)
    return step, thought


def _with_images(text: str, args: dict) -> str:
    urls = args.get("image_urls")
    n = len(as_list(urls)) if is_seq(urls) else 0
    return text + (f"\n[{n} image{'s' if n > 1 else ''}]" if n else "")


def _tool_names(tools: Any) -> str:
    if not is_seq(tools):
        return ""
    names = []
    for tool in as_list(tools):
        if isinstance(tool, dict):
            fn = tool.get("function")
            if not isinstance(fn, dict):  # flattened {"name", ...} tools
                fn = tool
            if isinstance(fn.get("name"), str):
                names.append(fn["name"])
    return ", ".join(names)


def _inline(head: str, body: str) -> str:
    if not body:
        return head
    return f"{head}:\n{body}" if "\n" in body else f"{head}: {body}"


def _line_range(args: dict) -> str:
    view = args.get("view_range")
    if is_seq(view) and len(view) == 2:
        view = [scalar(v) for v in as_list(view)]
        return f" (lines {view[0]}–{view[1]})"
    start, end = scalar(args.get("start")), scalar(args.get("end"))
    if isinstance(start, int) and isinstance(end, int) and (start > 1 or end != -1):
        return f" (lines {start}–{end if end != -1 else 'end'})"
    return ""


def _block(label: str, value: Any) -> str:
    """A labelled code block for an edit argument; absent (None) arguments are left out."""
    if not isinstance(value, str) or not value.strip():
        return ""
    return f"\n{label}:\n{value.rstrip(chr(10))}"


def _edit(args: dict, ref: str) -> str:
    """Every edit shape: ``command`` = str_replace / create / insert / view / undo_edit, or none (the arguments
    say what changes: ``old_str``/``new_str``, ``file_text``, or an LLM edit's ``content`` over a line range)."""
    path = opt(args.get("path"))
    command = opt(args.get("command"))
    if command == "view":
        return f"→ read{ref}: {path}{_line_range(args)}"
    if command == "insert":
        head = f"→ edit{ref} insert {path} after line {scalar(args.get('insert_line'))}"
    elif command:
        head = f"→ edit{ref} {command} {path}"
    else:
        head = f"→ edit{ref} {path}{_line_range(args)}"
    body = (
        _block("old_str", args.get("old_str"))
        + _block("new_str", args.get("new_str"))
        + _block("file_text", args.get("file_text"))
        + _block("content", args.get("content"))
    )
    if not command and not body:
        translated = _translated_edit(args.get("translated_ipython_code"))
        if isinstance(translated, dict):  # older edits kept their arguments only as the tool call's Python
            return _edit({**translated, "thought": None}, ref)
        return head + _block("code", translated)
    if command == "insert" and args.get("insert_line") is None:
        head = f"→ edit{ref} insert {path}"
    return head + body


def _translated_edit(code: Any) -> Any:
    """The arguments of ``print(file_editor(**{...}))`` (how older OpenHands stored an editor call), else the code."""
    if not isinstance(code, str) or not code.strip():
        return None
    import ast

    try:
        tree = ast.parse(code.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg is None for k in node.keywords):
            try:
                value = ast.literal_eval(next(k.value for k in node.keywords if k.arg is None))
            except (ValueError, SyntaxError, RecursionError, TypeError):
                return code
            return value if isinstance(value, dict) and value.get("path") else code
    return code


def _observation(t: Transcript, ev: dict, observation: str, i: int) -> None:
    if observation in _SKIP_OBSERVATIONS:
        return
    extras = _extras(ev)
    content = content_text(ev.get("content"))
    if observation == "recall":  # what the agent was given about the workspace: its text, shortened when long
        text = _recall_text(content, extras)
        if text:
            t.add("context (recall)", boilerplate(text, "workspace context"))
        return
    cause = scalar(ev.get("cause"))
    t.answers(extras if extras is not ev else ev, cause)  # extras repeat the action's command, path, code
    details = [observation]
    metadata = extras.get("metadata")
    if type(metadata) is not dict:
        metadata = {}
    if observation in ("run", "run_ipython"):
        code = scalar(metadata.get("exit_code"))
        if code is None:
            code = scalar(extras.get("exit_code"))
        if code is not None and code != -1:
            details.append(f"exit code {code}")
        if cause is None and opt(extras.get("command")):
            details.append(f"`{opt(extras.get('command'))[:200]}`")
        content = "\n".join(x for x in (opt(metadata.get("prefix")), content, opt(metadata.get("suffix"))) if x)
    elif observation in ("read", "edit", "write") and opt(extras.get("path")):
        details.append(opt(extras.get("path")))
    elif observation == "browse" and opt(extras.get("url")):
        details.append(opt(extras.get("url")))
    if observation == "edit":  # the message the agent saw, when the content holds the diff for the UI
        seen = opt(extras.get("formatted_output_and_error"))
        content = "\n".join(x for x in (seen, content) if x) if seen not in content else content
        content = content or trim(extras.get("diff") or "")
    if not content:
        content = first_str(extras, "error", "output", "text")
    t.result(str(cause) if cause is not None else "", ", ".join(details), content)


def _recall_text(content: str, extras: dict) -> str:
    parts = [content] if content else []
    for key in ("repo_instructions", "additional_agent_instructions", "conversation_instructions"):
        if opt(extras.get(key)):
            parts.append(opt(extras[key]))
    knowledge = extras.get("microagent_knowledge")
    if is_seq(knowledge):
        for item in as_list(knowledge):
            if isinstance(item, dict) and opt(item.get("content")):
                parts.append(f"{opt(item.get('name')) or 'microagent'}: {opt(item['content'])}")
    return "\n".join(parts)
