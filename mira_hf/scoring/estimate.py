"""What a scoring run will cost before it starts: tokens in and out, rows the budget shortens, GPU-hours.

The prompts of a random sample of rows are built exactly as the scorer builds them (same rubric, prompt template,
budget and tokenizer); when the model's tokenizer is not on this machine, a run on the in-process engine (which
loads it with the weights) is estimated at 4 UTF-8 bytes per token, as ``mira_hf.inspect`` estimates without a
tokenizer, and a run over endpoints is budgeted by bytes, as the scorer then does. The answer length is not
known before scoring, so the completion side assumes the anchor's 1,500 tokens per record (at most
``max_tokens``). GPU-hours are rows / records per second / 3,600 at the rate the
user gives, else the end-to-end rate of the last ``benchmarks/gpu_prefill.py`` GPU run saved on this machine,
else the published anchor: about 3 records/s for 8K-token records with 1.5K-token answers on one H200 (a
35B-A3B model); the result says which.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mira_hf.prompting.shortening import budget_tokenizer, exact, record_lengths, shortened
from mira_hf.prompting.tokens import BYTES_PER_TOKEN

#: Records/s of one H200 for 8K-token records and 1.5K-token answers, from published vLLM figures for a
#: 35B-A3B MoE (no GPU run of ours yet).
PUBLISHED_RECORDS_PER_S = 3.0
ANCHOR_COMPLETION_TOKENS = 1500
#: Where ``benchmarks/gpu_prefill.py --save`` writes its end-to-end figure (override with this variable).
THROUGHPUT_FILE_ENV = "MIRA_THROUGHPUT_FILE"


def throughput_file() -> Path:
    """The saved GPU benchmark result: ``$MIRA_THROUGHPUT_FILE`` or ``~/.cache/mira-hf/gpu_throughput.json``."""
    env = os.environ.get(THROUGHPUT_FILE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "mira-hf" / "gpu_throughput.json"


def measured_records_per_s(path: Path | None = None) -> tuple[float, str] | None:
    """``(records/s, where from)`` of a saved GPU run, or ``None`` when there is none (or it is unreadable)."""
    path = path or throughput_file()
    try:
        data = json.loads(path.read_text())
        rate = float(data["records_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if rate <= 0:
        return None
    return rate, f"measured by benchmarks/gpu_prefill.py on {data.get('device', 'a GPU')} ({path})"


class Estimate(BaseModel):
    """The expected cost of scoring ``rows`` rows, extrapolated from ``sampled`` of them."""

    rows: int
    sampled: int
    prompt_tokens: int
    completion_tokens: int
    prompt_tokens_per_row: float
    exact_tokens: bool
    shortened_rows: int
    invalid_rows: int
    records_per_s: float
    records_per_s_source: str
    gpus: int
    gpu_hours: float
    hours: float

    def lines(self) -> list[str]:
        """The estimate as short lines for a terminal."""
        how = "exact" if self.exact_tokens else f"estimated at {BYTES_PER_TOKEN} bytes per token (no tokenizer)"
        return [
            f"rows: {self.rows:,} (estimated from {self.sampled:,} sampled)",
            f"prompt tokens: {self.prompt_tokens:,} ({self.prompt_tokens_per_row:,.0f} per row, {how})",
            f"completion tokens: {self.completion_tokens:,} (assumed {ANCHOR_COMPLETION_TOKENS:,} per row at most)",
            f"rows the budget shortens: {self.shortened_rows:,}; unreadable rows: {self.invalid_rows:,}",
            f"at {self.records_per_s:g} records/s per GPU ({self.records_per_s_source}):",
            f"  {self.gpu_hours:,.1f} GPU-hours, {self.hours:,.1f} h on {self.gpus} GPU(s)",
        ]


def estimate(
    ds: Any, scorer: Any, *, sample: int = 256, records_per_s: float | None = None, gpus: int = 1, seed: int = 0
) -> Estimate:
    """Estimate the cost of ``ds.map(scorer)`` from ``sample`` random rows, without starting an engine.

    Example:
        >>> import datasets, mira_hf
        >>> ds = datasets.Dataset.from_dict({"text": ["$ pytest\\n3 passed"] * 1000})
        >>> est = mira_hf.Scorer().estimate(ds, sample=10, records_per_s=2.0, gpus=4)
        >>> est.rows, est.shortened_rows, round(est.gpu_hours, 3), round(est.hours, 3)
        (1000, 0, 0.139, 0.035)
    """
    from mira_hf.errors import ConfigurationError
    from mira_hf.prompting.prompt import build_prompts
    from mira_hf.records.batches import batch_records

    if sample < 1 or gpus < 1 or (records_per_s is not None and records_per_s <= 0):
        raise ConfigurationError("estimate: sample and gpus must be at least 1 and records_per_s positive.")
    c = scorer.config
    tokenizer = _estimate_tokenizer(scorer)
    # The scorer's own prompt (template and rubric), budget and record shape: the prompts counted are the ones
    # ``Scorer.plan_records`` sends (the template's fixed part decides how much of each record fits).
    budget = scorer.budget_for(tokenizer)
    column = scorer.record_column(list(ds.column_names))
    n = len(ds)
    picked = sorted(random.Random(seed).sample(range(n), min(sample, n)))
    records = batch_records(ds[picked], column) if picked else []
    prompts = build_prompts(records, scorer.rubric, budget, c.record_format) if picked else []
    good = [p for p in prompts if not isinstance(p, Exception)]
    if tokenizer is not None:  # the stand-in counts 4 bytes per token, framing included
        tokens = [budget.count(p.messages) for p in good]
    else:
        tokens = [sum(len(m["content"].encode()) for m in p.messages) // BYTES_PER_TOKEN for p in good]
    scale = n / max(len(picked), 1)
    per_row = sum(tokens) / max(len(good), 1)
    if records_per_s is not None:
        rate, source = records_per_s, "given"
    else:
        rate, source = measured_records_per_s() or (
            PUBLISHED_RECORDS_PER_S,
            "published: 8K-in / 1.5K-out on one H200; no GPU run saved here",
        )
    rows_scored = round(len(good) * scale)
    gpu_hours = rows_scored / rate / 3600
    return Estimate(
        rows=n,
        sampled=len(picked),
        prompt_tokens=round(sum(tokens) * scale),
        completion_tokens=rows_scored * min(c.max_tokens, ANCHOR_COMPLETION_TOKENS),
        prompt_tokens_per_row=per_row,
        exact_tokens=exact(tokenizer),
        shortened_rows=round(_shortened(records, budget, c.record_format) * scale),
        invalid_rows=round((len(prompts) - len(good)) * scale),
        records_per_s=rate,
        records_per_s_source=source,
        gpus=gpus,
        gpu_hours=gpu_hours,
        hours=gpu_hours / gpus,
    )


def _shortened(records: list[Any], budget: Any, record_format: str | None) -> int:
    """How many of ``records`` the budget shortens, counted as `mira_hf.inspect` counts them."""
    from mira_hf.answer.contract import escape_fences
    from mira_hf.records import render

    texts = []
    for record in records:
        try:
            texts.append(escape_fences(render(record, record_format).text))
        except Exception:  # noqa: BLE001 - a record that cannot be read is invalid_input, never shortened
            continue
    return sum(shortened(budget, texts, record_lengths(budget, texts)))


def _estimate_tokenizer(scorer: Any) -> Any:
    """The tokenizer the scorer would budget with, found without starting an engine (``None``: count bytes)."""
    if scorer._tokenizer is None and scorer.config.engine == "custom":  # the engine's own tokenizer, if it has one
        return getattr(scorer._custom_engine, "tokenizer", None)
    # the in-process engine will have the model's tokenizer: without it here, its counts are estimated
    return budget_tokenizer(
        scorer._tokenizer, scorer.config.model, scorer.config.revision, in_process=scorer.config.engine == "vllm"
    )
