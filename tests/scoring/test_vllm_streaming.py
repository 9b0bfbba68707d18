"""Integration: streaming on the real vLLM engine (CPU build, tiny model) gives the batch path's rows."""

from __future__ import annotations

import datasets
import pytest

import mira_hf

pytestmark = pytest.mark.vllm

# The settings of tests/scoring/test_vllm_scoring.py: the session's one in-process engine is shared.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
SAMPLING = dict(max_tokens=1024, max_rationale_chars=24)


def _no_chat(*args, **kwargs):
    raise AssertionError("a prompt was rendered and tokenized by vLLM again")


def test_streaming_on_the_in_process_engine_gives_the_batch_paths_rows(tiny_model_path, monkeypatch):
    """Requests go to the shared ``vllm.LLM`` one by one as others finish; same seeds, same rows, same fingerprint.
    Both paths hand vLLM token ids: neither renders a chat in vLLM."""
    from tests.conftest import EXAMPLES

    ds = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    ds = ds.select(range(4))

    def make():
        return mira_hf.Scorer(model=str(tiny_model_path), text_column="trajectory", **ENGINE_SETTINGS, **SAMPLING)

    llm_type = type(make().engine.llm)
    monkeypatch.setattr(llm_type, "chat", _no_chat)
    monkeypatch.setattr(llm_type, "enqueue_chat", _no_chat)

    batch = ds.map(make(), batched=True, batch_size=2)
    scorer = make()
    streamed = mira_hf.score_dataset(ds, scorer, batch_size=2, depth=3)
    assert streamed._fingerprint == batch._fingerprint
    assert streamed["mira_raw"] == batch["mira_raw"] and streamed.to_list() == batch.to_list()
    assert set(streamed["mira_status"]) == {"ok"}, streamed["mira_error"]
    assert (scorer.stream_stats.sent, scorer.stream_stats.slots) == (4, 3)


def test_prompts_reach_the_engine_as_token_ids_and_give_the_chat_paths_text(tiny_model_path):
    """The scorer's prompt ids are vLLM's own rendering of the chat; sent as ``TokensPrompt`` they give the
    text ``LLM.chat`` gives under the same seed."""
    from tests.conftest import EXAMPLES

    ds = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    ds = ds.select(range(2))

    def make():
        return mira_hf.Scorer(model=str(tiny_model_path), text_column="trajectory", **ENGINE_SETTINGS, **SAMPLING)

    scorer = make()
    engine = scorer.engine
    todo = scorer.plan_records(ds["trajectory"]).todo
    assert len(todo) == 2 and all(p.token_ids for p in todo)
    params = engine.sampling_params(scorer.sampling)
    by_chat = engine.llm.chat([p.messages for p in todo], params, use_tqdm=False)
    assert [list(o.prompt_token_ids) for o in by_chat] == [p.token_ids for p in todo]
    by_ids = engine.generate([p.messages for p in todo], scorer.sampling, token_ids=[p.token_ids for p in todo])
    assert [c.text for c in by_ids] == [o.outputs[0].text for o in by_chat]
    assert [c.prompt_tokens for c in by_ids] == [len(p.token_ids) for p in todo]
