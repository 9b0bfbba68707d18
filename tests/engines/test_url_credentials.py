"""A base URL with ``user:password@`` (a server behind basic auth): sent as ``Authorization: Basic``, refused in one
line beside an API key, and never shown in a message, a log line or a file written."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from mira_hf.answer.format import format_output
from mira_hf.cli import app
from mira_hf.engines.base import Sampling
from mira_hf.engines.openai import OpenAIEngine
from mira_hf.errors import ConfigurationError, EngineUnavailableError
from mira_hf.rubric import load_rubric
from mira_hf.testing.fake_engine import card_for
from tests._server_loopback import Reply, StubServer, completion_body, free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = REPO / "examples" / "data" / "trajectories.jsonl"
USER, PASSWORD = "gate", "pw-9c1e-Secret"
KEY = "sk-url-cred-test-5b7d2e"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FAST = dict(backoff_base=0.01, backoff_max=0.05, timeout=5.0, max_retries=1)


def with_login(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@")


def answer(body: dict, nth: int) -> Reply:
    """A valid answer of the card's rubric, so the rows are scored ``ok``."""
    rubric = load_rubric()
    text = format_output(card_for(body["messages"][-1]["content"], len(rubric)), rubric)
    return Reply(body=completion_body([text], 10, 10))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MIRA_API_KEY", "OPENAI_API_KEY", "MIRA_BASE_URL")}
    return {**env, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def assert_hidden(text: str) -> None:
    assert PASSWORD not in text and KEY not in text and BASIC.split()[1] not in text


@pytest.fixture
def quiet_env(monkeypatch):
    for name in ("MIRA_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_urls_user_password_goes_as_basic_auth_and_other_endpoints_keep_the_bearer_key(quiet_env):
    """Alone, the URL's credentials are basic auth; the general OPENAI_API_KEY still goes to a plain endpoint."""
    quiet_env.setenv("OPENAI_API_KEY", KEY)
    with StubServer() as gated, StubServer() as plain:
        with OpenAIEngine("stub-model", [with_login(gated.url), plain.url], **FAST) as engine:
            out = engine.generate([[{"role": "user", "content": f"row {i}"}] for i in range(8)], Sampling())
            shown = repr(engine) + json.dumps(engine.identity())
        assert [c.text for c in out] == [f"row {i}" for i in range(8)]
        assert gated.chat_requests() and plain.chat_requests()
        assert {s.headers["Authorization"] for s in gated.seen} == {BASIC}  # probes and requests alike
        assert {s.headers["Authorization"] for s in plain.seen} == {f"Bearer {KEY}"}
        assert {s.path for s in gated.seen} == {"/v1/models", "/v1/chat/completions"}
    assert gated.url in shown
    assert_hidden(shown)


def test_a_url_with_credentials_beside_an_api_key_is_one_error_before_any_request(quiet_env):
    with StubServer() as server:
        for how in ("argument", "MIRA_API_KEY"):
            if how == "MIRA_API_KEY":
                quiet_env.setenv("MIRA_API_KEY", KEY)
            with pytest.raises(ConfigurationError) as err:
                OpenAIEngine("stub-model", with_login(server.url), api_key=KEY if how == "argument" else None, **FAST)
            message = str(err.value)
            assert "\n" not in message and server.url in message and "remove the user:password" in message
            assert_hidden(message)
        assert server.seen == []  # nothing was sent


def test_errors_and_logs_of_an_endpoint_with_credentials_never_show_them(quiet_env, caplog):
    caplog.set_level(logging.DEBUG, logger="mira_hf")
    dead = with_login(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(EngineUnavailableError) as err:
        OpenAIEngine("stub-model", dead, **FAST)
    assert "127.0.0.1" in str(err.value)
    assert_hidden(str(err.value))
    with StubServer(lambda body, nth: Reply(status=500, body={"error": {"message": "boom"}})) as failing:
        with OpenAIEngine("stub-model", with_login(failing.url), **FAST) as engine:
            out = engine.generate([[{"role": "user", "content": "x"}]], Sampling())
    assert out[0].error and "boom" in out[0].error
    assert_hidden(out[0].error)
    assert_hidden(caplog.text)


def _data(tmp_path: Path, n: int = 3) -> Path:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": f"agent ran pytest {i}"}) + "\n" for i in range(n)))
    return data


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from mira_hf.cli import main; main()", *map(str, args)],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and sum(line.startswith("error:") for line in lines) == 1, proc.stderr
    assert_hidden(proc.stderr + proc.stdout)
    return lines[-1]


def test_cli_score_with_credentials_in_the_url_and_a_key_is_one_line_and_without_the_key_works(tmp_path):
    with StubServer(answer, max_model_len=16384) as server:
        url = with_login(server.url)
        common = (
            "score",
            _data(tmp_path),
            "--engine",
            "openai",
            "--base-url",
            url,
            "--model",
            "stub-model",
            "--max-model-len",
            "16384",
            "--max-tokens",
            "512",
        )
        error = _one_line_error(_cli(*common, "-o", tmp_path / "refused", MIRA_API_KEY=KEY))
        assert "API key" in error and server.url in error
        assert server.chat_requests() == []

        result = CliRunner().invoke(app, [str(a) for a in (*common, "-o", tmp_path / "out")], env=clean_env())
        assert result.exit_code == 0, result.output
        assert len(server.chat_requests()) == 3
        assert {s.headers["Authorization"] for s in server.seen} == {BASIC}
    assert_hidden(result.output)
    assert set(datasets.load_from_disk(str(tmp_path / "out"))["mira_status"]) == {"ok"}
    for path in tmp_path.rglob("*"):  # the dataset, the resume store and anything else written
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def _plan(tmp_path: Path, url: str, **scorer: str) -> Path:
    sources = sorted(set(datasets.load_dataset("json", data_files=str(EXAMPLE_DATA), split="train")["source"]))
    plan = {
        "data": str(EXAMPLE_DATA),
        "text_column": "trajectory",
        "batch_size": 8,
        "report": True,
        "groups": {
            "all": {
                "sources": sources,
                "retention": 0.5,
                "scorer": {
                    "engine": "openai",
                    "base_urls": [url],
                    "model": "stub-model",
                    "max_model_len": 16384,
                    **scorer,
                },
            }
        },
    }
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(plan))
    return path


def test_cli_run_with_a_plan_whose_base_urls_have_credentials(tmp_path):
    with StubServer(answer, max_model_len=16384) as server:
        url = with_login(server.url)
        error = _one_line_error(
            _cli("run", _plan(tmp_path, url, api_key_env="GATE_KEY"), "-o", tmp_path / "refused", GATE_KEY=KEY)
        )
        assert "API key" in error and server.url in error
        assert server.chat_requests() == []

        result = CliRunner().invoke(
            app, ["run", str(_plan(tmp_path, url)), "-o", str(tmp_path / "out")], env=clean_env()
        )
        assert result.exit_code == 0, result.output
        assert server.chat_requests() and {s.headers["Authorization"] for s in server.seen} == {BASIC}
    assert_hidden(result.output)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in written)
    for path in written:  # scores, manifests, masks, the report and the card
        assert PASSWORD.encode() not in path.read_bytes(), path
