"""The anchored prompt: a system message shared by every record and a user message with the record.

The system message holds the scoring instructions, the rubric's dimensions and the top-12 calibration
anchors; it is byte-identical for every record of a rubric, so vLLM's prefix cache computes it once.
The user message holds the record inside a fence and then the ``[A1]..[A15]`` answer template.

The prompt is budgeted: ``prompt tokens ≤ max_model_len − max_tokens``. Only the record is shortened,
keeping its head and tail around a visible marker.

The text comes from a prompt template (`mira_hf.prompting.template`): the built-in
``mira_hf/prompting/templates/default.jinja`` unless ``prompt=`` names another.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, Union

from mira_hf.answer.contract import escape_fences
from mira_hf.defaults import CARD_MAX_MODEL_LEN, DEFAULT_MAX_TOKENS
from mira_hf.errors import ConfigurationError, InvalidRecordError
from mira_hf.prompting.template import PromptTemplate, load_prompt
from mira_hf.prompting.tokens import framed_bytes
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.messages import Conversation

_log = logging.getLogger(__name__)

#: A prompt template, a path to one, or ``None`` for the built-in template.
PromptLike = Union[PromptTemplate, str, "os.PathLike[str]", None]

#: Version of the prompt text and template; folded into every fingerprint and resume key.
PROMPT_VERSION = "mira-anchored-v1"

TRUNCATION_MARKER = "\n\n[... {omitted} {unit} omitted from the middle of this trajectory to fit the context ...]\n\n"

# Tokens kept free for chat-template joins and the marker's own tokens when counting piecewise.
_SAFETY_TOKENS = 32
# A token is never longer than this many bytes in practice; used to pre-cut huge records before tokenizing.
_MAX_BYTES_PER_TOKEN = 32
# A record longer than this many characters per budget token surely needs a cut (text runs 3-4 per token).
_CUT_CHARS_PER_TOKEN = 6


class Tokenizer(Protocol):
    """The part of a Hugging Face tokenizer the budget needs."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def system_prompt(rubric: Rubric | str = "agent-group4", prompt: PromptLike = None) -> str:
    """The system message for ``rubric``: identical for every record, so the prefix cache reuses it."""
    return load_prompt(prompt).system(load_rubric(rubric))


def _user_content(escaped_text: str, rubric: Rubric, prompt: PromptTemplate) -> str:
    head, tail = prompt.user_parts(rubric)
    return head + escaped_text + tail


def user_prompt(record_text: str, rubric: Rubric | str = "agent-group4", prompt: PromptLike = None) -> str:
    """The user message: ``record_text`` inside the fence, then the answer template."""
    return _user_content(escape_fences(record_text), load_rubric(rubric), load_prompt(prompt))


def messages_for(record_text: str, rubric: Rubric | str = "agent-group4", prompt: PromptLike = None) -> Conversation:
    """``[system, user]`` for an already rendered record text."""
    return _fenced_messages(escape_fences(record_text), load_rubric(rubric), load_prompt(prompt))


def _fenced_messages(escaped_text: str, rubric: Rubric, prompt: PromptTemplate) -> Conversation:
    """``[system, user]`` for a record text whose closing fences are already escaped (no second scan)."""
    return [
        {"role": "system", "content": prompt.system(rubric)},
        {"role": "user", "content": _user_content(escaped_text, rubric, prompt)},
    ]


@dataclass(frozen=True)
class Prompt:
    """A budgeted prompt: the messages, whether the record was shortened, and how much of it was dropped."""

    messages: Conversation
    truncated: bool = False
    omitted: int = 0
    unit: str = "bytes"
    format: str | None = None  # the record shape it was read as (``mira_format``)
    token_ids: list[int] | None = None  # the chat-templated prompt, tokenized once (``Budget(token_ids=True)``)


def _apply_chat_template_len(tokenizer: Any, messages: Conversation) -> int:
    return len(chat_token_ids(tokenizer, [messages])[0])


def chat_token_ids(tokenizer: Any, conversations: list[Conversation]) -> list[list[int]]:
    """The token ids of each chat-templated conversation, as vLLM's ``LLM.chat`` computes them.

    The chat template is rendered with the generation prompt and the text tokenized without special tokens
    (the template holds them), the whole batch in one call of the fast tokenizer.

    Example:
        >>> from mira_hf.testing.tiny_model import tekken_tokenizer
        >>> tok = tekken_tokenizer()
        >>> ids = chat_token_ids(tok, [[{"role": "user", "content": "hi"}]])[0]
        >>> tok.decode(ids).splitlines()
        ['<|im_start|>user', 'hi<|im_end|>', '<|im_start|>assistant']
    """
    out = tokenizer.apply_chat_template(conversations, tokenize=True, add_generation_prompt=True, return_dict=False)
    if isinstance(out, dict) or hasattr(out, "keys"):
        out = out["input_ids"]
    return [list(ids) for ids in out]


