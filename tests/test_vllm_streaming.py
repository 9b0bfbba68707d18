"""Integration: streaming on the real vLLM engine (CPU build, tiny model) gives the batch path's rows."""

from __future__ import annotations

import datasets
import pytest

import mira_hf

pytestmark = pytest.mark.vllm

# The settings of tests/test_vllm_scoring.py: the session's one in-process engine is shared.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
SAMPLING = dict(max_tokens=1024, max_rationale_chars=24)


def test_streaming_on_the_in_process_engine_gives_the_batch_paths_rows(tiny_model_path):
    """Requests go to the shared ``vllm.LLM`` one by one as others finish; same seeds, same rows, same fingerprint."""
    from tests.conftest import EXAMPLES

    ds = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    ds = ds.select(range(4))

    def make():
        return mira_hf.Scorer(model=str(tiny_model_path), text_column="trajectory", **ENGINE_SETTINGS, **SAMPLING)

    batch = ds.map(make(), batched=True, batch_size=2)
    scorer = make()
    streamed = mira_hf.score_dataset(ds, scorer, batch_size=2, depth=3)
    assert streamed._fingerprint == batch._fingerprint
    assert streamed["mira_raw"] == batch["mira_raw"] and streamed.to_list() == batch.to_list()
    assert set(streamed["mira_status"]) == {"ok"}, streamed["mira_error"]
    assert (scorer.stream_stats.sent, scorer.stream_stats.slots) == (4, 3)
