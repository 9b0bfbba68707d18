"""The distillation set: the student's exact prompts with the teacher's anchored answers, split per source.

Each row's ``messages`` are ``[system, user, assistant]``: the system and user messages are built by the same code
as [`Scorer`][mira_hf.scoring.scorer.Scorer] (template, fence, token budget), and the assistant turn is the teacher's
answer re-written in the canonical output format
([`mira_hf.answer.format.format_output`][mira_hf.answer.format.format_output]). Rows the teacher did not answer ``ok``
are left out and counted. The ``held_out`` split keeps ``record`` (the text the prompt fences) and ``teacher_scores``,
so the trained student can score it and ``mira_agreement`` can measure it. The rows are in TRL's conversational format:
``SFTTrainer(train_dataset=ds["train"])`` trains on them as they are.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from mira_hf.answer.format import format_output
from mira_hf.answer.parse import parse_output
from mira_hf.defaults import CARD_MAX_MODEL_LEN, DEFAULT_MAX_TOKENS
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.prompting.prompt import PROMPT_VERSION, Budget, PromptLike, Tokenizer, build_prompts
from mira_hf.rubric import Rubric, load_rubric

#: The columns of every split.
SFT_COLUMNS = ("messages", "source", "id", "record", "teacher_scores", "teacher_overall", "teacher_recommendation")


class DistillSummary(BaseModel):
    """What [`sft_dataset_and_summary`][mira_hf.distill.sft_dataset_and_summary] kept, left out (by reason) and put in
    each split, per source."""

    rows: int
    kept: int
    left_out: dict[str, int]
    train: int
    held_out: int
    truncated: int
    sources: dict[str, dict[str, int]]
    rubric: str
    rubric_hash: str
    prompt: str
    prompt_hash: str
    prompt_version: str = PROMPT_VERSION
    max_model_len: int
    max_tokens: int
    seed: int


def split_per_source(sources: Sequence[str], held_out: float, seed: int = 0) -> list[bool]:
    """For each row, whether it is held out: a seeded ``held_out`` share of every source, at least one row of a
    source with two or more rows, never all of them.

    Example:
        >>> split_per_source(["a"] * 10 + ["b"] * 5, 0.2, seed=0).count(True)
        3
    """
    if not 0 <= held_out < 1:
        raise ConfigurationError(f"held_out={held_out!r} must be a share in [0, 1), e.g. 0.2")
    by_source: dict[str, list[int]] = {}
    for i, s in enumerate(sources):
        by_source.setdefault(s, []).append(i)
    out = [False] * len(sources)
    for source, rows in by_source.items():
        if held_out == 0 or len(rows) < 2:
            continue
        n = min(len(rows) - 1, max(1, round(held_out * len(rows))))
        for i in random.Random(f"{seed}:{source}").sample(rows, n):
            out[i] = True
    return out


def _column(ds: Any, name: str | None, what: str) -> list[Any] | None:
    if name is None:
        return None
    if name not in ds.column_names:
        raise ColumnNotFoundError(f"{what} column {name!r} is not in this dataset; its columns are {ds.column_names}.")
    return list(ds[name])


def sft_dataset_and_summary(
    ds: Any,
    *,
    rubric: Rubric | str = "agent-group4",
    prompt: PromptLike = None,
    text_column: str | None = None,
    record_format: str | None = None,
    source_column: str | None = "source",
    id_column: str | None = "id",
    teacher_column: str = "mira_raw",
    status_column: str | None = "mira_status",
    held_out: float = 0.2,
    seed: int = 0,
    max_model_len: int = CARD_MAX_MODEL_LEN,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    tokenizer: Tokenizer | None = None,
) -> tuple[Any, DistillSummary]:
    """[`sft_dataset`][mira_hf.distill.sft_dataset] and what it kept and left out.

    Example:
        >>> import datasets
        >>> from mira_hf.testing.fake_engine import card_for
        >>> raw = [format_output(card_for("x")), format_output(card_for("y")), None]
        >>> ds = datasets.Dataset.from_dict({
        ...     "text": ["fixed it", "ran tests", "no answer"], "source": ["a"] * 3,
        ...     "id": ["1", "2", "3"], "mira_raw": raw,
        ...     "mira_status": ["ok", "ok", "engine_error"],
        ... })
        >>> lengths = dict(max_model_len=8192, max_tokens=1024)
        >>> sft, summary = sft_dataset_and_summary(ds, held_out=0.5, **lengths)
        >>> summary.kept, summary.left_out, summary.train, summary.held_out
        (2, {'engine_error': 1}, 1, 1)
    """
    from datasets import Dataset, DatasetDict

    from mira_hf.records.batches import batch_records, record_column

    rubric = load_rubric(rubric)
    budget = Budget(rubric, max_model_len=max_model_len, max_tokens=max_tokens, tokenizer=tokenizer, prompt=prompt)
    teacher = _column(ds, teacher_column, "teacher output")
    statuses = _column(ds, status_column if status_column in ds.column_names else None, "status")
    sources = _column(ds, source_column, "source") or ["all"] * len(ds)
    ids = _column(ds, id_column, "id") or [str(i) for i in range(len(ds))]
    column = record_column([c for c in ds.column_names if c not in (teacher_column, status_column)], text_column)
    records = batch_records(ds[:] if column is None else {column: ds[column]}, column)
    prompts = build_prompts(records, rubric, budget, record_format)
    kept, left_out = _kept_rows(prompts, rubric, teacher, statuses, sources, ids)
    head, tail = budget.prompt.user_parts(rubric)
    for row in kept:  # the record as fenced (escaped, shortened): the student's Scorer rebuilds the same prompt
        row["record"] = row["record"][len(head) : len(row["record"]) - len(tail)]
    splits, per_source = _split(kept, held_out, seed)
    truncated = sum(r.pop("_truncated") for r in kept)
    dd = DatasetDict(
        {
            name: Dataset.from_dict({c: [r[c] for r in rows] for c in SFT_COLUMNS}, features=_features())
            for name, rows in splits.items()
        }
    )
    summary = DistillSummary(
        rows=len(ds),
        kept=len(kept),
        left_out=dict(left_out),
        train=len(splits["train"]),
        held_out=len(splits["held_out"]),
        truncated=truncated,
        sources=per_source,
        rubric=rubric.name,
        rubric_hash=rubric.content_hash,
        prompt=budget.prompt.name,
        prompt_hash=budget.prompt.content_hash,
        max_model_len=max_model_len,
        max_tokens=max_tokens,
        seed=seed,
    )
    return dd, summary


def _kept_rows(
    prompts: Sequence[Any],
    rubric: Rubric,
    teacher: list[Any] | None,
    statuses: list[Any] | None,
    sources: list[Any],
    ids: list[Any],
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The SFT rows of the records whose teacher answer parses, and why each other record was left out."""
    left_out: Counter[str] = Counter()
    kept: list[dict[str, Any]] = []
    for i, p in enumerate(prompts):
        if statuses is not None and statuses[i] != "ok":
            left_out[str(statuses[i])] += 1
            continue
        card = parse_output(teacher[i], rubric)  # type: ignore[index]
        if card.status != "ok":
            left_out[f"teacher_{card.status}"] += 1
            continue
        if isinstance(p, Exception):
            left_out["invalid_input"] += 1
            continue
        kept.append(
            {
                "messages": [*p.messages, {"role": "assistant", "content": format_output(card, rubric)}],
                "source": str(sources[i]),
                "id": str(ids[i]),
                "record": p.messages[1]["content"],
                "teacher_scores": card.scores,
                "teacher_overall": card.overall,
                "teacher_recommendation": card.recommendation,
                "_truncated": p.truncated,
            }
        )
    return kept, left_out