class Budget:
    """How many tokens (or bytes, without a tokenizer) the record may take, for one rubric and engine.

    The fixed part (system message, fence, template and chat-template framing) is measured once.
    """

    def __init__(
        self,
        rubric: Rubric | str = "agent-group4",
        *,
        max_model_len: int = CARD_MAX_MODEL_LEN,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        tokenizer: Tokenizer | None = None,
        prompt: PromptLike = None,
        token_ids: bool = False,
    ):
        self.rubric = load_rubric(rubric)
        self.prompt = load_prompt(prompt)
        self.tokenizer = tokenizer
        # Keep each whole prompt's token ids, for an engine that takes them (tokenized once, here, not again there).
        self.token_ids = token_ids and tokenizer is not None
        self.max_model_len = max_model_len
        self.max_tokens = max_tokens
        self.prompt_budget = max_model_len - max_tokens
        self.fixed = self._fixed_cost()
        self.record_budget = self.prompt_budget - self.fixed - _SAFETY_TOKENS
        if self.record_budget <= 0:
            raise ConfigurationError(
                f"max_model_len={max_model_len} leaves no room for a record: the prompt's fixed part takes "
                f"{self.fixed} {self.unit} and max_tokens={max_tokens} are reserved for the answer. "
                "Raise max_model_len or lower max_tokens."
            )

    @property
    def unit(self) -> str:
        return "tokens" if self.tokenizer is not None else "bytes"

    def _fixed_cost(self) -> int:
        empty = messages_for("", self.rubric, self.prompt)
        if self.tokenizer is None:
            # Byte-level BPE never yields more tokens than bytes; FRAMING_BYTES per message covers the chat framing.
            return framed_bytes(empty)
        if getattr(self.tokenizer, "chat_template", None) or hasattr(self.tokenizer, "apply_chat_template"):
            try:
                return _apply_chat_template_len(self.tokenizer, empty)
            except Exception:  # a tokenizer without a usable chat template: count the contents
                pass
        return sum(len(self.tokenizer.encode(m["content"], add_special_tokens=False)) + 8 for m in empty)

    def count(self, messages: Conversation) -> int:
        """Exact prompt length of ``messages`` (tokens with a tokenizer, UTF-8 bytes + framing without)."""
        if self.tokenizer is None:
            return framed_bytes(messages)
        try:
            return _apply_chat_template_len(self.tokenizer, messages)
        except Exception:
            return sum(len(self.tokenizer.encode(m["content"], add_special_tokens=False)) + 8 for m in messages)

    def fit(self, text: str) -> tuple[str, bool, int]:
        """Shorten ``text`` to the record budget: ``(text, truncated, omitted units)``."""
        return self.fit_many([text])[0]

    def fit_many(self, texts: list[str]) -> list[tuple[str, bool, int]]:
        """`fit` for a batch: records over the byte budget are tokenized together (in parallel)."""
        limit = self.record_budget
        out: list[tuple[str, bool, int] | None] = [None] * len(texts)
        long: list[int] = []
        precut: set[int] = set()
        cap = limit * _MAX_BYTES_PER_TOKEN
        for i, text in enumerate(texts):
            raw = text.encode("utf-8")
            if len(raw) <= limit:  # tokens ≤ bytes: no need to tokenize at all
                out[i] = (text, False, 0)
            elif self.tokenizer is None:
                out[i] = _cut_bytes(raw, limit)
            else:
                if len(raw) > 2 * cap:  # pre-cut monsters so a 5 MB record is never tokenized whole
                    texts[i] = _join_marker(
                        raw[:cap].decode("utf-8", "ignore"), raw[-cap:].decode("utf-8", "ignore"), 0, ""
                    )
                    precut.add(i)
                long.append(i)
        tokenizer = self.tokenizer
        if long and tokenizer is not None:  # records are only left long with a tokenizer
            for i, ids in zip(long, self._encode_many([texts[i] for i in long])):
                fits = len(ids) <= limit
                out[i] = (texts[i], i in precut, 0) if fits else _cut_tokens(tokenizer, ids, limit)
        return out  # type: ignore[return-value]

    def fit_with_ids(self, texts: list[str]) -> list[tuple[Conversation, bool, int, list[int] | None]] | None:
        """Budget fenced record texts into ``(messages, truncated, omitted, prompt ids)``, each tokenized once.

        A record longer than the byte budget is measured as the whole chat-templated prompt the engine will get,
        and those ids are kept; only one that does not fit is tokenized again to be cut. A record within the byte
        budget is not tokenized here (its ids are ``None``): `prompt_token_ids` tokenizes it only if it is
        sent, not when its row is read from the resume store. ``None`` when the chat template cannot be applied.
        """
        limit = self.record_budget
        out: list[tuple[Conversation, bool, int, list[int] | None] | None] = [None] * len(texts)
        measure: list[int] = []
        for i, t in enumerate(texts):
            if len(t.encode("utf-8")) <= limit:  # fits: tokens ≤ bytes
                out[i] = (_fenced_messages(t, self.rubric, self.prompt), False, 0, None)
            elif len(t) <= limit * _CUT_CHARS_PER_TOKEN:  # may fit: measure the whole prompt
                measure.append(i)
            # else surely cut (text runs 3-4 characters per token): tokenized alone to be cut, then whole
        messages = {i: _fenced_messages(texts[i], self.rubric, self.prompt) for i in measure}
        ids = self.prompt_token_ids([messages[i] for i in measure]) if measure else []
        if ids is None:
            return None
        for i, x in zip(measure, ids):
            if len(x) - self.fixed <= limit:
                out[i] = (messages[i], False, 0, x)
        cut = [i for i, o in enumerate(out) if o is None]
        for i, (fitted, truncated, omitted) in zip(cut, self.fit_many([texts[i] for i in cut])):
            out[i] = _finish_messages(fitted, truncated, omitted, self, self.rubric, want_ids=True)
        return out  # type: ignore[return-value]

    def prompt_token_ids(self, conversations: list[Conversation]) -> list[list[int]] | None:
        """[`chat_token_ids`][mira_hf.prompting.prompt.chat_token_ids] with this budget's tokenizer, the batch in one
        call; ``None`` if it cannot."""
        try:
            return chat_token_ids(self.tokenizer, conversations)
        except Exception:  # a tokenizer without a usable chat template: the engine templates the prompts
            return None

    def _encode_many(self, texts: list[str]) -> list[list[int]]:
        tok: Any = self.tokenizer  # a Hugging Face tokenizer is called on a batch (the Tokenizer protocol is not)
        try:  # a fast tokenizer encodes a batch on every core
            return list(tok(texts, add_special_tokens=False)["input_ids"])
        except Exception:
            return [tok.encode(t, add_special_tokens=False) for t in texts]


