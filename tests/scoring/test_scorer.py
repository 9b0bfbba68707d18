"""The scorer's plumbing on a fake engine: row isolation, order, typed columns, fingerprints, batch formats."""

from __future__ import annotations

import json
import pickle

import datasets
import numpy as np
import pyarrow as pa
import pytest
from datasets.fingerprint import Hasher

import mira_hf
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.schema.columns import SCORE_SCHEMA
from mira_hf.testing.fake_engine import FakeEngine, card_for

GOOD = [
    {"role": "user", "content": "Fix the failing test in utils.py"},
    {"role": "assistant", "content": "I ran pytest, fixed the comparison and the test passes now."},
]


def _records(n: int = 6) -> list:
    return [
        [{"role": "user", "content": f"Issue #{i}: fix the bug"}, {"role": "assistant", "content": f"patch {i}"}]
        for i in range(n)
    ]


def _ds(records) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {
            "trajectory": [json.dumps(r) if not isinstance(r, str) else r for r in records],
            "source": ["swe_qa"] * len(records),
        }
    )


def test_map_adds_every_declared_column_with_its_type():
    engine = FakeEngine()
    out = _ds(_records(5)).map(mira_hf.Scorer(engine=engine), batched=True, batch_size=2)
    assert len(out) == 5
    features = mira_hf.score_features()
    for name in SCORE_SCHEMA:
        assert out.features[name] == features[name], name
    assert out["mira_status"] == ["ok"] * 5
    assert all(len(s) == 15 and all(0 <= v <= 10 for v in s) for s in out["mira_scores"])
    assert engine.calls == [2, 2, 1]  # one engine call per batch, all conversations together


def test_rows_stay_in_order_and_bad_rows_are_isolated():
    engine = FakeEngine()
    records = [
        "A first good record about fixing a bug",
        None,
        "",
        "   ",
        json.dumps([{"foo": 1}]),
        "A last good record about running the tests",
    ]
    out = datasets.Dataset.from_dict({"text": records}).map(mira_hf.Scorer(engine=engine), batched=True)
    assert out["mira_status"] == ["ok", "invalid_input", "invalid_input", "invalid_input", "invalid_input", "ok"]
    assert all(e for e in out["mira_error"][1:5])
    assert out["mira_error"][0] is None and out["mira_error"][5] is None
    assert out["mira_scores"][1] == [None] * 15
    # the good rows were scored from their own text, in order
    assert "A first good record" in engine.seen[0] and "A last good record" in engine.seen[1]
    assert out["text"] == records


def test_one_engine_error_fails_only_its_row():
    engine = FakeEngine(respond=lambda u: None if "poison" in u else mira_hf.format_output(card_for(u)))
    recs = ["good one", "poison record", "good two"]
    out = datasets.Dataset.from_dict({"text": recs}).map(mira_hf.Scorer(engine=engine), batched=True)
    assert out["mira_status"] == ["ok", "engine_error", "ok"]
    assert "too long" in out["mira_error"][1]


def test_a_whole_batch_failure_marks_the_batch_and_the_map_goes_on():
    class Flaky(FakeEngine):
        def generate(self, conversations, sampling):
            if len(self.calls) == 0:
                self.calls.append(len(conversations))
                raise RuntimeError("CUDA error: device-side assert")
            return super().generate(conversations, sampling)

    out = _ds(_records(4)).map(mira_hf.Scorer(engine=Flaky()), batched=True, batch_size=2)
    assert out["mira_status"] == ["engine_error", "engine_error", "ok", "ok"]
    assert "CUDA error" in out["mira_error"][0]
    assert out.features["mira_overall"] == datasets.Value("float32")  # first batch all failures, same schema


def test_unparseable_and_partial_outputs_keep_the_raw_text():
    answers = {
        "junk": "I think this trajectory is great!",
        "half": "[A1] Plan Quality / Reasoning Transparency (Goal Achievement): 7/10 — fine\noverall: 70",
    }
    engine = FakeEngine(respond=lambda u: answers["junk"] if "junk" in u else answers["half"])
    out = datasets.Dataset.from_dict({"text": ["junk record", "half record"]}).map(
        mira_hf.Scorer(engine=engine), batched=True
    )
    assert out["mira_status"] == ["parse_error", "partial"]
    assert out["mira_raw"] == [answers["junk"], answers["half"]]
    assert out["mira_scores"][1][0] == 7.0 and out["mira_scores"][1][1] is None
    assert "A2" in out["mira_error"][1] and "training_recommendation" in out["mira_error"][1]


def test_unknown_text_column_raises_before_any_engine_work():
    engine = FakeEngine()
    with pytest.raises(
        ColumnNotFoundError, match="no column 'messages' in the dataset; its columns are prompt, source"
    ):
        datasets.Dataset.from_dict({"prompt": ["x"], "source": ["a"]}).map(
            mira_hf.Scorer(engine=engine, text_column="messages"), batched=True
        )
    with pytest.raises(ColumnNotFoundError, match="text_column"):
        datasets.Dataset.from_dict({"prompt": ["x"]}).map(mira_hf.Scorer(engine=engine), batched=True)
    assert engine.calls == []


