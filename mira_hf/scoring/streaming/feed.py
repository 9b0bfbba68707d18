"""The feed: reads rows ahead of the engine and builds their requests (prompts, budgets, resume keys).

A thread walks the dataset in chunks, builds each chunk's prompts with the scorer's own batch code, skips the
rows the store already holds, and puts the prompts still to send on a bounded queue, so the engine never waits
for the next batch to be tokenized and memory stays bounded however large the dataset is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from mira_hf.records.batches import batch_records
from mira_hf.scoring.scorer import Pending, Scorer

#: Put on the queue after the last request.
END = object()
#: Rows of the first chunk: small, so that the engine gets its first requests at once.
FIRST_CHUNK = 8


def pending_rows(ds: Any, scorer: Scorer, column: str | None, chunk_rows: int) -> Iterator[Pending]:
    """The prompts of ``ds`` still to send, in row order, each once; known rows (stored, invalid, repeats of a
    prompt already sent) are counted as progress: the final read finds a repeat's row under the same key."""
    progress = scorer.progress
    sent: set[str | None] = set()
    start = 0
    while start < len(ds):
        size = min(FIRST_CHUNK, chunk_rows) if start == 0 else chunk_rows  # the engine starts after a few rows
        plan = scorer.plan_records(batch_records(ds[start : start + size], column))
        start += size
        todo = [p for p in plan.todo if p.key not in sent]
        sent.update(p.key for p in todo)
        known = [r for r in plan.rows if r is not None]
        repeats = len(plan.copies) + len(plan.todo) - len(todo)  # answered with a request sent for another row
        if (known or repeats) and progress is not None:
            progress.update(
                rows=len(known) + repeats,
                prompt_tokens=sum(r["mira_prompt_tokens"] for r in known),
                completion_tokens=sum(r["mira_completion_tokens"] for r in known),
                statuses=[r["mira_status"] for r in known],
                stored=plan.stored + repeats,
            )
        yield from todo


class Feed:
    """Runs ``pending_rows`` on a thread into a queue of at most ``depth`` requests; ``put`` may be replaced
    (e.g. to hand requests to an event loop).

    Example:
        >>> feed = Feed(iter([1, 2]), depth=4).start()
        >>> [feed.get(), feed.get(), feed.get() is END]
        [1, 2, True]
    """

    def __init__(self, items: Iterator[Any], depth: int, put: Callable[[Any], None] | None = None):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._put = put or self._queue.put
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mira-feed", daemon=True)

    def start(self) -> Feed:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._put(item)
        except BaseException as e:  # a configuration error while building prompts: the driver re-raises it
            self.error = e
        finally:
            if not self._stop.is_set():
                self._put(END)

    def get(self) -> Any:
        """The next request, or `END`."""
        return self._queue.get()

    def get_nowait(self) -> Any:
        """The next request if one is ready, else ``None``."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        """Stop reading ahead (after an error or Ctrl-C)."""
        self._stop.set()
        while self.get_nowait() is not None:  # unblock a put waiting on a full queue
            pass

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error
