"""Streaming scoring: keep the engine fed across batch boundaries, then let ``ds.map`` read the results.

``ds.map(scorer, batched=True)`` sends one batch at a time and waits for its slowest answer, so the engine runs
underfed at the end of every batch (the tail) and idles while the next batch's prompts are built (the gap).
[`score_dataset`][mira_hf.scoring.streaming.score_dataset] first streams every row the store does not hold yet through
the engine (reading ahead, storing each row as it finishes), then runs the very same ``ds.map(scorer, batched=True)``,
which now only reads the store: the same rows, order, columns and ``datasets`` fingerprint as the batch path. Given a
``MixtureScorer`` it streams every group the same way (`mira_hf.mixture.streaming`).

Example:
    >>> import datasets, mira_hf
    >>> from mira_hf.testing.fake_engine import FakeEngine
    >>> ds = datasets.Dataset.from_dict({"text": ["$ pytest\\n1 passed", "$ make\\nok"]})
    >>> scorer = mira_hf.Scorer(engine=FakeEngine())
    >>> scored = mira_hf.score_dataset(ds, scorer)
    >>> list(scored["mira_status"]), scorer.stream_stats.sent
    (['ok', 'ok'], 2)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

from mira_hf.scoring.scorer import Scorer

__all__ = ["StreamStats", "score_dataset"]


class StreamStats(BaseModel):
    """What one streaming pass did: rows sent, seconds, and how full it kept the engine.

    ``occupancy`` is the mean share of the ``slots`` in flight over the whole pass; ``occupancy_fed`` the same
    while rows remained to be sent (before the final drain); ``idle_s`` the seconds with nothing in flight
    while rows remained.
    """

    rows: int
    sent: int
    slots: int
    wall_s: float
    fed_s: float
    idle_s: float
    occupancy: float
    occupancy_fed: float


class _Overlay:
    """The store plus this run's engine errors (never stored), so the final read returns them as the batch path
    would rather than sending them again."""

    def __init__(self, store: Any, extra: dict[str, dict[str, Any]]):
        self.store, self.extra = store, extra

    def get_many(self, keys):
        found = self.store.get_many(keys)
        found.update({k: self.extra[k] for k in keys if k in self.extra and k not in found})
        return found

    def put_many(self, rows) -> None:
        self.store.put_many(rows)


class Stream:
    """One scorer's streaming pass: its store (a temporary one without ``cache_dir``), sink and driver.

    `start` launches it (an endpoint pool runs on its own loop from then on), `wait` finishes it and
    returns its [`StreamStats`][mira_hf.scoring.streaming.StreamStats], `reading` lets ``ds.map`` read the store,
    `close` drops a temporary store.
    """

    def __init__(self, scorer: Scorer, items: Any, rows: int, depth: int | None):
        from mira_hf.scoring.store import RowStore

        self.scorer, self.items, self.rows = scorer, items, rows
        rt = scorer._ensure_runtime()
        self._tmp = None
        if rt.store is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mira-stream-")
            rt.store = RowStore(self._tmp.name)
        self.depth = depth if depth is not None else getattr(rt.engine, "max_in_flight", None) or 1024
        self.stats: StreamStats | None = None
        self._running: Any = None
        self._waited = False

    def start(self) -> Stream:
        """Launch the pass: the driver starts sending rows, the sink stores them as they finish."""
        from mira_hf.scoring.streaming.drivers import launch
        from mira_hf.scoring.streaming.sink import Sink

        self.sink = Sink(self.scorer)
        self._start = time.perf_counter()
        try:
            self._running = launch(self.scorer, self.items, self.sink, self.depth)
        except BaseException:
            self._waited = True
            self.sink.close()
            raise
        return self

    def cancel(self) -> None:
        """Stop sending (another group failed); `wait` still stores what has finished."""
        if self._running is not None:
            self._running.cancel()

    def wait(self) -> StreamStats | None:
        """Finish the pass (once: again, it returns the same stats, ``None`` after a failure)."""
        if self._waited:
            return self.stats
        self._waited = True
        try:
            occ = self._running.wait()
        finally:
            self.sink.close()
        wall = time.perf_counter() - self._start
        fed = (occ.fed_until or time.perf_counter()) - occ.start
        self.stats = StreamStats(
            rows=self.rows,
            sent=self.sink.rows,
            slots=occ.slots,
            wall_s=wall,
            fed_s=fed,
            idle_s=occ.idle_s,
            occupancy=occ.busy_slot_s / max(occ.slots * wall, 1e-9),
            occupancy_fed=occ.busy_slot_s_fed / max(occ.slots * fed, 1e-9),
        )
        return self.stats

    @contextmanager
    def reading(self) -> Iterator[None]:
        """While inside, the scorer reads this pass's rows (the store, and the engine errors) and counts nothing."""
        rt = self.scorer._ensure_runtime()
        store, progress = rt.store, rt.progress
        rt.store, rt.progress = _Overlay(store, self.sink.errors), None  # the read counts nothing twice
        try:
            yield
        finally:
            rt.store, rt.progress = store, progress

    def close(self) -> None:
        """Drop the temporary store (a store from ``cache_dir`` is kept)."""
        if self._tmp is not None:
            rt = self.scorer._ensure_runtime()
            rt.store.close()
            rt.store = None
            self._tmp.cleanup()
            self._tmp = None