def test_record_column_is_detected_from_common_names():
    for name in ("messages", "conversations", "events", "trajectory", "text"):
        assert mira_hf.Scorer(engine=FakeEngine()).record_column(["id", name, "source"]) == name


def test_bad_configuration_fails_at_construction():
    with pytest.raises(ConfigurationError, match="temperature"):
        mira_hf.Scorer(engine=FakeEngine(), temperature=-1)
    with pytest.raises(ConfigurationError, match="base_url"):
        mira_hf.Scorer(engine="openai")
    with pytest.raises(mira_hf.errors.RubricError):
        mira_hf.Scorer(engine=FakeEngine(), rubric="no/such/rubric_dim_anchors.jsonl")


def _fp(**kw):
    return Hasher.hash(mira_hf.Scorer(model="org/scorer", **kw))


def test_fingerprint_is_stable_and_changes_with_what_decides_the_output(monkeypatch, tmp_path):
    base = _fp()
    assert base == _fp()  # a new, equal Scorer hashes the same
    changed = [
        _fp(temperature=0.2),
        _fp(top_p=0.5),
        _fp(max_tokens=512),
        _fp(seed=7),
        _fp(n=3),
        _fp(structured=False),
        _fp(max_model_len=32768),
        _fp(revision="abc123"),
        Hasher.hash(mira_hf.Scorer(model="org/other")),
    ]
    assert base not in changed and len(set(changed)) == len(changed)
    rubric = mira_hf.load_rubric()
    path = tmp_path / "custom_dim_anchors.jsonl"
    path.write_text(rubric.to_jsonl().replace('Goal Achievement"', 'Goal Reached"', 1))
    assert _fp(rubric=str(path)) != base
    monkeypatch.setattr("mira_hf.scoring.scorer.PROMPT_VERSION", "mira-anchored-v999")
    assert _fp() != base


def test_pickle_never_carries_the_engine_or_the_api_key():
    scorer = mira_hf.Scorer(engine="openai", base_url="http://127.0.0.1:9/v1", api_key="sk-SECRET-123")
    blob = pickle.dumps(scorer)
    assert b"sk-SECRET-123" not in blob
    assert "sk-SECRET-123" not in repr(scorer)
    copy = pickle.loads(blob)
    assert copy.fingerprint == scorer.fingerprint and copy._runtime is None


def test_same_configuration_hits_the_datasets_cache(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"text": f"record {i} about a fix"}) + "\n" for i in range(4)))
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    first = FakeEngine()
    a = ds.map(mira_hf.Scorer(engine=first), batched=True)
    second = FakeEngine()
    b = ds.map(mira_hf.Scorer(engine=second), batched=True)
    assert first.calls and not second.calls  # the second map was read from the cache
    assert a.cache_files == b.cache_files
    third = FakeEngine()
    ds.map(mira_hf.Scorer(engine=third, temperature=0.1), batched=True)
    assert third.calls  # a new sampling setting misses the cache


def test_iterable_dataset():
    ids = datasets.Dataset.from_dict({"text": ["a fix", "", "another fix"]}).to_iterable_dataset()
    rows = list(ids.map(mira_hf.Scorer(engine=FakeEngine()), batched=True, batch_size=2))
    assert [r["mira_status"] for r in rows] == ["ok", "invalid_input", "ok"]


def test_ray_style_numpy_batch_returns_a_typed_table_with_the_inputs():
    scorer = mira_hf.Scorer(engine=FakeEngine())
    batch = {"text": np.array(["fix one", "fix two"], dtype=object), "source": np.array(["a", "b"], dtype=object)}
    table = scorer(batch)
    assert isinstance(table, pa.Table) and table.num_rows == 2
    assert table.column("source").to_pylist() == ["a", "b"]
    assert table.schema.field("mira_scores").type == pa.list_(pa.float32())


def test_self_consistency_averages_samples_and_reports_the_spread():
    engine = FakeEngine()
    out = datasets.Dataset.from_dict({"text": ["fix one"]}).map(mira_hf.Scorer(engine=engine, n=3), batched=True)
    assert engine.samplings[0].n == 3
    user = engine.seen[0]
    samples = [card_for(user + str(k)).scores for k in range(3)]
    expected = np.mean(np.array(samples), axis=0)
    np.testing.assert_allclose(out["mira_scores"][0], expected, rtol=1e-6)
    np.testing.assert_allclose(out["mira_scores_std"][0], np.std(np.array(samples), axis=0), rtol=1e-5)


