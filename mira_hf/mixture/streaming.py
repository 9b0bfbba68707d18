"""Streaming a mixture: every group's rows through its own scorer, then one ``ds.map(MixtureScorer)`` that reads.

``ds.map(MixtureScorer(plan), batched=True)`` overlaps the groups only inside a batch and stores a group's rows
when its part of the batch is done. `score_mixture` streams each group's pending rows (those whose source is
in the group) with the single-scorer machinery: the endpoint groups all at once, each pool kept at its
``max_in_flight`` over the whole dataset; the in-process groups one model at a time (streaming within it). Rows are
stored as they finish (every 64 rows or 2 s), so a ``kill -9`` loses only what was in flight. The final
``ds.map(MixtureScorer)`` only reads the stores: the batch path's rows, order, columns and fingerprint.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from mira_hf._util.arrow import rows_column
from mira_hf.errors import ColumnNotFoundError
from mira_hf.records.batches import record_column
from mira_hf.scoring.streaming import Stream, StreamStats, check_dataset
from mira_hf.scoring.streaming.feed import pending_rows

__all__ = ["score_mixture"]


def group_positions(ds: Any, mixture: Any) -> dict[str, list[int]]:
    """Each group's row positions in ``ds``, in order (groups in plan order; a group with no rows left out).

    Raises [`PlanError`][mira_hf.errors.PlanError] naming every source in no group, before any engine work.

    Example:
        >>> import datasets, mira_hf
        >>> from mira_hf.testing.fake_engine import FakeEngine
        >>> plan = mira_hf.mixture.Plan.model_validate({"data": "d.jsonl", "groups": {"a": {"sources": ["x"]},
        ...                                                                             "b": {"sources": ["y"]}}})
        >>> mixture = mira_hf.MixtureScorer(plan, engines={"a": FakeEngine(), "b": FakeEngine()})
        >>> group_positions(datasets.Dataset.from_dict({"source": ["y", "x", "y"]}), mixture)
        {'a': [1], 'b': [0, 2]}
    """
    from mira_hf.mixture.plan import check_sources

    source = mixture.plan.source_column
    if source not in ds.column_names:
        raise ColumnNotFoundError(
            f"the plan routes rows by column {source!r}, which is not in this dataset; its "
            f"columns are {list(ds.column_names)} (set source_column in the plan)"
        )
    values = rows_column(ds, source).to_pylist()
    check_sources(values, mixture.group_of, source)
    found: dict[str, list[int]] = {}
    for i, s in enumerate(values):
        found.setdefault(mixture.group_of[s], []).append(i)
    return {g: found[g] for g in mixture.plan.groups if g in found}


def score_mixture(
    ds: Any, mixture: Any, *, batch_size: int = 1000, depth: int | None = None, chunk_rows: int = 256, **map_kwargs: Any
) -> Any:
    """Score ``ds`` with a ``MixtureScorer``, every group streaming; returns what ``ds.map(mixture)`` returns.

    ``depth`` (default: each pool's ``max_in_flight``) and ``chunk_rows`` are
    [`score_dataset`][mira_hf.scoring.streaming.score_dataset]'s, per group. Each group's
    [`StreamStats`][mira_hf.scoring.streaming.StreamStats] are left on ``mixture.stream_stats``.

    Example:
        >>> mixture = mira_hf.MixtureScorer("plan.yaml", cache_dir="mixture-cache")   # doctest: +SKIP
        >>> scored = mira_hf.score_dataset(ds, mixture)                               # doctest: +SKIP
        >>> {g: s.sent for g, s in mixture.stream_stats.items()}                      # doctest: +SKIP
        {'agents': 24, 'qa': 12}
    """
    check_dataset(ds)
    positions = group_positions(ds, mixture)
    column = record_column(list(ds.column_names), mixture.plan.text_column)
    served = [g for g in positions if mixture.scorers[g].config.engine == "openai"]
    local = [g for g in positions if g not in served]
    streams: dict[str, Stream] = {}

    def stream(group: str) -> Stream:
        scorer = mixture.scorers[group]
        rows = ds.select(positions[group])
        streams[group] = Stream(scorer, pending_rows(rows, scorer, column, chunk_rows), len(rows), depth)
        return streams[group].start()

    stats: dict[str, StreamStats | None] = {}
    try:
        try:
            for g in served:  # each pool on its own event loop, all at once
                stream(g)
            for g in local:  # one in-process model at a time, while the endpoint groups run
                mixture._switch_engine(g)
                stats[g] = stream(g).wait()
            for g in served:
                stats[g] = streams[g].wait()
        except BaseException:
            for s in streams.values():  # stop the others; what they finished is still stored
                s.cancel()
            for s in streams.values():
                try:
                    s.wait()
                except Exception:  # cancelled, or the same failure: the first one is raised
                    pass
            raise
        mixture.stream_stats = {g: stats[g] for g in positions}
        with ExitStack() as reading:
            for s in streams.values():
                reading.enter_context(s.reading())
            return ds.map(mixture, batched=True, batch_size=batch_size, **map_kwargs)
    finally:
        for s in streams.values():
            s.close()