def _split(
    kept: list[dict[str, Any]], held_out: float, seed: int
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, int]]]:
    """The rows of each split (``held_out`` per source) and each source's count per split."""
    flags = split_per_source([r["source"] for r in kept], held_out, seed)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "held_out": []}
    per_source: dict[str, dict[str, int]] = {}
    for row, out in zip(kept, flags):
        name = "held_out" if out else "train"
        splits[name].append(row)
        per_source.setdefault(row["source"], {"train": 0, "held_out": 0})[name] += 1
    return splits, per_source


def sft_dataset(ds: Any, **kwargs: Any) -> Any:
    """A ``DatasetDict`` with ``train`` and ``held_out`` rows for TRL's ``SFTTrainer`` from a teacher-scored ``ds``.

    ``ds`` is the output of a teacher run (``Scorer`` with the teacher's endpoint and the group's rubric): its
    record column, ``mira_raw`` (the teacher's answer) and ``mira_status``. Arguments are those of
    [`sft_dataset_and_summary`][mira_hf.distill.sft_dataset_and_summary]; use the same ``rubric``, ``prompt`` and
    ``max_model_len`` as the student.

    Example:
        >>> sft = sft_dataset(teacher_scored, rubric="group_A_dim_anchors.jsonl")   # doctest: +SKIP
        >>> SFTTrainer(model=student, train_dataset=sft["train"]).train()            # doctest: +SKIP
    """
    return sft_dataset_and_summary(ds, **kwargs)[0]


def _features() -> Any:
    from datasets import Features, List, Value

    return Features(
        {
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "source": Value("string"),
            "id": Value("string"),
            "record": Value("string"),
            "teacher_scores": List(Value("float64")),
            "teacher_overall": Value("float64"),
            "teacher_recommendation": Value("string"),
        }
    )
