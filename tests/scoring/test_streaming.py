"""Streaming scoring (``mira_hf.score_dataset``, ``mira-hf score --stream``): the batch path's rows, fingerprint and
failures, with the engine kept full across batch boundaries, and nothing lost or scored twice after ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest

import mira_hf
from mira_hf.answer.format import format_output
from mira_hf.scoring.store import RowStore
from mira_hf.testing.fake_engine import FakeEngine, card_for
from tests._server_loopback import Reply, StubServer

ROOT = Path(__file__).resolve().parents[2]


def answer(user: str) -> str | None:
    """The fake engine's answer; a record mentioning ``BOOM`` fails in the engine (that request only)."""
    return None if "BOOM" in user else format_output(card_for(user), mira_hf.load_rubric("agent-group4"))


def records(n: int) -> datasets.Dataset:
    texts = [f"$ pytest tests/test_{i}.py\n{i} passed" for i in range(n)]
    texts[3], texts[5] = "", "$ make\nBOOM: segfault"  # an unreadable record and an engine failure
    return datasets.Dataset.from_dict({"id": list(range(n)), "text": texts})


def test_streaming_gives_the_batch_paths_rows_columns_and_fingerprint_and_bad_rows_fail_alone():
    ds = records(40)
    engine = FakeEngine(respond=answer)
    streamed = mira_hf.score_dataset(ds, mira_hf.Scorer(engine=engine), batch_size=16)
    batch = ds.map(mira_hf.Scorer(engine=FakeEngine(respond=answer)), batched=True, batch_size=16)
    assert streamed.to_list() == batch.to_list()
    assert streamed.column_names == batch.column_names and streamed._fingerprint == batch._fingerprint
    statuses = streamed["mira_status"]
    assert statuses[3] == "invalid_input" and statuses[5] == "engine_error"
    assert statuses.count("ok") == 38
    assert len(engine.seen) == len(set(engine.seen)) == 39  # every readable row sent once, the failed one too


def test_the_endpoint_pool_keeps_max_in_flight_requests_across_batch_boundaries():
    """One slow request per batch of 8 holds ``ds.map`` back; streaming keeps sending the other rows meanwhile."""

    def slow_every_8th(body, nth):
        return Reply(delay=0.4 if "slow" in body["messages"][-1]["content"] else 0.01)

    texts = [f"$ pytest\n{i} passed{' slow' if i % 8 == 0 else ''}" for i in range(32)]
    ds = datasets.Dataset.from_dict({"text": texts})
    settings = dict(model="stub-model", engine="openai", max_in_flight=8, structured=False, progress=False)
    with StubServer(slow_every_8th, max_model_len=16384) as stub:
        scorer = mira_hf.Scorer(base_url=stub.url, **settings)
        streamed = mira_hf.score_dataset(ds, scorer, batch_size=8)
        streamed_requests = len(stub.chat_requests())
        batch = ds.map(mira_hf.Scorer(base_url=stub.url, **settings), batched=True, batch_size=8)
    assert streamed.to_list() == batch.to_list()
    assert streamed_requests == 32
    stats = scorer.stream_stats
    assert (stats.rows, stats.sent, stats.slots) == (32, 32, 8)
    # ds.map leaves at most 1 of the 8 slots busy while a batch's slow request finishes; streaming fills them
    assert stats.occupancy_fed > 0.5


KILLED_RUN = """
import sys, time, datasets, mira_hf
from mira_hf.testing.fake_engine import FakeEngine

class Slow(FakeEngine):
    def generate(self, conversations, sampling):
        time.sleep(0.05)
        return super().generate(conversations, sampling)

ds = datasets.Dataset.from_dict({"text": [f"$ pytest\\n{i} passed" for i in range(int(sys.argv[2]))]})
mira_hf.score_dataset(ds, mira_hf.Scorer(engine=Slow(), cache_dir=sys.argv[1]), depth=4)
"""


def test_kill_9_mid_stream_then_rerun_loses_and_duplicates_nothing(tmp_path):
    n = 400
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(cache), str(n)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if cache.is_dir() and len(RowStore(cache)) >= 64:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    before = len(RowStore(cache))
    assert 64 <= before < n

    ds = datasets.Dataset.from_dict({"text": [f"$ pytest\n{i} passed" for i in range(n)]})
    engine = FakeEngine()
    resumed = mira_hf.score_dataset(ds, mira_hf.Scorer(engine=engine, cache_dir=str(cache)))
    fresh = ds.map(mira_hf.Scorer(engine=FakeEngine()), batched=True)
    assert resumed.to_list() == fresh.to_list()  # nothing lost
    assert len(engine.seen) == len(set(engine.seen)) == n - before  # only the missing rows, each once
    assert len(RowStore(cache)) == n


def test_cli_score_streams_by_default_and_no_stream_writes_the_same_rows(tmp_path):
    from typer.testing import CliRunner

    from mira_hf.cli import app

    data = tmp_path / "rows.jsonl"
    data.write_text("".join(f'{{"id": {i}, "text": "agent ran pytest {i}"}}\n' for i in range(6)))
    out = {}
    with StubServer(max_model_len=16384) as stub:
        for flag in ("--stream", "--no-stream"):
            result = CliRunner().invoke(
                app,
                [
                    "score",
                    str(data),
                    "-o",
                    str(tmp_path / flag),
                    "--engine",
                    "openai",
                    "--base-url",
                    stub.url,
                    "--model",
                    "stub-model",
                    "--no-structured",
                    "--batch-size",
                    "4",
                    flag,
                ],
            )
            assert result.exit_code == 0, result.output
            out[flag] = datasets.load_from_disk(str(tmp_path / flag)).to_list()
        assert len(stub.chat_requests()) == 12
    assert out["--stream"] == out["--no-stream"] and [r["id"] for r in out["--stream"]] == list(range(6))


