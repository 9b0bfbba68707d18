"""The ``mira-hf`` command line: complete help, ``--version``, one-line errors, and each command on real datasets.

Commands run in-process through typer's ``CliRunner``; the console script itself runs once in a subprocess
(``install-metric`` and an error), to cover the installed entry point. Scoring with the real engine is covered by
the scorer's own tests; here ``score`` is checked up to the engine (an endpoint where nothing listens).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import datasets
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import mira_hf
from mira_hf.cli import app
from mira_hf.reliability import Reliability
from mira_hf.selection import SelectionReport
from tests.cli._scored import scored_dataset
from tests.conftest import EXAMPLES

CONSOLE_SCRIPT = Path(sys.executable).parent / "mira-hf"
COMMANDS = [
    "score",
    "merge",
    "agree",
    "select",
    "report",
    "install-metric",
    "demo",
    "inspect",
    "run",
    "group-sources",
    "discover",
    "distill",
]
SOURCES = ["agent_openhands", "davinc_dev", "swe_qa"]
ROWS_PER_SOURCE = 40
NOISY = ("swe_qa", 3)  # the student guesses at random on A4 for swe_qa: that cell must be masked
RUNNER = CliRunner()


def invoke(*args: str):
    """Run ``mira-hf <args>`` in-process; a wide terminal so rich tables are not wrapped."""
    return RUNNER.invoke(app, [str(a) for a in args], env={"COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"})


def assert_one_line_error(result, *needles: str) -> str:
    """Non-zero exit, no traceback, and exactly one ``error:`` line (the last line) that says what to do."""
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def scored_dir(tmp_path_factory) -> Path:
    """A scored dataset saved with ``save_to_disk``: teacher labels, and a student close to them except one cell."""
    rng = np.random.default_rng(11)
    n = ROWS_PER_SOURCE * len(SOURCES)
    sources = np.repeat(SOURCES, ROWS_PER_SOURCE)
    teacher = rng.integers(0, 21, (n, 15)) / 2.0
    student = np.clip(np.round((teacher + rng.normal(0, 0.3, teacher.shape)) * 2) / 2, 0, 10)
    noisy_rows = sources == NOISY[0]
    student[noisy_rows, NOISY[1]] = rng.integers(0, 11, noisy_rows.sum())
    recs = rng.choice(["keep", "downsample", "drop"], n)
    ds = scored_dataset(
        teacher,
        student,
        sources.tolist(),
        mira_recommendation=recs.tolist(),
        mira_status=["ok"] * (n - 3) + ["partial", "parse_error", "engine_error"],
        mira_truncated=[i % 10 == 0 for i in range(n)],
    )
    path = tmp_path_factory.mktemp("cli") / "scored"
    ds.save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def mask_path(scored_dir) -> Path:
    path = scored_dir.parent / "reliability.json"
    result = invoke("agree", scored_dir, "--output", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def quality(scored_dir, mask_path) -> datasets.Dataset:
    """What ``--mask`` adds, computed with the Python API: the reference for the selection tests."""
    return mira_hf.aggregate(datasets.load_from_disk(str(scored_dir)), mask=Reliability.load(mask_path))


def kept_per_source(ds: datasets.Dataset) -> dict[str, int]:
    return {s: ds["source"].count(s) for s in SOURCES}


# --------------------------------------------------------------------------------------------- help, version
@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_every_option_with_its_help_text(command):
    cmd = typer.main.get_command(app).commands[command]
    assert cmd.help, f"`mira-hf {command}` has no description"
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert cmd.help.split("\n")[0][:40] in " ".join(result.stdout.split())
    for param in cmd.params:
        if param.name == "help":
            continue
        assert getattr(param, "help", None), f"`mira-hf {command}`: {param.name} has no help text"
        if isinstance(param, click.Option):
            assert param.opts[0] in result.stdout, f"{param.opts[0]} missing from `mira-hf {command} --help`"


def test_the_commands_take_the_options_the_pipeline_needs():
    commands = typer.main.get_command(app).commands
    opts = {name: {o for p in cmd.params for o in getattr(p, "opts", [])} for name, cmd in commands.items()}
    assert set(COMMANDS) <= set(commands)
    assert {
        "--split",
        "--text-column",
        "--source-column",
        "--id-column",
        "--model",
        "--engine",
        "--base-url",
        "--cache-dir",
        "--shard",
        "--num-shards",
        "--output",
        "--max-model-len",
        "--tensor-parallel-size",
    } <= opts["score"]
    assert {
        "--student-column",
        "--teacher-column",
        "--mae-max",
        "--spearman-min",
        "--min-support",
        "--output",
        "--heatmap",
    } <= opts["agree"]
    assert {"--retention", "--retention-file", "--mask", "--push-to-hub", "--by", "--output"} <= opts["select"]
    assert {"--mask", "--selection", "--output"} <= opts["report"]


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"mira-hf {mira_hf.__version__}"


# --------------------------------------------------------------------------------------------- errors
def test_a_missing_file_is_one_line(tmp_path):
    assert_one_line_error(invoke("agree", tmp_path / "nope.jsonl"), "does not exist", ".jsonl")


@pytest.mark.parametrize(
    "command",
    [
        "score DATA -o out",
        "inspect DATA",
        "agree DATA",
        "select DATA --retention 0.5 -o sel",
        "report DATA",
        "distill DATA --rubric agent-group4 -o sft",
        "group-sources DATA --k 2 -o groups.json",
        "discover judge DATA --model m --base-url http://127.0.0.1:9/v1 -o proposals",
    ],
)
def test_every_command_maps_a_data_load_error_to_one_line(tmp_path, command):
    """The one place that maps library errors (``MiraGroup``) covers every command, subcommands too."""
    result = invoke(*(tmp_path / "nope.jsonl" if arg == "DATA" else arg for arg in command.split()))
    assert result.exit_code == 2
    assert_one_line_error(result, "nope.jsonl does not exist", "save_to_disk folder")


def test_nothing_in_the_package_imports_the_cli():
    import ast

    from tests.conftest import REPO

    importers = [
        str(path.relative_to(REPO))
        for path in (REPO / "mira_hf").rglob("*.py")
        if "cli" not in path.relative_to(REPO / "mira_hf").parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom | ast.Import)
        and any(
            n.startswith("mira_hf.cli")
            for n in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
        )
    ]
    assert importers == []


def test_a_file_of_unknown_format_is_one_line(tmp_path):
    (tmp_path / "data.txt").write_text("hello\n")
    assert_one_line_error(invoke("agree", tmp_path / "data.txt"), "cannot tell the format", ".parquet")


def test_an_unknown_column_is_one_line_naming_the_columns(scored_dir, tmp_path):
    line = assert_one_line_error(
        invoke("agree", scored_dir, "--teacher-column", "teacher", "-o", tmp_path / "m.json"),
        "'teacher'",
        "teacher_scores",
    )
    assert not (tmp_path / "m.json").exists() and "mira_scores" in line


@pytest.mark.parametrize(
    "spec, needles",
    [
        ("1.5", ["1.5", "not a fraction in [0, 1]", "min_score"]),
        ("half", ["'half'", "neither a number nor JSON"]),
        ('{"agent_openhands": 0.5, "swe": 0.5}', ["'swe'", "not in the data", "swe_qa"]),
        ('{"agent_openhands": 0.5}', ["no rule", "davinc_dev"]),
        (
            '{"agent_openhands": 0.5, "davinc_dev": 0.5, "swe_qa": {"max_score": 3}}',
            ["'swe_qa'", "min_score", "tokens"],
        ),
    ],
)
def test_a_bad_retention_spec_is_one_line(scored_dir, mask_path, tmp_path, spec, needles):
    result = invoke("select", scored_dir, "--mask", mask_path, "--retention", spec, "-o", tmp_path / "sel")
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "sel").exists()


def test_a_missing_or_broken_retention_file_is_one_line(scored_dir, mask_path, tmp_path):
    assert_one_line_error(
        invoke(
            "select", scored_dir, "--mask", mask_path, "--retention-file", tmp_path / "r.yaml", "-o", tmp_path / "sel"
        ),
        "does not exist",
    )
    (tmp_path / "bad.yaml").write_text("agent_openhands: [0.5\n")
    assert_one_line_error(
        invoke(
            "select", scored_dir, "--mask", mask_path, "--retention-file", tmp_path / "bad.yaml", "-o", tmp_path / "sel"
        ),
        "not valid YAML",
    )


def test_select_without_a_retention_or_a_score_says_what_to_pass(scored_dir, mask_path, tmp_path):
    assert_one_line_error(
        invoke("select", scored_dir, "--mask", mask_path, "-o", tmp_path / "sel"), "--retention", "--retention-file"
    )
    assert_one_line_error(
        invoke("select", scored_dir, "--retention", "0.5", "-o", tmp_path / "sel"), "'mira_quality'", "--mask"
    )


def test_select_keeps_the_same_ids_on_shuffled_data(scored_dir, mask_path, tmp_path):
    """Gumbel sampling (and ties) follow the ids: the same rows are kept from a shuffled copy of the data."""
    shuffled = tmp_path / "shuffled"
    datasets.load_from_disk(str(scored_dir)).shuffle(seed=5).flatten_indices().save_to_disk(str(shuffled))
    kept = {}
    for name, data in (("sorted", scored_dir), ("shuffled", shuffled)):
        result = invoke(
            "select",
            data,
            "--mask",
            mask_path,
            "--retention",
            "0.5",
            "--sampling",
            "gumbel",
            "--temperature",
            "2",
            "--seed",
            "3",
            "-o",
            tmp_path / f"kept-{name}",
        )
        assert result.exit_code == 0, result.output
        kept[name] = datasets.load_from_disk(str(tmp_path / f"kept-{name}"))["id"]
        report = SelectionReport.load(tmp_path / f"kept-{name}" / "selection_report.json")
        assert report.parameters.id_column == "id"
    assert sorted(kept["sorted"]) == sorted(kept["shuffled"]) and len(kept["sorted"]) == 60
    shuffled_order = datasets.load_from_disk(str(shuffled))["id"]
    assert kept["shuffled"] == [i for i in shuffled_order if i in set(kept["shuffled"])]  # input order kept


def test_shard_without_num_shards_is_one_line(tmp_path):
    data = EXAMPLES / "trajectories.jsonl"
    assert_one_line_error(
        invoke("score", data, "-o", tmp_path / "out", "--shard", "3"), "--shard and --num-shards go together"
    )
    assert_one_line_error(invoke("score", data, "-o", tmp_path / "out", "--num-shards", "4"), "--shard 3")
    assert not (tmp_path / "out").exists()


def test_score_openai_without_a_base_url_is_one_line(tmp_path):
    result = invoke("score", EXAMPLES / "trajectories.jsonl", "-o", tmp_path / "out", "--engine", "openai")
    assert_one_line_error(result, "--engine openai needs --base-url", "http://localhost:8000/v1")


def test_merge_names_the_missing_shards(tmp_path):
    part = datasets.Dataset.from_dict({"x": [1, 2]})
    (tmp_path / "scored").mkdir()
    part.to_parquet(str(tmp_path / "scored" / "shard-00000-of-00003.parquet"))
    assert_one_line_error(
        invoke("merge", tmp_path / "scored", "-o", tmp_path / "merged"), "2 of 3 shards are missing", "1, 2"
    )


def test_report_with_a_missing_selection_file_is_one_line(scored_dir, tmp_path):
    result = invoke("report", scored_dir, "--selection", tmp_path / "nope.json", "-o", tmp_path / "r.html")
    assert_one_line_error(result, "does not exist", "mira-hf select")


def test_score_estimate_counts_this_shards_rows_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # bytes per token; no Hub lookup for the card's tokenizer
    data = tmp_path / "six.jsonl"
    data.write_text("".join(json.dumps({"text": f"agent ran pytest {i}"}) + "\n" for i in range(6)))
    out = tmp_path / "out"
    args = ["score", data, "-o", out, "--estimate", "--records-per-s", "1"]
    result = invoke(*args, "--shard", "1", "--num-shards", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "rows: 3 (estimated from 3 sampled)"
    assert "GPU-hours" in result.stdout and not out.exists() and not Path(f"{out}.cache").exists()
    assert invoke(*args).stdout.splitlines()[0] == "rows: 6 (estimated from 6 sampled)"


@pytest.mark.slow
def test_score_against_an_endpoint_where_nothing_listens_is_one_line(tmp_path):
    """Nothing listens on port 9 (discard): the engine retries, then says what to start; no traceback, no output."""
    data = tmp_path / "two.jsonl"
    data.write_text(
        "".join(json.dumps({"id": i, "source": "swe_qa", "text": f"agent ran pytest {i}"}) + "\n" for i in range(2))
    )
    result = invoke(
        "score",
        data,
        "-o",
        tmp_path / "out",
        "--engine",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--source-column",
        "source",
    )
    assert_one_line_error(result, "No OpenAI-compatible server answered", "http://127.0.0.1:9/v1", "vllm serve")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------- agree
def test_agree_writes_the_mask_and_prints_the_table(scored_dir, tmp_path):
    out, heatmap = tmp_path / "reliability.json", tmp_path / "heatmap.png"
    result = invoke("agree", scored_dir, "--output", out, "--heatmap", heatmap)
    assert result.exit_code == 0, result.output
    assert f"wrote the mask to {out}" in result.stdout

    rel = Reliability.load(out)
    rubric = mira_hf.load_rubric("agent-group4")
    assert rel.dimensions == rubric.names and sorted(rel.mask) == SOURCES
    for source in SOURCES:
        expected = [not (source == NOISY[0] and j == NOISY[1]) for j in range(15)]
        assert rel.mask[source] == expected, (source, rel.mask[source])
    assert rel.stats["swe_qa"].n_records == ROWS_PER_SOURCE and rel.stats["swe_qa"].mae[NOISY[1]] > 1.0

    table = result.stderr  # the table is for people: stderr, so stdout stays parseable
    assert all(s in table for s in SOURCES) and "Goal Achievement" in table and "✓" in table
    noisy_row = next(
        line for line in table.splitlines() if re.search(rf"│ {re.escape(rubric.names[NOISY[1]])}\s+│", line)
    )
    assert noisy_row.count("✓") == 2 and noisy_row.count("·") == 1
    assert heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_agree_thresholds_change_the_mask(scored_dir, tmp_path):
    out = tmp_path / "strict.json"
    result = invoke("agree", scored_dir, "--output", out, "--min-support", str(ROWS_PER_SOURCE + 1))
    assert result.exit_code == 0, result.output
    rel = Reliability.load(out)
    assert rel.min_support == ROWS_PER_SOURCE + 1 and not any(any(row) for row in rel.mask.values())


# --------------------------------------------------------------------------------------------- select
def test_select_keeps_the_best_half_of_each_source(scored_dir, mask_path, quality, tmp_path):
    out = tmp_path / "selected"
    result = invoke("select", scored_dir, "--mask", mask_path, "--retention", "0.5", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"kept {len(SOURCES) * ROWS_PER_SOURCE // 2} of {len(SOURCES) * ROWS_PER_SOURCE} rows" in result.stdout

    kept = datasets.load_from_disk(str(out))
    assert kept_per_source(kept) == dict.fromkeys(SOURCES, ROWS_PER_SOURCE // 2)
    assert kept["id"] == sorted(kept["id"])  # original order
    scores = dict(zip(quality["id"], quality["mira_quality"]))
    for source in SOURCES:
        ids = [i for i, s in zip(quality["id"], quality["source"]) if s == source]
        chosen = [scores[i] for i in kept["id"] if i in set(ids)]
        dropped = [scores[i] for i in ids if i not in set(kept["id"])]
        assert min(chosen) >= max(dropped), source  # the best half, by the masked quality

    report = SelectionReport.load(out / "selection_report.json")
    assert report.kept == len(kept) and report.parameters.by == "source"
    assert report.reliability_mask == Reliability.load(mask_path).mask


def test_select_with_a_yaml_file_of_per_source_rules(scored_dir, mask_path, quality, tmp_path):
    spec = tmp_path / "retention.yaml"
    spec.write_text(
        textwrap.dedent("""\
        # MIRA-Source: one rule per source
        agent_openhands: 0.25
        davinc_dev: {min_score: 6.0}
        swe_qa: 0.5
    """)
    )
    out = tmp_path / "selected"
    result = invoke("select", scored_dir, "--mask", mask_path, "--retention-file", spec, "-o", out)
    assert result.exit_code == 0, result.output

    kept = datasets.load_from_disk(str(out))
    above = sum(1 for s, q in zip(quality["source"], quality["mira_quality"]) if s == "davinc_dev" and q >= 6.0)
    assert 0 < above < ROWS_PER_SOURCE
    assert kept_per_source(kept) == {"agent_openhands": 10, "davinc_dev": above, "swe_qa": 20}
    assert min(q for s, q in zip(kept["source"], kept["mira_quality"]) if s == "davinc_dev") >= 6.0

    report = SelectionReport.load(out / "selection_report.json")
    assert report.parameters.retention["davinc_dev"].kind == "min_score"
    assert report.sources["davinc_dev"].kept == above
    assert "score ≥ 6" in result.stdout  # the printed table says which rule each source had


def test_select_by_group_from_a_json_file(scored_dir, mask_path, tmp_path):
    spec = tmp_path / "retention.json"
    spec.write_text(
        json.dumps(
            {
                "retention": {"swe_repair": 0.5, "qa": 0.25},
                "groups": {"swe_repair": ["agent_openhands", "davinc_dev"], "qa": ["swe_qa"]},
            }
        )
    )
    out = tmp_path / "selected"
    result = invoke("select", scored_dir, "--mask", mask_path, "--retention-file", spec, "--by", "group", "-o", out)
    assert result.exit_code == 0, result.output
    kept = datasets.load_from_disk(str(out))
    counts = kept_per_source(kept)
    assert counts["agent_openhands"] + counts["davinc_dev"] == ROWS_PER_SOURCE and counts["swe_qa"] == 10
    assert SelectionReport.load(out / "selection_report.json").cuts["swe_repair"].sources == SOURCES[:2]


def test_select_default_rule_and_dropped_recommendations(scored_dir, mask_path, quality, tmp_path):
    """Sources the spec does not name take --default; rows the scorer said to drop are never kept."""
    out = tmp_path / "selected"
    result = invoke(
        "select",
        scored_dir,
        "--mask",
        mask_path,
        "--retention",
        '{"swe_qa": 0.5}',
        "--default",
        '{"min_score": 5.0}',
        "--drop-recommendation",
        "drop",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    kept = datasets.load_from_disk(str(out))
    assert "drop" not in kept["mira_recommendation"]
    for source in ("agent_openhands", "davinc_dev"):
        expected = sum(
            1
            for s, q, r in zip(quality["source"], quality["mira_quality"], quality["mira_recommendation"])
            if s == source and q is not None and q >= 5.0 and r != "drop"
        )
        assert 0 < expected == kept_per_source(kept)[source], source
    report = SelectionReport.load(out / "selection_report.json")
    assert report.parameters.retention["agent_openhands"].kind == "min_score"
    assert report.sources["swe_qa"].dropped > 0

    missing = invoke("select", scored_dir, "--mask", mask_path, "--retention", '{"swe_qa": 0.5}', "-o", out)
    assert_one_line_error(missing, "agent_openhands")  # without --default a source with no rule is an error
    assert_one_line_error(
        invoke("select", scored_dir, "--mask", mask_path, "--retention", "0.5", "--default", "half", "-o", out),
        "--default 'half'",
    )


@pytest.mark.slow
def test_console_script_pushes_the_selection_split_per_source(scored_dir, mask_path, tmp_path):
    """`mira-hf select --push-to-hub --push-by split` with the token from HF_TOKEN, against a loopback Hub."""
    from mira_hf.testing.hub_server import HubServer

    token = "hf_cli_push_token_7c21"
    with HubServer(token=token) as hub:
        env = _clean_env(tmp_path / "hf-home", **hub.client_env(), HF_TOKEN=token)
        proc = subprocess.run(
            [
                str(CONSOLE_SCRIPT),
                "select",
                str(scored_dir),
                "--mask",
                str(mask_path),
                "--retention",
                "0.5",
                "--push-to-hub",
                "mira-org/cli-selected",
                "--push-by",
                "split",
                "-o",
                str(tmp_path / "sel"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        files = hub.files("mira-org/cli-selected")
        stored = b"".join(files.values())
    assert {"README.md", "selection_report.json", "reliability.json"} <= set(files)
    assert {p.split("/")[1].split("-")[0] for p in files if p.startswith("data/")} == set(SOURCES)
    assert token not in proc.stdout + proc.stderr and token.encode() not in stored
    assert "mira-org/cli-selected" in files["README.md"].decode()


# --------------------------------------------------------------------------------------------- report
def test_report_writes_one_self_contained_html_file(scored_dir, mask_path, tmp_path):
    sel = tmp_path / "selected"
    assert invoke("select", scored_dir, "--mask", mask_path, "--retention", "0.5", "-o", sel).exit_code == 0
    out = tmp_path / "report.html"
    result = invoke("report", scored_dir, "--mask", mask_path, "--selection", sel / "selection_report.json", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    images = html.count("data:image/png;base64,") + html.count("<svg")
    assert images >= 3, images  # score distributions, reliability heatmap, retention curves at least
    assert 'src="http' not in html and "<script src=" not in html  # nothing fetched: readable offline
    assert all(s in html for s in SOURCES)


# --------------------------------------------------------------------------------------------- console script
def _clean_env(hf_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MIRA_"))}
    env.update({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1", **extra})
    return env


def test_console_script_install_metric_makes_evaluate_load_work_offline(tmp_path):
    """``import mira_hf`` would install the metric by itself: MIRA_NO_METRIC_INSTALL=1 leaves it to the command."""
    env = _clean_env(tmp_path / "hf-home", MIRA_NO_METRIC_INSTALL="1")
    proc = subprocess.run([str(CONSOLE_SCRIPT), "install-metric"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    installed = Path(proc.stdout.strip().removeprefix("installed mira_agreement at "))
    assert installed.is_file() and installed.name == "mira_agreement.py"
    assert (tmp_path / "hf-home") in installed.parents

    check = (
        "import evaluate; m = evaluate.load('mira_agreement'); "
        "r = m.compute(predictions=[[7.0] * 15, [3.0] * 15], references=[[8.0] * 15, [2.0] * 15], min_support=2); "
        "print(r['mae'][0], r['mask']['*'][0])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ["1.0", "True"]


def test_console_script_errors_are_one_line_with_exit_code_2(tmp_path):
    proc = subprocess.run(
        [str(CONSOLE_SCRIPT), "select", str(tmp_path / "scored"), "--retention", "0.5", "-o", str(tmp_path / "sel")],
        env=_clean_env(tmp_path / "hf-home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        f"error: {tmp_path / 'scored'} does not exist; pass a data file (.jsonl, .json, .parquet, .csv), a "
        "folder of them, run files (.traj, .traj.json), a save_to_disk folder, or a Hub dataset name (org/name) "
        "[MIRA-E106]"
    ]


def test_score_passes_engine_and_sampling_options_from_flags_and_env_to_the_server(tmp_path):
    """Every engine/sampling flag reaches the requests; ``MIRA_*`` variables fill what no flag sets; the key
    goes in the Authorization header only."""
    from tests._server_loopback import StubServer

    data = tmp_path / "three.jsonl"
    data.write_text(
        "".join(json.dumps({"id": i, "source": "swe_qa", "text": f"agent ran pytest {i}"}) + "\n" for i in range(3))
    )
    key = "sk-cli-flag-test-41d2"
    with StubServer(max_model_len=16384) as stub:
        result = RUNNER.invoke(
            app,
            [
                str(a)
                for a in (
                    "score",
                    data,
                    "-o",
                    tmp_path / "out",
                    "--engine",
                    "openai",
                    "--base-url",
                    stub.url,
                    "--model",
                    "stub-model",
                    "--api-key",
                    key,
                    "--max-model-len",
                    "16384",
                    "--max-tokens",
                    "512",
                    "--temperature",
                    "0.3",
                    "--seed",
                    "7",
                    "--no-structured",
                    "--batch-size",
                    "2",
                )
            ],
            env={"COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb", "MIRA_TOP_P": "0.5", "MIRA_N": "2"},
        )
        bodies = [s.body for s in stub.chat_requests()]
        headers = [s.headers for s in stub.chat_requests()]
    assert result.exit_code == 0, result.output
    assert len(bodies) == 3
    for body, head in zip(bodies, headers):
        assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"], body["n"]) == (
            0.3,
            0.5,
            512,
            7,
            2,
        )
        assert "structured_outputs" not in body and body["model"] == "stub-model"
        assert head["Authorization"] == f"Bearer {key}"
    assert key not in result.output
    scored = datasets.load_from_disk(str(tmp_path / "out"))
    assert scored["id"] == [0, 1, 2] and set(scored["mira_status"]) == {"parse_error"}  # the stub echoes the prompt


def test_score_shards_of_a_job_array_merge_back_in_order(tmp_path):
    """`score --shard i --num-shards 3` for every i writes disjoint shards (each with its own resume store);
    `merge` and loading the folder both give every row once, in the input order."""
    from tests._server_loopback import StubServer

    data = tmp_path / "ten.jsonl"
    data.write_text(
        "".join(json.dumps({"id": i, "source": "swe_qa", "text": f"agent ran pytest {i}"}) + "\n" for i in range(10))
    )
    out = tmp_path / "scored"
    with StubServer(max_model_len=16384) as stub:
        for i in (2, 0, 1):  # array tasks finish in any order
            result = invoke(
                "score",
                data,
                "-o",
                out,
                "--engine",
                "openai",
                "--base-url",
                stub.url,
                "--model",
                "stub-model",
                "--max-model-len",
                "16384",
                "--max-tokens",
                "512",
                "--shard",
                str(i),
                "--num-shards",
                "3",
            )
            assert result.exit_code == 0, result.output
        sent = [s.body["messages"][-1]["content"] for s in stub.chat_requests()]
    assert len(sent) == 10  # every row went to the server exactly once, over the three tasks
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"shard-0000{i}-of-00003.parquet" for i in range(3)]
    assert not list(out.glob(".tmp-*"))

    merged = invoke("merge", out, "-o", tmp_path / "merged")
    assert merged.exit_code == 0, merged.output
    assert datasets.load_from_disk(str(tmp_path / "merged"))["id"] == list(range(10))
    from mira_hf.io import load_any

    assert load_any(str(out))["id"] == list(range(10))  # the folder loads as the merged dataset too


def test_score_engine_kwargs_reach_the_endpoint_pool(tmp_path):
    """`--engine-kwarg max_retries=0` makes a dead endpoint fail after one attempt; a malformed pair is one line."""
    from tests._server_loopback import free_port

    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": 0, "text": "agent ran pytest"}) + "\n")
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = invoke(
        "score",
        data,
        "-o",
        tmp_path / "out",
        "--engine",
        "openai",
        "--base-url",
        url,
        "--engine-kwarg",
        "max_retries=0",
        "--engine-kwarg",
        "timeout=5",
    )
    assert_one_line_error(result, "after 1 attempts each", url)
    assert_one_line_error(
        invoke(
            "score",
            data,
            "-o",
            tmp_path / "out",
            "--engine",
            "openai",
            "--base-url",
            url,
            "--engine-kwarg",
            "max_retries",
        ),
        "--engine-kwarg 'max_retries' is not KEY=VALUE",
    )


def test_score_spreads_over_the_servers_of_a_comma_separated_mira_base_url(tmp_path):
    """The README's `export MIRA_BASE_URL=http://node1:8000/v1,http://node2:8000/v1` works for the CLI too."""
    from tests._server_loopback import StubServer

    data = tmp_path / "six.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": f"agent ran pytest {i}"}) + "\n" for i in range(6)))
    with StubServer(max_model_len=16384) as a, StubServer(max_model_len=16384) as b:
        result = RUNNER.invoke(
            app,
            [
                str(x)
                for x in (
                    "score",
                    data,
                    "-o",
                    tmp_path / "out",
                    "--model",
                    "stub-model",
                    "--max-model-len",
                    "16384",
                    "--max-tokens",
                    "512",
                )
            ],
            env={
                "COLUMNS": "220",
                "NO_COLOR": "1",
                "TERM": "dumb",
                "MIRA_ENGINE": "openai",
                "MIRA_BASE_URL": f"{a.url},{b.url}",
            },
        )
        counts = [len(a.chat_requests()), len(b.chat_requests())]
    assert result.exit_code == 0, result.output
    assert sum(counts) == 6 and min(counts) >= 1, counts  # both servers took part