def _join_marker(head: str, tail: str, omitted: int, unit: str) -> str:
    marker = TRUNCATION_MARKER.format(omitted=f"{omitted:,}" if omitted else "some", unit=unit or "bytes")
    return head + marker + tail


def _cut_bytes(raw: bytes, limit: int) -> tuple[str, bool, int]:
    marker_len = len(TRUNCATION_MARKER.format(omitted=f"{len(raw):,}", unit="bytes").encode("utf-8"))
    keep = max(limit - marker_len, 0)
    head_n = keep // 2
    tail_n = keep - head_n
    head = raw[:head_n].decode("utf-8", "ignore")
    tail = raw[len(raw) - tail_n :].decode("utf-8", "ignore") if tail_n else ""
    omitted = len(raw) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return _join_marker(head, tail, omitted, "bytes"), True, omitted


def _cut_tokens(tokenizer: Tokenizer, ids: list[int], limit: int) -> tuple[str, bool, int]:
    marker_tokens = len(
        tokenizer.encode(TRUNCATION_MARKER.format(omitted=f"{len(ids):,}", unit="tokens"), add_special_tokens=False)
    )
    keep = max(limit - marker_tokens - 8, 0)
    head_n = keep // 2
    tail_n = keep - head_n
    head = tokenizer.decode(ids[:head_n])
    tail = tokenizer.decode(ids[len(ids) - tail_n :]) if tail_n else ""
    omitted = len(ids) - head_n - tail_n
    return _join_marker(head, tail, omitted, "tokens"), True, omitted


def build_prompt(
    record: Any,
    rubric: Rubric | str = "agent-group4",
    *,
    budget: Budget | None = None,
    max_model_len: int = CARD_MAX_MODEL_LEN,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    tokenizer: Tokenizer | None = None,
    record_format: str | None = None,
    prompt: PromptLike = None,
) -> Prompt:
    """Render ``record`` and build its budgeted ``[system, user]`` prompt.

    Raises [`InvalidRecordError`][mira_hf.errors.InvalidRecordError] for a record that cannot be rendered.

    Example:
        >>> record = "The agent ran pytest and fixed the bug."
        >>> p = build_prompt(record, max_model_len=8192, max_tokens=512)
        >>> [m["role"] for m in p.messages], p.truncated
        (['system', 'user'], False)
    """
    from mira_hf.records import render

    rubric = load_rubric(rubric)
    if budget is None:
        budget = _budget(rubric, max_model_len, max_tokens, tokenizer, load_prompt(prompt))
    rendering = render(record, record_format)
    return _finish(*budget.fit(escape_fences(rendering.text)), rubric, budget, rendering.format)