def check_dataset(ds: Any) -> None:
    """Refuse what is not one ``datasets.Dataset`` (a ``DatasetDict``, an ``IterableDataset``), saying what to do."""
    from mira_hf.errors import ConfigurationError

    if (
        not hasattr(ds, "__getitem__")
        or not hasattr(ds, "__len__")
        or not hasattr(ds, "column_names")
        or isinstance(ds.column_names, dict)
    ):
        raise ConfigurationError(
            f"score_dataset takes one datasets.Dataset, not a {type(ds).__name__}; score each "
            "split of a DatasetDict, and use ds.map(scorer, batched=True) for an "
            "IterableDataset."
        )


def score_dataset(
    ds: Any, scorer: Any, *, batch_size: int = 1000, depth: int | None = None, chunk_rows: int = 256, **map_kwargs: Any
) -> Any:
    """Score ``ds`` keeping the engine busy across batch boundaries; returns what ``ds.map(scorer)`` returns.

    ``scorer`` is a [`Scorer`][mira_hf.scoring.scorer.Scorer] or a
    [`MixtureScorer`][mira_hf.mixture.router.MixtureScorer] (then every group streams: see
    `mira_hf.mixture.streaming.score_mixture`). ``depth`` is how many requests stay in flight (default: the pool's
    ``max_in_flight``, 1,024 on the in-process engine); ``chunk_rows`` how many rows the feed prepares at a time.
    Without ``cache_dir`` a temporary store holds the rows until the final ``ds.map``. The pass's
    [`StreamStats`][mira_hf.scoring.streaming.StreamStats] are left on ``scorer.stream_stats``.

    Example:
        >>> scored = mira_hf.score_dataset(ds, mira_hf.Scorer(cache_dir="scores-cache"))   # doctest: +SKIP
    """
    from mira_hf.scoring.streaming.feed import pending_rows

    if not isinstance(scorer, Scorer) and hasattr(scorer, "stream_dataset"):  # a MixtureScorer: every group streams
        return scorer.stream_dataset(ds, batch_size=batch_size, depth=depth, chunk_rows=chunk_rows, **map_kwargs)
    check_dataset(ds)
    scorer._ensure_runtime()
    column = scorer._check_columns(list(ds.column_names))
    stream = Stream(scorer, pending_rows(ds, scorer, column, chunk_rows), len(ds), depth)
    try:
        scorer.stream_stats = stream.start().wait()
        with stream.reading():
            return ds.map(scorer, batched=True, batch_size=batch_size, **map_kwargs)
    finally:
        stream.close()
