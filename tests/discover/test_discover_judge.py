"""Free-form teacher judging: faults survived, resume after ``kill -9``, and the stage-1 CLI commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
from typer.testing import CliRunner

from mira_hf.cli import app
from mira_hf.discover import judge
from mira_hf.rubric import load_rubric
from mira_hf.scoring.store import RowStore
from mira_hf.testing.judge_server import FAMILIES, JudgeServer, propose
from tests.fault_proxy import FaultProxy

REPO = Path(__file__).resolve().parents[2]
TOPICS = [
    "pytest fails with a traceback",
    "the patch is resolved",
    "a plan with a hypothesis",
    "grep and explore the files",
    "install the package",
    "a summary for the user",
]
FAST_RETRIES = {"timeout": 1.0, "max_retries": 4, "backoff_base": 0.01, "backoff_max": 0.05, "eject_after": 1000}


def records(n: int) -> datasets.Dataset:
    """Chat records whose topics decide what the loopback teacher proposes."""
    rows = [
        {
            "id": f"r{i}",
            "source": f"src{i % 3}",
            "messages": [
                {"role": "user", "content": f"Task {i}: {TOPICS[i % len(TOPICS)]}."},
                {"role": "assistant", "content": f"Done with task {i}."},
            ],
        }
        for i in range(n)
    ]
    return datasets.Dataset.from_list(rows)


def test_judging_survives_resets_500s_429s_and_timeouts():
    ds = records(40)
    with (
        JudgeServer() as server,
        FaultProxy(
            server.url,
            seed=7,
            reset=0.1,
            stall=0.05,
            error500=0.1,
            error429=0.1,
            stall_s=3.0,
            first=["reset", "stall", "error500", "error429"],
        ) as proxy,
    ):
        out = judge(
            ds, model=server.model, base_url=proxy.url, max_in_flight=8, progress=False, engine_options=FAST_RETRIES
        )
    assert {"reset", "stall", "error500", "error429"} <= set(proxy.counts)
    recs = out["records"]
    assert recs["id"] == ds["id"] and recs["source"] == ds["source"]  # rows in = rows out, in order
    assert set(recs["status"]) <= {"ok", "error"} and recs["status"].count("ok") >= 36
    assert all(e for s, e in zip(recs["status"], recs["error"]) if s == "error")
    by_record: dict[str, list[str]] = {}
    for p in out["proposals"]:
        by_record.setdefault(p["record_id"], []).append(p["dimension"])
    for row in recs:
        if row["status"] == "ok":  # every answer came back to the record that asked for it
            text = json.loads(row["raw"])
            assert by_record[row["id"]] == [d["name"] for d in text["dimensions"]]
            assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0


def test_structured_outputs_and_lenient_parsing():
    ds = records(6).add_item(
        {"id": "bad", "source": "src0", "messages": [{"role": "user", "content": "GARBLED record"}]}
    )
    with JudgeServer(fenced=True) as server:
        out = judge(ds, model=server.model, base_url=server.url, progress=False)
        schema = server.bodies[0]["response_format"]["json_schema"]["schema"]
        assert schema["required"] == ["dimensions"]
        no_source = judge(
            ds.select(range(2)).remove_columns("source"),
            model=server.model,
            base_url=server.url,
            progress=False,
            structured=False,
        )
        assert "response_format" not in server.bodies[-1] and no_source["records"]["status"] == ["ok", "ok"]
    statuses = dict(zip(out["records"]["id"], out["records"]["status"]))
    assert statuses.pop("bad") == "invalid_output" and set(statuses.values()) == {"ok"}
    first = out["proposals"].filter(lambda p: p["record_id"] == "r0")
    text = "### user\nTask 0: pytest fails with a traceback.\n\n### assistant\nDone with task 0."
    assert first["dimension"] == [p["name"] for p in propose(text)]
    assert first["excerpt"][0].startswith("### user Task 0")


CHILD = """
import sys, datasets
from mira_hf.discover import judge
ds = datasets.load_from_disk(sys.argv[1])
judge(ds, model="loopback-teacher", base_url=sys.argv[2], store=sys.argv[3], batch_size=4, max_in_flight=4,
      progress=False)