def build_prompts(
    records: list[Any], rubric: Rubric | str, budget: Budget, record_format: str | None = None
) -> list[Prompt | Exception]:
    """[`build_prompt`][mira_hf.prompting.prompt.build_prompt] for a batch (long records are tokenized together); a bad
    record gives its error."""
    from mira_hf.records import render

    rubric = load_rubric(rubric)
    texts: list[str] = []
    formats: list[str] = []
    index: list[int] = []
    out: list[Prompt | Exception | None] = [None] * len(records)
    for i, record in enumerate(records):
        try:
            rendering = render(record, record_format)
        except (InvalidRecordError, RecursionError) as e:
            out[i] = e
            continue
        except Exception as e:  # noqa: BLE001 - a reader's bug must fail this row, never the batch
            _log.warning("a record could not be rendered (%s: %s); its row is invalid_input", type(e).__name__, e)
            out[i] = InvalidRecordError(
                f"record could not be read ({type(e).__name__}: {str(e)[:200]}); "
                "please report its shape as a mira-hf bug"
            )
            continue
        texts.append(escape_fences(rendering.text))
        formats.append(rendering.format)
        index.append(i)
    with_ids = budget.fit_with_ids(texts) if budget.token_ids else None
    if with_ids is not None:
        for i, fmt, (messages, truncated, omitted, ids) in zip(index, formats, with_ids):
            out[i] = Prompt(
                messages=messages, truncated=truncated, omitted=omitted, unit=budget.unit, format=fmt, token_ids=ids
            )
        return out  # type: ignore[return-value]
    for i, fmt, (fitted, truncated, omitted) in zip(index, formats, budget.fit_many(texts)):
        out[i] = _finish(fitted, truncated, omitted, rubric, budget, fmt)
    return out  # type: ignore[return-value]


def _finish(
    fitted: str, truncated: bool, omitted: int, rubric: Rubric, budget: Budget, fmt: str | None = None
) -> Prompt:
    messages, truncated, omitted, _ = _finish_messages(fitted, truncated, omitted, budget, rubric)
    return Prompt(messages=messages, truncated=truncated, omitted=omitted, unit=budget.unit, format=fmt)


def _finish_messages(
    fitted: str, truncated: bool, omitted: int, budget: Budget, rubric: Rubric, want_ids: bool = False
) -> tuple[Conversation, bool, int, list[int] | None]:
    """The messages of a fitted record text; a shortened one re-checked at its exact length (joins add tokens)."""
    messages = _fenced_messages(fitted, rubric, budget.prompt)
    ids: list[int] | None = None
    if budget.tokenizer is None or not (truncated or want_ids):
        return messages, truncated, omitted, ids
    for _ in range(4):
        try:
            ids = chat_token_ids(budget.tokenizer, [messages])[0]
            length = len(ids)
        except Exception:  # no usable chat template: count the contents
            ids, length = None, budget.count(messages)
        over = length - budget.prompt_budget
        if over <= 0 or not truncated:
            break
        record = budget.tokenizer.encode(fitted, add_special_tokens=False)
        fitted, _, extra = _cut_tokens(budget.tokenizer, record, max(len(record) - over - 16, 1))
        omitted += extra
        messages = _fenced_messages(fitted, rubric, budget.prompt)
        ids = None
    return messages, truncated, omitted, ids


def _budget(
    rubric: Rubric, max_model_len: int, max_tokens: int, tokenizer: Tokenizer | None, prompt: PromptTemplate
) -> Budget:
    if tokenizer is None:
        return _cached_byte_budget(rubric, max_model_len, max_tokens, prompt)
    return Budget(rubric, max_model_len=max_model_len, max_tokens=max_tokens, tokenizer=tokenizer, prompt=prompt)


@lru_cache(maxsize=32)
def _cached_byte_budget(rubric: Rubric, max_model_len: int, max_tokens: int, prompt: PromptTemplate) -> Budget:
    return Budget(rubric, max_model_len=max_model_len, max_tokens=max_tokens, prompt=prompt)


def build_messages(record: Any, rubric: Rubric | str = "agent-group4", **kwargs: Any) -> Conversation:
    """``[system, user]`` messages for one record (see [`build_prompt`][mira_hf.prompting.prompt.build_prompt] for the
    budget arguments).

    Example:
        >>> msgs = build_messages([{"role": "user", "content": "Fix the failing test."}])
        >>> msgs[0]["role"], "[A15]" in msgs[1]["content"]
        ('system', True)
    """
    return build_prompt(record, rubric, **kwargs).messages
