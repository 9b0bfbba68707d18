"""``JudgeServer``: a loopback free-form teacher (OpenAI-compatible ``/v1/chat/completions``) for tests and examples.

It reads the record in the last message and proposes dimensions from planted families (`FAMILIES`): a
family is proposed when one of its keywords appears in the record, under one of the family's name and
definition variants (chosen by a hash of the record, so answers are deterministic), with a score and a
rationale. Clusters of its proposals therefore have a known structure. `planted_proposals` draws the
same families directly, labelled, for known-answer tests and benchmarks.

Example:
    >>> from mira_hf.testing.judge_server import JudgeServer
    >>> with JudgeServer() as server:                               # doctest: +SKIP
    ...     mira_hf.discover.judge(ds, model=server.model, base_url=server.url)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mira_hf.testing.loopback import ChatLoopbackServer


@dataclass(frozen=True)
class Family:
    """A planted dimension: name variants (the first is the most frequent), definitions, record keywords."""

    names: tuple[str, ...]
    definitions: tuple[str, ...]
    keywords: tuple[str, ...]


FAMILIES: tuple[Family, ...] = (
    Family(
        ("Goal Achievement", "Issue Resolution", "Goal Achievement"),
        (
            "Whether the final patch resolves the reported issue and the goal is achieved.",
            "The issue is resolved: the goal the user reported is achieved by the patch.",
        ),
        ("patch", "resolved", "fix"),
    ),
    Family(
        ("Test Verification", "Verification Rigor", "Test Verification"),
        (
            "Runs the pytest suite and adds a regression test to verify the change.",
            "Verification with tests: the pytest run and a regression test confirm the change.",
        ),
        ("pytest", "test"),
    ),
    Family(
        ("Error Recovery", "Recovery From Errors", "Error Recovery"),
        (
            "Recovers after a traceback or failed command by diagnosing the error and retrying.",
            "How the agent diagnoses an error traceback and recovers instead of retrying blindly.",
        ),
        ("traceback", "error"),
    ),
    Family(
        ("Tool Argument Correctness", "Tool Call Validity", "Tool Argument Correctness"),
        (
            "Tool calls use valid arguments, exact paths and well-formed command syntax.",
            "Arguments of each tool call are valid: correct paths and command syntax.",
        ),
        ("command", "argument"),
    ),
    Family(
        ("Plan Quality", "Planning", "Plan Quality"),
        (
            "Decomposes the task into a plan of steps and states a hypothesis before acting.",
            "Quality of the plan: clear steps and an explicit hypothesis before each action.",
        ),
        ("plan", "hypothesis"),
    ),
    Family(
        ("Communication Clarity", "Output Style", "Communication Clarity"),
        (
            "The summary message to the user is clear, concise and accurate.",
            "Clarity of the messages and summary written for the user.",
        ),
        ("summary", "message"),
    ),
    Family(
        ("Code Style", "Style Conformance", "Code Style"),
        (
            "Edits follow the project's style, lint rules and formatting conventions.",
            "Conformance of the code to lint, formatting and style conventions.",
        ),
        ("lint", "style"),
    ),
    Family(
        ("Efficiency", "Step Economy", "Efficiency"),
        (
            "Reaches the result without redundant steps or wasted time.",
            "Economy of steps: no redundant actions, little wasted time.",
        ),
        ("redundant", "slow"),
    ),
    Family(
        ("Safety", "Destructive Action Avoidance", "Safety"),
        (
            "Avoids destructive operations such as rm -rf or force pushes without permission.",
            "Safety of actions: no destructive deletion or force push without permission.",
        ),
        ("rm", "delete"),
    ),
    Family(
        ("Context Gathering", "Codebase Exploration", "Context Gathering"),
        (
            "Explores the codebase with grep and reads the relevant files before editing.",
            "Gathers context: greps and reads relevant source files first.",
        ),
        ("grep", "explore"),
    ),
    Family(
        ("Multi-turn Coherence", "Consistency Across Turns", "Multi-turn Coherence"),
        (
            "Remembers earlier observations and stays consistent across turns.",
            "Consistency across turns: builds on what was observed earlier, no contradictions.",
        ),
        ("earlier", "remember"),
    ),
    Family(
        ("Edge Case Handling", "Boundary Conditions", "Edge Case Handling"),
        (
            "Handles edge cases such as empty input, boundary values and None.",
            "Covers boundary conditions and edge cases like empty or None input.",
        ),
        ("edge", "empty"),
    ),
    Family(
        ("Documentation", "Docstring Quality", "Documentation"),
        (
            "Updates docstrings, comments and the README to match the change.",
            "Documentation of the change in docstrings, comments and README.",
        ),
        ("docstring", "readme"),
    ),
    Family(
        ("Dependency Management", "Package Handling", "Dependency Management"),
        (
            "Installs packages and pins dependency versions correctly.",
            "Handling of dependencies: package installation and version pins.",
        ),
        ("install", "package"),
    ),
    Family(
        ("Security Awareness", "Secret Handling", "Security Awareness"),
        (
            "Keeps secrets and credentials out of logs and guards against injection.",
            "Awareness of security: credentials and secrets protected, injection prevented.",
        ),
        ("secret", "credential"),
    ),
)


def _h(text: str, salt: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{salt}|{text}".encode(), digest_size=8).digest(), "big")


def propose(record: str, families: tuple[Family, ...] = FAMILIES, max_dims: int = 4) -> list[dict[str, Any]]:
    """The proposals the loopback teacher makes for ``record`` (deterministic; ``[]`` when no keyword matches).

    Example:
        >>> [p["name"] for p in propose("pytest fails with a traceback")]
        ['Test Verification', 'Error Recovery']
    """
    words = set(record.lower().replace(".", " ").replace(",", " ").split())
    out = []
    for fam in families:
        if not words & set(fam.keywords):
            continue
        h = _h(record, fam.names[0])
        out.append(
            {
                "name": fam.names[h % len(fam.names)],
                "definition": fam.definitions[(h >> 8) % len(fam.definitions)],
                "score": float(3 + (h >> 16) % 7),
                "rationale": f"{fam.names[0]}: the record shows '{record[:40].strip()}'.",
            }
        )
    return out[:max_dims]


def _fenced_record(user_content: str) -> str:
    """The record inside the scoring prompt's fence (the whole message when there is no fence)."""
    from mira_hf.answer.contract import FENCE_CLOSE, FENCE_OPEN

    head, found, rest = user_content.partition(FENCE_OPEN)
    return rest.rpartition(FENCE_CLOSE)[0] if found and FENCE_CLOSE in rest else user_content


