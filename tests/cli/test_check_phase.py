"""`score --estimate`, `agree` and `select --preview` check what they are given before any work, through the real
command line: a missing column is one ``error:`` line naming the closest one; a threshold that masks every cell
is a warning with the numbers; a preview that keeps nothing says why.

The data is the example mixture (12 rows of each of three sources), scored by copying the teacher's scores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = REPO / "examples" / "data" / "trajectories.jsonl"
MIRA = Path(sys.executable).with_name("mira-hf")


def mira(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRA_")}
    return subprocess.run([str(MIRA), *args], capture_output=True, text=True, timeout=120, env=env)


def error_lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in out.stderr
    return [line for line in out.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example rows with the columns `mira-hf score` adds (the teacher's scores stand in for the student's)."""
    ds = datasets.load_dataset("json", data_files=str(EXAMPLE_DATA), split="train")
    ds = ds.add_column("mira_scores", ds["teacher_scores"]).add_column("mira_status", ["ok"] * len(ds))
    path = tmp_path_factory.mktemp("scored") / "scored"
    ds.save_to_disk(str(path))
    return path


def test_score_estimate_checks_the_source_column_it_is_given(tmp_path):
    out = mira("score", str(EXAMPLE_DATA), "-o", str(tmp_path / "s"), "--estimate", "--source-column", "src")
    assert out.returncode == 2
    [line] = error_lines(out)
    assert "no column 'src' in the dataset (did you mean 'source'?)" in line
    assert "GPU-hours" not in out.stdout
    ok = mira("score", str(EXAMPLE_DATA), "-o", str(tmp_path / "s"), "--estimate", "--source-column", "source")
    assert ok.returncode == 0 and "GPU-hours" in ok.stdout, ok.stderr


def test_agree_names_every_missing_column_in_one_error_line(scored, tmp_path):
    out = mira("agree", str(scored), "--teacher-column", "teacher_score", "--source-column", "src")
    assert out.returncode == 2
    [line] = error_lines(out)
    assert line.startswith(
        "error: 2 problems: (1) no column 'teacher_score' in the dataset (did you mean 'teacher_scores'?)"
    )
    assert "(2) no column 'src' in the dataset (did you mean 'source'?)" in line


def test_agree_warns_when_min_support_masks_every_cell(scored, tmp_path):
    out = mira("agree", str(scored), "-o", str(tmp_path / "rel.json"))
    assert out.returncode == 0, out.stderr
    assert (
        "min_support=30 but every source has at most 12 rows: every (source × dimension) cell will be masked"
        in out.stderr
    )
    fine = mira("agree", str(scored), "-o", str(tmp_path / "rel12.json"), "--min-support", "12")
    assert fine.returncode == 0 and "will be masked" not in fine.stderr


def test_a_preview_that_keeps_nothing_says_the_mask_is_why(scored, tmp_path):
    assert mira("agree", str(scored), "-o", str(tmp_path / "rel.json")).returncode == 0
    out = mira("select", str(scored), "--mask", str(tmp_path / "rel.json"), "--retention", "0.5", "--preview")
    assert out.returncode == 0, out.stderr
    assert "0 (0%)" in out.stdout
    assert (
        "warning: no row of source(s) 'agent_openhands', 'davinc_dev', 'swe_qa' has a mira_quality, so none of them "
        "can be kept: the mask marks no dimension of them reliable because min_support=30 and their support is at "
        "most 12" in out.stderr
    )
