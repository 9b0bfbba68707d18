"""Honest progress: the bar moves per finished row; off a terminal, a line every N rows or every 30 s."""

from __future__ import annotations

import io

import datasets

import mira_hf
from mira_hf._util.progress import ScoreProgress
from mira_hf.testing.fake_engine import FakeEngine, card_for, format_output


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rows(n: int) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"text": [f"$ pytest tests/test_{i}.py\n1 passed (row {i})" for i in range(n)]})


def test_off_a_terminal_a_line_every_30_seconds_with_rows_rate_eta_and_errors():
    clock = Clock()

    def answer(prompt: str) -> str | None:  # each row takes the engine 10 s; row 1 fails in the engine
        clock.t += 10
        return None if "(row 1)" in prompt else format_output(card_for(prompt), scorer.rubric)

    scorer = mira_hf.Scorer(engine=FakeEngine(respond=answer))
    log = io.StringIO()  # a log file, a Slurm job: not a terminal
    scorer.progress = ScoreProgress(total=12, stream=log, clock=clock, every_rows=0, heartbeat=False)
    scored = mira_hf.score_dataset(_rows(12), scorer, depth=1)  # one row in flight: one row every 10 s
    scorer.progress.close()
    assert log.getvalue().splitlines() == [
        "scored 3/12 rows (0.10/s, ETA 1m30s, 1 error)",
        "scored 6/12 rows (0.10/s, ETA 1m00s, 1 error)",
        "scored 9/12 rows (0.10/s, ETA 30s, 1 error)",
        "scored 12/12 rows (0.10/s, ETA 0s, 1 error)",
    ]
    assert list(scored["mira_status"]).count("engine_error") == 1


def test_off_a_terminal_a_line_every_n_rows_even_within_30_seconds():
    clock = Clock()
    scorer = mira_hf.Scorer(engine=FakeEngine())
    log = io.StringIO()
    scorer.progress = ScoreProgress(total=12, stream=log, clock=clock, every_rows=4, heartbeat=False)
    clock.t = 2.0  # every row finishes at once, 2 s in
    mira_hf.score_dataset(_rows(12), scorer)
    assert log.getvalue().splitlines() == [
        "scored 4/12 rows (2.0/s, ETA 4s, 0 errors)",
        "scored 8/12 rows (4.0/s, ETA 1s, 0 errors)",
        "scored 12/12 rows (6.0/s, ETA 0s, 0 errors)",
    ]


def test_a_line_every_30_seconds_even_while_no_row_finishes():
    clock = Clock()
    log = io.StringIO()
    p = ScoreProgress(total=36_000, stream=log, clock=clock, heartbeat=False)
    p.poll()  # what the heartbeat thread calls every few seconds
    assert log.getvalue() == ""  # under 30 s: nothing yet
    clock.t = 31  # the engine is still starting
    p.poll()  # what the heartbeat thread calls every few seconds
    clock.t = 3600
    p.update(1_200, statuses={"ok": 1_198, "parse_error": 2}, stored=0)
    p.close()
    assert log.getvalue().splitlines() == [
        "scored 0/36,000 rows (0.00/s, 0 errors)",
        "scored 1,200/36,000 rows (0.33/s, ETA 29h00m, 2 errors)",
    ]


def test_on_a_terminal_the_bar_moves_with_every_finished_row():
    scorer = mira_hf.Scorer(engine=FakeEngine())
    tty = Tty()
    scorer.progress = ScoreProgress(total=12, stream=tty)
    steps: list[int] = []
    bar = scorer.progress._bar
    real_update = bar.update
    bar.update = lambda n=1: (steps.append(n), real_update(n))[1]
    mira_hf.score_dataset(_rows(12), scorer)  # the fake engine answers every row in one call
    scorer.progress.close()
    assert steps == [1] * 12  # one step per row, not one jump per batch
    assert "12/12" in tty.getvalue()


def test_rows_read_back_from_the_store_do_not_inflate_the_rate(tmp_path):
    clock = Clock()
    log = io.StringIO()
    p = ScoreProgress(total=1_000, stream=log, clock=clock, every_rows=0, heartbeat=False)
    p.update(900, statuses={"ok": 900}, stored=900)  # a resumed run: 900 rows from the store, at once
    clock.t = 30
    p.update(30, statuses={"ok": 30})  # 30 rows scored now, in 30 s
    assert log.getvalue().splitlines() == ["scored 930/1,000 rows (1.0/s, ETA 1m10s, 0 errors)"]


def test_the_rate_starts_at_the_first_finished_row_not_at_the_engine_start():
    clock = Clock()
    log = io.StringIO()
    p = ScoreProgress(total=100, stream=log, clock=clock, every_rows=10, log_every=0, heartbeat=False)
    clock.t = 120  # two minutes of engine start, then a row a second
    for _ in range(10):
        p.update(1, statuses=["ok"])
        clock.t += 1
    assert log.getvalue().splitlines() == ["scored 10/100 rows (1.0/s, ETA 1m30s, 0 errors)"]


def test_no_heartbeat_lines_once_every_row_is_done_and_said():
    """A run whose rows are all scored waits for its engine to stop: the log says nothing more until the summary."""
    clock = Clock()
    log = io.StringIO()
    p = ScoreProgress(total=6, stream=log, clock=clock, every_rows=3, log_every=30, heartbeat=False)
    clock.t = 5
    p.update(6, statuses=["ok"] * 6)
    clock.t = 100  # the engine shuts down for a minute and a half
    p.poll()
    clock.t = 200
    p.poll()
    assert log.getvalue().splitlines() == ["scored 6/6 rows (1.2/s, ETA 0s, 0 errors)"]
    stalled = ScoreProgress(total=6, stream=(quiet := io.StringIO()), clock=clock, log_every=30, heartbeat=False)
    clock.t = 300  # no row yet (an engine starting): the heartbeat says so
    stalled.poll()
    assert quiet.getvalue().startswith("scored 0/6 rows")
