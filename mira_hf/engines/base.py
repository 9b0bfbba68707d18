"""The engine protocol: what a scorer needs from an inference engine, and nothing more.

A user may plug in their own engine: any object with a ``generate`` method of this shape works.

Example:
    >>> class Echo:
    ...     def generate(self, conversations, sampling):
    ...         return [Completion(text=c[-1]["content"]) for c in conversations]
    >>> Echo().generate([[{"role": "user", "content": "hi"}]], Sampling())[0].text
    'hi'
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from mira_hf.defaults import DEFAULT_MAX_TOKENS, DEFAULT_SEED, DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from mira_hf.schema.messages import Conversation, Message

__all__ = ["Completion", "Conversation", "Engine", "Message", "Sampling"]


class Sampling(BaseModel):
    """Sampling settings sent with every request of a batch.

    ``regex`` (when set) constrains the output to the scorer's template through structured decoding.
    ``n`` > 1 asks for several samples per conversation (self-consistency).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=DEFAULT_TEMPERATURE, ge=0)
    top_p: float = Field(default=DEFAULT_TOP_P, gt=0, le=1)
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, ge=1)
    seed: int | None = DEFAULT_SEED
    n: int = Field(default=1, ge=1)
    regex: str | None = None


class Completion(BaseModel):
    """The result of one conversation: its text (first sample), token counts, or an error.

    ``samples`` holds every sample's text when ``Sampling.n`` > 1 (``text`` is ``samples[0]``).
    """

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    samples: list[str] | None = None

    @property
    def texts(self) -> list[str]:
        """Every sample's text (one element when ``n`` == 1; empty on error)."""
        if self.samples is not None:
            return list(self.samples)
        return [] if self.text is None else [self.text]


@runtime_checkable
class Engine(Protocol):
    """Anything that generates one [`Completion`][mira_hf.engines.base.Completion] per conversation, in order.

    A failed conversation has ``error`` set; the others are unaffected. Engines may also expose
    ``tokenizer`` (for exact token budgets), ``max_model_len`` and ``identity`` (folded into fingerprints).
    An engine whose ``accepts_token_ids`` is true also takes ``generate(..., token_ids=[...])``: each prompt
    already chat-templated and tokenized with its ``tokenizer`` (the scorer's budget did it once).
    """

    def generate(self, conversations: list[Conversation], sampling: Sampling) -> list[Completion]: ...
