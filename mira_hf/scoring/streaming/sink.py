"""The sink: writes finished rows to the per-row store as they come, a small group at a time.

Each group is one durable ``put_many`` (one fsync), written on the sink's own thread so the engine's loop never
waits for the disk. A process killed mid-stream loses at most the group being written: those rows are scored
again on the rerun, and the store's keys make a row written twice count once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from mira_hf.engines.base import Completion
from mira_hf.scoring.scorer import Pending, Scorer


class Sink:
    """Collects ``(request, completion)`` pairs and stores them every ``group_rows`` rows or ``group_s`` seconds.

    ``errors`` keeps the rows that failed in the engine (never stored, so a later run retries them) for the
    final read of this run.
    """

    def __init__(self, scorer: Scorer, group_rows: int = 64, group_s: float = 2.0):
        self.scorer = scorer
        self.group_rows = group_rows
        self.group_s = group_s
        self.errors: dict[str, dict[str, Any]] = {}
        self.rows = 0
        self._items: list[Pending] = []
        self._completions: list[Completion] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mira-sink")
        self._writes: list[Future] = []
        # a clock of its own: finished rows are stored within ``group_s`` even while no other row finishes
        # (a stalled engine), so a kill loses only what was in flight
        self._stop = threading.Event()
        self._clock = threading.Thread(target=self._tick, name="mira-sink-clock", daemon=True)
        self._clock.start()

    def _tick(self) -> None:
        while not self._stop.wait(min(self.group_s, 0.5)):
            with self._lock:
                if self._items and time.monotonic() - self._last >= self.group_s:
                    self._flush_locked()

    def add(self, item: Pending, completion: Completion) -> None:
        """One finished request: parsed and counted at once (the progress bar moves per row), then stored with
        its group; may hand a group to the writer thread."""
        item.row = self.scorer._row(completion, item.truncated)
        progress = self.scorer.progress
        if progress is not None:
            progress.update(
                rows=1,
                prompt_tokens=item.row["mira_prompt_tokens"],
                completion_tokens=item.row["mira_completion_tokens"],
                statuses=[item.row["mira_status"]],
            )
        with self._lock:
            self._items.append(item)
            self._completions.append(completion)
            due = len(self._items) >= self.group_rows or time.monotonic() - self._last >= self.group_s
            if due:
                self._flush_locked()

    def _flush_locked(self) -> None:
        items, completions = self._items, self._completions
        self._items, self._completions, self._last = [], [], time.monotonic()
        if items:
            self._writes = [f for f in self._writes if not f.done() or f.exception() is not None]
            self._writes.append(self._writer.submit(self._write, items, completions))

    def _write(self, items: list[Pending], completions: list[Completion]) -> None:
        rows = [cast("dict[str, Any]", item.row) for item in items]  # add() parsed every one
        fresh = {
            item.key: row
            for item, row in zip(items, rows)
            if item.key is not None and row["mira_status"] != "engine_error"
        }
        store = self.scorer._ensure_runtime().store
        if fresh and store is not None:
            store.put_many(fresh)
        for item, row in zip(items, rows):
            if row["mira_status"] == "engine_error" and item.key is not None:
                self.errors[item.key] = row
        self.rows += len(rows)

    def close(self) -> None:
        """Write what is left and wait for every write; re-raises a failed write (e.g. a full disk)."""
        self._stop.set()
        self._clock.join()
        with self._lock:
            self._flush_locked()
        try:
            for f in self._writes:
                f.result()
        finally:
            self._writer.shutdown(wait=True)
