"""``mira_hf.inspect``: what the scorer will read, before any GPU hour is spent.

Reads the record column (or whole rows, for ``.traj`` files loaded with ``datasets``) without an engine and
reports the formats detected, the rejected rows with their reasons, the coverage of each record (overall and per
kind of field: messages, reasoning, tool calls, observations …), the prompt
lengths against the token budget (how many rows the budget will shorten, and by how much) and a few rendered
samples. The numbers are a pydantic model (JSON round trip); ``str()`` prints them as tables.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from mira_hf._util.problems import missing_column
from mira_hf.errors import ConfigurationError, InvalidRecordError
from mira_hf.prompting.inspection_data import InspectionData, Lengths, LowCoverage, Rejected, Sample
from mira_hf.prompting.inspection_view import to_html, to_notebook_html, to_rich, to_text
from mira_hf.prompting.shortening import budget_tokenizer, exact, record_lengths, shortened
from mira_hf.records.coverage import coverage_report
from mira_hf.records.detect import render
from mira_hf.records.measure import KINDS

_SAMPLE_CHARS = 4_000  # a shown sample is cut to this many characters (display only)
_KEPT = 20  # rejected rows and low-coverage rows listed


class Inspection(InspectionData):
    """What `inspect` found: formats, rejects, coverage, lengths and samples; printed as tables."""

    def __str__(self) -> str:
        return to_text(self)

    def __rich__(self):
        return to_rich(self)

    def to_html(self) -> str:
        """The report section (``<section id="records">``) for the HTML report."""
        return to_html(self)

    def _repr_html_(self) -> str:
        """The inspection in a notebook: the summary, formats and coverage tables, samples collapsed."""
        return to_notebook_html(self)

    def save(self, path: Any) -> None:
        """Write the inspection as JSON."""
        from pathlib import Path

        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")


def inspect(
    ds: Any,
    *,
    text_column: str | None = None,
    record_format: str | None = None,
    id_column: str | None = None,
    n: int = 5,
    sample: int | None = None,
    seed: int = 0,
    rubric: Any = "agent-group4",
    max_model_len: int = 65_536,
    max_tokens: int = 2_048,
    tokenizer: Any = None,
    model: str | None = None,
    revision: str | None = None,
    coverage_threshold: float = 0.95,
    progress: bool = True,
    prompt: Any = None,
) -> Inspection:
    """Look at what the scorer will read from ``ds``, without an engine.

    Args:
        ds: a ``Dataset`` or ``IterableDataset`` (the record column is found as the scorer finds it), or a
            list of records.
        text_column, record_format: as for [Scorer][mira_hf.Scorer].
        id_column: a column shown beside rejected and sampled rows (``id``/``instance_id`` when present).
        n: rendered samples to show.
        sample: inspect this many rows drawn at random (seeded) instead of every row.
        max_model_len, max_tokens, tokenizer: the budget; without a tokenizer, ``model``'s (``revision``) when it
            is on this machine or the Hub answers, else lengths are estimated from UTF-8 bytes (4 per token).
            The rows said to be shortened are those ``Scorer.estimate`` names and the scorer cuts
            (`mira_hf.prompting.shortening`).
        coverage_threshold: rows below it are counted and listed.
        prompt: the prompt template whose fixed part the budget counts (the built-in one by default).

    Raises:
        ConfigurationError: ``record_format`` is not a known format, or the budget leaves no room for a record.

    Example:
        >>> report = inspect([[{"role": "user", "content": "Fix the failing test."}], "", "done"], progress=False)
        >>> report.formats, report.rejected
        ({'openai': 1, 'text': 1}, 1)
    """
    from mira_hf.prompting.prompt import Budget

    check_record_format(record_format)
    tok = budget_tokenizer(tokenizer, model, revision, warn=False)
    budget = Budget(rubric, max_model_len=max_model_len, max_tokens=max_tokens, tokenizer=tok, prompt=prompt)
    column, ids, records, total = _records(ds, text_column, id_column, sample, seed)
    tally = _Tally(budget, ids, record_format, coverage_threshold, n, random.Random(seed))
    bar = _bar(total, progress)
    seen = 0
    for row, record in records:
        bar.update(1)
        tally.add(row, record)
        seen += 1
    tally.flush()
    bar.close()
    covs = np.asarray(tally.covs) if tally.covs else None
    return Inspection(
        rows=total if total is not None else seen,  # a stream without ``sample``: the rows it held
        column=column,
        formats=dict(tally.formats.most_common()),
        rejected=sum(tally.reasons.values()),
        reasons=dict(tally.reasons.most_common()),
        rejected_rows=tally.rejected,
        coverage_threshold=coverage_threshold,
        coverage=_coverage_summary(covs),
        coverage_by_format={k: round(float(np.mean(v)), 4) for k, v in tally.cov_by_format.items()},
        coverage_by_kind={k: round(float(np.mean(tally.cov_by_kind[k])), 4) for k in KINDS if k in tally.cov_by_kind},
        rows_by_kind={k: len(tally.cov_by_kind[k]) for k in KINDS if k in tally.cov_by_kind},
        coverage_shortened=round(float(np.mean(tally.cut)), 4) if tally.cut else 0.0,
        below_threshold=int((covs < coverage_threshold).sum()) if covs is not None else 0,
        low_coverage=tally.low,
        lengths=_length_stats(tally.lengths, tally.over, budget),
        samples=[_sample(budget, row, ids(row), fmt, cov, text) for row, fmt, cov, text in sorted(tally.texts)],
    )


def check_record_format(record_format: str | None) -> None:
    """Raise one [ConfigurationError][mira_hf.errors.ConfigurationError] for a ``record_format`` no reader knows
    (instead of one rejected row per record)."""
    from mira_hf.records import FORMATS

    if record_format is not None and record_format not in FORMATS:
        raise ConfigurationError(
            f"record_format={record_format!r} is not a record format: pass record_format= one of {', '.join(FORMATS)}"
        )


def _sample(budget: Any, row: int, id: str | None, fmt: str, cov: float, text: str) -> Sample:
    """A rendered row as shown: its prompt length counted as the budget counts it, its text cut for display."""
    from mira_hf.answer.contract import escape_fences

    (length,) = record_lengths(budget, [escape_fences(text)])
    return Sample(
        index=row, id=id, format=fmt, coverage=round(cov, 4), prompt_tokens=length + budget.fixed, text=_cut(text)
    )


class _Tally:
    """What the rows read so far add up to: formats, rejects, coverage, record lengths and a reservoir sample.

    ``budget`` measures the records 256 at a time (`mira_hf.prompting.shortening`).
    """

    def __init__(
        self, budget: Any, ids: Any, record_format: str | None, threshold: float, n: int, rng: random.Random
    ) -> None:
        self.budget, self.ids, self.record_format = budget, ids, record_format
        self.threshold, self.n, self.rng = threshold, n, rng
        self.formats: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.rejected: list[Rejected] = []
        self.low: list[LowCoverage] = []
        self.covs: list[float] = []
        self.cut: list[float] = []  # share of each record's counted text shortened on purpose
        self.cov_by_format: dict[str, list[float]] = {}
        self.cov_by_kind: dict[str, list[float]] = {}
        self.lengths: list[int] = []  # each rendered record's length, in the budget's unit
        self.over: list[bool] = []  # whether the budget shortens it
        self.texts: list[tuple[int, str, float, str]] = []  # rows that rendered, for samples
        self.rendered = 0
        self.pending: list[str] = []  # fenced record texts waiting to be measured in a batch

    def add(self, row: int, record: Any) -> None:
        """Read one record: rejected with its reason, or counted (format, coverage, length, sample)."""
        from mira_hf.answer.contract import escape_fences

        try:
            rendering = render(record, self.record_format)
        except Exception as e:  # noqa: BLE001 - as the scorer (``build_prompts``): the row is invalid_input
            reason = _rejection(e)
            self.reasons[_reason_kind(reason)] += 1
            if len(self.rejected) < _KEPT:
                self.rejected.append(Rejected(index=row, id=self.ids(row), reason=reason))
            return
        self.formats[rendering.format] += 1
        cov = self._coverage(row, record, rendering)
        self.pending.append(escape_fences(rendering.text))
        if len(self.pending) >= 256:
            self.flush()
        self.rendered += 1  # reservoir sample of the rendered rows
        item = (row, rendering.format, cov, rendering.text)
        if len(self.texts) < self.n:
            self.texts.append(item)
        elif self.n and self.rng.random() < self.n / self.rendered:
            self.texts[self.rng.randrange(self.n)] = item

    def _coverage(self, row: int, record: Any, rendering: Any) -> float:
        """Count the record's coverage (overall, by format and kind; listed when low); returns its ratio."""
        cov = coverage_report(record, rendering)
        self.covs.append(cov.ratio)
        self.cut.append(cov.shortened / cov.total if cov.total else 0.0)
        self.cov_by_format.setdefault(rendering.format, []).append(cov.ratio)
        for kind, ratio in cov.ratio_by_kind.items():
            self.cov_by_kind.setdefault(kind, []).append(ratio)
        if cov.ratio < self.threshold and len(self.low) < _KEPT:
            self.low.append(
                LowCoverage(
                    index=row,
                    id=self.ids(row),
                    format=rendering.format,
                    coverage=round(cov.ratio, 4),
                    missing=list(cov.missing),
                )
            )
        return cov.ratio

    def flush(self) -> None:
        """Measure the records waiting, in one batch, and mark those the budget shortens."""
        if self.pending:
            lengths = record_lengths(self.budget, self.pending)
            self.lengths += lengths
            self.over += shortened(self.budget, self.pending, lengths)
            self.pending.clear()


