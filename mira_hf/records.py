"""Record rendering: turn one trajectory record into the text the scorer reads.

Supported shapes (detected from the record itself):

- ``openai``: chat messages ``[{"role": ..., "content": ..., "tool_calls": [...]}, ...]``;
- ``sharegpt``: ``[{"from": "human" | "gpt" | "function_call" | "observation" | ..., "value": ...}, ...]``;
- ``openhands``: OpenHands event lists (``action``/``args`` and ``observation``/``content``/``extras``/``cause``
  events, the older ``[[action, observation], ...]`` pairs, and the SDK's ``kind``-tagged events);
- ``text``: a plain string.

A dict wrapping one of these under ``messages`` / ``conversations`` / ``events`` / ``trajectory`` / ``history``
and a JSON *string* holding any of them render like the parsed value. Tool calls and their results stay
attributed: ``→ call bash [call_1]: {...}`` is answered by ``### tool result [call_1] (bash)``.

Anything else raises :class:`~mira_hf.errors.InvalidRecordError` naming what was expected and what was found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import islice
from typing import Any, Literal

import numpy as np

from mira_hf.errors import InvalidRecordError

Format = Literal["openai", "sharegpt", "openhands", "text"]

#: Keys under which a dict record may hold its trajectory, in the order they are looked up.
WRAPPER_KEYS: tuple[str, ...] = ("messages", "conversations", "events", "trajectory", "history")

_EXPECTED = ("a string, a list of OpenAI chat messages, ShareGPT turns or OpenHands events, or a dict holding "
             "one under " + "/".join(repr(k) for k in WRAPPER_KEYS))
_MAX_WRAPPING = 4  # dict-in-dict / JSON-in-JSON levels followed before giving up
_NON_SPACE = re.compile(r"\S")

# ShareGPT speaker names, lower-cased.
_SG_USER = frozenset({"human", "user"})
_SG_ASSISTANT = frozenset({"gpt", "assistant", "chatgpt", "model", "bot", "bing", "bard", "claude"})
_SG_CALL = frozenset({"function_call", "tool_call", "tool_calls"})
_SG_RESULT = frozenset({"observation", "tool", "function", "function_response", "tool_response", "tool_result",
                        "ipython"})

# OpenHands events that carry no trajectory content (state bookkeeping, context injection).
_OH_SKIP_ACTIONS = frozenset({"recall", "change_agent_state", "null", "condensation", "condensation_request"})
_OH_SKIP_OBSERVATIONS = frozenset({"agent_state_changed", "null", "recall", "think", "condensation"})
_OH_V1_SKIP = frozenset({"ConversationStateUpdateEvent", "Condensation", "CondensationRequest", "PauseEvent",
                         "TokenEvent"})


# --------------------------------------------------------------------------------------------- public API
def _add_agent_block(blocks: list[str], block: str, joins: bool, agent_open: bool) -> bool:
    """Append an event's block; agent actions in a row share one ``### assistant`` header. Returns the new state."""
    if joins and agent_open:
        blocks[-1] += "\n" + block
    else:
        blocks.append(("### assistant\n" + block) if joins else block)
    return joins


def detect_format(record: Any) -> Format:
    """Which shape ``record`` has: ``"openai"``, ``"sharegpt"``, ``"openhands"`` or ``"text"``.

    Raises :class:`~mira_hf.errors.InvalidRecordError` for a record that has none of these shapes.

    Example:
        >>> detect_format([{"from": "human", "value": "Fix the failing test."}])
        'sharegpt'
        >>> detect_format('{"messages": [{"role": "user", "content": "hi"}]}')
        'openai'
    """
    return _resolve(record, 0)[0]


