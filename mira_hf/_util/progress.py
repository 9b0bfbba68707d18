"""``ScoreProgress``: rows done / total, rows/s, tokens/s, errors and ETA for long scoring runs.

The scorer calls [`ScoreProgress.update`][mira_hf._util.progress.ScoreProgress.update] once per batch. A bar (tqdm,
which ``datasets`` already uses) is drawn only on a terminal; a ``logging`` line goes out every ``log_every`` seconds so
batch jobs show progress in their logs; [`ScoreProgress.summary`][mira_hf._util.progress.ScoreProgress.summary] gives
the end-of-run totals.

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


def _short(seconds: float) -> str:
    """``11100`` → ``3h05m``, ``750`` → ``12m30s``, ``45`` → ``45s``: the ETA of a progress line.

    Example:
        >>> _short(11100), _short(750), _short(45)
        ('3h05m', '12m30s', '45s')
    """
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ScoreProgress:
    """Progress of a scoring run, updated per finished row (or per batch); cheap enough to leave on.

    Args:
        total: rows expected (``None`` when unknown: no ETA).
        enabled: show progress on ``stream`` at all: a bar on a terminal, else a line every ``every_rows`` rows
            or ``log_every`` seconds. ``False``: a ``logging`` line every ``log_every`` seconds only.
        log_every: seconds between lines (``0`` or less: never by time).
        every_rows: rows between lines off a terminal (default: a tenth of ``total``; ``0``: never by rows).
        desc: the bar's label.
        stream: where the bar and the lines go (standard error by default).
        clock: the time source (tests pass one they control).
        heartbeat: off a terminal, also check the time every few seconds on a thread of its own, so a line
            comes every ``log_every`` seconds even while no row finishes (an engine starting, a stall).
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        enabled: bool = True,
        log_every: float = 30.0,
        every_rows: int | None = None,
        desc: str = "scoring",
        stream: TextIO | None = None,
        clock=time.monotonic,
        heartbeat: bool = True,
    ):
        self.total = total
        self.log_every = log_every
        self.every_rows = every_rows if every_rows is not None else max((total or 0) // 10, 1) if total else 0
        self.desc = desc
        self._clock = clock
        self._start = clock()
        self._last_log = self._start
        self._last_rows = 0
        self.rows = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        #: Rows read back from the resume store (finished by an earlier run) rather than scored now.
        self.stored = 0
        self.statuses: Counter[str] = Counter()
        #: When the first row scored now finished, and how many had then: where the rate starts.
        self._first: tuple[float, int] | None = None
        self._bar = None
        self._lock = threading.Lock()  # streaming counts from its feed and sink threads
        self._stream = stream if stream is not None else sys.stderr
        self._lines = False  # one line now and then on the stream (not a terminal)
        self._stop = threading.Event()
        if enabled and getattr(self._stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                unit="row",
                file=self._stream,
                dynamic_ncols=True,
                smoothing=0.1,
                mininterval=0.5,
            )
        elif enabled:
            self._lines = True
        if heartbeat and (self._bar is not None or (self._lines and log_every > 0)):
            threading.Thread(target=self._beat, name="mira-progress", daemon=True).start()

    @property
    def errors(self) -> int:
        """Rows so far whose status is an error (``engine_error``, ``invalid_input``, ``parse_error``)."""
        return sum(n for s, n in self.statuses.items() if s in ERROR_STATUSES)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def rate(self) -> float:
        """Rows per second: the rows scored now when there are some (rows read back from the resume store take no
        time), else every row; counted from the first scored row on, so that an engine's start (minutes for a
        large model) does not make the ETA of the first lines hours too long."""
        scored = self.rows - self.stored
        if self._first is not None:
            since, before = self._first
            span = self._clock() - since
            if span > 0 and scored > before:
                return (scored - before) / span
        return (scored if scored > 0 else self.rows) / max(self.elapsed, 1e-9)

    def eta(self) -> float | None:
        """Seconds left at the rate so far (``None`` without a total or a rate yet)."""
        if self.total is None or self.rows == 0:
            return None
        rate = self.rate()
        return max(self.total - self.rows, 0) / rate if rate > 0 else None

    def update(
        self,
        rows: int,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        statuses: Mapping[str, int] | Iterable[str] = (),
        stored: int = 0,
    ) -> None:
        """Count finished rows (one, or a batch): their tokens, their statuses (a list or counts), and how many
        came from the resume store."""
        with self._lock:
            self.rows += rows
            self.stored += int(stored)
            self.prompt_tokens += int(prompt_tokens)
            self.completion_tokens += int(completion_tokens)
            if self._first is None and self.rows > self.stored:
                self._first = (self._clock(), self.rows - self.stored)
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
            self._maybe_log(by_rows=True)

    def poll(self) -> None:
        """Write a line if ``log_every`` seconds have passed since the last one, or redraw the bar so that its
        elapsed time moves while no row finishes (the heartbeat calls this)."""
        with self._lock:
            if self._bar is not None:
                self._bar.refresh()
            self._maybe_log(by_rows=False)

    def _beat(self) -> None:
        every = 1.0 if self._bar is not None else min(self.log_every, 5.0)
        while not self._stop.wait(every):
            self.poll()

    def _maybe_log(self, by_rows: bool) -> None:
        if not by_rows and self.total is not None and self.rows >= self.total and self._last_rows == self.rows:
            return  # every row is done and said: the summary line comes next, no heartbeat lines until then
        now = self._clock()
        due_time = self.log_every > 0 and now - self._last_log >= self.log_every
        due_rows = by_rows and self._lines and self.every_rows > 0 and self.rows - self._last_rows >= self.every_rows
        if not (due_time or due_rows):
            return
        self._last_log, self._last_rows = now, self.rows
        if self._lines:
            print(self.status_line(), file=self._stream, flush=True)
        elif self._bar is None:
            logger.info("%s", self.line())

    def status_line(self) -> str:
        """The line written off a terminal, e.g. ``scored 1,200/36,000 rows (3.1/s, ETA 3h05m, 2 errors)``."""
        done = f"{self.rows:,}" + (f"/{self.total:,}" if self.total is not None else "")
        eta, rate = self.eta(), self.rate()
        per_s = f"{rate:,.1f}/s" if rate >= 0.95 else f"{rate:.2f}/s"  # 3.1/s, 0.18/s
        errors = f"{self.errors:,} error" + ("" if self.errors == 1 else "s")
        return f"scored {done} rows ({per_s}, " + (f"ETA {_short(eta)}, " if eta is not None else "") + f"{errors})"

    def line(self) -> str:
        """One line: rows done / total, rows/s, tokens/s, errors, ETA (the ``logging`` line)."""
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
        """Close the bar (or stop the heartbeat) and log the summary line."""
        self._stop.set()
        with self._lock:  # the heartbeat may be redrawing it
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()
        logger.info("%s", self.summary_line())

    def __enter__(self) -> ScoreProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
