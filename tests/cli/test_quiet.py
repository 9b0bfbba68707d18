"""A quiet terminal and fast failures: resumed-run counts, offline tokenizer look-ups, vLLM's log level."""

from __future__ import annotations

import os
import time

import pytest

import mira_hf
from mira_hf._util import offline
from mira_hf._util.progress import ScoreProgress
from mira_hf.testing.fake_engine import FakeEngine

RECORDS = [f"The agent reproduced bug {i}, fixed it and ran pytest." for i in range(6)]


def test_a_resumed_run_says_how_many_rows_came_from_the_store(tmp_path):
    first = mira_hf.Scorer(engine=FakeEngine(), cache_dir=str(tmp_path / "cache"))
    first.progress = ScoreProgress(total=4, enabled=False)
    first.score_records(RECORDS[:4])  # a run that died after 4 of 6 rows
    assert first.progress.summary()["stored"] == 0
    assert "from the store" not in first.progress.summary_line()

    again = mira_hf.Scorer(engine=FakeEngine(), cache_dir=str(tmp_path / "cache"))
    again.progress = ScoreProgress(total=6, enabled=False)
    rows = again.score_records(RECORDS)
    summary = again.progress.summary()
    assert (summary["rows"], summary["stored"], summary["scored_now"]) == (6, 4, 2)
    assert again.progress.summary_line().endswith("ok 6 — 4 from the store, 2 scored now")
    assert [r["mira_status"] for r in rows] == ["ok"] * 6


def test_the_cli_summary_of_a_resumed_run_counts_stored_and_new_rows(tmp_path, monkeypatch):
    import datasets
    from typer.testing import CliRunner

    from mira_hf.cli import app

    data = tmp_path / "data.jsonl"
    datasets.Dataset.from_dict({"text": RECORDS}).to_json(str(data))
    real_init = mira_hf.Scorer.__init__

    def with_fake_engine(self, model=None, **kw):  # the CLI's scorer, on the instant stand-in engine
        kw.update(engine=FakeEngine(), base_url=None, api_key=None)
        real_init(self, model, **kw)

    monkeypatch.setattr(mira_hf.Scorer, "__init__", with_fake_engine)
    runner = CliRunner()
    first = runner.invoke(app, ["score", str(data), "-o", str(tmp_path / "scored")])
    assert first.exit_code == 0, first.output
    assert "scored 6 rows" in first.output and "from the store" not in first.output
    again = runner.invoke(
        app, ["score", str(data), "-o", str(tmp_path / "scored-again"), "--cache-dir", str(tmp_path / "scored.cache")]
    )
    assert again.exit_code == 0, again.output
    assert "6 from the store, 0 scored now" in again.output


@pytest.fixture
def fresh_probe(monkeypatch):
    monkeypatch.setattr(offline, "_probed", {})
    monkeypatch.setattr(offline, "_warned", set())


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE=1", "no route to the Hub"])
def test_an_offline_tokenizer_lookup_falls_back_in_under_two_seconds(how, fresh_probe, monkeypatch, caplog):
    if how == "HF_HUB_OFFLINE=1":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # online as far as the variables say, but nothing answers at the endpoint
        import socket

        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed once the block ends: connections are refused
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    scorer = mira_hf.Scorer(model="whw06/MIRA-Agent-Group4", engine="openai", base_url="http://127.0.0.1:9/v1")
    start = time.monotonic()
    with caplog.at_level("WARNING", logger="mira_hf._util.offline"):
        assert scorer._budget_tokenizer(engine=None) is None
        assert scorer._budget_tokenizer(engine=None) is None  # asked again: says nothing more
    assert time.monotonic() - start < 2.0
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "budgeted by UTF-8 bytes" in warnings[0]
    assert ("HF_HUB_OFFLINE is set" if how == "HF_HUB_OFFLINE=1" else "cannot be reached") in warnings[0]


def test_a_local_tokenizer_folder_never_asks_the_hub(tiny_model_path, fresh_probe, monkeypatch):
    monkeypatch.setattr(offline, "hub_reachable", lambda *a, **k: pytest.fail("probed the Hub for a local folder"))
    assert offline.load_tokenizer(str(tiny_model_path)) is not None


@pytest.mark.parametrize("verbose", [False, True])
def test_the_cli_sets_vllm_to_warnings_unless_verbose(verbose, monkeypatch):
    import warnings

    from typer.testing import CliRunner

    from mira_hf._util import logs
    from mira_hf.cli import app

    for var in ("VLLM_LOGGING_LEVEL", "PYTHONWARNINGS", "TORCH_CPP_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)  # restored after the test
    monkeypatch.setattr(warnings, "filters", warnings.filters[:])
    monkeypatch.setattr(logs, "_chose_vllm_level", False)
    result = CliRunner().invoke(app, (["-v"] if verbose else []) + ["install-metric"])
    assert result.exit_code == 0, result.output
    assert os.environ.get("VLLM_LOGGING_LEVEL") == ("INFO" if verbose else "WARNING")
    logs.quiet_cpu_engine()  # the demo's CPU stand-in: errors only, unless -v
    assert os.environ.get("VLLM_LOGGING_LEVEL") == ("INFO" if verbose else "ERROR")


def test_a_level_the_user_chose_is_kept(monkeypatch):
    import warnings

    from mira_hf._util import logs

    monkeypatch.setenv("VLLM_LOGGING_LEVEL", "DEBUG")
    for var in ("PYTHONWARNINGS", "TORCH_CPP_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(warnings, "filters", warnings.filters[:])
    monkeypatch.setattr(logs, "_chose_vllm_level", False)
    assert logs.set_verbosity(verbose=False) == "DEBUG"
    logs.quiet_cpu_engine()
    assert os.environ["VLLM_LOGGING_LEVEL"] == "DEBUG"


def test_an_offline_model_lookup_fails_at_once_with_what_to_do(fresh_probe, monkeypatch, tmp_path):
    from mira_hf.errors import EngineUnavailableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(EngineUnavailableError, match=r"not in the local cache and HF_HUB_OFFLINE is set.*hf download"):
        offline.resolve_model("whw06/MIRA-Agent-Group4")
    assert time.monotonic() - start < 2.0
    assert offline.resolve_model(str(tmp_path)) == str(tmp_path)  # a local folder is used as it is