def render_record(record: Any) -> str:
    """Render one record as compact, attributed text for the scorer.

    Raises :class:`~mira_hf.errors.InvalidRecordError` (a ``ValueError``) for a missing, empty, malformed or
    unknown record; the message says what was expected and what was found.

    Example:
        >>> print(render_record([
        ...     {"role": "user", "content": "Tests fail."},
        ...     {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
        ...      "function": {"name": "bash", "arguments": '{"command": "pytest -x"}'}}]},
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
    kind, payload = _resolve(record, 0)
    if kind == "text":
        return payload
    return _RENDERERS[kind](payload)


# ------------------------------------------------------------------------------------------- resolution
def _resolve(record: Any, depth: int) -> tuple[Format, Any]:
    """Unwrap ``record`` to ``(format, payload)``: payload is the text or the list of elements."""
    if depth > _MAX_WRAPPING:
        raise InvalidRecordError(f"record is wrapped more than {_MAX_WRAPPING} levels deep (dicts or JSON strings "
                                 f"inside each other); expected {_EXPECTED}.")
    if isinstance(record, str):
        return _resolve_str(record, depth)
    if isinstance(record, dict):
        return _resolve_dict(record, depth)
    if isinstance(record, (list, tuple)):
        return _resolve_list(record)
    if isinstance(record, np.ndarray):
        if record.ndim == 0:
            return _resolve(record.item(), depth)
        return _resolve_list(record.tolist() if record.dtype != object else list(record))
    if record is None:
        raise InvalidRecordError(f"record is missing (None); expected {_EXPECTED}.")
    if isinstance(record, Mapping):
        return _resolve_dict(dict(record), depth)
    if isinstance(record, (bytes, bytearray)):
        raise InvalidRecordError("record is bytes; decode it to a str (UTF-8) before scoring.")
    as_py = getattr(record, "as_py", None)  # a pyarrow scalar
    if callable(as_py):
        return _resolve(as_py(), depth)
    raise InvalidRecordError(f"record is {_a(type(record).__name__)}; expected {_EXPECTED}.")


def _resolve_str(text: str, depth: int) -> tuple[Format, Any]:
    if not text or text.isspace():
        raise InvalidRecordError("record is empty or whitespace only; there is nothing to score.")
    if type(text) is not str:  # numpy.str_ and other subclasses
        text = str(text)
    first = _NON_SPACE.search(text)
    opener = text[first.start()] if first else ""
    if opener in "[{":
        end = len(text) - 1
        while text[end].isspace():
            end -= 1
        if (opener == "[" and text[end] == "]") or (opener == "{" and text[end] == "}"):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                value = None  # not JSON: prose that happens to start with a bracket
            if isinstance(value, dict) or (isinstance(value, list) and value and _structured(value[0])):
                return _resolve(value, depth + 1)
    return "text", text


def _structured(first: Any) -> bool:
    """Does a JSON list starting with ``first`` hold records (dicts or [action, observation] pairs)?"""
    return isinstance(first, dict) or (isinstance(first, list) and len(first) == 2
                                       and all(isinstance(e, dict) for e in first))


def _resolve_dict(record: dict, depth: int) -> tuple[Format, Any]:
    for key in WRAPPER_KEYS:
        value = record.get(key)
        if value is not None:
            return _resolve(value, depth + 1)
    raise InvalidRecordError(f"record is a dict with keys {_keys(record)}; expected a dict holding the trajectory "
                             f"under one of {list(WRAPPER_KEYS)}.")


def _resolve_list(items: list | tuple) -> tuple[Format, Any]:
    if len(items) == 0:
        raise InvalidRecordError("record is an empty list; there is nothing to score.")
    first = items[0]
    if isinstance(first, dict):
        return _kind_of(first), items
    if _is_seq(first) and len(first) == 2 and all(isinstance(e, dict) for e in first):
        return "openhands", _flatten_pairs(items)  # OpenDevin-era history: [[action, observation], ...]
    raise _bad_element(0, first, "a dict (a chat message, a ShareGPT turn or an OpenHands event)")


def _kind_of(first: dict) -> Format:
    if "role" in first:
        return "openai"
    if "from" in first or "value" in first:
        return "sharegpt"
    if "action" in first or "observation" in first or isinstance(first.get("kind"), str):
        return "openhands"
    raise InvalidRecordError(
        f"element 0 of the record is a dict with keys {_keys(first)}; expected an OpenAI chat message ('role', "
        "'content'), a ShareGPT turn ('from', 'value') or an OpenHands event ('action'/'args' or "
        "'observation'/'content').")


def _flatten_pairs(items: Any) -> list:
    out: list = []
    for i, pair in enumerate(items):
        if not (_is_seq(pair) and len(pair) == 2 and all(isinstance(e, dict) for e in pair)):
            raise _bad_element(i, pair, "an [action, observation] pair of dicts")
        out.extend(pair)
    return out


# ------------------------------------------------------------------------------------------------ helpers
def _is_seq(x: Any) -> bool:
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim == 1)


def _keys(d: dict, limit: int = 8) -> list[str]:
    keys = [k[:40] if isinstance(k, str) else type(k).__name__ for k in islice(d, limit)]
    return keys + ["…"] if len(d) > limit else keys


def _describe(x: Any) -> str:
    """A short, safe description of a value (never ``repr`` of a container: it may be cyclic or deep)."""
    if isinstance(x, str):
        return f"a str ({x[:40]!r}{'…' if len(x) > 40 else ''})"
    if isinstance(x, dict):
        return f"a dict with keys {_keys(x)}"
    if x is None:
        return "None"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    if isinstance(x, np.ndarray):
        return f"a numpy array of {x.size} items"
    return _a(type(x).__name__)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _bad_element(i: int, found: Any, expected: str, field: str | None = None) -> InvalidRecordError:
    where = f"element {i} of the record" + (f", field {field!r}," if field else "")
    return InvalidRecordError(f"{where} is {_describe(found)}; expected {expected}.")


def _dumps(value: Any, i: int, field: str) -> str:
    """Compact JSON for tool arguments; cyclic or absurdly deep values are a record error, not a crash."""
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (ValueError, TypeError, RecursionError) as e:
        reason = "is nested too deeply" if isinstance(e, RecursionError) else f"cannot be shown as JSON ({e})"
        raise InvalidRecordError(f"element {i} of the record, field {field!r}, {reason}.") from None


def _json_default(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serializable")


def _args_text(args: Any, i: int, field: str) -> str:
    if args is None:
        return ""
    if isinstance(args, str):
        return args.strip()
    if isinstance(args, dict):
        args = {k: v for k, v in args.items() if v is not None}
    return _dumps(args, i, field)


def _text(content: Any, i: int, field: str = "content") -> str:
    """Text of a message content: a str, None, or a list of parts (``{"type": "text", "text": ...}``)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return _trim(content)
    if isinstance(content, dict):
        content = (content,)
    elif not _is_seq(content):
        raise _bad_element(i, content, "a str, None or a list of content parts", field)
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            piece = part
        elif isinstance(part, dict):
            txt = part.get("text")
            kind = part.get("type")
            if isinstance(txt, str):
                piece = txt
            elif kind in ("image_url", "image", "input_image"):
                piece = "[image]"
            elif isinstance(kind, str):
                piece = f"[{kind}]"
            else:
                raise _bad_element(i, part, "a content part with 'type' and 'text'", field)
        elif part is None:
            continue
        else:
            raise _bad_element(i, part, "a content part (a str or a dict with 'type' and 'text')", field)
        piece = _trim(piece)
        if piece:
            parts.append(piece)
    return "\n".join(parts)


