"""Integration: the real vLLM engine (CPU build) on the tiny random-weight model, one engine per session."""

from __future__ import annotations

import datasets
import pytest

import mira_hf
from mira_hf.engines import vllm as vllm_engine
from mira_hf.engines.base import Sampling

pytestmark = pytest.mark.vllm

# Every real-engine test uses these engine settings, so they all share one engine.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
SAMPLING = dict(max_tokens=1024, max_rationale_chars=24)


@pytest.fixture(scope="module")
def make_scorer(tiny_model_path):
    def make(**kw):
        return mira_hf.Scorer(model=str(tiny_model_path), **ENGINE_SETTINGS, **{**SAMPLING, **kw})

    return make


@pytest.fixture(scope="module")
def example_ds(tmp_path_factory):
    from tests.conftest import EXAMPLES

    cache = tmp_path_factory.mktemp("hf-cache")
    return datasets.load_dataset(
        "json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train", cache_dir=str(cache)
    )


@pytest.fixture
def spy_generate(monkeypatch):
    calls: list[int] = []
    real = vllm_engine.VLLMEngine.generate

    def spy(self, conversations, sampling, **kwargs):
        calls.append(len(conversations))
        return real(self, conversations, sampling, **kwargs)

    monkeypatch.setattr(vllm_engine.VLLMEngine, "generate", spy)
    return calls


def test_example_dataset_scores_ok_with_structured_decoding(make_scorer, example_ds, spy_generate):
    scorer = make_scorer(text_column="trajectory", source_column="source", id_column="id")
    out = example_ds.map(scorer, batched=True, batch_size=64)
    assert len(out) == len(example_ds) and out["id"] == example_ds["id"]
    assert set(out["mira_status"]) == {"ok"}, out["mira_error"]
    for scores in out["mira_scores"]:
        assert len(scores) == 15 and all(0 <= s <= 10 for s in scores)
    assert all(0 <= o <= 100 for o in out["mira_overall"])
    assert set(out["mira_recommendation"]) <= {"keep", "downsample", "drop"}
    assert all(p > 1000 for p in out["mira_prompt_tokens"]) and all(c > 0 for c in out["mira_completion_tokens"])
    assert spy_generate == [len(example_ds)]  # the whole batch went to the engine in one call


def test_a_500kb_record_is_truncated_to_fit_and_scored(make_scorer):
    record = ("$ pytest tests/test_parser.py -x\n" + "E   AssertionError: expected 3 got 4\n" * 40) * 400
    assert len(record.encode()) > 500_000
    out = datasets.Dataset.from_dict({"text": [record, "A short trajectory: the agent fixed the bug."]}).map(
        make_scorer(), batched=True
    )
    assert out["mira_truncated"] == [True, False]
    assert out["mira_status"] == ["ok", "ok"], out["mira_error"]
    assert out["mira_prompt_tokens"][0] <= ENGINE_SETTINGS["max_model_len"] - SAMPLING["max_tokens"]


def test_real_cache_files_hit_for_the_same_configuration_and_miss_on_change(make_scorer, example_ds, spy_generate):
    small = example_ds.select(range(4))
    first = small.map(make_scorer(text_column="trajectory"), batched=True)
    n_calls = len(spy_generate)
    again = small.map(make_scorer(text_column="trajectory"), batched=True)
    assert len(spy_generate) == n_calls  # no engine work: read from the cache file
    assert again.cache_files == first.cache_files and again["mira_raw"] == first["mira_raw"]
    changed = small.map(make_scorer(text_column="trajectory", temperature=0.3), batched=True)
    assert len(spy_generate) == n_calls + 1 and changed.cache_files != first.cache_files


def test_same_seed_gives_the_same_scores(make_scorer, example_ds):
    small = example_ds.select(range(3))
    a = small.map(make_scorer(text_column="trajectory"), batched=True, load_from_cache_file=False)
    b = small.map(make_scorer(text_column="trajectory"), batched=True, batch_size=1, load_from_cache_file=False)
    assert a["mira_raw"] == b["mira_raw"]


def test_two_scorers_share_one_engine(make_scorer, tmp_path):
    rubric = mira_hf.load_rubric()
    path = tmp_path / "copy_dim_anchors.jsonl"
    path.write_text(rubric.to_jsonl())
    a, b = make_scorer(), make_scorer(temperature=0.2, rubric=str(path))
    assert a.engine is b.engine
    assert len([e for e in vllm_engine.engines() if e.started]) == 1


def test_a_rejected_request_fails_alone(make_scorer):
    engine = make_scorer().engine
    too_long = [{"role": "user", "content": "word " * 20_000}]
    fine = [{"role": "user", "content": "hello"}]
    out = engine.generate([fine, too_long, fine], Sampling(max_tokens=8, seed=0))
    assert out[0].text is not None and out[2].text is not None
    assert out[1].text is None
    assert "maximum context length" in out[1].error  # vLLM's own message, for that row only


def test_the_default_structured_path_keeps_the_template_but_not_max_tokens(make_scorer, example_ds):
    """``Scorer``'s default sends the template regex with unbounded free texts (``max_rationale_chars=None``).

    What the docs promise for it (docs/output-format.md): every line the model writes has the template's shape,
    in slot order; an answer that ends before ``max_tokens`` parses ``ok``; one that reaches ``max_tokens``
    mid-template keeps the slots it wrote and is ``partial`` (``parse_error`` if it had not finished one score),
    with ``mira_error`` naming what is missing.
    """
    import re

    max_tokens = 192
    scorer = make_scorer(text_column="trajectory", max_rationale_chars=None, max_tokens=max_tokens)
    assert scorer.config.max_rationale_chars is None and scorer.config.structured  # the defaults
    out = example_ds.select(range(3)).map(scorer, batched=True, load_from_cache_file=False)
    rubric = scorer.rubric
    line = re.compile(r"\[A(\d+)\] (.+?): (10(\.0)?|[0-9](\.[0-9])?)/10 — [^\n<]*")
    for raw, status, error, used in zip(
        out["mira_raw"], out["mira_status"], out["mira_error"], out["mira_completion_tokens"]
    ):
        lines = raw.split("\n")
        finished = list(lines[:-1]) if used >= max_tokens else lines
        slots = [line.fullmatch(text) for text in finished[: len(rubric)]]
        assert all(slots), f"a line off the template: {finished}"
        assert [int(m[1]) for m in slots] == list(range(1, len(slots) + 1))
        assert [m[2] for m in slots] == rubric.names[: len(slots)]
        if status == "ok":
            assert error is None
        else:
            assert used >= max_tokens, f"{status} without reaching max_tokens: {raw!r}"
            assert status in {"partial", "parse_error"} and ("missing" in error or "no [A1]" in error)