@pytest.mark.parametrize("depth", [1, 3])
def test_a_custom_engine_is_fed_in_chunks_of_depth(depth):
    engine = FakeEngine()
    ds = datasets.Dataset.from_dict({"text": [f"$ ls\n{i}" for i in range(7)]})
    mira_hf.score_dataset(ds, mira_hf.Scorer(engine=engine), depth=depth)
    assert sum(engine.calls) == 7 and max(engine.calls) == depth


def test_estimate_counts_the_sample_and_says_where_the_rate_comes_from(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mira_hf.cli import app
    from mira_hf.scoring.estimate import PUBLISHED_RECORDS_PER_S

    monkeypatch.setenv("MIRA_THROUGHPUT_FILE", str(tmp_path / "none.json"))
    ds = datasets.Dataset.from_dict({"text": ["$ pytest\n3 passed"] * 90 + ["x" * 400_000] * 10})
    est = mira_hf.Scorer(max_model_len=32768).estimate(ds, sample=100)
    assert (est.rows, est.sampled, est.shortened_rows, est.invalid_rows) == (100, 100, 10, 0)
    assert est.records_per_s == PUBLISHED_RECORDS_PER_S and "published" in est.records_per_s_source
    assert est.gpu_hours == pytest.approx(100 / 3.0 / 3600)
    assert est.completion_tokens == 100 * 1500 and est.prompt_tokens > 90 * 1000

    (tmp_path / "gpu.json").write_text('{"records_per_s": 4.5, "device": "NVIDIA H200"}')
    monkeypatch.setenv("MIRA_THROUGHPUT_FILE", str(tmp_path / "gpu.json"))
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "agent ran pytest"}\n' * 50)
    result = CliRunner().invoke(app, ["score", str(data), "-o", str(tmp_path / "out"), "--estimate", "--gpus", "2"])
    assert result.exit_code == 0, result.output
    assert "rows: 50" in result.output and "at 4.5 records/s" in result.output and "NVIDIA H200" in result.output
    assert not (tmp_path / "out").exists()  # nothing scored, no engine started


def test_a_dataset_dict_is_refused_with_what_to_do_instead():
    from mira_hf.errors import ConfigurationError

    splits = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["$ ls"]})})
    with pytest.raises(ConfigurationError, match="score each split"):
        mira_hf.score_dataset(splits, mira_hf.Scorer(engine=FakeEngine()))


def test_an_engine_taking_token_ids_gets_each_prompt_tokenized_once_and_stored_rows_are_never_tokenized(tmp_path):
    """Streaming then reading the store, then a rerun: a record within the byte budget goes through the tokenizer
    once in all (the ids the engine gets); one over it once per pass (its prompt, hence its resume key, depends on
    its length in tokens), the engine's ids included."""
    from mira_hf.prompting.prompt import chat_token_ids
    from mira_hf.testing.tiny_model import tekken_tokenizer

    tok = tekken_tokenizer()
    texts = [f"$ pytest tests/test_{i}.py\n{i} passed" for i in range(12)]
    texts[7] = "$ pytest tests/test_7.py\n" + "7 passed, the agent ran the tests again\n" * 300  # > byte budget
    seen = dict.fromkeys(range(12), 0)

    class Counting:
        def __init__(self):
            self.chat_template = tok.chat_template

        def apply_chat_template(self, conversations, **kwargs):
            for i in seen:
                seen[i] += str(conversations).count(f"tests/test_{i}.py\\n")
            return tok.apply_chat_template(conversations, **kwargs)

        def __getattr__(self, name):
            return getattr(tok, name)

    class TakesIds(FakeEngine):
        accepts_token_ids = True
        tokenizer = Counting()
        got: list = []

        def generate(self, conversations, sampling, token_ids=None):
            assert token_ids == chat_token_ids(tok, conversations)
            self.got.extend(token_ids)
            return super().generate(conversations, sampling)

    ds = datasets.Dataset.from_dict({"text": texts})
    engine = TakesIds()

    def scorer():
        return mira_hf.Scorer(engine=engine, max_model_len=8192, max_tokens=1024, cache_dir=str(tmp_path / "rows"))

    streamed = mira_hf.score_dataset(ds, scorer(), batch_size=5)
    assert set(streamed["mira_status"]) == {"ok"} and len(engine.got) == 12
    once = [1] * 7 + [2] + [1] * 4  # sent (ids measured once, not again for the engine), then read from the store
    assert list(seen.values()) == once
    again = ds.map(scorer(), batched=True, load_from_cache_file=False)
    assert again.to_list() == streamed.to_list() and len(engine.got) == 12  # nothing sent again
    assert list(seen.values()) == [1] * 7 + [3] + [1] * 4


def test_finished_rows_are_stored_within_the_interval_even_while_the_engine_stalls(tmp_path):
    """The sink stores what finished every ``group_s`` seconds on its own clock, not only when another row
    finishes: a stalled engine (or a kill -9 during the stall) loses only the rows still in flight."""
    from mira_hf.scoring.streaming.sink import Sink

    scorer = mira_hf.Scorer(engine=FakeEngine(), cache_dir=str(tmp_path / "store"))
    plan = scorer.plan_records([f"$ pytest -k case{i}\n1 passed" for i in range(3)])
    completions = scorer.engine.generate([p.messages for p in plan.todo], scorer.sampling)
    sink = Sink(scorer, group_rows=64, group_s=0.2)
    try:
        for item, completion in zip(plan.todo, completions):
            sink.add(item, completion)  # 3 rows finished, then nothing more finishes
        deadline = time.monotonic() + 10
        while len(RowStore(tmp_path / "store")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(RowStore(tmp_path / "store")) == 3
    finally:
        sink.close()
