"""Counting without the model's tokenizer, and the one place a tokenizer name becomes a tokenizer.

Without a tokenizer the budget counts UTF-8 bytes: `BYTES_PER_TOKEN` bytes make an estimated token (code
and logs tokenize at ~3.5–4.5) and every chat message costs `FRAMING_BYTES` bytes of framing. ``Budget``,
``mira_hf.inspect`` and ``Scorer.estimate`` all count with these numbers, so they agree on which rows the budget
shortens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: UTF-8 bytes per estimated token when no tokenizer is at hand.
BYTES_PER_TOKEN = 4
#: Bytes of chat framing counted per message by the byte budget (covers the chat template's joins).
FRAMING_BYTES = 16


def byte_tokens(text: str) -> int:
    """The estimated tokens of ``text``: its UTF-8 bytes over `BYTES_PER_TOKEN`, rounded up.

    Example:
        >>> byte_tokens("héllo")
        2
    """
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def framed_bytes(messages: Iterable[Mapping[str, Any]]) -> int:
    """The bytes of a conversation as the byte budget counts them: each message's content plus its framing.

    Example:
        >>> framed_bytes([{"role": "user", "content": "hi"}])
        18
    """
    return sum(len(m["content"].encode("utf-8")) + FRAMING_BYTES for m in messages)


def as_tokenizer(tokenizer: Any) -> Any:
    """A tokenizer as given; a name or path loaded with ``AutoTokenizer``; ``None`` stays ``None`` (count bytes).

    Example:
        >>> as_tokenizer(None) is None
        True
    """
    if isinstance(tokenizer, str):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(tokenizer)
    return tokenizer


class BytesPerToken:
    """A stand-in tokenizer of 4 UTF-8 bytes per token, for the budget of a run whose tokenizer is not here.

    Each id holds up to 4 bytes, so ``decode`` gives the text back; the chat framing counts 16 bytes per message,
    as the byte budget does. ``Budget`` then shortens exactly the records ``mira_hf.inspect`` (without a tokenizer)
    says it will.

    Example:
        >>> tok = BytesPerToken()
        >>> ids = tok.encode("héllo, wörld")
        >>> len(ids), tok.decode(ids)
        (4, 'héllo, wörld')
    """

    chat_template = f"{BYTES_PER_TOKEN} bytes per token"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """The ids of ``text``: one per 4 bytes (the last may hold fewer)."""
        raw, step = text.encode("utf-8"), BYTES_PER_TOKEN
        return [
            int.from_bytes(raw[i : i + step], "big") | (len(raw[i : i + step]) << 32) for i in range(0, len(raw), step)
        ]

    def decode(self, ids: list[int]) -> str:
        """The text of ``ids`` (a character cut between two ids is dropped)."""
        raw = b"".join((i & 0xFFFFFFFF).to_bytes(i >> 32, "big") for i in ids)
        return raw.decode("utf-8", "ignore")

    def apply_chat_template(self, conversations: list[list[dict[str, Any]]], **_: Any) -> list[list[int]]:
        """Ids as long as each conversation's contents plus 16 bytes of framing per message, in tokens."""
        return [[0] * -(-framed_bytes(conv) // BYTES_PER_TOKEN) for conv in conversations]
