"""Pieces every reader shares: message text (an unknown element's too), tool calls and their arguments, the
transcript being built, reasoning, errors. A leaf of the readers: it imports none of them.

``None`` means *absent* everywhere: a ``datasets`` round trip gives every element every key of its
column (``None`` where it had none), so a reader never tells a missing key from a ``None`` value.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, TypeGuard

import numpy as np

from mira_hf.errors import InvalidRecordError
from mira_hf.records.fields import KIND_KEYS, is_label, is_non_text_key

#: System prompts and other text given to the agent longer than this are shortened (head + tail, said so).
BOILERPLATE_CHARS = 6_000
_BOILERPLATE_HEAD = 4_000
_BOILERPLATE_TAIL = 1_000
#: Tool-call arguments shown first, in this order; the others follow alphabetically (key order is not kept by
#: a ``datasets`` round trip, which orders a struct's fields by first appearance across the whole column).
_ARG_ORDER = (
    "command",
    "path",
    "url",
    "code",
    "old_str",
    "new_str",
    "insert_line",
    "file_text",
    "view_range",
    "content",
)
_ARG_RANK = {k: i for i, k in enumerate(_ARG_ORDER)}
#: Content parts that are pictures or other media: shown as a marker, never dumped.
_MEDIA_PARTS = frozenset({"image_url", "image", "input_image", "audio", "input_audio", "video", "file", "document"})
_MAX_DEPTH = 32  # nesting followed when looking for an unknown element's text fields


# ------------------------------------------------------------------------------------------ values
def is_seq(x: Any) -> TypeGuard[list[Any] | tuple[Any, ...] | np.ndarray]:
    """A list-like element: list, tuple or 1-D numpy array (Ray Data and ``datasets``' numpy format)."""
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim == 1)


def as_list(x: Any) -> list:
    """A list-like value as a list (numpy object arrays keep their elements)."""
    if isinstance(x, np.ndarray):
        return x.tolist() if x.dtype != object else list(x)
    return list(x)


def dict_at(d: dict, key: str) -> dict:
    """``d[key]`` when it is a dict (the very object), else ``{}``: absent, ``None`` or of another shape.

    Example:
        >>> dict_at({"extras": {"exit_code": 0}}, "extras"), dict_at({"extras": None}, "extras")
        ({'exit_code': 0}, {})
    """
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def scalar(value: Any) -> Any:
    """A number as Python shows it, however it arrived: numpy scalars and 0-d arrays (Ray Data, ``datasets``'
    numpy format) unwrapped, and whole floats (an int column with nulls becomes float) as ints."""
    if value is None or type(value) is int or type(value) is str:
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def opt(value: Any) -> str:
    """A string field, stripped; anything else (``None``, numbers, dicts) is ``""``."""
    return value.strip() if isinstance(value, str) else ""


def trim(text: str) -> str:
    """Drop leading blank lines and trailing whitespace, keeping the first line's indentation (code, ``cat -n``)."""
    text = text.rstrip()
    if text[:1].isspace():
        start = len(text) - len(text.lstrip())
        newline = text.rfind("\n", 0, start)
        if newline >= 0:
            text = text[newline + 1 :]
    return text


def first_str(d: dict, *keys: str) -> str:
    """The first non-empty string among ``d[key]`` for ``keys``."""
    for key in keys:
        value = d.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def content_text(content: Any) -> str:
    """Text of a message content: a string, ``None``, or a list of parts.

    Parts may be strings, ``{"type": "text", "text": ...}``, reasoning parts (``thinking``), Anthropic
    ``tool_use`` / ``tool_result`` parts, or media (shown as ``[image]``). A dict or list that is data, not parts
    (a tool's JSON output, as ``datasets`` decodes a column mixing JSON and text), is shown as compact JSON.
    """
    if isinstance(content, str):  # str subclasses too (numpy.str_)
        return trim(content)
    if content is None:
        return ""
    if isinstance(content, dict):
        if not _is_part(content):
            return _data(content)
        content = (content,)
    elif not is_seq(content):
        return str(content.item() if isinstance(content, np.generic) else content)
    pieces = []
    for p in content:
        if type(p) is dict and type(p.get("text")) is str:  # the common {"type": "text", "text": ...} part
            piece = trim(p["text"]) if p.get("type") in ("text", None) else _part_text(p)
        elif p is None or isinstance(p, str) or (isinstance(p, dict) and _is_part(p)):
            piece = _part_text(p)
        else:  # a list of data, not of parts
            return _data(as_list(content))
        if piece:
            pieces.append(piece)
    return "\n".join(pieces)


