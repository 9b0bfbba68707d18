"""The runnable examples under ``examples/``, run as a user runs them: ``python examples/<script>.py ...``.

``score_agree_select.py`` pushes to a Hub-compatible server started here on loopback (with a token, so the
test can check it never leaks); the pushed repo is read back with ``datasets.load_dataset`` in a fresh
interpreter. The ``cpu-tiny`` run (the real vLLM CPU engine) and the Ray Data run (against a real
``vllm serve``) are slow and run once each; they never overlap, so only one engine runs at a time.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from mira_hf.reliability import Reliability
from mira_hf.selection import SelectionReport
from mira_hf.testing.hub_server import HubServer
from tests.conftest import EXAMPLES, REPO

SCRIPTS = REPO / "examples"
TOKEN = "hf_eXaMpLeToKeN0123456789abcdefQRS"
N_RECORDS = 36
SOURCES = ["agent_openhands", "davinc_dev", "swe_qa"]


def load_example(name: str):
    """Import an example script as a module (its work is under ``if __name__ == "__main__"``)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with HubServer(token=TOKEN) as server:
        yield server


def client_env(tmp_path: Path, hub: HubServer | None = None) -> dict[str, str]:
    """A fresh environment: no HF/MIRA settings from outside, an empty HF_HOME, the test Hub and its token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "MIRA_"))}
    env.update(
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_OFFLINE="1",
        HF_EVALUATE_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        VLLM_LOGGING_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if hub is not None:
        env.update(hub.client_env(), HF_TOKEN=TOKEN, HF_EVALUATE_OFFLINE="1")
    return env


def run_script(
    name: str, args: list[str], env: dict[str, str], cwd: Path, timeout: int = 600
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-6000:])
    return proc


def read_back(hub: HubServer, tmp_path: Path, repo_id: str) -> dict:
    """``datasets.load_dataset(repo_id)`` from the test Hub, in a fresh interpreter (HF_ENDPOINT is read at import)."""
    code = textwrap.dedent(f"""
        import json, datasets
        ds = datasets.load_dataset({repo_id!r}, split="train")
        print("RESULT " + json.dumps({{"columns": ds.column_names, "id": list(ds["id"]),
                                       "source": list(ds["source"]), "mira_quality": list(ds["mira_quality"])}}))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=client_env(tmp_path, hub),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def assert_pushed_selection(hub: HubServer, tmp_path: Path, repo_id: str, out: Path) -> tuple[SelectionReport, dict]:
    """The repo holds the data, card and JSON evidence, and reads back as exactly the rows saved locally."""
    files = hub.files(repo_id)
    assert {"README.md", "selection_report.json", "reliability.json"} <= set(files)
    shards = [p for p in files if p.startswith("data/") and p.endswith(".parquet")]
    report = SelectionReport.model_validate_json(files["selection_report.json"])
    assert sum(pq.read_table(io.BytesIO(files[p])).num_rows for p in shards) == report.kept
    local = datasets.load_from_disk(str(out / "selected"))
    back = read_back(hub, tmp_path, repo_id)
    assert back["id"] == list(local["id"]) and len(back["id"]) == report.kept > 0
    assert {"trajectory", "source", "teacher_scores", "mira_scores", "mira_quality"} <= set(back["columns"])
    assert SelectionReport.load(out / "selection_report.json").sources == report.sources
    return report, back


def assert_token_never_leaked(hub: HubServer, *texts: str) -> None:
    assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)  # it was used
    assert all(TOKEN not in t for t in texts)
    assert all(TOKEN.encode() not in blob for blob in hub.stored_bytes())


# ----------------------------------------------------------------------------------------------- the scripts
@pytest.mark.parametrize("name", ["score_agree_select", "ray_score"])
def test_each_example_says_what_it_does_and_how_to_run_it(name):
    doc = ast.get_docstring(ast.parse((SCRIPTS / f"{name}.py").read_text()))
    assert doc and f"python examples/{name}.py" in doc
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "usage:" in proc.stdout


def test_ray_score_without_ray_says_how_to_install_it(tmp_path):
    """With Ray missing, the script ends with one line naming the pip command (Ray is an optional extra)."""
    code = (
        f"import sys, runpy; sys.modules['ray'] = None; "
        f"sys.argv = ['ray_score.py', '--base-url', 'http://127.0.0.1:9/v1', '--output', 'out']; "
        f"runpy.run_path({str(SCRIPTS / 'ray_score.py')!r}, run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'error: Ray Data is not installed: pip install "mira-hf[ray]" (or pip install "ray[data]>=2.9")'
    ]


def test_pushing_to_the_real_hub_needs_a_repo_id(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "score_agree_select.py"), "--engine", "fake"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=client_env(tmp_path),
    )
    assert proc.returncode == 2 and "--repo-id" in proc.stderr and "--local-hub" in proc.stderr
    assert not (tmp_path / "mira-example").exists()


