"""``mira_hf.io.load_any``: what a path or a name loads, and one message that says what to pass when it cannot."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import datasets
import pytest

from mira_hf._util import offline
from mira_hf.errors import ConfigurationError, DataLoadError
from mira_hf.io import load_any, looks_like_repo_id
from mira_hf.records import detect_format
from mira_hf.scoring.sharding import write_shard
from tests._server_loopback import free_port
from tests.conftest import REPO

RECORDS = REPO / "tests" / "fixtures" / "records"
EXAMPLES = REPO / "examples" / "data"


@pytest.fixture()
def online(monkeypatch):
    """The Hub is not switched off; each test points ``HF_ENDPOINT`` somewhere and probes it afresh."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(offline, "_probed", {})


def _connections(srv: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = srv.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


@pytest.mark.parametrize("name", ["myruns", "nope-scored", "runs/2024/oct", "org/data.jsonl", "./scored"])
def test_a_name_that_is_no_path_nor_hub_name_fails_without_asking_the_hub(name, online, listener, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
    with pytest.raises(DataLoadError) as e:
        load_any(name)
    assert str(e.value).startswith((f"no file or folder {name!r} here; pass a data file", f"{name} does not exist"))
    assert "a Hub dataset name (org/name)" in str(e.value)
    assert _connections(listener) == 0  # not even the one-second probe


def test_a_hub_name_fails_at_once_when_the_hub_does_not_answer(online, monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    start = time.monotonic()
    with pytest.raises(DataLoadError) as e:
        load_any("my-org/agent-runs")
    assert time.monotonic() - start < 5  # the probe's refusal, not the Hub client's retries
    assert f"no file or folder 'my-org/agent-runs' here, and the Hub cannot be asked: {endpoint} cannot be reached" in (
        str(e.value)
    )
    assert "HF_HUB_OFFLINE=1" in str(e.value)


def test_with_hf_hub_offline_a_hub_name_is_read_from_the_local_cache_only(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a node without a network (datasets read it at import)
    with pytest.raises(DataLoadError, match=r"cannot load 'my-org/never-downloaded' from the local cache"):
        load_any("my-org/never-downloaded")


def test_hub_names_are_org_slash_name():
    assert looks_like_repo_id("whw06/MIRA-Agent-Group4") and looks_like_repo_id("org/data.v2")
    for name in ("myruns", "a/b/c", "/abs/path", "org/", "org/-x", "org/a..b", "o r g/name"):
        assert not looks_like_repo_id(name), name


def test_an_empty_file_says_it_is_empty(tmp_path):
    for name, text in (("runs.jsonl", ""), ("blank.jsonl", "\n  \n"), ("runs.csv", "")):
        (tmp_path / name).write_text(text)
        with pytest.raises(DataLoadError, match=r"is empty \(no records in it\): pass a file that holds the records"):
            load_any(str(tmp_path / name))


def test_a_folder_without_data_files_says_what_to_pass(tmp_path):
    (tmp_path / "notes.txt").write_text("scored on monday\n")
    (tmp_path / "README.md").write_text("# my runs\n")
    with pytest.raises(DataLoadError) as e:
        load_any(str(tmp_path))
    assert str(e.value).startswith(f"{tmp_path} holds no data files nor run files; pass a data file (.jsonl")
    assert "shard" not in str(e.value)


def test_a_folder_of_data_files_loads_as_the_hub_would_load_it():
    """examples/data: its dataset card names trajectories.jsonl; the rubric anchors beside it are not rows."""
    ds = load_any(str(EXAMPLES))
    assert len(ds) == 36 and ds[0]["id"] == "oh-0001" and "trajectory" in ds.column_names


def test_a_folder_of_parts_loads_them_all_in_file_order(tmp_path):
    rows = [{"id": f"r{i}", "text": f"$ pytest\n{i} passed"} for i in range(6)]
    for part in range(3):
        lines = (json.dumps(r) + "\n" for r in rows[2 * part : 2 * part + 2])
        (tmp_path / f"part-{part:05d}.jsonl").write_text("".join(lines))
    assert load_any(str(tmp_path))["id"] == [r["id"] for r in rows]


def test_a_folder_of_unlike_data_files_says_which(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "ran pytest"}\n')
    (tmp_path / "b.csv").write_text("text\nran pytest\n")
    with pytest.raises(DataLoadError, match=r"holds data files of several formats \(\.csv, \.jsonl\); pass one file"):
        load_any(str(tmp_path))
    (tmp_path / "b.csv").unlink()
    (tmp_path / "b.jsonl").write_text('{"question": "where is the config parsed?"}\n')
    with pytest.raises(DataLoadError, match=r"cannot read the 2 \.jsonl files in .* as one dataset .*same columns"):
        load_any(str(tmp_path))


def test_a_folder_of_openhands_sessions_is_one_record_per_session(tmp_path):
    """OpenHands keeps a session as ``sessions/<id>/events/<n>.json``, one file per event."""
    events = json.loads((RECORDS / "openhands_v0_events.json").read_text())
    for session in ("a1f3", "b2c4"):
        folder = tmp_path / "sessions" / session / "events"
        folder.mkdir(parents=True)
        for i, event in enumerate(events):  # named by event id (the fixture leaves one id out on purpose)
            (folder / f"{i}.json").write_text(json.dumps(event))
    ds = load_any(str(tmp_path))
    assert ds["id"] == ["sessions/a1f3", "sessions/b2c4"]
    assert json.loads(ds[0]["trajectory"]) == events  # in event order (10.json after 9.json)
    assert detect_format(ds[0]["trajectory"]) == "openhands"
    assert load_any(str(tmp_path / "sessions" / "a1f3" / "events"))["id"] == ["a1f3"]


def test_json_run_files_are_one_record_each(tmp_path):
    """An OpenHands event list and a SWE-agent run saved as .json are runs, not tables of rows."""
    shutil.copy(RECORDS / "openhands_v0_events.json", tmp_path / "oh.json")
    shutil.copy(RECORDS / "swe_agent_0x.traj", tmp_path / "swe.json")
    ds = load_any(str(tmp_path))
    assert ds["id"] == ["oh.json", "swe.json"]
    assert [detect_format(t) for t in ds["trajectory"]] == ["openhands", "swe_agent"]
    assert len(load_any(str(tmp_path / "oh.json"))) == 1


def test_a_sharded_score_folder_merges_and_names_the_missing_shards(tmp_path):
    ds = datasets.Dataset.from_dict({"id": list(range(9)), "mira_overall": [50.0] * 9})
    for i in range(3):
        write_shard(ds.shard(3, i, contiguous=True), tmp_path, i, 3)
    assert load_any(str(tmp_path))["id"] == list(range(9))
    (tmp_path / "shard-00001-of-00003.parquet").unlink()
    with pytest.raises(ConfigurationError, match=r"1 of 3 shards are missing in .*: 1\. Rerun those tasks"):
        load_any(str(tmp_path))


def test_a_resume_store_is_not_taken_for_a_dataset():
    store = REPO / "tests" / "fixtures" / "stores" / "v0.1.0-flat-layout" / "store"
    with pytest.raises(DataLoadError, match=r"is the resume store of a scoring run .* not a dataset"):
        load_any(str(store))


def test_run_files_and_saved_datasets_load_as_before(tmp_path):
    runs = tmp_path / "runs" / "django"
    runs.mkdir(parents=True)
    shutil.copy(RECORDS / "swe_agent_0x.traj", runs / "django-1.traj")
    shutil.copy(RECORDS / "mini_swe_agent.traj.json", runs / "django-2.traj.json")
    assert load_any(str(tmp_path / "runs"))["id"] == ["django/django-1.traj", "django/django-2.traj.json"]
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict({"text": ["ran pytest"]}).save_to_disk(str(saved))
    assert load_any(str(saved))["text"] == ["ran pytest"]
    assert Path(saved).is_dir()