def _data(value: Any) -> str:
    try:
        return dumps(prune(value))
    except RecursionError:
        return NOT_SHOWN


def _is_part(d: dict) -> bool:
    """A content part (``{"type": ..., "text" | "value" | ...}``), as opposed to a dict of data."""
    return isinstance(d.get("type"), str) or isinstance(d.get("text"), str)


def _part_text(part: Any) -> str:
    if part is None:
        return ""
    if isinstance(part, str):
        return trim(part)
    if not isinstance(part, dict):
        return str(part.item() if isinstance(part, np.generic) else part)
    kind = part.get("type")
    text = part.get("text")
    if not isinstance(text, str) and kind in ("text", None, "reasoning", "tool_call"):
        text = part.get("value")  # LLaMA-Factory's {"type", "value"} parts
    if isinstance(text, str) and kind == "reasoning":
        return f"(thinking) {trim(text)}"
    if isinstance(text, str) and kind == "tool_call":
        return call_lines(text)
    if isinstance(text, str):
        return trim(text)
    if kind in ("thinking", "reasoning", "redacted_thinking"):
        return reasoning_text({"thinking_blocks": [part]})
    if kind == "tool_use":  # Anthropic: the assistant calls a tool
        ref = f" [{part['id']}]" if isinstance(part.get("id"), str) and part["id"] else ""
        args = args_text(part.get("input"))
        return f"→ call {opt(part.get('name')) or 'tool'}{ref}" + (f": {args}" if args else "")
    if kind == "tool_result":  # Anthropic: the tool's answer
        ref = f" [{part['tool_use_id']}]" if isinstance(part.get("tool_use_id"), str) else ""
        body = content_text(part.get("content"))
        flag = " (error)" if part.get("is_error") is True else ""
        return f"tool result{ref}{flag}:\n{body or '(no output)'}"
    if kind in _MEDIA_PARTS:
        return f"[{kind.replace('input_', '').replace('_url', '')}]"
    inner = part.get("content")
    if inner is not None and inner is not part:
        return content_text(inner)
    return element_text(part)


def element_text(element: Any) -> str:
    """The text-bearing fields of an element no reader knows (one field: its text; several: ``field: text`` each).

    Example:
        >>> print(element_text({"kind": "note", "text": "Run the tests.", "detail": {"why": "CI is red"}}))
        text: Run the tests.
        detail.why: CI is red
    """
    found: list[tuple[str, str]] = []
    _texts(element, "", found, 0)
    if len(found) == 1:
        return found[0][1]
    return "\n".join((f"{path}: {text}" if path else text) for path, text in found)


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


