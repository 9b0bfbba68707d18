"""One scoring run as a library call (what ``mira-hf score`` runs): the scorer from its settings, this task's shard,
the engine fed with a progress bar, the output written, and the status counts.

Example:
    >>> job = ScoreJob("scored", settings={"engine": "openai", "base_url": ["http://gpu-0:8000/v1"]})
    >>> job.cache_path, job.out_path
    (PosixPath('scored.cache'), PosixPath('scored'))
    >>> result = run_score_job(ds, job)                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from mira_hf.scoring.scorer import Scorer


@dataclass
class ScoreJob:
    """What one run scores and where it writes.

    ``settings`` are [`Scorer`][mira_hf.scoring.scorer.Scorer] keyword arguments; ``shard`` is ``(index, count)`` for
    a task of a job array (it writes ``shard-IIIII-of-NNNNN.parquet`` under ``output``); ``cache_dir`` is the
    per-row resume store (default ``<output>.cache``).
    """

    output: Path | str
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | str | None = None
    batch_size: int = 512
    stream: bool = True
    shard: tuple[int, int] | None = None

    @property
    def cache_path(self) -> Path:
        """The resume store: a rerun reads back the rows it holds and scores only the rest."""
        return Path(self.cache_dir) if self.cache_dir is not None else Path(str(self.output) + ".cache")

    @property
    def out_path(self) -> Path:
        """Where the scored rows go: ``output`` (``save_to_disk``), or this task's shard file in it."""
        if self.shard is None:
            return Path(self.output)
        from mira_hf.scoring.sharding import shard_path

        return shard_path(self.output, *self.shard)

    def rows(self, ds: Any) -> Any:
        """The rows of ``ds`` this job scores: all of them, or this task's contiguous slice."""
        if self.shard is None:
            return ds
        from mira_hf.scoring.sharding import shard

        return shard(ds, *self.shard)

    def scorer(self) -> Scorer:
        """The [`Scorer`][mira_hf.scoring.scorer.Scorer] of these settings, resuming from `cache_path`."""
        from mira_hf.scoring.scorer import Scorer

        return Scorer(self.model, **{**self.settings, "cache_dir": str(self.cache_path)})


@dataclass
class ScoreJobResult:
    """What a run wrote: the scored rows (this task's, for a shard), where, and the one-line summary."""

    scored: Any
    out_path: Path
    summary: str


def check_job(ds: Any, job: ScoreJob) -> None:
    """Every column ``job`` names (``text_column``, ``source_column``, ``id_column``) is in ``ds``, and a record
    column is found when none is named; checked before any engine starts, every problem in one
    [ColumnNotFoundError][mira_hf.errors.ColumnNotFoundError] with the closest existing column.

    Example:
        >>> import datasets
        >>> check_job(datasets.Dataset.from_dict({"source": ["a"], "text": ["t"]}), ScoreJob("o", settings={"source_column": "src"}))
        Traceback (most recent call last):
        ...
        mira_hf.errors.ColumnNotFoundError: no column 'src' in the dataset (did you mean 'source'?); its columns are source, text; pass source_column= with one of them
    """  # noqa: E501
    from mira_hf._util.problems import joined, missing_column
    from mira_hf.errors import ColumnNotFoundError
    from mira_hf.records.batches import record_column

    columns = getattr(ds, "column_names", None)
    if columns is None:  # not a table (the rows come another way): the Scorer checks each batch
        return
    columns = list(columns)
    problems = []
    for key in ("text_column", "source_column", "id_column"):
        column = job.settings.get(key)
        problem = missing_column(column, columns, key) if column else None
        if problem is not None:
            problems.append(problem)
    if not job.settings.get("text_column") and not job.settings.get("record_format"):
        try:
            record_column(columns)
        except ColumnNotFoundError as e:
            problems.append(str(e))
    if problems:
        raise ColumnNotFoundError(joined(problems))


def estimate_job(ds: Any, job: ScoreJob, *, records_per_s: float | None = None, gpus: int = 1) -> list[str]:
    """The lines of [`Scorer.estimate`][mira_hf.scoring.scorer.Scorer.estimate] for the rows ``job`` would
    score: expected tokens, shortened rows and GPU-hours, from a sample; starts no engine.

    Example:
        >>> print("\\n".join(estimate_job(ds, ScoreJob("scored"), gpus=8)))       # doctest: +SKIP
    """
    check_job(ds, job)
    rows = job.rows(ds)
    return list(job.scorer().estimate(rows, records_per_s=records_per_s, gpus=gpus).lines())


def run_score_job(ds: Any, job: ScoreJob, *, say: Callable[[str], Any] = print) -> ScoreJobResult:
    """Score the rows of ``ds`` that ``job`` names, write them (a shard atomically), and ``say`` the summary line.

    Rerun the same job to resume: the resume store, not ``datasets``' cache file, decides what is scored again.

    Example:
        >>> result = run_score_job(ds, ScoreJob("scored", settings={"rubric": "agent-group4"}))   # doctest: +SKIP
    """
    import datasets

    from mira_hf._util.progress import ScoreProgress

    check_job(ds, job)
    rows = job.rows(ds)
    scorer = job.scorer()
    scorer.progress = ScoreProgress(total=len(rows), desc="scoring")  # rows, tokens/s, errors, ETA
    datasets.disable_progress_bars()  # our bar and summary, not one bar per datasets step
    try:
        scored = _score(rows, scorer, job)
        _write(scored, job)
    finally:
        datasets.enable_progress_bars()
    summary = scorer.progress.summary_line()
    say(summary)
    return ScoreJobResult(scored=scored, out_path=job.out_path, summary=summary)


def _score(rows: Any, scorer: Scorer, job: ScoreJob) -> Any:
    """Every row through ``scorer``, streaming (the engine kept fed) or batch by batch; closes the progress bar."""
    try:
        if job.stream:
            from mira_hf.scoring.streaming import score_dataset

            return score_dataset(rows, scorer, batch_size=job.batch_size, load_from_cache_file=False)
        return rows.map(scorer, batched=True, batch_size=job.batch_size, load_from_cache_file=False)
    finally:
        scorer.progress.close()


def _write(scored: Any, job: ScoreJob) -> None:
    """Save the scored rows: a ``save_to_disk`` folder, or this task's shard (atomic: a killed task leaves no half
    file)."""
    if job.shard is None:
        scored.save_to_disk(str(job.out_path))
        return
    from mira_hf.scoring.sharding import write_shard

    write_shard(scored, job.output, *job.shard)


def status_table(ds: Any) -> Table:
    """A table of ``mira_status`` counts and shares over ``ds``, the most frequent first.

    Example:
        >>> import datasets
        >>> table = status_table(datasets.Dataset.from_dict({"mira_status": ["ok", "ok", "parse_error"]}))
        >>> table.title, table.row_count
        ('mira_status over 3 rows', 2)
    """
    import pyarrow.compute as pc
    from rich.table import Table

    from mira_hf._util.arrow import rows_column

    counts = pc.value_counts(rows_column(ds, "mira_status")).to_pylist()
    table = Table(title=f"mira_status over {len(ds):,} rows")
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for item in sorted(counts, key=lambda c: -c["counts"]):
        table.add_row(str(item["values"]), f"{item['counts']:,}", f"{item['counts'] / max(len(ds), 1):.1%}")
    return table
