"""``examples/new_group.py``: grouping → discovery → teacher labels → SFT set → agreement → mask → select, run as a
user runs it, against loopback teachers (no model, no vLLM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import datasets

import mira_hf
from tests.conftest import REPO

SCRIPT = REPO / "examples" / "new_group.py"


def test_new_group_example_runs_every_stage_and_the_mask_catches_the_noisy_dimension(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-6000:])
    lines = proc.stdout.splitlines()
    assert [line.split(".", 1)[0] for line in lines] == ["1", "2", "3", "4", "5", "6"], proc.stdout

    groups = json.loads((out / "groups.json").read_text())
    assert sorted(sorted(m) for m in (groups.get("groups") or groups).values()) == [
        ["agent_openhands"],
        ["davinc_dev", "swe_qa"],
    ]
    rubric = mira_hf.load_rubric(out / "new_group_dim_anchors.jsonl")
    assert len(rubric) == 6 and len(set(rubric.names)) == 6
    assert "3. teacher labels: 36 of 36 ok" in proc.stdout

    sft = datasets.load_from_disk(str(out / "sft"))
    assert len(sft["train"]) + len(sft["held_out"]) == 36
    assert set(sft["held_out"]["source"]) == {"agent_openhands", "davinc_dev", "swe_qa"}
    assert sft["train"][0]["messages"][0]["content"] == mira_hf.build_messages("x", rubric)[0]["content"]

    mask = json.loads((out / "reliability.json").read_text())
    noisy = 1  # examples/new_group.py NOISY_SLOT: the stand-in student answers A2 at random
    assert all(row[noisy] is False for row in mask.values()), mask
    assert "unreliable slots: ['A2']" in proc.stdout
    assert "6. selected 18 of 36 rows, per group {'group_1': 12, 'group_2': 6}" in proc.stdout


def test_new_group_example_says_what_it_does_and_how_to_run_it():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert proc.returncode == 0 and "usage:" in proc.stdout
    assert "python examples/new_group.py" in SCRIPT.read_text()
