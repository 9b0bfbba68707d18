"""Errors in the words of the command line: each mistake a user made through ``mira-hf`` is one ``error:`` line
naming the command's flags (never the library's ``name=``), its code, exit 2, no traceback, no usage panel.

Every case runs the installed console script in a subprocess; where no engine is involved it takes well under
2 s of CPU (the command line imports lazily).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer

from mira_hf.cli import app
from mira_hf.cli._shared import cli_words
from tests.cli._scored import scored_dataset

CONSOLE_SCRIPT = Path(sys.executable).parent / "mira-hf"
PYTHON_NAME = re.compile(r"(?<![\w.\-])[a-z_]+=(?!=)")  # `bootstrap=`, `mask_by='bound'`, `token_column=`
SOURCES = ["agent_openhands", "swe_qa"]
PASSWORD, KEY = "s3cr3t-pw", "sk-top-secret"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mira(*args: object, cwd: Path, cpu_limit: float = 2.0, **env: str) -> subprocess.CompletedProcess:
    """``mira-hf <args>`` in a subprocess, offline, with a wide terminal; asserts it used under ``cpu_limit`` s of
    CPU (2 s where no engine is involved)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MIRA_", "OPENAI_"))}
    full.update(HF_HUB_OFFLINE="1", HF_HOME=str(cwd / "hf-home"), COLUMNS="200", NO_COLOR="1", **env)
    before = cpu_seconds()
    proc = subprocess.run(
        [str(CONSOLE_SCRIPT), *map(str, args)], env=full, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert cpu_seconds() - before < cpu_limit, f"mira-hf {args} took {cpu_seconds() - before:.1f} s of CPU"
    return proc


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, no traceback, no boxed usage panel, exactly one ``error:`` line (the last), no ``name=`` in it."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "╭" not in out and "Usage:" not in out, out
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    line = errors[0]
    assert not PYTHON_NAME.search(line), f"a Python parameter in: {line}"
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A scored dataset (``save_to_disk``, the columns ``mira-hf score`` writes plus teacher labels) and its mask."""
    from mira_hf import agreement
    from mira_hf.reliability import Reliability

    rng = np.random.default_rng(5)
    n = 40
    teacher = rng.integers(0, 21, (n, 15)) / 2.0
    student = np.clip(teacher + rng.normal(0, 0.3, teacher.shape), 0, 10).round(1)
    sources = np.repeat(SOURCES, n // 2).tolist()
    ds = scored_dataset(teacher, student, sources, mira_recommendation=["keep"] * n, mira_status=["ok"] * n)
    folder = tmp_path_factory.mktemp("errors")
    ds.save_to_disk(str(folder / "scored"))
    result = agreement(ds["mira_scores"], ds["teacher_scores"], sources=sources, min_support=5)
    Reliability.from_result(result).save(folder / "reliability.json")
    ragged = ds.select(range(4)).map(
        lambda row, i: {"mira_scores": row["mira_scores"][: 15 - (i == 2)]}, with_indices=True
    )
    ragged.save_to_disk(str(folder / "ragged"))
    rows = [{"id": i, "source": "swe_qa", "text": f"agent ran pytest {i}"} for i in range(3)]
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


# ----------------------------------------------------------------------- library advice in CLI words
def test_agree_bound_without_bootstrap_names_the_flags(work):
    line = one_error_line(mira("agree", "scored", "--mask-by", "bound", "-o", "r.json", cwd=work))
    assert "--mask-by bound" in line and "pass --bootstrap (e.g. --bootstrap 1000)" in line
    assert line.endswith("[MIRA-E201]") and not (work / "r.json").exists()


def test_agree_with_rows_of_another_length_says_what_to_give_not_a_rubric_flag_agree_lacks(work):
    line = one_error_line(mira("agree", "ragged", "-o", "r.json", cwd=work), "one score per slot", "[MIRA-E205]")
    assert "rubric=" not in line and "--rubric" not in line


def test_select_budget_without_token_column_names_both_flags(work):
    args = ("select", "scored", "--mask", "reliability.json", "--budget-tokens", "1000", "-o", "sel")
    one_error_line(mira(*args, cwd=work), "--budget-tokens needs --token-column", "[MIRA-E202]")
    assert not (work / "sel").exists()


@pytest.mark.parametrize("command", ["select", "report"])
def test_a_missing_source_column_names_the_flag(work, command):
    args = [command, "scored", "--mask", "reliability.json", "--source-column", "src"]
    args += ["--retention", "0.5", "-o", "sel"] if command == "select" else ["-o", "r.html"]
    line = one_error_line(mira(*args, cwd=work), "no column 'src'", "pass --source-column", "[MIRA-E203]")
    assert "default" not in line  # the library's default='all'|'none' is not select's --default


@pytest.mark.parametrize("command", ["select", "report"])
def test_a_missing_mask_file_says_which_command_writes_one(work, command):
    args = [command, "scored", "--mask", "nope.json"] + (
        ["--retention", "0.5", "-o", "sel"] if command == "select" else []
    )
    line = one_error_line(mira(*args, cwd=work), "no reliability file at nope.json", "mira-hf agree", "[MIRA-E204]")
    assert "Reliability" not in line and "save()" not in line


def test_select_preview_with_a_retention_above_one_names_no_made_up_source(work):
    args = ("select", "scored", "--mask", "reliability.json", "--preview", "--retention", "1.5")
    line = one_error_line(mira(*args, cwd=work), "retention is 1.5, not a fraction in [0, 1]", "[MIRA-E206]")
    assert "preview" not in line


# ----------------------------------------------------------------------- score: -o only when scoring
def test_score_estimate_needs_no_output_and_writes_nothing(work):
    proc = mira("score", "rows.jsonl", "--estimate", "--records-per-s", "1", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "rows: 3 (estimated from 3 sampled)" and "GPU-hours" in proc.stdout
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["scored", "ragged", "reliability.json", "rows.jsonl", "hf-home"]
    )


def test_score_without_output_says_give_it_or_estimate(work):
    one_error_line(mira("score", "rows.jsonl", cwd=work), "--output/-o", "--estimate")


# ----------------------------------------------------------------------- click's usage errors, every command
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("merge", "shards"), ["Missing option '--output' / '-o'", "'mira-hf merge --help'"]),
        (("agree", "scored", "--bootstrap", "many"), ["'--bootstrap'", "'mira-hf agree --help'"]),
        (("select", "scored", "--retension", "0.5"), ["No such option: --retension", "--retention"]),
        (("discover", "judge"), ["Missing argument", "'mira-hf discover judge --help'"]),
        (("discover", "cluster", "--bogus"), ["No such option: --bogus"]),
        (("scor", "rows.jsonl"), ["No such command 'scor'", "'mira-hf --help'"]),
        (("--bogus",), ["No such option: --bogus", "'mira-hf --help'"]),
    ],
)
def test_a_usage_mistake_is_one_line_with_the_fix_not_a_panel(work, args, needles):
    one_error_line(mira(*args, cwd=work), *needles)


@pytest.mark.parametrize("args", [("--help",), ("score", "--help"), ("discover", "judge", "--help")])
def test_help_still_works(work, args):
    proc = mira(*args, cwd=work)
    assert proc.returncode == 0 and "Usage" in proc.stdout and "error" not in proc.stderr


# ----------------------------------------------------------------------- credentials: refused before any request
def test_score_with_credentials_in_the_url_and_a_key_is_one_line_without_the_secrets(work):
    url = f"http://alice:{PASSWORD}@127.0.0.1:9/v1"
    args = ("score", "rows.jsonl", "-o", "out", "--engine", "openai", "--base-url", url, "--api-key", KEY)
    proc = mira(*args, cwd=work, cpu_limit=10.0)  # the engine is made (and refuses before any request)
    line = one_error_line(proc, "http://127.0.0.1:9/v1", "--api-key", "[MIRA-E207]")
    assert "No OpenAI-compatible server answered" not in line  # refused before any request
    assert PASSWORD not in proc.stderr + proc.stdout and KEY not in proc.stderr + proc.stdout
    assert not (work / "out").exists()


def test_run_with_a_plan_whose_url_has_credentials_and_a_key_is_one_line_without_the_secrets(work, tmp_path):
    plan = {
        "data": str(work / "rows.jsonl"),
        "groups": {
            "qa": {
                "sources": ["swe_qa"],
                "scorer": {
                    "engine": "openai",
                    "base_urls": [f"http://alice:{PASSWORD}@127.0.0.1:9/v1"],
                    "api_key_env": "GATE_KEY",
                },
            }
        },
    }
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))
    proc = mira("run", "plan.yaml", "-o", "out", cwd=tmp_path, cpu_limit=10.0, GATE_KEY=KEY)
    line = one_error_line(proc, "http://127.0.0.1:9/v1", "api_key_env", "[MIRA-E207]")
    assert "No OpenAI-compatible server answered" not in line
    assert PASSWORD not in proc.stderr + proc.stdout and KEY not in proc.stderr + proc.stdout


# ----------------------------------------------------------------------- the rewrite itself
def test_the_rewrite_uses_each_commands_own_flags():
    group = typer.main.get_command(app)
    agree, select, score = (group.commands[name] for name in ("agree", "select", "score"))  # type: ignore[attr-defined]
    assert cli_words("mask_by='bound' needs bootstrap= (e.g. bootstrap=1000)", agree) == (
        "--mask-by bound needs --bootstrap (e.g. --bootstrap 1000)"
    )
    assert cli_words("pass token_column=, or id_column=None", select) == "pass --token-column, or --id-column ''"
    assert cli_words("structured=False and n=2", score) == "--no-structured and --n 2"
    assert cli_words("a==b, x.y=1, ?q=2 and rubric=", agree) == "a==b, x.y=1, ?q=2 and rubric="  # agree: no --rubric