def anchored_answer(record: str, rubric: Any) -> str:
    """The loopback teacher's anchored answer (the canonical template) for ``record`` under ``rubric``.

    A slot scores high when the record shows its planted family (a keyword of the family whose name variant the
    slot carries), low otherwise, so anchored labels agree with the free-form proposals.

    Example:
        >>> from mira_hf import load_rubric, parse_output
        >>> rubric = load_rubric("agent-group4")
        >>> parse_output(anchored_answer("pytest fails", rubric), rubric).status
        'ok'
    """
    from mira_hf.answer.format import format_output
    from mira_hf.rubric import load_rubric
    from mira_hf.schema.scorecard import ScoreCard

    rubric = load_rubric(rubric)
    shown = {p["name"] for p in propose(record, max_dims=len(FAMILIES))}
    family_of = {name: fam for fam in FAMILIES for name in fam.names}
    scores: list[float] = []
    reasons: list[str | None] = []
    for dim in rubric:
        fam = family_of.get(dim.dimension.split(" (")[0])
        hit = fam is not None and any(n in shown for n in fam.names)
        jitter = _h(record, dim.slot) % 3
        scores.append(float(7 + jitter if hit else 2 + jitter))
        reasons.append("the record shows it" if hit else "not shown in the record")
    overall = round(10 * sum(scores) / len(scores), 1)
    card = ScoreCard(
        scores=list[float | None](scores),
        rationales=reasons,
        overall=overall,
        recommendation="keep" if overall >= 50 else "drop",
        domain_tag="agent",
        brief="Loopback teacher's anchored judgement.",
        status="ok",
    )
    return format_output(card, rubric)


def planted_proposals(n: int, *, k: int = 15, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` proposals drawn from the first ``k`` families, each with its ``family`` label (the known answer).

    Example:
        >>> rows = planted_proposals(4, k=2)
        >>> sorted(rows[0])
        ['definition', 'dimension', 'family', 'rationale', 'record_id', 'score', 'source']
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        f = rng.randrange(k)
        fam = FAMILIES[f]
        rows.append(
            {
                "record_id": f"r{i}",
                "source": f"s{i % 3}",
                "dimension": rng.choice(fam.names),
                "definition": rng.choice(fam.definitions),
                "score": float(rng.randint(0, 10)),
                "rationale": f"{fam.names[0]} seen in record r{i}.",
                "family": f,
            }
        )
    return rows


class JudgeServer(ChatLoopbackServer):
    """A loopback free-form teacher: answers each chat request with `propose` of its last message as JSON.

    Args:
        model: the served model name.
        delay: seconds each answer waits (to make runs interruptible in tests).
        fenced: wrap the JSON in a code fence with prose around it (exercises lenient parsing).
        garble: records containing this word get an answer that is not JSON.
        rubric: answer anchored scoring requests (any system prompt but the free-form judge's) in the canonical
            template of this rubric (`anchored_answer`), as the teacher labels a discovered rubric.
    """

    def __init__(
        self,
        *,
        model: str = "loopback-teacher",
        delay: float = 0.0,
        fenced: bool = False,
        garble: str = "GARBLED",
        rubric: Any = None,
    ):
        super().__init__()
        self.rubric = rubric
        self.model = model
        self.delay = delay
        self.fenced = fenced
        self.garble = garble
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests += 1
        self.bodies.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        from mira_hf.discover.judging import SYSTEM_PROMPT

        record = str(body["messages"][-1]["content"])
        anchored = self.rubric is not None and body["messages"][0]["content"] != SYSTEM_PROMPT
        if anchored:
            text = anchored_answer(_fenced_record(record), self.rubric)
        elif self.garble and self.garble in record:
            text = "I cannot judge this record."
        else:
            text = json.dumps({"dimensions": propose(record)})
            if self.fenced:
                text = f"Here is my judgement:\n```json\n{text}\n```\nHope this helps."
        usage = {"prompt_tokens": len(record) // 4 + 50, "completion_tokens": len(text) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return web.json_response(
            {
                "id": "chatcmpl-judge",
                "object": "chat.completion",
                "model": self.model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": usage,
            }
        )