"""


def test_resume_after_kill_9_sends_only_unfinished_rows(tmp_path):
    ds = records(60)
    ds.save_to_disk(str(tmp_path / "data"))
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    with JudgeServer(delay=0.2) as server:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "data"), server.url, str(store)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            if store.is_dir() and (store / "mira-row-store.json").exists() and len(RowStore(store)) >= 8:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        finished = len(RowStore(store))
        assert 8 <= finished < 60
        server.requests = 0
        out = judge(ds, model=server.model, base_url=server.url, store=str(store), progress=False)
    assert server.requests == 60 - finished
    assert out["records"]["status"] == ["ok"] * 60 and out["records"]["id"] == ds["id"]


def test_cli_group_judge_cluster(tmp_path):
    ds = records(60)
    ds.to_json(tmp_path / "data.jsonl")
    runner = CliRunner()
    env = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

    def run(*args):
        result = runner.invoke(app, [str(a) for a in args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    out = run(
        "group-sources",
        tmp_path / "data.jsonl",
        "--k",
        "2",
        "--output",
        tmp_path / "groups.json",
        "--plot",
        tmp_path / "groups.png",
    )
    assert "group_1" in out and (tmp_path / "groups.png").exists()
    assert sorted(s for g in json.loads((tmp_path / "groups.json").read_text())["groups"].values() for s in g) == [
        "src0",
        "src1",
        "src2",
    ]
    with JudgeServer() as server:
        out = run(
            "discover",
            "judge",
            tmp_path / "data.jsonl",
            "--model",
            server.model,
            "--base-url",
            server.url,
            "--output",
            tmp_path / "proposals",
            "--cache-dir",
            tmp_path / "cache",
        )
        assert "judged 60 records (ok 60)" in out
        run(
            "discover",
            "judge",
            tmp_path / "data.jsonl",
            "--model",
            server.model,
            "--base-url",
            server.url,
            "--output",
            tmp_path / "proposals2",
            "--cache-dir",
            tmp_path / "cache",
        )
        assert server.requests == 60  # the second run read every row from the store
    out = run(
        "discover",
        "cluster",
        tmp_path / "proposals",
        "--k",
        "7",
        "--output",
        tmp_path / "mine_dim_anchors.jsonl",
        "--report",
        tmp_path / "report.html",
        "--plot",
        tmp_path / "map.png",
    )
    rubric = load_rubric(str(tmp_path / "mine_dim_anchors.jsonl"))
    family = {name: i for i, f in enumerate(FAMILIES) for name in f.names}
    assert len({family[n.split(" (")[0]] for n in rubric.names}) == 7 and "A7" in out  # one slot per planted topic
    assert "<table" in (tmp_path / "report.html").read_text()
    bad = runner.invoke(
        app, ["discover", "cluster", str(tmp_path / "nope"), "--output", str(tmp_path / "x.jsonl")], env=env
    )
    assert bad.exit_code != 0 and "does not exist" in bad.output


def test_the_loopback_teacher_labels_with_a_discovered_rubric(tmp_path):
    import mira_hf
    from mira_hf.testing.judge_server import planted_proposals

    path = mira_hf.discover.cluster_dimensions(planted_proposals(300, k=15), k=15).save(
        tmp_path / "x_dim_anchors.jsonl"
    )
    rubric = load_rubric(str(path))
    ds = records(2)  # "pytest fails with a traceback", "the patch is resolved"
    with JudgeServer(rubric=path) as teacher:
        scorer = mira_hf.Scorer(
            model=teacher.model, engine="openai", base_url=teacher.url, rubric=str(path), progress=False
        )
        out = ds.map(scorer, batched=True)
    assert out["mira_status"] == ["ok", "ok"]
    first = dict(zip(rubric.names, out[0]["mira_scores"]))
    assert first["Test Verification"] >= 7 and first["Error Recovery"] >= 7 and first["Goal Achievement"] <= 4