def _coverage_summary(covs: np.ndarray | None) -> dict[str, float]:
    """Mean, min, p5 and p50 of the rows' coverage (empty when no row rendered)."""
    if covs is None:
        return {}
    return {
        "mean": round(float(covs.mean()), 4),
        "min": round(float(covs.min()), 4),
        "p5": round(float(np.percentile(covs, 5)), 4),
        "p50": round(float(np.percentile(covs, 50)), 4),
    }


def _length_stats(lengths: list[int], over: list[bool], budget: Any) -> Lengths | None:
    """Prompt length quantiles and what the budget shortens, from each record's length (``None``: no record)."""
    if not lengths:
        return None
    record = np.asarray(lengths, dtype=np.int64)
    arr = record + budget.fixed
    cut = record[np.asarray(over, dtype=bool)].astype(np.float64)
    room = budget.record_budget
    shares = np.clip((cut - room) / np.maximum(cut, 1), 0.0, 1.0)
    return Lengths(
        unit="tokens" if exact(budget.tokenizer) else "estimated tokens",
        budget=budget.prompt_budget,
        fixed=budget.fixed,
        quantiles={q: int(np.percentile(arr, p)) for q, p in (("p50", 50), ("p90", 90), ("p99", 99))}
        | {"max": int(arr.max())},
        shortened=int(cut.size),
        omitted_mean=float(shares.mean()) if cut.size else 0.0,
        omitted_max=float(shares.max()) if cut.size else 0.0,
    )