@pytest.mark.slow
def test_fake_engine_pipeline_pushes_a_selection_that_reads_back(hub, tmp_path):
    example = load_example("score_agree_select")
    repo_id = "mira-org/example-selection"
    proc = run_script(
        "score_agree_select",
        ["--engine", "fake", "--hub-endpoint", hub.endpoint, "--repo-id", repo_id, "--out", "out"],
        client_env(tmp_path, hub),
        tmp_path,
    )
    out = tmp_path / "out"
    assert f"scored {N_RECORDS} records: {{'ok': {N_RECORDS}}}" in proc.stdout
    assert "datasets.load_dataset reads them back" in proc.stdout

    report, back = assert_pushed_selection(hub, tmp_path, repo_id, out)
    assert report.kept == N_RECORDS // 2
    assert {s: back["source"].count(s) for s in SOURCES} == dict.fromkeys(SOURCES, N_RECORDS // 6)

    # the mask caught exactly the cells the stand-in engine scrambled, and travelled with the data
    pushed = Reliability.model_validate_json(hub.files(repo_id)["reliability.json"])
    assert pushed == Reliability.load(out / "reliability.json")
    scrambled = {(s, slot) for source, slot in example.SCRAMBLED for s in SOURCES if source in ("*", s)}
    for source in SOURCES:
        for slot, reliable in enumerate(pushed.mask[source]):
            assert reliable == ((source, slot) not in scrambled), (source, slot)
    assert "Tool Selection (Safety & Scope)" in hub.files(repo_id)["README.md"].decode()  # the card names it

    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3
    assert_token_never_leaked(hub, proc.stdout, proc.stderr)


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.timeout(1800)  # engine start-up alone takes minutes on a busy 2-core machine
def test_cpu_tiny_engine_pipeline_pushes_a_selection_that_reads_back(hub, tmp_path, tiny_model_path):
    """The real vLLM CPU engine on the tiny random-weight model, through every stage to the test Hub."""
    repo_id = "mira-org/cpu-tiny-selection"
    proc = run_script(
        "score_agree_select",
        [
            "--engine",
            "cpu-tiny",
            "--model-dir",
            str(tiny_model_path),
            "--hub-endpoint",
            hub.endpoint,
            "--repo-id",
            repo_id,
            "--out",
            "out",
        ],
        client_env(tmp_path, hub),
        tmp_path,
        timeout=1500,
    )
    assert "NOT meaningful" in proc.stderr
    assert f"scored {N_RECORDS} records: {{'ok': {N_RECORDS}}}" in proc.stdout
    report, back = assert_pushed_selection(hub, tmp_path, repo_id, tmp_path / "out")
    assert report.scorer["model"] == str(tiny_model_path) and report.scorer["max_model_len"] == 8192
    assert {s: back["source"].count(s) for s in SOURCES} == dict.fromkeys(SOURCES, N_RECORDS // 6)
    assert_token_never_leaked(hub, proc.stdout, proc.stderr)


# ----------------------------------------------------------------------------------------------- Ray Data
@pytest.mark.slow
@pytest.mark.server
@pytest.mark.timeout(1800)  # vllm serve start-up, then Ray's: minutes each on a busy 2-core machine
def test_ray_data_scores_every_record_through_a_real_vllm_serve(tmp_path, tiny_model_path, vllm_server):
    import ray  # noqa: F401 - the test needs Ray Data installed (the `ray` extra); it fails, never skips

    env = {**client_env(tmp_path), "MIRA_API_KEY": vllm_server.key}  # the session's server requires a key
    proc = run_script(
        "ray_score",
        [
            "--base-url",
            vllm_server.url,
            "--model",
            str(tiny_model_path),
            "--output",
            "scored",
            "--max-model-len",
            "8192",
            "--max-tokens",
            "1024",
            "--max-rationale-chars",
            "24",
            "--actors",
            "1",
            "--batch-size",
            "12",
            "--num-cpus",
            "2",
        ],
        env,
        tmp_path,
        timeout=1500,
    )
    assert f"scored {N_RECORDS} rows into scored: {{'ok': {N_RECORDS}}}" in proc.stdout
    assert vllm_server.key not in proc.stdout + proc.stderr

    scored = datasets.load_dataset(
        "parquet", data_dir=str(tmp_path / "scored"), split="train", cache_dir=str(tmp_path / "cache")
    )
    records = [json.loads(line) for line in (EXAMPLES / "trajectories.jsonl").read_text().splitlines() if line]
    by_id = {r["id"]: r for r in records}
    assert sorted(scored["id"]) == sorted(by_id) and len(scored) == N_RECORDS
    for row in scored:
        assert row["mira_status"] == "ok", row["mira_error"]
        assert len(row["mira_scores"]) == 15 and all(0 <= s <= 10 for s in row["mira_scores"])
        assert row["source"] == by_id[row["id"]]["source"]  # each row keeps its own input columns
        assert row["teacher_scores"] == by_id[row["id"]]["teacher_scores"]
    # each actor budgets prompts with the served model's tokenizer: the same records are shortened as here
    from transformers import AutoTokenizer

    from mira_hf.prompting.prompt import build_prompt

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_path))
    expected = {
        r["id"]: build_prompt(r["trajectory"], max_model_len=8192, max_tokens=1024, tokenizer=tokenizer).truncated
        for r in records
    }
    assert dict(zip(scored["id"], scored["mira_truncated"])) == expected
    assert 0 < sum(expected.values()) < N_RECORDS // 4  # the long records only, not a byte-budget guess
