"""The mixture at the speed of ``score``: every group streams (``mira_hf.score_dataset(ds, MixtureScorer)``, and
``mira-hf run``), giving the batch path's rows; both endpoint pools stay full at once across batch and group
boundaries; a ``kill -9`` loses only what was in flight or not yet written."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest

import mira_hf
from mira_hf.answer.format import format_output
from mira_hf.mixture import Plan
from mira_hf.rubric import load_rubric
from mira_hf.scoring.store import RowStore
from mira_hf.testing.fake_engine import FakeEngine, card_for
from tests._server_loopback import Reply, StubServer, completion_body

ROOT = Path(__file__).resolve().parents[2]
QA_RUBRIC = ROOT / "examples" / "data" / "qa5_dim_anchors.jsonl"
RUBRICS = {"m15": load_rubric("agent-group4"), "m5": load_rubric(QA_RUBRIC)}


def two_groups(**extra) -> dict:
    """Agents (the card's 15 dimensions) and qa (5), every row kept by half."""
    return {
        "data": "rows.jsonl",
        "text_column": "text",
        "report": False,
        **extra,
        "groups": {
            "agents": {"sources": ["agent_openhands", "davinc_dev"], "retention": 0.5},
            "qa": {"sources": ["swe_qa"], "rubric": str(QA_RUBRIC), "retention": 0.5},
        },
    }


def served(plan: dict, urls: dict[str, str], max_in_flight: int = 8) -> dict:
    """Each group on its own loopback endpoint: agents as model m15, qa as m5."""
    for group, model in (("agents", "m15"), ("qa", "m5")):
        plan["groups"][group]["scorer"] = {
            "model": model,
            "engine": "openai",
            "base_urls": [urls[group]],
            "max_model_len": 16384,
            "max_in_flight": max_in_flight,
            "structured": False,
        }
    return plan


def answer(body: dict) -> Reply:
    """A valid answer in the rubric of the model asked."""
    user = body["messages"][-1]["content"]
    rubric = RUBRICS[body["model"]]
    text = format_output(card_for(user, len(rubric)), rubric)
    return Reply(body=completion_body([text], len(user) // 4, len(text) // 4))


def delay(user: str) -> float:
    """30–70 ms, fixed per prompt: answers finish out of order."""
    return 0.03 + int(hashlib.sha256(user.encode()).hexdigest(), 16) % 5 * 0.01


def test_streaming_a_mixture_gives_the_batch_paths_rows_order_columns_and_fingerprint():
    """Sources interleaved at random, an indices mapping, a bad record and an engine failure: the same rows."""
    rng = random.Random(3)
    sources = [rng.choice(["agent_openhands", "davinc_dev", "swe_qa"]) for _ in range(90)]
    texts = [f"$ pytest tests/test_{i}.py\n{i} passed" for i in range(90)]
    texts[4], texts[11], texts[20] = "", "$ make\nBOOM: segfault", texts[19]  # invalid, engine error, duplicate
    ds = datasets.Dataset.from_dict({"id": list(range(90)), "source": sources, "text": texts})
    ds = ds.shuffle(seed=1).filter(lambda r: r["id"] != 50)  # an indices mapping

    def engines() -> dict[str, FakeEngine]:
        def fail(rubric):
            return lambda user: None if "BOOM" in user else format_output(card_for(user, len(rubric)), rubric)

        return {
            "agents": FakeEngine(respond=fail(RUBRICS["m15"])),
            "qa": FakeEngine(respond=fail(RUBRICS["m5"]), rubric=str(QA_RUBRIC)),
        }

    plan = Plan.model_validate(two_groups())
    streamed_engines = engines()
    mixture = mira_hf.MixtureScorer(plan, engines=streamed_engines)
    streamed = mira_hf.score_dataset(ds, mixture, batch_size=7)
    batch = ds.map(mira_hf.MixtureScorer(plan, engines=engines()), batched=True, batch_size=7)
    assert streamed.to_list() == batch.to_list()
    assert streamed.column_names == batch.column_names and streamed._fingerprint == batch._fingerprint
    assert streamed["id"] == ds["id"]
    assert streamed["mira_group"] == ["qa" if s == "swe_qa" else "agents" for s in ds["source"]]
    status = dict(zip(streamed["id"], streamed["mira_status"]))
    assert (status[4], status[11]) == ("invalid_input", "engine_error") and list(status.values()).count("ok") == 87
    for group, engine in streamed_engines.items():  # each readable record of the group sent, no other group's
        texts = {t for t, g in zip(ds["text"], streamed["mira_group"]) if g == group and t}
        assert len(set(engine.seen)) == len(texts) and all(any(t in u for u in engine.seen) for t in texts)
        assert mixture.stream_stats[group].rows == streamed["mira_group"].count(group)


def test_both_endpoint_pools_stay_full_at_once_across_batch_and_group_boundaries():
    """Sorted by source, batches of 4, 8 in flight per group: batch by batch a group never has more than 4 requests at
    its server and the two servers are never busy together; streaming keeps both at 8 at the same time."""
    servers: dict[str, StubServer] = {}
    at_arrival: list[tuple[int, int]] = []  # requests in flight at (agents' server, qa's server), at each arrival

    async def handler(body, nth):
        at_arrival.append((servers["agents"].in_flight, servers["qa"].in_flight))
        user = body["messages"][-1]["content"]
        await asyncio.sleep(delay(user))
        return answer(body)

    texts = [f"$ pytest tests/test_{i}.py\n{i} passed" for i in range(96)]
    ds = datasets.Dataset.from_dict({"source": ["agent_openhands"] * 48 + ["swe_qa"] * 48, "text": texts})
    with (
        StubServer(handler, model="m15", max_model_len=16384) as a,
        StubServer(handler, model="m5", max_model_len=16384) as b,
    ):
        servers.update(agents=a, qa=b)
        plan = Plan.model_validate(served(two_groups(), {"agents": a.url, "qa": b.url}))
        batch = ds.map(mira_hf.MixtureScorer(plan), batched=True, batch_size=4, load_from_cache_file=False)
        batch_in_flight = list(at_arrival)
        at_arrival.clear()
        mixture = mira_hf.MixtureScorer(plan)
        streamed = mira_hf.score_dataset(ds, mixture, batch_size=4, load_from_cache_file=False)
        assert len(a.chat_requests()) == len(b.chat_requests()) == 96  # 48 per group and path
    assert streamed.to_list() == batch.to_list()
    assert max(max(pair) for pair in batch_in_flight) <= 4 and max(min(pair) for pair in batch_in_flight) == 0
    assert max(min(pair) for pair in at_arrival) == 8  # both pools full at the same moment
    assert {g: (s.sent, s.slots) for g, s in mixture.stream_stats.items()} == {"agents": (48, 8), "qa": (48, 8)}


def test_kill_9_of_mira_hf_run_mid_scoring_loses_only_what_was_in_flight_or_unwritten(tmp_path):
    """720 rows sorted by source, two endpoint groups (8 in flight each), killed after 200 answers: the rows stored
    are all but the last < 64 per group and those in flight, so the rerun sends only the rows not stored, each once,
    and the scored rows are every row once, in order."""
    servers: dict[str, StubServer] = {}
    answered: list[str] = []

    async def handler(body, nth):
        user = body["messages"][-1]["content"]
        await asyncio.sleep(delay(user))
        answered.append(user)
        return answer(body)

    n = 720
    rows = [
        {
            "id": i,
            "source": "agent_openhands" if i < n // 2 else "swe_qa",
            "text": f"$ pytest tests/test_{i}.py\n{i} passed",
        }
        for i in range(n)
    ]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "MIX_KEY": "sk-mix-test"}
    cmd = [
        sys.executable,
        "-c",
        "from mira_hf.cli import main; main()",
        "run",
        str(tmp_path / "plan.yaml"),
        "-o",
        str(out),
    ]
    with (
        StubServer(handler, model="m15", max_model_len=16384) as a,
        StubServer(handler, model="m5", max_model_len=16384) as b,
    ):
        servers.update(agents=a, qa=b)
        plan = served(two_groups(data=str(tmp_path / "rows.jsonl")), {"agents": a.url, "qa": b.url})
        plan["groups"]["agents"]["sources"] = ["agent_openhands"]
        plan["groups"]["qa"]["scorer"]["api_key_env"] = "MIX_KEY"  # its key from the variable the plan names
        (tmp_path / "plan.yaml").write_text(json.dumps(plan))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(answered) < 200 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 200 <= len(answered) < n, proc.stderr.read().decode()[-2000:]
        while a.in_flight or b.in_flight:  # the requests in flight at the kill end at the servers
            time.sleep(0.01)
        sent = [len(a.chat_requests()), len(b.chat_requests())]
        first = [s.body["messages"][-1]["content"] for s in a.chat_requests() + b.chat_requests()]
        answered_first = set(answered)
        stored = len(RowStore(out / "cache"))  # one store for every group
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        second = [
            s.body["messages"][-1]["content"] for s in a.chat_requests()[sent[0] :] + b.chat_requests()[sent[1] :]
        ]
        assert {s.headers.get("Authorization") for s in b.chat_requests()} == {"Bearer sk-mix-test"}
    assert len(second) == len(set(second)) == n - stored  # no stored row asked again, none twice
    assert len(set(first) | set(second)) == n
    lost = answered_first & set(second)  # answered in the first run, yet not stored
    assert len(lost) <= 2 * (64 + 8), f"{len(lost)} of {len(answered_first)} answered rows were asked again"
    scored = datasets.load_from_disk(str(out / "scored"))
    assert scored["id"] == list(range(n)) and set(scored["mira_status"]) == {"ok"}
    assert scored["mira_group"] == ["agents"] * (n // 2) + ["qa"] * (n // 2)
    assert len(RowStore(out / "cache")) == n


def test_a_group_that_fails_stops_the_others_and_keeps_what_they_finished(tmp_path):
    """The in-process group's engine dies while the endpoint group streams: the error comes out, the endpoint group
    stops sending, and every row it had answered is stored (a rerun would not ask for it again)."""
    from mira_hf.errors import EngineUnavailableError

    answered: list[str] = []

    async def handler(body, nth):
        user = body["messages"][-1]["content"]
        await asyncio.sleep(delay(user))
        answered.append(user)
        return answer(body)

    class Dies(FakeEngine):
        def generate(self, conversations, sampling):
            time.sleep(0.5)
            raise EngineUnavailableError("the engine's workers died")

    texts = [f"$ pytest tests/test_{i}.py\n{i} passed" for i in range(400)]
    ds = datasets.Dataset.from_dict({"source": ["agent_openhands", "swe_qa"] * 200, "text": texts})
    with StubServer(handler, model="m15", max_model_len=16384) as stub:
        plan = served(two_groups(), {"agents": stub.url, "qa": stub.url})
        del plan["groups"]["qa"]["scorer"]  # qa: the in-process engine (here a double that dies)
        mixture = mira_hf.MixtureScorer(
            Plan.model_validate(plan), cache_dir=tmp_path / "cache", engines={"qa": Dies(rubric=str(QA_RUBRIC))}
        )
        try:
            mira_hf.score_dataset(ds, mixture)
        except EngineUnavailableError as e:
            assert "workers died" in str(e)
        else:
            raise AssertionError("the engine's failure did not come out")
        sent = len(stub.chat_requests())
        time.sleep(0.3)
        assert len(stub.chat_requests()) == sent < 200  # stopped, not finished in the background
        while stub.in_flight:
            time.sleep(0.01)
    stored = len(RowStore(tmp_path / "cache"))  # the agents group's rows: the qa group stored none
    assert len(answered) - 8 <= stored <= len(answered) and stored > 0


@pytest.mark.slow
def test_the_mixture_benchmark_prints_both_paths_share_of_the_two_servers(tmp_path):
    """``bench_stream.py --mixture --quick``: the table for ``ds.map(MixtureScorer)`` and for streaming every group."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_stream.py"),
            "--mixture",
            "--quick",
            "--slots",
            "8",
            "--in-flight",
            "8",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("200 rows sorted by source, two endpoint groups; each server: 8 slots")
    rows = [line.split("|") for line in lines[3:] if "|" in line]
    assert [r[1].strip() for r in rows] == ["ds.map(MixtureScorer), batch 64", "streaming, every group"]
    saved = json.loads((tmp_path / "stream_mixture_200.json").read_text())  # the figures, for docs/performance.md
    assert saved["command"].startswith("python benchmarks/bench_stream.py --mixture --quick")
    assert all(0 < float(cell.strip().rstrip("%")) <= 100 for r in rows for cell in r[3:])
