"""Resume stores written before the package moved to one folder per stage stay valid: same keys, zero requests."""

from __future__ import annotations

import json
import shutil

import datasets

import mira_hf
from mira_hf.testing.fake_engine import FakeEngine
from tests.conftest import EXAMPLES, REPO

FIXTURE = REPO / "tests" / "fixtures" / "stores" / "v0.1.0-flat-layout"


class _Refusing(FakeEngine):
    """The fake engine the store was written with (same identity), counting every request it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def generate(self, conversations, sampling):
        self.sent += len(conversations)
        return super().generate(conversations, sampling)


def test_a_store_from_the_flat_layout_resumes_without_a_request(tmp_path):
    shutil.copytree(FIXTURE / "store", tmp_path / "store")
    expected = [json.loads(line) for line in (FIXTURE / "expected.jsonl").read_text().splitlines()]
    ds = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    ds = ds.select(range(0, 36, 6))
    engine = _Refusing()
    scorer = mira_hf.Scorer(engine=engine, cache_dir=str(tmp_path / "store"), progress=False)
    scored = ds.map(scorer, batched=True, batch_size=4, load_from_cache_file=False)
    assert engine.sent == 0  # every row came from the old store
    columns = sorted(expected[0])
    assert [dict(sorted(r.items())) for r in scored.select_columns(columns)] == expected
    assert len(expected) == 6 and {r["mira_status"] for r in expected} == {"ok"}


def test_the_same_rows_without_the_store_are_sent_and_come_back_the_same(tmp_path):
    """The check above can fail: with an empty store the rows are sent, and the engine gives the stored answers."""
    expected = [json.loads(line) for line in (FIXTURE / "expected.jsonl").read_text().splitlines()]
    ds = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    engine = _Refusing()
    scorer = mira_hf.Scorer(engine=engine, cache_dir=str(tmp_path / "empty"), progress=False)
    scored = ds.select(range(0, 36, 6)).map(scorer, batched=True, batch_size=4, load_from_cache_file=False)
    assert engine.sent == 6
    assert [dict(sorted(r.items())) for r in scored.select_columns(sorted(expected[0]))] == expected
