"""A loopback teacher: an OpenAI-compatible server on 127.0.0.1 that answers anchored prompts in the canonical format.

Its scores depend on the record (how much testing, fixing and verifying the trajectory shows), so a set it labels
has structure a student can learn and sources differ. It stands in for a frontier teacher endpoint (e.g. a
Kimi-K2.6 deployment) in tests, docs and examples; it never stands in for a real model's judgement.

Example:
    >>> import mira_hf
    >>> from mira_hf.testing.teacher import TeacherServer
    >>> with TeacherServer() as teacher:
    ...     scorer = mira_hf.Scorer("teacher", engine="openai", base_url=teacher.url, progress=False)
    ...     row = scorer.score_records(["The agent ran pytest, fixed the bug, and the test passes."])[0]
    >>> row["mira_status"], row["mira_scores"][0] > 5
    ('ok', True)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web

from mira_hf.answer.contract import FENCE_CLOSE, FENCE_OPEN
from mira_hf.answer.format import format_output
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.scorecard import ScoreCard
from mira_hf.testing.loopback import ChatLoopbackServer

#: Words whose count in a record drives the loopback teacher's scores.
SIGNAL_WORDS = ("test", "pytest", "fix", "fixed", "patch", "verify", "verified", "passes", "passed", "diff")
_WORD = re.compile(r"[a-z]+")


def record_quality(text: str) -> int:
    """The loopback teacher's 0–10 quality of a record: how densely it shows testing, fixing and verifying
    (one signal word in twenty is a 10).

    Example:
        >>> record_quality("I looked around."), record_quality("Ran pytest, then read " + "the code " * 18)
        (0, 5)
    """
    words = _WORD.findall(text.lower())
    hits = sum(1 for w in words if w in SIGNAL_WORDS)
    return min(10, round(200 * hits / max(len(words), 1)))


def teacher_card(text: str, n_slots: int) -> ScoreCard:
    """The loopback teacher's answer for a record: slot scores around its quality, an overall and a verdict."""
    q = record_quality(text)
    scores: list[float | None] = [float(max(0, min(10, q + (i % 3) - 1))) for i in range(n_slots)]
    verdict: Literal["keep", "downsample", "drop"] = "keep" if q >= 6 else "downsample" if q >= 3 else "drop"
    return ScoreCard(
        scores=scores,
        rationales=[f"shows quality {q} on this dimension"] * n_slots,
        overall=float(q * 10),
        recommendation=verdict,
        domain_tag="swe-repair",
        brief=f"A trajectory of quality {q}.",
        status="ok",
    )


def fenced_record(user_content: str) -> str:
    """The record text inside the prompt's fence (the whole message when there is no fence)."""
    start = user_content.find(FENCE_OPEN)
    end = user_content.rfind(FENCE_CLOSE)
    return user_content[start + len(FENCE_OPEN) : end] if 0 <= start < end else user_content


class TeacherServer(ChatLoopbackServer):
    """An OpenAI-compatible loopback teacher for ``rubric``: ``/v1/chat/completions`` and ``/v1/models``.

    ``card`` maps a record text and the slot count to a [`ScoreCard`][mira_hf.schema.scorecard.ScoreCard] (default
    `teacher_card`); ``requests`` counts the completions served.
    """

    def __init__(
        self,
        rubric: Rubric | str = "agent-group4",
        *,
        model: str = "teacher",
        card: Callable[[str, int], ScoreCard] = teacher_card,
    ):
        super().__init__()
        self.rubric = load_rubric(rubric)
        self.model = model
        self.card = card
        self.requests = 0

    def answer(self, messages: list[dict[str, Any]]) -> str:
        """The canonical answer to one anchored conversation."""
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        return format_output(self.card(fenced_record(str(user)), len(self.rubric)), self.rubric)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        messages = body.get("messages") or []
        text = self.answer(messages)
        self.requests += 1  # handlers run on the server's one event-loop thread
        n = int(body.get("n") or 1)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        return web.json_response(
            {
                "id": f"teacher-{self.requests}",
                "object": "chat.completion",
                "model": self.model,
                "choices": [
                    {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    for i in range(n)
                ],
                "usage": {"prompt_tokens": prompt_chars // 4, "completion_tokens": n * len(text) // 4},
            }
        )