def test_structured_decoding_sends_the_template_regex():
    engine = FakeEngine()
    datasets.Dataset.from_dict({"text": ["fix"]}).map(mira_hf.Scorer(engine=engine), batched=True)
    assert engine.samplings[0].regex == mira_hf.template_regex(
        mira_hf.load_rubric(), max_rationale_chars=None, max_tag_chars=None, max_brief_chars=None
    )
    engine2 = FakeEngine()
    datasets.Dataset.from_dict({"text": ["fix"]}).map(mira_hf.Scorer(engine=engine2, structured=False), batched=True)
    assert engine2.samplings[0].regex is None
    s = engine.samplings[0]
    assert (s.temperature, s.top_p, s.max_tokens, s.seed) == (0.7, 0.95, 2048, 0)


def test_default_score_reads_mira_env_vars(monkeypatch):
    monkeypatch.delenv("MIRA_MODEL", raising=False)
    before = Hasher.hash(mira_hf.score)
    monkeypatch.setenv("MIRA_MODEL", "org/another-scorer")
    monkeypatch.setenv("MIRA_TEMPERATURE", "0.3")
    after = Hasher.hash(mira_hf.score)
    assert after != before
    assert mira_hf.score.config.model == "org/another-scorer" and mira_hf.score.config.temperature == 0.3


def test_num_proc_with_the_in_process_engine_is_refused(tmp_path):
    ds = datasets.Dataset.from_dict({"text": [f"fix {i}" for i in range(4)]})
    with pytest.raises(Exception, match="one engine per process"):
        ds.map(mira_hf.Scorer(model=str(tmp_path / "model")), batched=True, num_proc=2)


def test_progress_counts_rows_tokens_and_statuses():
    scorer = mira_hf.Scorer(engine=FakeEngine())
    datasets.Dataset.from_dict({"text": ["fix one", "", "fix two"]}).map(scorer, batched=True, batch_size=2)
    summary = scorer.progress.summary()
    assert summary["rows"] == 3 and summary["statuses"] == {"invalid_input": 1, "ok": 2}
    assert summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0
    assert "ok 2" in scorer.progress.summary_line()


def test_where_requests_go_does_not_change_the_resume_keys():
    a = mira_hf.Scorer(model="org/scorer", engine="openai", base_url="http://node1:8000/v1")
    b = mira_hf.Scorer(
        model="org/scorer",
        engine="openai",
        base_url=["http://node2:8000/v1", "http://node3:8000/v1"],
        engine_kwargs={"timeout": 30, "max_retries": 2},
    )
    assert a.fingerprint == b.fingerprint  # a job restarted against other nodes finds its finished rows
    assert a.row_key("record") == b.row_key("record")


def test_shutdown_engines_stops_each_started_engine_once():
    from types import SimpleNamespace

    from mira_hf.engines import vllm as vllm_engines

    calls: list[str] = []
    engine = vllm_engines.get_engine(vllm_engines.VLLMSettings(model="shutdown-test-model"))
    engine._llm = SimpleNamespace(
        llm_engine=SimpleNamespace(engine_core=SimpleNamespace(shutdown=lambda: calls.append("shutdown")))
    )
    assert engine.started
    vllm_engines.shutdown_engines()
    vllm_engines.shutdown_engines()  # idempotent: a stopped engine is not stopped again
    assert calls == ["shutdown"] and not engine.started


def test_a_duplicated_record_is_sent_once_and_gets_the_same_row_wherever_it_stands(tmp_path):
    """Real corpora repeat records: a prompt repeated in a batch, or later in a streamed run, is sent once, and
    every copy gets the same row — the answer does not depend on which copy came first."""
    import datasets

    texts = ["$ pytest\n1 failed", "$ make\nok", "$ pytest\n1 failed", "$ ls\nREADME", "$ make\nok"] * 3
    ds = datasets.Dataset.from_dict({"id": [f"r{i}" for i in range(len(texts))], "text": texts})
    engine = FakeEngine()
    out = ds.map(mira_hf.Scorer(engine=engine), batched=True, batch_size=5)
    assert engine.calls == [3, 3, 3]  # each batch of 5 holds 3 distinct prompts: each sent once
    by_text = {}
    for text, raw, status in zip(out["text"], out["mira_raw"], out["mira_status"]):
        assert by_text.setdefault(text, (raw, status)) == (raw, status)
    streamed_engine = FakeEngine()
    streamed = mira_hf.score_dataset(
        ds, mira_hf.Scorer(engine=streamed_engine, cache_dir=str(tmp_path / "c")), chunk_rows=4
    )
    assert len(streamed_engine.seen) == 3  # the whole streamed run sends each distinct prompt once
    assert streamed["mira_raw"] == out["mira_raw"] and streamed["mira_status"] == out["mira_status"]


def test_the_default_scorer_has_a_fingerprint_and_resume_keys(monkeypatch, tmp_path):
    """``mira_hf.score`` (configured by MIRA_* variables) gives the same fingerprint and keys as the Scorer the
    variables describe."""
    monkeypatch.setenv("MIRA_TEMPERATURE", "0.3")
    same = mira_hf.Scorer(temperature=0.3)
    assert mira_hf.score.fingerprint == same.fingerprint
    assert mira_hf.score.row_key("a record") == same.row_key("a record")
