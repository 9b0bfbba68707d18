"""Which records the budget shortens: one count for `mira_hf.inspect` and `Scorer.estimate`.

Both find the tokenizer with [budget_tokenizer][mira_hf.prompting.shortening.budget_tokenizer], measure each fenced
record text with [record_lengths][mira_hf.prompting.shortening.record_lengths] and apply
[shortened][mira_hf.prompting.shortening.shortened], the rule of ``Budget.fit_many``: given the same model (or
tokenizer), ``max_model_len`` and ``max_tokens`` they name the same rows, and those are the rows the scorer cuts.

Example:
    >>> from mira_hf.prompting.prompt import Budget
    >>> budget = Budget(max_model_len=4_096, max_tokens=512, tokenizer=budget_tokenizer(None))
    >>> texts = ["short record", "x" * 4 * budget.record_budget, "x" * (4 * budget.record_budget + 1)]
    >>> shortened(budget, texts, record_lengths(budget, texts))
    [False, False, True]
"""

from __future__ import annotations

from typing import Any

from mira_hf.prompting.prompt import _MAX_BYTES_PER_TOKEN
from mira_hf.prompting.tokens import BytesPerToken, as_tokenizer

# Records longer than this many bytes per budget unit are cut before they are tokenized (``Budget.fit_many``).
_PRECUT_BYTES_PER_UNIT = 2 * _MAX_BYTES_PER_TOKEN


def budget_tokenizer(
    tokenizer: Any = None,
    model: str | None = None,
    revision: str | None = None,
    *,
    in_process: bool = True,
    warn: bool = True,
) -> Any:
    """The tokenizer a budget counts with, found without starting an engine.

    ``tokenizer`` as given (a name or folder is loaded); else ``model``'s tokenizer from a local folder, the local
    cache, or the Hub when it answers; else, for the in-process engine (which will have the model's tokenizer),
    a [BytesPerToken][mira_hf.prompting.tokens.BytesPerToken] stand-in of 4 bytes per token; else ``None``: a
    run over endpoints without a tokenizer is budgeted by bytes. ``warn``: say once when ``model``'s tokenizer
    is not found.
    """
    tok = as_tokenizer(tokenizer)
    if tok is None and model is not None:
        from mira_hf._util.offline import load_tokenizer

        tok = load_tokenizer(model, revision=revision, warn=warn)
    if tok is None and in_process:
        return BytesPerToken()
    return tok


def exact(tokenizer: Any) -> bool:
    """Whether counts made with ``tokenizer`` are the model's tokens (not estimated from bytes)."""
    return tokenizer is not None and not isinstance(tokenizer, BytesPerToken)


def record_lengths(budget: Any, texts: list[str]) -> list[int]:
    """Each fenced record text's length in the budget's unit: tokens of its tokenizer (in one batch), else bytes."""
    if budget.tokenizer is None:
        return [len(t.encode("utf-8")) for t in texts]
    return [len(ids) for ids in budget._encode_many(texts)] if texts else []


def shortened(budget: Any, texts: list[str], lengths: list[int]) -> list[bool]:
    """Whether the budget cuts each record (``Budget.fit_many``'s rule): over the record budget in bytes and in
    its unit, or so long it is cut before being tokenized."""
    limit = budget.record_budget
    out = []
    for text, n in zip(texts, lengths):
        size = len(text.encode("utf-8"))
        out.append(size > limit and (n > limit or size > limit * _PRECUT_BYTES_PER_UNIT))
    return out
