"""A fake engine that answers instantly with valid template outputs: for unit tests of pipelines and docs.

It never stands in for the real engine in an integration test: its scores are derived from a hash of the prompt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from mira_hf.answer.format import format_output
from mira_hf.engines.base import Completion, Sampling
from mira_hf.rubric import load_rubric
from mira_hf.schema.scorecard import ScoreCard


def card_for(text: str, n_slots: int = 15) -> ScoreCard:
    """A deterministic valid score card derived from the prompt text."""
    digest = hashlib.sha256(text.encode()).digest()
    scores: list[float | None] = [float(b % 11) for b in digest[:n_slots]]
    return ScoreCard(
        scores=scores,
        rationales=[f"reason {i}" for i in range(n_slots)],
        overall=float(digest[20] % 101),
        recommendation=("keep", "downsample", "drop")[digest[21] % 3],
        domain_tag="swe-repair",
        brief="A deterministic fake answer.",
        status="ok",
    )


class FakeEngine:
    """Answers each conversation with a valid template output derived from its text.

    ``respond`` overrides the text for a conversation (return ``None`` for a per-request error);
    ``fail_batch`` makes the whole call raise.
    """

    def __init__(
        self,
        respond: Callable[[str], str | None] | None = None,
        fail_batch: Exception | None = None,
        rubric: str = "agent-group4",
    ):
        self.rubric = load_rubric(rubric)
        self.respond = respond
        self.fail_batch = fail_batch
        self.calls: list[int] = []
        self.seen: list[str] = []
        self.samplings: list[Sampling] = []

    def identity(self) -> dict:
        return {"engine": "fake"}

    def generate(self, conversations, sampling):
        self.calls.append(len(conversations))
        self.samplings.append(sampling)
        if self.fail_batch is not None:
            raise self.fail_batch
        out = []
        for conv in conversations:
            user = conv[-1]["content"]
            self.seen.append(user)
            text = self.respond(user) if self.respond else format_output(card_for(user, len(self.rubric)), self.rubric)
            if text is None:
                out.append(Completion(error="prompt is too long for this server"))
            else:
                samples = None
                if sampling.n > 1:
                    samples = [
                        format_output(card_for(user + str(k), len(self.rubric)), self.rubric) for k in range(sampling.n)
                    ]
                    text = samples[0]
                out.append(
                    Completion(
                        text=text, prompt_tokens=len(user) // 4, completion_tokens=len(text) // 4, samples=samples
                    )
                )
        return out
