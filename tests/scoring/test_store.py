"""The resume store (crash and concurrency safety), sharding for job arrays, and run progress."""

from __future__ import annotations

import io
import logging
import signal
import subprocess
import sys
import textwrap

import datasets
import pytest

from mira_hf._util.progress import ScoreProgress
from mira_hf.errors import ConfigurationError
from mira_hf.scoring.sharding import merge_shards, shard, shard_path, write_shard
from mira_hf.scoring.store import RowStore

ROW_CODE = textwrap.dedent("""
    def row(i):
        scores = [float((i + k) % 11) for k in range(15)]
        scores[i % 15] = None
        return {"mira_status": "ok" if i % 7 else "partial", "mira_scores": scores,
                "mira_rationales": [f"because {i}-{k}" for k in range(15)], "mira_overall": i / 3,
                "mira_recommendation": "keep", "mira_truncated": bool(i % 2), "mira_prompt_tokens": i,
                "mira_raw": ("[A1] Goal Achievement: 7/10 — fixed the failing test. " * 40) + str(i)}
""")
_NAMESPACE: dict = {}
exec(ROW_CODE, _NAMESPACE)  # defines row(i) here exactly as in the subprocesses
row = _NAMESPACE["row"]


def test_round_trip_misses_and_engine_errors_are_not_kept(tmp_path):
    with RowStore(tmp_path / "cache") as store:
        store.put_many({"a": row(1), "b": row(2), "e": {"mira_status": "engine_error", "mira_error": "timeout"}})
        got = store.get_many(["a", "b", "e", "missing"])
        assert got == {"a": row(1), "b": row(2)}  # exact values back: None in lists, bools, ints, text
        assert len(store) == 2
        store.put_many({})


def test_a_later_write_wins_and_other_instances_see_new_rows(tmp_path):
    first, second = RowStore(tmp_path), RowStore(tmp_path)
    first.put_many({"k": row(1)})
    assert second.get_many(["k"]) == {"k": row(1)}
    second.put_many({"k": row(2), "j": row(3)})
    assert first.get_many(["k", "j"]) == {"k": row(2), "j": row(3)}
    assert len(first) == 2


def test_numpy_values_from_ray_batches_are_stored_as_plain_values(tmp_path):
    import numpy as np

    store = RowStore(tmp_path)
    store.put_many(
        {
            "k": {
                "mira_status": "ok",
                "mira_scores": np.array([1.5, 2.0], dtype=np.float32),
                "mira_prompt_tokens": np.int32(7),
            }
        }
    )
    assert store.get_many(["k"])["k"] == {"mira_status": "ok", "mira_scores": [1.5, 2.0], "mira_prompt_tokens": 7}


def test_compaction_keeps_the_latest_row_of_every_key(tmp_path):
    store = RowStore(tmp_path)
    for i in range(20):
        store.put_many({f"k{i}": row(i), "shared": row(100 + i)})
    assert store.compact() == 20
    assert len(list(tmp_path.glob("*.parquet"))) == 1
    again = RowStore(tmp_path)
    assert len(again) == 21
    assert again.get_many(["shared", "k0", "k19"]) == {"shared": row(119), "k0": row(0), "k19": row(19)}


def test_lookups_in_a_large_compacted_segment_read_the_right_rows(tmp_path):
    store = RowStore(tmp_path)
    for b in range(3):
        store.put_many({f"k{i}": row(i) for i in range(b * 1000, (b + 1) * 1000)})
    store.compact()  # one segment of 3,000 rows in several row groups
    keys = [f"k{i}" for i in (2999, 0, 1023, 1024, 2048, 7, 1500)] + ["absent"]
    got = RowStore(tmp_path).get_many(keys)
    assert got == {k: row(int(k[1:])) for k in keys[:-1]}
    later = ["k2500", "k1100"]  # only later row groups
    assert RowStore(tmp_path).get_many(later) == {k: row(int(k[1:])) for k in later}


def test_leftover_temporary_files_and_a_corrupt_segment_are_ignored(tmp_path, caplog):
    store = RowStore(tmp_path)
    store.put_many({"good": row(1)})
    (tmp_path / ".tmp-00000000000000000001-dead-00000001.parquet").write_bytes(b"PAR1\x00half a file")
    (tmp_path / "00000000000000000002-dead-00000001.parquet").write_bytes(b"PAR1 torn by a lying disk")
    with caplog.at_level(logging.WARNING):
        reopened = RowStore(tmp_path)
        assert reopened.get_many(["good"]) == {"good": row(1)} and len(reopened) == 1
    assert "Skipping unreadable row store segment" in caplog.text


def test_refuses_a_directory_of_foreign_parquet_files(tmp_path):
    datasets.Dataset.from_dict({"x": [1]}).to_parquet(str(tmp_path / "data.parquet"))
    with pytest.raises(ConfigurationError, match="not a mira-hf row store"):
        RowStore(tmp_path)


WRITER = ROW_CODE + textwrap.dedent("""
    import sys
    from mira_hf.scoring.store import RowStore
    store = RowStore(sys.argv[1])
    i = 0
    while True:
        store.put_many({f"k{i:06d}": row(i)})
        print(i, flush=True)  # acknowledged: put_many returned
        i += 1
""")


