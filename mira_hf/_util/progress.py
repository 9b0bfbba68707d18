"""``ScoreProgress``: rows done / total, rows/s, tokens/s, errors and ETA for long scoring runs.

The scorer calls :meth:`ScoreProgress.update` once per batch. A bar (tqdm, which ``datasets`` already
uses) is drawn only on a terminal; a ``logging`` line goes out every ``log_every`` seconds so batch
jobs show progress in their logs; :meth:`ScoreProgress.summary` gives the end-of-run totals.

Example:
    >>> p = ScoreProgress(total=4, enabled=False)
    >>> p.update(rows=4, prompt_tokens=100, completion_tokens=40, statuses=["ok", "ok", "partial", "engine_error"])
    >>> p.summary()["statuses"]
    {'engine_error': 1, 'ok': 2, 'partial': 1}

A resumed run counts the rows its resume store already held apart from the rows scored now:

    >>> p = ScoreProgress(total=10, enabled=False)
    >>> p.update(rows=10, statuses={"ok": 10}, stored=7)
    >>> p.summary_line().split(": ", 1)[1]
    'ok 10 — 7 from the store, 3 scored now'
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

logger = logging.getLogger(__name__)

#: Statuses counted as errors in the running display.
ERROR_STATUSES = frozenset({"engine_error", "invalid_input", "parse_error"})


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ScoreProgress:
    """Progress of a scoring run, updated once per batch; cheap enough to leave on.

    Args:
        total: rows expected (``None`` when unknown: no ETA).
        enabled: draw a bar at all (it is also hidden when ``stream`` is not a terminal).
        log_every: seconds between ``logging`` lines (``0`` or less: never).
        desc: the bar's label.
        stream: where the bar goes (standard error by default).
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        enabled: bool = True,
        log_every: float = 60.0,
        desc: str = "scoring",
        stream: TextIO | None = None,
        clock=time.monotonic,
    ):
        self.total = total
        self.log_every = log_every
        self.desc = desc
        self._clock = clock
        self._start = clock()
        self._last_log = self._start
        self.rows = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        #: Rows read back from the resume store (finished by an earlier run) rather than scored now.
        self.stored = 0
        self.statuses: Counter[str] = Counter()
        self._bar = None
        self._lock = threading.Lock()  # streaming counts from its feed and sink threads
        stream = stream if stream is not None else sys.stderr
        if enabled and getattr(stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="row", file=stream, dynamic_ncols=True, smoothing=0.1)

    @property
    def errors(self) -> int:
        """Rows so far whose status is an error (``engine_error``, ``invalid_input``, ``parse_error``)."""
        return sum(n for s, n in self.statuses.items() if s in ERROR_STATUSES)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def eta(self) -> float | None:
        """Seconds left at the average rate so far (``None`` without a total or a rate yet)."""
        if self.total is None or self.rows == 0:
            return None
        return max(self.total - self.rows, 0) * self.elapsed / self.rows

    def update(
        self,
        rows: int,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        statuses: Mapping[str, int] | Iterable[str] = (),
        stored: int = 0,
    ) -> None:
        """Count one finished batch: its rows, its tokens, its statuses (a list or counts), and how many of its
        rows came from the resume store."""
        with self._lock:
            self.rows += rows
            self.stored += int(stored)
            self.prompt_tokens += int(prompt_tokens)
            self.completion_tokens += int(completion_tokens)
            if isinstance(statuses, Mapping):
                self.statuses.update({k: int(v) for k, v in statuses.items()})
            else:
                self.statuses.update(statuses)
            if self._bar is not None:
                elapsed = max(self.elapsed, 1e-9)
                self._bar.set_postfix_str(
                    f"{(self.prompt_tokens + self.completion_tokens) / elapsed:,.0f} tok/s, errors {self.errors}",
                    refresh=False,
                )
                self._bar.update(rows)
            now = self._clock()
            if self.log_every > 0 and now - self._last_log >= self.log_every:
                self._last_log = now
                logger.info("%s", self.line())

    def line(self) -> str:
        """One line: rows done / total, rows/s, tokens/s, errors, ETA."""
        elapsed = max(self.elapsed, 1e-9)
        done = f"{self.rows:,}" + (f"/{self.total:,}" if self.total is not None else "")
        eta = self.eta()
        return (
            f"{self.desc}: {done} rows, {self.rows / elapsed:,.2f} rows/s, "
            f"{(self.prompt_tokens + self.completion_tokens) / elapsed:,.0f} tok/s, errors {self.errors}"
            + (f", ETA {_duration(eta)}" if eta is not None else "")
        )

    def summary(self) -> dict[str, Any]:
        """Totals for the end-of-run line: rows, tokens, elapsed seconds, rates and status counts."""
        elapsed = self.elapsed
        return {
            "rows": self.rows,
            "total": self.total,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "elapsed_s": elapsed,
            "rows_per_s": self.rows / elapsed if elapsed > 0 else 0.0,
            "tokens_per_s": (self.prompt_tokens + self.completion_tokens) / elapsed if elapsed > 0 else 0.0,
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "stored": self.stored,
            "scored_now": self.rows - self.stored,
        }

    def summary_line(self) -> str:
        """The end-of-run line, e.g. ``scored 1,000 rows in 02:10: ok 990, partial 8, engine_error 2``.

        When some rows came from the resume store it ends with how many, and how many were scored now:
        ``… ok 1,000 — 600 from the store, 400 scored now``.
        """
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.statuses.items(), key=lambda kv: -kv[1]))
        resumed = f" — {self.stored:,} from the store, {self.rows - self.stored:,} scored now" if self.stored else ""
        return (
            f"scored {self.rows:,} rows in {_duration(self.elapsed)} "
            f"({self.prompt_tokens + self.completion_tokens:,} tokens): {counts or 'nothing scored'}{resumed}"
        )

    def close(self) -> None:
        """Close the bar and log the summary line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        logger.info("%s", self.summary_line())

    def __enter__(self) -> ScoreProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
