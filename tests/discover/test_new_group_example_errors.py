"""examples/new_group.py ends a user's mistake (a missing --data file, a bad --groups) with one ``error:`` line and
exit status 2, as the command line does, never with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "new_group.py"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--data", "nope.jsonl"], ["--data nope.jsonl does not exist", "JSONL"]),
        (["--groups", "0"], ["--groups 0 must be ≥ 1"]),
        (["--groups", "many"], ["--groups", "invalid int value", "--help"]),
        (["--groups", "99"], ["--groups 99 is more than the 3 sources"]),
        (["--dimensions", "-1"], ["--dimensions -1 must be ≥ 1"]),
    ],
)
def test_a_mistake_is_one_error_line_and_exit_2(tmp_path, args, needles):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
