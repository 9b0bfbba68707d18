"""``mira_hf.prompting.shortening``: the one rule ``inspect`` and ``Scorer.estimate`` count shortened rows with is
the rule the scorer cuts records by (``Budget.fit_many``)."""

from __future__ import annotations

import pytest

from mira_hf.prompting.prompt import Budget
from mira_hf.prompting.shortening import budget_tokenizer, exact, record_lengths, shortened
from mira_hf.prompting.tokens import BytesPerToken


@pytest.fixture(scope="module")
def tok():
    from mira_hf.testing.tiny_model import tekken_tokenizer

    return tekken_tokenizer()


def _texts(limit: int) -> list[str]:
    """Records on both sides of a record budget of ``limit`` units, in bytes, 4-byte tokens and words."""
    sizes = [10, limit - 1, limit, limit + 1, 4 * limit - 4, 4 * limit, 4 * limit + 1, 4 * limit + 5, 70 * limit]
    texts = ["x" * n for n in sizes]
    texts += ["é" * (2 * limit + 1)]  # two bytes per character
    texts += [" ".join(["pytest"] * k) for k in (limit // 4, limit // 2, limit, 2 * limit)]
    return texts


@pytest.mark.parametrize("which", ["bytes per token", "no tokenizer", "tekken"])
def test_the_rows_said_shortened_are_the_rows_the_budget_cuts(which, tok):
    tokenizer = {"bytes per token": BytesPerToken(), "no tokenizer": None, "tekken": tok}[which]
    context = 12_288 if tokenizer is None else 4_096  # a byte budget counts the fixed part in bytes
    budget = Budget(max_model_len=context, max_tokens=512, tokenizer=tokenizer)
    texts = _texts(budget.record_budget)
    said = shortened(budget, texts, record_lengths(budget, texts))
    cut = [truncated for _, truncated, _ in budget.fit_many(list(texts))]
    assert said == cut
    assert 0 < sum(said) < len(texts)


def test_without_a_tokenizer_the_in_process_engine_is_estimated_at_4_bytes_per_token():
    assert isinstance(budget_tokenizer(None), BytesPerToken) and not exact(budget_tokenizer(None))
    assert budget_tokenizer(None, in_process=False) is None  # a run over endpoints is budgeted by bytes