@pytest.mark.parametrize("acked_before_kill", [5, 40])
def test_kill_9_mid_write_leaves_a_readable_prefix_of_the_writes(tmp_path, acked_before_kill):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    acked = -1
    try:
        while acked < acked_before_kill:
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            acked = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = RowStore(tmp_path)
    keys = sorted(store.get_many([f"k{i:06d}" for i in range(acked + 1000)]))
    n = len(keys)
    assert n >= acked + 1  # every acknowledged write survived
    assert keys == [f"k{i:06d}" for i in range(n)]  # a prefix: no gap, nothing half-written
    got = store.get_many(keys)
    assert all(got[f"k{i:06d}"] == row(i) for i in range(n))
    store.put_many({"after": row(1)})  # and the store keeps working
    assert len(store) == n + 1


CONCURRENT = ROW_CODE + textwrap.dedent("""
    import random, sys
    from mira_hf.scoring.store import RowStore
    path, worker, n_workers, compact = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
    store = RowStore(path)
    rng = random.Random(worker)
    for batch in range(40):
        base = (worker * 40 + batch) * 10
        store.put_many({f"k{base + j}": row(base + j) for j in range(10)})
        other = rng.randrange(n_workers) * 400 + rng.randrange(400)
        for key, value in store.get_many([f"k{other}", f"k{base}"]).items():
            assert value == row(int(key[1:])), key  # never a torn or wrong row
        if compact and batch % 10 == 9:
            store.compact()
""")


def test_concurrent_writers_readers_and_compaction_from_several_processes(tmp_path):
    n = 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(tmp_path), str(w), str(n), str(int(w == 0))],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(n)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    store = RowStore(tmp_path)
    keys = [f"k{i}" for i in range(n * 400)]
    got = store.get_many(keys)
    assert len(got) == n * 400 and len(store) == n * 400
    assert all(got[k] == row(int(k[1:])) for k in keys)


# ------------------------------------------------------------------ sharding
def _scored(n: int) -> datasets.Dataset:
    features = datasets.Features(
        {
            "id": datasets.Value("int64"),
            "mira_scores": datasets.Sequence(datasets.Value("float32")),
            "mira_status": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_dict(
        {"id": list(range(n)), "mira_scores": [[i / 2, None] for i in range(n)], "mira_status": ["ok"] * n},
        features=features,
    )


def test_shards_are_contiguous_and_merge_back_in_order(tmp_path):
    ds = _scored(103)
    parts = [shard(ds, i, 4) for i in range(4)]
    assert sum(len(p) for p in parts) == 103 and parts[1]["id"][0] == len(parts[0])
    for i in reversed(range(4)):  # tasks finish in any order
        path = write_shard(parts[i], tmp_path, i, 4)
        assert path == shard_path(tmp_path, i, 4)
    merged = merge_shards(tmp_path)
    assert merged["id"] == ds["id"] and merged["mira_scores"] == ds["mira_scores"]
    assert merged.features == ds.features
    folder = datasets.load_dataset(
        "parquet", data_dir=str(tmp_path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )
    assert folder["id"] == ds["id"]  # loading the folder gives the same order


def test_merge_names_the_missing_shards(tmp_path):
    ds = _scored(20)
    for i in (0, 2, 4):
        write_shard(shard(ds, i, 5), tmp_path, i, 5)
    with pytest.raises(ConfigurationError, match=r"2 of 5 shards are missing .*: 1, 3\."):
        merge_shards(tmp_path)


def test_merge_refuses_mixed_runs_and_bad_indices(tmp_path):
    ds = _scored(10)
    write_shard(shard(ds, 0, 2), tmp_path, 0, 2)
    write_shard(shard(ds, 0, 3), tmp_path, 0, 3)
    with pytest.raises(ConfigurationError, match="mixes shards of different runs"):
        merge_shards(tmp_path)
    with pytest.raises(ConfigurationError, match=r"0\.\.3 .* got 4 \(job-array"):
        shard(ds, 4, 4)
    with pytest.raises(ConfigurationError, match="does not exist"):
        merge_shards(tmp_path / "nowhere")


# ------------------------------------------------------------------ progress
class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_progress_logs_rate_tokens_errors_and_eta_and_sums_up(caplog):
    clock = _Clock()
    stream = io.StringIO()
    # a library scorer's progress: logging lines, nothing on the stream (the CLI's, off a terminal: its own
    # lines, tests/_util/test_progress.py)
    p = ScoreProgress(total=100, log_every=10, stream=stream, clock=clock, enabled=False)
    with caplog.at_level(logging.INFO, logger="mira_hf._util.progress"):
        clock.t = 5
        p.update(20, prompt_tokens=9000, completion_tokens=1000, statuses=["ok"] * 18 + ["engine_error"] * 2)
        assert caplog.records == []  # less than log_every since the start
        clock.t = 10
        p.update(20, prompt_tokens=9000, completion_tokens=1000, statuses={"ok": 19, "parse_error": 1})
        p.close()
    assert stream.getvalue() == ""
    first, last = (r.getMessage() for r in caplog.records)
    assert first == "scoring: 40/100 rows, 4.00 rows/s, 2,000 tok/s, errors 3, ETA 00:15"
    assert last == "scored 40 rows in 00:10 (20,000 tokens): ok 37, engine_error 2, parse_error 1"
    s = p.summary()
    assert s["statuses"] == {"engine_error": 2, "ok": 37, "parse_error": 1}
    assert (s["rows"], s["errors"], s["prompt_tokens"], s["rows_per_s"]) == (40, 3, 18000, 4.0)


def test_progress_draws_a_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with ScoreProgress(total=10, stream=tty) as p:
        p.update(10, 500, 50, ["ok"] * 10)
    assert "10/10" in tty.getvalue() and "errors 0" in tty.getvalue()
    quiet = Tty()
    ScoreProgress(total=10, stream=quiet, enabled=False).update(3)
    assert quiet.getvalue() == ""
