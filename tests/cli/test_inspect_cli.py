"""``mira-hf inspect`` and data loading through the real console script: a mistake is one ``error:`` line (exit 2),
a mistyped name fails without asking the Hub, and the report is short with its summary last."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CONSOLE_SCRIPT = Path(sys.executable).parent / "mira-hf"
EXAMPLES = REPO / "examples" / "data"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No MIRA_* or HF_* from the caller; a fresh Hub cache (so datasets generates, and would draw, its split)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MIRA_", "TRANSFORMERS_"))}
    env.update({"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1", "COLUMNS": "100", "NO_COLOR": "1"})
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def run(tmp_path: Path, *args: object, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *map(str, args)],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def one_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, nothing on stdout, and stderr is exactly one ``error:`` line holding each needle."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _connected(srv: socket.socket) -> bool:
    try:
        conn, _ = srv.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize(
    ("args", "name"),
    [(("inspect", "myruns"), "myruns"), (("select", "nope-scored", "--retention", "0.5", "--preview"), "nope-scored")],
)
def test_a_mistyped_local_name_is_one_line_without_asking_the_hub(tmp_path, listener, args, name):
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    proc = run(tmp_path, *args, HF_ENDPOINT=endpoint, HF_HUB_OFFLINE="")
    one_error(proc, f"error: no file or folder {name!r} here; pass a data file (.jsonl", "Hub dataset name (org/name)")
    assert not _connected(listener)  # no look-up, not even the one-second probe
    assert "Retrying" not in proc.stderr


def test_a_hub_name_the_hub_does_not_have_is_one_line_without_retry_lines(tmp_path):
    from mira_hf.testing.hub_server import HubServer

    with HubServer() as hub:
        proc = run(tmp_path, "inspect", "mira-org/no-such-runs", **hub.client_env())
        asked = [r.path for r in hub.requests]
    one_error(proc, "cannot load 'mira-org/no-such-runs' from the Hub", "check the name and --split")
    assert asked and all("mira-org/no-such-runs" in p for p in asked)


def test_an_empty_file_and_a_folder_without_data_are_one_line_each(tmp_path):
    (tmp_path / "runs.jsonl").write_text("")
    one_error(run(tmp_path, "inspect", "runs.jsonl"), "runs.jsonl is empty (no records in it)")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("score the october runs\n")
    line = one_error(run(tmp_path, "inspect", "notes"), "notes holds no data files nor run files; pass")
    assert "shard" not in line


def test_an_unknown_record_format_is_rejected_once(tmp_path):
    proc = run(tmp_path, "inspect", EXAMPLES / "trajectories.jsonl", "--record-format", "swe-agent")
    one_error(proc, "--record-format swe-agent is not a record format: pass --record-format one of swe_agent,")
    assert proc.stdout == ""


def test_inspect_of_a_data_folder_is_short_quiet_and_ends_with_the_summary(tmp_path):
    proc = run(tmp_path, "inspect", EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no "Generating train split" bar, no warnings
    lines = proc.stdout.splitlines()
    assert len(lines) < 50
    assert not any(re.match(r"╭─ row \d+", line) for line in lines)  # no rendered samples unless --n
    titles = [line.strip() for line in lines if line.strip() in ("Formats detected", "What the scorer reads")]
    assert titles == ["Formats detected", "What the scorer reads"]  # the summary last
    assert re.search(r"│ rows\s+│ 36\s+│", proc.stdout)
    assert "rows the budget shortens" in lines[-2]

    shown = run(tmp_path, "inspect", EXAMPLES, "--n", "2")
    assert shown.returncode == 0 and len(re.findall(r"╭─ row \d+ · ", shown.stdout)) == 2
    assert shown.stdout.rstrip().splitlines()[-2].startswith("│ rows the budget shortens")


def _estimate_shortened(proc: subprocess.CompletedProcess[str]) -> int:
    assert proc.returncode == 0, proc.stderr
    return int(re.search(r"rows the budget shortens: ([\d,]+)", proc.stdout).group(1))


def _inspect_shortened(proc: subprocess.CompletedProcess[str]) -> int:
    assert proc.returncode == 0, proc.stderr
    return int(re.search(r"rows the budget shortens\s+│ ([\d,]+)", proc.stdout).group(1))


def test_estimate_and_inspect_shorten_the_same_rows_for_the_same_model(tmp_path):
    """With the model's tokenizer on this machine, both count its tokens; without it, both count 4 bytes a token."""
    from mira_hf.testing.tiny_model import tekken_tokenizer

    model = tmp_path / "model"
    tekken_tokenizer().save_pretrained(str(model))  # a model folder: its tokenizer is what the budget counts with
    data = EXAMPLES / "trajectories.jsonl"
    budget = ("--max-model-len", "6000", "--max-tokens", "1024")
    for given in (("--model", model), ()):
        est = run(tmp_path, "score", data, "--estimate", *budget, *given)
        ins = run(tmp_path, "inspect", data, *budget, *given)
        shortened = _estimate_shortened(est)
        assert _inspect_shortened(ins) == shortened and 0 < shortened < 36, given
        assert ("exact" in est.stdout) == bool(given) and ("estimated tokens" in ins.stdout) != bool(given)
