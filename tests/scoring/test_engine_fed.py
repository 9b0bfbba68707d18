"""Integration: streaming keeps the in-process engine fed (vLLM's CPU build, the tiny model).

A count, not a timing: the test wraps the engine's ``step`` and, before each step, counts the requests the
engine holds (running or waiting) against the rows whose answers have not come back yet.
"""

from __future__ import annotations

import datasets
import pytest

import mira_hf

pytestmark = pytest.mark.vllm

# The settings of tests/scoring/test_vllm_scoring.py: the session's one in-process engine is shared.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
DEPTH = 8
ROWS = 3 * DEPTH


def test_every_engine_step_has_min_depth_rows_left_requests(tiny_model_path, monkeypatch):
    """While rows remain, each ``step`` of the engine finds at least ``min(depth, rows left)`` requests in it."""
    from tests.conftest import EXAMPLES

    base = datasets.load_dataset("json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train")
    texts = [f"run {i}\n{base[i % len(base)]['trajectory']}" for i in range(ROWS)]  # every prompt distinct
    ds = datasets.Dataset.from_dict({"trajectory": texts})
    scorer = mira_hf.Scorer(
        model=str(tiny_model_path),
        text_column="trajectory",
        max_tokens=16,
        structured=False,
        progress=False,
        **ENGINE_SETTINGS,
    )
    core = scorer.engine.llm.llm_engine  # the shared engine, started once per session
    real_step = type(core).step
    seen: list[tuple[int, int]] = []  # (requests in the engine, rows left) before each step
    answered = 0

    def counted_step(self):
        nonlocal answered
        seen.append((self.get_num_unfinished_requests(), ROWS - answered))
        outputs = real_step(self)
        answered += sum(1 for out in outputs if getattr(out, "finished", False))
        return outputs

    monkeypatch.setattr(type(core), "step", counted_step)
    scored = mira_hf.score_dataset(ds, scorer, batch_size=ROWS, depth=DEPTH)

    assert set(scored["mira_status"]) <= {"ok", "parse_error"}, scored["mira_error"]
    assert answered == ROWS and scorer.stream_stats.sent == ROWS
    underfed = [(i, n, left) for i, (n, left) in enumerate(seen) if left > 0 and n < min(DEPTH, left)]
    assert not underfed, f"steps (index, requests, rows left) below min(depth, rows left): {underfed[:10]}"
    assert max(n for n, _ in seen) <= DEPTH  # the depth is a ceiling too