# ----------------------------------------------------------------------------------------------- helpers
def _cut(text: str) -> str:
    if len(text) <= _SAMPLE_CHARS:
        return text
    half = _SAMPLE_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half:,} characters not shown here ...]\n{text[-half:]}"


def _rejection(e: Exception) -> str:
    """Why a record that cannot be rendered is rejected, in the scorer's words."""
    if isinstance(e, InvalidRecordError):
        return str(e)
    if isinstance(e, RecursionError):
        return "record is nested too deeply to read"
    return f"record could not be read ({type(e).__name__}: {str(e)[:200]}); please report its shape as a mira-hf bug"


def _reason_kind(reason: str) -> str:
    """A rejection reason without the element index and quoted values, so like reasons count together."""
    import re

    reason = re.sub(r"element \d+", "element N", reason)
    return re.sub(r"\(\'.*?\'…?\)", "(…)", reason)[:200]


def _bar(total: int | None, enabled: bool):
    from tqdm.auto import tqdm

    small = total is not None and total < 1_000  # done before a bar would be worth drawing
    return tqdm(total=total, desc="inspecting", unit="rows", disable=not enabled or small, leave=False)


def _records(
    ds: Any, text_column: str | None, id_column: str | None, sample: int | None, seed: int
) -> tuple[str | None, Any, Iterator[tuple[int, Any]], int | None]:
    """``(record column, row → id, (row, record) pairs, rows)`` for a dataset or a list of records."""
    import datasets

    from mira_hf.records.batches import batch_records, record_column

    if not isinstance(ds, (datasets.Dataset, datasets.IterableDataset)):
        records = ds if isinstance(ds, Sequence) else list(ds)
        index = _pick(len(records), sample, seed)
        return None, (lambda i: None), ((i, records[i]) for i in index), len(index)
    names = list(ds.column_names or [])
    column = record_column(names, text_column)
    if id_column is not None and id_column not in names:
        from mira_hf.errors import ColumnNotFoundError

        raise ColumnNotFoundError(missing_column(id_column, names, "id_column"))
    id_col = id_column or next((c for c in ("id", "instance_id", "trajectory_id") if c in names), None)
    ids: dict[int, str] = {}
    if isinstance(ds, datasets.IterableDataset):

        def stream() -> Iterator[tuple[int, Any]]:
            for i, row in enumerate(ds):
                if sample is not None and i >= sample:
                    return
                if id_col:
                    ids[i] = str(row[id_col])
                yield i, batch_records({k: [v] for k, v in row.items()}, column)[0]

        return column, ids.get, stream(), sample

    index = _pick(len(ds), sample, seed)
    cols = [column] if column is not None else [c for c in names if not c.startswith("mira_")]
    table = ds.select_columns(cols + ([id_col] if id_col and id_col not in cols else []))

    def chunks() -> Iterator[tuple[int, Any]]:
        for start in range(0, len(index), 512):
            chunk = index[start : start + 512]
            batch = table[chunk]
            if id_col:
                ids.update(zip(chunk, map(str, batch[id_col])))
            yield from zip(chunk, batch_records(batch, column))

    return column, ids.get, chunks(), len(index)


def _pick(n: int, sample: int | None, seed: int) -> list[int]:
    """Every row, or ``sample`` rows drawn at random (seeded), in order."""
    if sample is None or sample >= n:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), sample))