def _trim(text: str) -> str:
    """Drop leading blank lines and trailing whitespace, keeping the first line's indentation (code, ``cat -n``)."""
    text = text.rstrip()
    if text[:1].isspace():
        start = len(text) - len(text.lstrip())
        newline = text.rfind("\n", 0, start)
        if newline >= 0:
            text = text[newline + 1:]
    return text


def _opt(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _check_nonempty(blocks: list[str], fmt: str) -> str:
    if not blocks:
        raise InvalidRecordError(f"record is a {fmt} list with no text, tool call or tool result in it; "
                                 "there is nothing to score.")
    return "\n\n".join(blocks)


# ----------------------------------------------------------------------------------------------- openai
def _render_openai(messages: Any) -> str:
    blocks: list[str] = []
    call_names: dict[str, str] = {}
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _bad_element(i, m, "an OpenAI chat message (a dict with 'role' and 'content')")
        role = m.get("role")
        if not isinstance(role, str) or not role:
            raise _bad_element(i, role, "a non-empty str", "role")
        tool_calls = m.get("tool_calls")
        function_call = m.get("function_call")
        if "content" not in m and tool_calls is None and function_call is None:
            raise InvalidRecordError(f"element {i} of the record (role {role!r}) has no 'content' and no "
                                     f"'tool_calls'; its keys are {_keys(m)}.")
        text = _text(m.get("content"), i)
        lines: list[str] = []
        if role == "tool" or role == "function":
            call_id = m.get("tool_call_id")
            call_id = call_id if isinstance(call_id, str) and call_id else None
            name = m.get("name") or (call_names.get(call_id) if call_id else None)
            header = "### tool result"
            if call_id:
                header += f" [{call_id}]"
            if isinstance(name, str) and name:
                header += f" ({name})"
        else:
            header = f"### {role}"
            thinking = _opt(m.get("reasoning_content")) or _opt(m.get("reasoning"))
            if thinking:
                lines.append(f"(thinking) {thinking}")
        if text:
            lines.append(text)
        if tool_calls is not None:
            if not _is_seq(tool_calls):
                raise _bad_element(i, tool_calls, "a list of tool calls", "tool_calls")
            for j, call in enumerate(tool_calls):
                lines.append(_openai_call(call, i, j, call_names))
        if isinstance(function_call, dict):  # the legacy single function call
            lines.append(_openai_call({"function": function_call}, i, 0, call_names))
        if lines or role in ("tool", "function"):
            blocks.append(header + ("\n" + "\n".join(lines) if lines else "\n(no output)"))
    return _check_nonempty(blocks, "message")


def _openai_call(call: Any, i: int, j: int, call_names: dict[str, str]) -> str:
    if not isinstance(call, dict):
        raise _bad_element(i, call, "a tool call dict with 'function'", f"tool_calls[{j}]")
    fn = call.get("function")
    if fn is None and "name" in call:
        fn = call  # flattened {"name", "arguments"} calls
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise _bad_element(i, fn, "a dict with 'name' and 'arguments'", f"tool_calls[{j}].function")
    name = fn["name"]
    call_id = call.get("id")
    line = f"→ call {name}"
    if isinstance(call_id, str) and call_id:
        call_names[call_id] = name
        line += f" [{call_id}]"
    args = _args_text(fn.get("arguments"), i, f"tool_calls[{j}].function.arguments")
    return f"{line}: {args}" if args else line


# --------------------------------------------------------------------------------------------- sharegpt
def _render_sharegpt(turns: Any) -> str:
    blocks: list[str] = []
    last_assistant = False  # may a call line join the previous block?
    pending: list[tuple[int, str]] = []  # calls waiting for their result, in order
    n_calls = 0
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            raise _bad_element(i, t, "a ShareGPT turn (a dict with 'from' and 'value')")
        who = t.get("from")
        if not isinstance(who, str) or not who:
            raise _bad_element(i, who, "a non-empty str (human, gpt, system, function_call, observation, …)", "from")
        if "value" not in t:
            raise InvalidRecordError(f"element {i} of the record (from {who!r}) has no 'value'; its keys are "
                                     f"{_keys(t)}.")
        value = t["value"]
        speaker = who.lower()
        if speaker in _SG_CALL:
            lines = []
            for name, args in _sharegpt_calls(value, i):
                n_calls += 1
                if name:
                    pending.append((n_calls, name))
                    lines.append(f"→ call {name} [#{n_calls}]" + (f": {args}" if args else ""))
                else:
                    pending.append((n_calls, ""))
                    lines.append(f"→ call [#{n_calls}]: {args}")
            if last_assistant:
                blocks[-1] += "\n" + "\n".join(lines)
            else:
                blocks.append("### assistant\n" + "\n".join(lines))
            last_assistant = True
            continue
        text = _text(value, i, "value")
        if speaker in _SG_RESULT:
            header = "### tool result"
            if pending:
                num, name = pending.pop(0)
                header += f" [#{num}]" + (f" ({name})" if name else "")
            blocks.append(header + "\n" + (text or "(no output)"))
            last_assistant = False
            continue
        role = "user" if speaker in _SG_USER else "assistant" if speaker in _SG_ASSISTANT else speaker
        if text:
            blocks.append(f"### {role}\n{text}")
            last_assistant = role == "assistant"
    return _check_nonempty(blocks, "ShareGPT turn")


def _sharegpt_calls(value: Any, i: int) -> list[tuple[str, str]]:
    """``(name, arguments)`` of each call in a function_call turn; raw text when it is not JSON."""
    parsed = value
    if value is None:
        raise _bad_element(i, value, "a function call (JSON with 'name' and 'arguments')", "value")
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise _bad_element(i, value, "a function call (JSON with 'name' and 'arguments')", "value")
        if stripped[0] in "[{":
            try:
                parsed = json.loads(stripped)
            except (ValueError, RecursionError):
                return [("", stripped)]
        else:
            return [("", stripped)]
    calls = parsed if _is_seq(parsed) else [parsed]
    out = []
    for call in calls:
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = call.get("arguments", call.get("parameters"))
            out.append((call["name"], _args_text(args, i, "value.arguments")))
        else:
            out.append(("", _args_text(call, i, "value")))
    return out


# -------------------------------------------------------------------------------------------- openhands
def _render_openhands(events: Any) -> str:
    blocks: list[str] = []
    agent_open = False  # the last block is an agent block that a following action may join
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise _bad_element(i, ev, "an OpenHands event (a dict with 'action' or 'observation')")
        action = ev.get("action")
        if isinstance(action, str):
            block, joins = _oh_action(ev, action, i)
            if block is not None:
                agent_open = _add_agent_block(blocks, block, joins, agent_open)
            continue
        observation = ev.get("observation")
        if isinstance(observation, str):
            block = _oh_observation(ev, observation, i)
            if block is not None:
                blocks.append(block)
                agent_open = False
            continue
        kind = ev.get("kind")
        if isinstance(kind, str):
            block, joins = _oh_sdk_event(ev, kind, i)
            if block is not None:
                agent_open = _add_agent_block(blocks, block, joins, agent_open)
            continue
        raise InvalidRecordError(f"element {i} of the record is an event with keys {_keys(ev)}; expected an OpenHands "
                                 "action ('action', 'args'), observation ('observation', 'content', 'extras') or "
                                 "SDK event ('kind').")
    return _check_nonempty(blocks, "OpenHands event")


def _oh_args(ev: dict, i: int) -> dict:
    args = ev.get("args")
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise _bad_element(i, args, "a dict of action arguments", "args")
    return args


def _oh_action(ev: dict, action: str, i: int) -> tuple[str | None, bool]:
    """``(text, is_agent_step)``; agent steps render as thought + ``→ action [id] ...`` inside an assistant block."""
    if action in _OH_SKIP_ACTIONS:
        return None, False
    args = _oh_args(ev, i)
    source = ev.get("source")
    if action == "message" or action == "system":
        text = _text(args.get("content"), i, "args.content") or _opt(ev.get("message"))
        if not text:
            return None, False
        role = "system" if action == "system" else "user" if source == "user" else "assistant"
        return f"### {role}\n{text}", False
    event_id = ev.get("id")
    ref = f" [{event_id}]" if event_id is not None else ""
    thought = _opt(args.get("thought")) or _opt(ev.get("thought"))
    if action == "think":
        return (thought or None), True
    if action == "run":
        verb = "input" if args.get("is_input") else "run"
        step = _inline(f"→ {verb}{ref}", _opt(args.get("command")))
    elif action == "run_ipython":
        step = _inline(f"→ python{ref}", _opt(args.get("code")))
    elif action == "read":
        step = f"→ read{ref}: {_opt(args.get('path'))}{_line_range(args)}"
    elif action == "edit":
        step = _oh_edit(args, ref)
    elif action == "write":
        step = _inline(f"→ write{ref} {_opt(args.get('path'))}", _opt(args.get("content")))
    elif action == "browse":
        step = f"→ browse{ref}: {_opt(args.get('url'))}"
    elif action == "browse_interactive":
        step = _inline(f"→ browse{ref}", _opt(args.get("browser_actions")))
    elif action == "call_tool_mcp":
        step = f"→ call {_opt(args.get('name')) or 'mcp'}{ref}: {_args_text(args.get('arguments'), i, 'args.arguments')}"
    elif action in ("finish", "reject"):
        outputs = args.get("outputs") if isinstance(args.get("outputs"), dict) else {}
        final = (_opt(args.get("final_thought")) or _opt(outputs.get("content")) or _opt(outputs.get("reason"))
                 or (thought if action == "finish" else ""))
        if final == thought:
            thought = ""
        status = args.get("task_completed")
        step = f"→ {action}{ref}" + (f" (task_completed: {status})" if status not in (None, "") else "")
        if final:
            step += "\n" + final
    else:  # delegate, summarize and anything newer: name and arguments, so nothing is lost
        rest = {k: v for k, v in args.items() if k != "thought"}
        shown = _args_text(rest, i, "args")
        step = f"→ {action}{ref}" + (f": {shown}" if shown not in ("", "{}") else "")
    return (f"{thought}\n{step}" if thought else step), True


def _inline(head: str, body: str) -> str:
    return f"{head}:\n{body}" if "\n" in body else f"{head}: {body}"


def _line_range(args: dict) -> str:
    view = args.get("view_range")
    if _is_seq(view) and len(view) == 2:
        return f" (lines {view[0]}–{view[1]})"
    start, end = args.get("start"), args.get("end")
    if isinstance(start, int) and isinstance(end, int) and (start > 1 or end != -1):
        return f" (lines {start}–{end if end != -1 else 'end'})"
    return ""


def _oh_edit(args: dict, ref: str) -> str:
    path = _opt(args.get("path"))
    command = _opt(args.get("command"))
    if command == "str_replace":
        return (f"→ edit{ref} str_replace {path}\nold_str:\n{_block(args.get('old_str'))}\n"
                f"new_str:\n{_block(args.get('new_str'))}")
    if command == "create":
        return f"→ edit{ref} create {path}\nfile_text:\n{_block(args.get('file_text'))}"
    if command == "insert":
        return f"→ edit{ref} insert {path} after line {args.get('insert_line')}\nnew_str:\n{_block(args.get('new_str'))}"
    if command == "view":
        return f"→ read{ref}: {path}{_line_range(args)}"
    if command:
        return f"→ edit{ref} {command} {path}"
    content = _opt(args.get("content"))  # LLM-based edit: a line range and its new content
    return _inline(f"→ edit{ref} {path}{_line_range(args)}", content)


def _block(value: Any) -> str:
    """A code block argument without its trailing newlines (they only add blank lines)."""
    return value.rstrip("\n") if isinstance(value, str) else ""


def _oh_observation(ev: dict, observation: str, i: int) -> str | None:
    if observation in _OH_SKIP_OBSERVATIONS:
        return None
    extras = ev.get("extras")
    if extras is None:
        extras = {}
    elif not isinstance(extras, dict):
        raise _bad_element(i, extras, "a dict of observation extras", "extras")
    content = _text(ev.get("content"), i)
    cause = ev.get("cause")
    details = [observation]
    if observation == "run":
        metadata = extras.get("metadata")
        code = metadata.get("exit_code") if isinstance(metadata, dict) else None
        if code is None:
            code = extras.get("exit_code")
        if code is not None and code != -1:
            details.append(f"exit code {code}")
        if cause is None and _opt(extras.get("command")):
            details.append(f"`{_opt(extras.get('command'))[:200]}`")
    elif observation in ("read", "edit", "write") and _opt(extras.get("path")):
        details.append(_opt(extras.get("path")))
    if not content and observation == "edit":
        content = _opt(extras.get("diff"))
    header = "### tool result" + (f" [{cause}]" if cause is not None else "") + f" ({', '.join(details)})"
    return f"{header}\n{content or '(no output)'}"


def _oh_sdk_event(ev: dict, kind: str, i: int) -> tuple[str | None, bool]:
    """Events of the OpenHands software-agent SDK (``kind``: MessageEvent, ActionEvent, ObservationEvent, …)."""
    if kind in _OH_V1_SKIP:
        return None, False
    if kind == "MessageEvent":
        msg = ev.get("llm_message")
        if not isinstance(msg, dict):
            raise _bad_element(i, msg, "a dict with 'role' and 'content'", "llm_message")
        text = _text(msg.get("content"), i, "llm_message.content")
        role = msg.get("role") if isinstance(msg.get("role"), str) else ev.get("source") or "user"
        return (f"### {role}\n{text}" if text else None), False
    if kind == "SystemPromptEvent":
        text = _text(ev.get("system_prompt"), i, "system_prompt")
        return (f"### system\n{text}" if text else None), False
    if kind == "CondensationSummaryEvent":
        text = _opt(ev.get("summary"))
        return (f"### summary of earlier steps\n{text}" if text else None), False
    call_id = ev.get("tool_call_id")
    ref = f" [{call_id}]" if isinstance(call_id, str) and call_id else ""
    tool = _opt(ev.get("tool_name"))
    if kind == "ActionEvent":
        thought = _text(ev.get("thought"), i, "thought")
        reasoning = _opt(ev.get("reasoning_content"))
        call = ev.get("tool_call") if isinstance(ev.get("tool_call"), dict) else {}
        args = call.get("arguments")
        if args is None and isinstance(ev.get("action"), dict):
            args = {k: v for k, v in ev["action"].items() if k != "kind"}
        shown = _args_text(args, i, "tool_call.arguments")
        step = f"→ call {tool or _opt(call.get('name')) or 'tool'}{ref}" + (f": {shown}" if shown else "")
        lines = [f"(thinking) {reasoning}"] if reasoning else []
        if thought:
            lines.append(thought)
        lines.append(step)
        return "\n".join(lines), True
    if kind == "ObservationEvent":
        obs = ev.get("observation")
        if not isinstance(obs, dict):
            raise _bad_element(i, obs, "a dict (the tool's observation)", "observation")
        text = _text(obs.get("content"), i, "observation.content") or _opt(obs.get("output")) or _opt(obs.get("text"))
        details = [tool] if tool else []
        code = obs.get("exit_code")
        if code is None and isinstance(obs.get("metadata"), dict):
            code = obs["metadata"].get("exit_code")
        if code is not None and code != -1:
            details.append(f"exit code {code}")
        if obs.get("is_error") is True:
            details.append("error")
        header = "### tool result" + ref + (f" ({', '.join(details)})" if details else "")
        return f"{header}\n{text or '(no output)'}", False
    if kind in ("AgentErrorEvent", "UserRejectObservation"):
        label, text = ("error", _opt(ev.get("error"))) if kind == "AgentErrorEvent" else \
            ("rejected", _opt(ev.get("rejection_reason")))
        details = ", ".join(d for d in (tool, label) if d)
        return f"### tool result{ref} ({details})\n{text or '(no output)'}", False
    return None, False  # other bookkeeping events carry no trajectory content


_RENDERERS = {"openai": _render_openai, "sharegpt": _render_sharegpt, "openhands": _render_openhands}

__all__ = ["Format", "WRAPPER_KEYS", "detect_format", "render_record"]