# ------------------------------------------------------------------------------------ tool arguments
def prune(value: Any, depth: int = 0) -> Any:
    """``value`` without ``None`` entries (recursively) and with numpy values as Python ones."""
    if depth > 64:
        raise RecursionError
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            v = prune(v, depth + 1)
            if v is not None and not (isinstance(v, dict) and not v):
                out[k] = v
        return out
    if is_seq(value):
        return [prune(v, depth + 1) for v in as_list(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _arg_key(key: Any) -> tuple[int, str]:
    key = str(key)
    return (_ARG_RANK.get(key, len(_ARG_RANK)), key)


def ordered(args: dict) -> dict:
    """``args`` in a canonical key order (the same before and after a ``datasets`` round trip)."""
    return {k: args[k] for k in sorted(args, key=_arg_key)}


#: What stands in for a value that cannot be shown (cyclic, or nested deeper than any real record).
NOT_SHOWN = "(not shown: nested too deeply)"


def dumps(value: Any) -> str:
    """Compact JSON; a cyclic or absurdly deep value is shown as `NOT_SHOWN`, never a crash."""
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (ValueError, TypeError, RecursionError):
        return NOT_SHOWN


def _json_default(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serializable")


def parse_json_args(args: str) -> Any:
    """A JSON object string as a dict; anything else unchanged."""
    s = args.strip()
    if s[:1] == "{" and s[-1:] == "}":
        try:
            value = json.loads(s)
        except (ValueError, RecursionError):
            return args
        if isinstance(value, dict):
            return value
    return args


def args_text(args: Any) -> str:
    """Tool-call arguments as the scorer reads them.

    One-line values go in a compact JSON object; every multi-line string (a file's text, an ``old_str``, a
    script) follows as its own labelled block, verbatim, so code is read as code and nothing is escaped away.
    A JSON string with multi-line values is read as the object it holds; other strings are shown as they are.

    Example:
        >>> print(args_text({"path": "a.py", "command": "create", "file_text": "x = 1\\ny = 2\\n"}))
        {"command": "create", "path": "a.py"}
        file_text:
        x = 1
        y = 2
    """
    if args is None:
        return ""
    if isinstance(args, str):
        if "\\n" not in args:  # a JSON string without multi-line values reads best as the model wrote it
            return trim(args)
        args = parse_json_args(args)
        if isinstance(args, str):
            return trim(args)
    try:
        args = prune(args)
    except RecursionError:  # cyclic or absurdly deep: the rest of the record still reads
        return NOT_SHOWN
    if not isinstance(args, dict):
        return dumps(args)
    if not args:
        return ""
    args = ordered(args)
    inline = {k: v for k, v in args.items() if not (isinstance(v, str) and "\n" in v.strip("\n"))}
    blocks = [f"{k}:\n{v.rstrip(chr(10))}" for k, v in args.items() if k not in inline]
    head = dumps(inline) if inline else ""
    return "\n".join(([head] if head else []) + blocks)


def call_line(head: str, args: str) -> str:
    """``→ call name [id]: {...}``, with multi-line argument blocks (or multi-line raw arguments) below."""
    if not args:
        return head
    if "\n" in args and not args.startswith(("{", "[")):
        return f"{head}:\n{args}"
    return f"{head}: {args}"


def call_lines(value: Any) -> str:
    """``→ call name: {...}`` lines for a call turn's value (JSON ``{"name", "arguments"}``, a list, or text).

    Example:
        >>> call_lines('{"name": "bash", "arguments": {"command": "ls"}}')
        '→ call bash: {"command": "ls"}'
    """
    return "\n".join(call_line(f"→ call {name}" if name else "→ call", args) for name, args in calls_of(value))


def calls_of(value: Any) -> list[tuple[str, str]]:
    """``(name, arguments)`` of each call in a function_call turn or message; raw text when it is not JSON."""
    parsed = value
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return [("", "")]
        if stripped[0] not in "[{":
            return [("", stripped)]
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            return [("", stripped)]
    calls = as_list(parsed) if is_seq(parsed) else [parsed]
    out = []
    for call in calls:
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = call.get("arguments", call.get("parameters"))
            out.append((call["name"], args_text(args)))
        else:
            out.append(("", args_text(call)))
    return out


def boilerplate(text: str, what: str) -> str:
    """Shorten text given to the agent (a system prompt with tool documentation) and say so."""
    if len(text) <= BOILERPLATE_CHARS:
        return text
    omitted = len(text) - _BOILERPLATE_HEAD - _BOILERPLATE_TAIL
    return (
        f"{text[:_BOILERPLATE_HEAD]}\n[... {omitted:,} characters of the {what} omitted ...]\n"
        f"{text[-_BOILERPLATE_TAIL:]}"
    )


# ---------------------------------------------------------------------------------------- transcript
class Attribution:
    """Which part of a rendered text came from which object of the record (for coverage).

    ``spans`` maps ``id(obj)`` of a record's element (a message, an event, a step, a wrapper dict) to the
    ``(start, end)`` ranges of the text rendered for it; key ``0`` holds text rendered for no element.
    ``links`` maps an object the reader shows through another (a copy of a response, the chat form of the steps)
    to the objects whose text shows it. ``parsed`` maps JSON strings the reader read to the value it read, so
    coverage walks the same objects. ``keep`` holds the objects, so their ids stay theirs.
    """

    __slots__ = ("spans", "links", "parsed", "keep")

    def __init__(self) -> None:
        self.spans: dict[int, list[tuple[int, int]]] = {}
        self.links: dict[int, list[int]] = {}
        self.parsed: dict[str, Any] = {}
        self.keep: list[Any] = []

    def add(self, obj: Any, start: int, end: int) -> None:
        """``text[start:end]`` was rendered for ``obj`` (``None``: for no element)."""
        key = 0 if obj is None else self.register(obj)
        self.spans.setdefault(key, []).append((start, end))

    def register(self, obj: Any) -> int:
        """Make ``obj`` an element of its own (its text is looked for in its own spans, even none)."""
        key = id(obj)
        if key not in self.spans:
            self.spans[key] = []
            self.keep.append(obj)
        return key

    def link(self, obj: Any, *shown_by: Any) -> None:
        """``obj`` is shown in the text of ``shown_by`` (it is a copy of them, or they render it)."""
        key = self.register(obj)
        self.links.setdefault(key, []).extend(self.register(o) for o in shown_by)

    def shifted(self, offset: int, into: Attribution | None = None) -> Attribution:
        """These spans moved ``offset`` characters on (the text was put after a header), added to ``into``."""
        out = into if into is not None else Attribution()
        for key, spans in self.spans.items():
            out.spans.setdefault(key, []).extend((s + offset, e + offset) for s, e in spans)
        for key, to in self.links.items():
            out.links.setdefault(key, []).extend(to)
        out.parsed.update(self.parsed)
        out.keep.extend(self.keep)
        return out


class Attributed(str):
    """A rendered text that carries its `Attribution` (a plain ``str`` everywhere else)."""

    attribution: Attribution


class Transcript:
    """The rendered record being built: ``### role`` blocks; agent steps in a row share one assistant block.

    Each piece of text is attributed to the element set with `source` (coverage looks for an element's
    text only where it is rendered).
    """

    __slots__ = ("blocks", "_agent_open", "_size", "_source", "attribution", "seen", "refs")

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._agent_open = False
        self._size = 0  # len("\n\n".join(self.blocks))
        self._source: Any = None
        self.attribution = Attribution()
        self.seen: dict[str, Any] = {}  # text shown once (a response's reasoning, on each of its calls) → where
        self.refs: dict[Any, Any] = {}  # an element by the id later elements refer to it with (call id, event id)

    def source(self, element: Any) -> None:
        """What follows is rendered for ``element`` (a message, event, step), until the next call."""
        self._source = element
        if element is not None and isinstance(element, (dict, list)):
            self.attribution.register(element)

    def answers(self, obj: Any, ref: Any) -> None:
        """``obj`` (a tool result, or its extras) repeats what the element referred to as ``ref`` shows (the
        command it ran): its text is looked for there too."""
        if isinstance(ref, (str, int, float)) and isinstance(obj, (dict, list)):  # a malformed ``cause`` ([]): none
            call = self.refs.get(ref)
            if call is not None and call is not obj:
                self.attribution.link(obj, call, *([self._source] if self._source is not None else []))

    def shown_at(self, obj: Any, start: int, end: int) -> None:
        """``obj`` is shown at ``text[start:end]`` (deduplicated: the reader shows it once, there)."""
        if 0 <= start < end:
            self.attribution.add(obj, start, end)

    def _new_block(self, block: str) -> None:
        start = self._size + (2 if self.blocks else 0)
        self.blocks.append(block)
        self._size = start + len(block)
        self.attribution.add(self._source, start, self._size)

    def add(self, role: str, text: str) -> None:
        """A block of its own (``### role``), unless ``text`` is empty."""
        if text:
            self._new_block(f"### {role}\n{text}")
            self._agent_open = False

    def agent(self, text: str, new_block: bool = False) -> None:
        """An agent step (thought, action): joins the open assistant block (unless ``new_block``), or opens one."""
        if not text:
            return
        if self._agent_open and not new_block:
            self.blocks[-1] += "\n" + text
            self.attribution.add(self._source, self._size + 1, self._size + 1 + len(text))
            self._size += 1 + len(text)
        else:
            self._new_block("### assistant\n" + text)
            self._agent_open = True

    def result(self, ref: str = "", details: str = "", text: str = "") -> None:
        """A tool result: ``### tool result [ref] (details)`` and its text (``(no output)`` when empty)."""
        header = "### tool result" + (f" [{ref}]" if ref else "") + (f" ({details})" if details else "")
        self._new_block(f"{header}\n{text or '(no output)'}")
        self._agent_open = False

    def line(self, text: str) -> None:
        """A free-standing line (an event the readers do not know), never joined to an agent block."""
        if text:
            self._new_block(text)
            self._agent_open = False

    def text(self, what: str) -> Attributed:
        """The rendered record; a record that yields no text at all is ``invalid_input``."""
        if not self.blocks:
            raise InvalidRecordError(
                f"record is {what} with no text, tool call or tool result; there is nothing to score."
            )
        out = Attributed("\n\n".join(self.blocks))
        out.attribution = self.attribution
        return out


# ------------------------------------------------------------------------------------------ reasoning
def reasoning_text(d: dict, t: Transcript | None = None) -> str:
    """A message's or event's reasoning, each distinct text once, as ``(thinking) ...`` lines.

    Read from ``reasoning_content``, ``reasoning`` (text, or OpenAI's ``{summary, content}``), ``thinking``,
    ``thinking_blocks`` (LiteLLM / Anthropic: ``thinking``; ``redacted_thinking`` is shown as a marker),
    ``reasoning_details`` (OpenRouter), ``responses_reasoning_item`` (OpenHands) and the reasoning keys of
    ``provider_specific_fields`` (LiteLLM). With a transcript ``t``, a
    text it shows already (the same response's reasoning on an earlier call) is not repeated: the element being
    rendered is linked to the one that shows it.

    Example:
        >>> reasoning_text({"reasoning_content": "Off by one?",
        ...                 "thinking_blocks": [{"type": "thinking", "thinking": "Off by one?", "signature": "x"}]})
        '(thinking) Off by one?'
    """
    texts: list[str] = []
    redacted = False
    for key in (
        "reasoning_content",
        "reasoning",
        "thinking",
        "thinking_blocks",
        "reasoning_details",
        "responses_reasoning_item",
        "provider_specific_fields",
    ):
        value = d.get(key)
        if value is None:
            continue
        found: list[str] = []
        redacted = _reasoning_pieces(value, found, 0) or redacted
        texts += found
    lines: list[str] = []
    shown = "\n".join(lines)
    for text in texts:
        text = trim(text)
        if not text or text in shown:
            continue
        if t is not None and text in t.seen:
            if t._source is not None and t.seen[text] is not None and t.seen[text] is not t._source:
                t.attribution.link(t._source, t.seen[text])
            continue
        lines.append(f"(thinking) {text}")
        shown += "\n" + text
        if t is not None:
            t.seen[text] = t._source
    if redacted and not lines:
        lines.append("(thinking: redacted)")
    return "\n".join(lines)


def _reasoning_pieces(value: Any, out: list[str], depth: int) -> bool:
    """Collect the reasoning texts under ``value``; True when some reasoning is redacted (encrypted)."""
    if depth > 8 or value is None:
        return False
    if isinstance(value, str):
        out.append(value)
        return False
    if is_seq(value):
        return any(_reasoning_pieces(v, out, depth + 1) for v in as_list(value))
    if not isinstance(value, dict):
        return False
    if value.get("type") == "redacted_thinking" or (
        value.get("encrypted_content") is not None and not value.get("summary") and not value.get("content")
    ):
        return True
    redacted = False
    for key in ("thinking", "text", "reasoning", "reasoning_content", "thinking_blocks", "summary", "content"):
        redacted = _reasoning_pieces(value.get(key), out, depth + 1) or redacted
    return redacted


# --------------------------------------------------------------------------------------------- errors
def keys_of(d: dict, limit: int = 8) -> list[str]:
    keys = [k[:40] if isinstance(k, str) else type(k).__name__ for k in islice(d, limit)]
    return keys + ["…"] if len(d) > limit else keys


def describe(x: Any) -> str:
    """A short, safe description of a value (never ``repr`` of a container: it may be cyclic or deep)."""
    if isinstance(x, str):
        return f"a str ({x[:40]!r}{'…' if len(x) > 40 else ''})"
    if isinstance(x, dict):
        return f"a dict with keys {keys_of(x)}"
    if x is None:
        return "None"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    if isinstance(x, np.ndarray):
        return f"a numpy array of {x.size} items"
    return article(type(x).__name__)


def article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
