"""Streaming scoring: keep the engine fed across batch boundaries, then let ``ds.map`` read the results.

``ds.map(scorer, batched=True)`` sends one batch at a time and waits for its slowest answer, so the engine runs
underfed at the end of every batch (the tail) and idles while the next batch's prompts are built (the gap).
:func:`score_dataset` first streams every row the store does not hold yet through the engine (reading ahead,
storing each row as it finishes), then runs the very same ``ds.map(scorer, batched=True)``, which now only reads
the store: the same rows, order, columns and ``datasets`` fingerprint as the batch path.

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
from typing import Any

from pydantic import BaseModel

from mira_hf.scorer import Scorer

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


def score_dataset(ds: Any, scorer: Scorer, *, batch_size: int = 1000, depth: int | None = None,
                  chunk_rows: int = 256, **map_kwargs: Any) -> Any:
    """Score ``ds`` keeping the engine busy across batch boundaries; returns what ``ds.map(scorer)`` returns.

    ``depth`` is how many requests stay in flight (default: the pool's ``max_in_flight``, 1,024 on the
    in-process engine); ``chunk_rows`` how many rows the feed prepares at a time. Without ``cache_dir`` a
    temporary store holds the rows until the final ``ds.map``. The pass's :class:`StreamStats` are left on
    ``scorer.stream_stats``.

    Example:
        >>> scored = mira_hf.score_dataset(ds, mira_hf.Scorer(cache_dir="scores-cache"))   # doctest: +SKIP
    """
    from mira_hf.store import RowStore
    from mira_hf.streaming.drivers import drive
    from mira_hf.streaming.feed import pending_rows
    from mira_hf.streaming.sink import Sink

    from mira_hf.errors import ConfigurationError

    if not hasattr(ds, "__getitem__") or not hasattr(ds, "__len__") or not hasattr(ds, "column_names") \
            or isinstance(ds.column_names, dict):
        raise ConfigurationError(f"score_dataset takes one datasets.Dataset, not a {type(ds).__name__}; score each "
                                 "split of a DatasetDict, and use ds.map(scorer, batched=True) for an "
                                 "IterableDataset.")
    rt = scorer._ensure_runtime()
    column = scorer._check_columns(list(ds.column_names))
    tmp = None
    if rt.store is None:
        tmp = tempfile.TemporaryDirectory(prefix="mira-stream-")
        rt.store = RowStore(tmp.name)
    if depth is None:
        depth = getattr(rt.engine, "max_in_flight", None) or 1024
    sink = Sink(scorer)
    start = time.perf_counter()
    try:
        try:
            occ = drive(scorer, pending_rows(ds, scorer, column, chunk_rows), sink, depth)
        finally:
            sink.close()
        wall = time.perf_counter() - start
        fed = (occ.fed_until or time.perf_counter()) - occ.start
        scorer.stream_stats = StreamStats(
            rows=len(ds), sent=sink.rows, slots=occ.slots, wall_s=wall, fed_s=fed, idle_s=occ.idle_s,
            occupancy=occ.busy_slot_s / max(occ.slots * wall, 1e-9),
            occupancy_fed=occ.busy_slot_s_fed / max(occ.slots * fed, 1e-9))
        store, progress = rt.store, rt.progress
        rt.store, rt.progress = _Overlay(store, sink.errors), None  # the read counts nothing twice
        try:
            return ds.map(scorer, batched=True, batch_size=batch_size, **map_kwargs)
        finally:
            rt.store, rt.progress = store, progress
    finally:
        if tmp is not None:
            rt.store.close()
            rt.store = None
            tmp.cleanup()
