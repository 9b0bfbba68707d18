"""Integration: a real vLLM OpenAI-compatible server (CPU build, tiny model) on loopback, scored through the pool.

The server is the session's shared one (``vllm_server`` in ``tests/conftest.py``), also used by the Ray Data
example's test; the last test compares its answers with the in-process engine's (the session's shared engine).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import datasets
import pytest

import mira_hf
from mira_hf.engines.base import Sampling
from mira_hf.engines.openai import OpenAIEngine
from mira_hf.errors import EngineUnavailableError
from mira_hf.scoring.store import RowStore
from tests.conftest import EXAMPLES, SERVER_KEY
from tests.fault_proxy import FaultProxy

pytestmark = [pytest.mark.server, pytest.mark.slow]

KEY = SERVER_KEY
SEED = 3
#: Scorer settings shared by every scoring run here (same settings → same rows).
SCORER = dict(
    text_column="trajectory",
    source_column="source",
    id_column="id",
    max_model_len=8192,
    max_tokens=1024,
    max_rationale_chars=24,
    seed=SEED,
    engine_kwargs={"timeout": 300.0, "backoff_base": 0.2, "backoff_max": 2.0},
)
MIRA = list(mira_hf.score_features())


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLES / "trajectories.jsonl").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def example_ds(records) -> datasets.Dataset:
    return datasets.Dataset.from_list(records)  # in memory: ds.map never answers from a cache file here


def _structured_conversations(records: list[dict], regex_chars: int = 40) -> tuple[list[list[dict]], str]:
    from mira_hf.answer.regex import template_regex

    rubric = mira_hf.load_rubric("agent-group4")
    picked = [r for r in records if r["num_tokens"] < 1500][:6]
    return (
        [mira_hf.build_messages(r["trajectory"], rubric, max_model_len=8192, max_tokens=1024) for r in picked],
        template_regex(rubric, max_rationale_chars=regex_chars),
    )


STRUCTURED = Sampling(temperature=0.7, top_p=0.95, max_tokens=1024, seed=SEED)
_SERVED: dict[str, list] = {}  # what the server answered, for the comparison with the in-process engine


def _score_structured(url: str, model: str, records: list[dict]) -> list[str | None]:
    conversations, regex = _structured_conversations(records)
    with OpenAIEngine(model, url, api_key=KEY) as engine:
        out = engine.generate(conversations, STRUCTURED.model_copy(update={"regex": regex}))
    _SERVED["texts"] = [c.text for c in out]
    _SERVED["errors"] = [c.error for c in out]
    return _SERVED["texts"]


def _marked(n: int) -> list[list[dict]]:
    words = "pytest patch diff agent tool failed passed assertion traceback repo issue fix import".split()
    return [
        [{"role": "user", "content": f"row-{i}|" + " ".join(words[(i * k) % len(words)] for k in range(3 + i % 9))}]
        for i in range(n)
    ]


# --------------------------------------------------------------------- tests
class TestServe:
    @pytest.fixture(scope="class")
    def server(self, vllm_server) -> str:
        return vllm_server.url

    @pytest.fixture(scope="class")
    def model(self, tiny_model_path) -> str:
        return str(tiny_model_path)

    @pytest.fixture(scope="class")
    def reference(self, server, model, example_ds) -> datasets.Dataset:
        """The example dataset scored once through the server, uninterrupted and without faults."""
        scorer = mira_hf.Scorer(model=model, engine="openai", base_url=server, api_key=KEY, **SCORER)
        return example_ds.map(scorer, batched=True, batch_size=12)

    @pytest.fixture(scope="class")
    def short(self, example_ds) -> list[int]:
        """The 12 shortest records, in dataset order: the slower fault, resume and Ray runs score these."""
        return sorted(sorted(range(len(example_ds)), key=lambda i: example_ds[i]["num_tokens"])[:12])

    def test_structured_outputs_through_the_server_match_the_template(self, server, model, records):
        texts = _score_structured(server, model, records)
        _, regex = _structured_conversations(records)
        assert _SERVED["errors"] == [None] * len(texts)
        assert all(re.fullmatch(regex, t) for t in texts), texts
        assert all(mira_hf.parse_output(t).status == "ok" for t in texts)
        with OpenAIEngine(model, server, api_key=KEY) as engine:
            assert engine.max_model_len == 8192  # read from GET /v1/models

    def test_the_example_dataset_scores_ok_in_order(self, reference, example_ds):
        assert reference["id"] == example_ds["id"]
        assert set(reference["mira_status"]) == {"ok"}, reference["mira_error"]
        assert all(len(s) == 15 and all(0 <= v <= 10 for v in s) for s in reference["mira_scores"])
        assert all(p > 100 for p in reference["mira_prompt_tokens"]) and all(reference["mira_completion_tokens"])
        by_length = [t for _, t in sorted(zip(example_ds["num_tokens"], reference["mira_truncated"]))]
        assert by_length[-1] and by_length == sorted(by_length)  # only the longest records were cut to fit
        assert max(reference["mira_prompt_tokens"]) <= 8192 - SCORER["max_tokens"]

    def test_a_too_long_prompt_is_refused_once_with_the_servers_message(self, server, model):
        with FaultProxy(server) as proxy:
            with OpenAIEngine(model, proxy.url, api_key=KEY) as engine:
                out = engine.generate(
                    [[{"role": "user", "content": "pytest " * 9000}], *_marked(2)], Sampling(max_tokens=8, seed=SEED)
                )
        assert out[0].text is None and "maximum context length is 8192 tokens" in out[0].error
        assert out[0].error.startswith("HTTP 400: ")
        assert [c.error for c in out[1:]] == [None, None]
        assert proxy.counts["forward"] == 3  # the 400 was not retried

    def test_faults_every_request_ends_answered_or_failed_in_order(self, server, model):
        n = 48
        with FaultProxy(
            server,
            seed=7,
            reset=0.1,
            stall=0.1,
            error500=0.1,
            error429=0.1,
            stall_s=40,
            tag=True,
            first=["reset", "stall", "error500", "error429"],
        ) as proxy:
            with OpenAIEngine(
                model, proxy.url, api_key=KEY, timeout=20, max_retries=6, backoff_base=0.2, backoff_max=2.0
            ) as engine:
                out = engine.generate(_marked(n), Sampling(max_tokens=8, seed=SEED))
        assert len(out) == n
        for i, c in enumerate(out):  # each answer is the one the server gave to row i's request
            assert (c.text is not None and c.text.startswith(f"row-{i}|")) or c.error.startswith("gave up"), (i, c)
        assert sum(c.text is not None for c in out) == proxy.counts["answered"]
        assert min(proxy.counts[k] for k in ("reset", "stall", "error500", "error429")) >= 1, proxy.counts

    def test_a_wrong_key_is_refused_clearly(self, server, model):
        with pytest.raises(EngineUnavailableError, match="API key") as err:
            OpenAIEngine(model, server, api_key="sk-wrong-key-123")
        assert "sk-wrong-key-123" not in str(err.value) and KEY not in str(err.value)

    def test_a_pool_takes_a_failing_node_out_and_scores_everything_on_the_others(self, server, model):
        with FaultProxy(server, error500=1.0) as bad, FaultProxy(server) as good:
            with OpenAIEngine(
                model, [bad.url, good.url], api_key=KEY, eject_after=3, probe_interval=600, backoff_base=0.05
            ) as engine:
                first = engine.generate(_marked(24), Sampling(max_tokens=8, seed=SEED))
                failed_before = bad.counts["error500"]
                second = engine.generate(_marked(24), Sampling(max_tokens=8, seed=SEED))
        assert all(c.error is None for c in first + second)  # every failure was retried on the good node
        assert 3 <= failed_before <= 12  # the requests it held when it was taken out, at most its half
        assert bad.counts["error500"] == failed_before and good.counts["answered"] == 48  # then left alone

    def test_scoring_through_faults_gives_ok_or_engine_error_rows_in_order(
        self, server, model, example_ds, reference, short
    ):
        ds, expected = example_ds.select(short), reference.select(short)
        with FaultProxy(
            server,
            seed=11,
            reset=0.1,
            stall=0.1,
            error500=0.1,
            error429=0.1,
            stall_s=100,
            first=["reset", "stall", "error500", "error429"],
        ) as proxy:
            settings = {**SCORER, "engine_kwargs": {**SCORER["engine_kwargs"], "timeout": 90.0}}
            scorer = mira_hf.Scorer(model=model, engine="openai", base_url=proxy.url, api_key=KEY, **settings)
            out = ds.map(scorer, batched=True, batch_size=len(ds))
        assert len(out) == len(ds) and out["id"] == ds["id"]
        assert set(out["mira_status"]) <= {"ok", "engine_error"}
        for i, status in enumerate(out["mira_status"]):
            if status == "ok":  # the same answer as the fault-free run, in the same place
                assert out[i]["mira_raw"] == expected[i]["mira_raw"], i
        assert min(proxy.counts[k] for k in ("reset", "stall", "error500", "error429")) >= 1, proxy.counts

    def test_a_killed_run_resumes_with_only_the_unfinished_rows(
        self, server, model, example_ds, reference, short, tmp_path
    ):
        ds, expected = example_ds.select(short), reference.select(short)
        cache = tmp_path / "cache"
        data = tmp_path / "data.jsonl"
        ds.to_json(str(data))
        with FaultProxy(server) as proxy:
            job = {
                "model": model,
                "url": proxy.url,
                "key": KEY,
                "cache": str(cache),
                "data": str(data),
                "settings": SCORER,
            }
            (tmp_path / "job.json").write_text(json.dumps(job))
            script = tmp_path / "run.py"
            script.write_text(RESUME_JOB)
            with open(tmp_path / "run.log", "wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, str(script), str(tmp_path / "job.json")], stderr=log, start_new_session=True
                )
            try:
                while not (cache.is_dir() and len(RowStore(cache)) >= 4):
                    assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
                    time.sleep(0.2)
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            done = len(RowStore(cache))
            assert 4 <= done < len(ds)  # killed in the middle of the run

            proxy.counts.clear()
            scorer = mira_hf.Scorer(
                model=model, engine="openai", base_url=proxy.url, api_key=KEY, cache_dir=str(cache), **SCORER
            )
            resumed = ds.map(scorer, batched=True, batch_size=len(ds))
        assert proxy.counts["forward"] == len(ds) - done  # only the unfinished rows were sent
        assert resumed.select_columns(MIRA).to_list() == expected.select_columns(MIRA).to_list()

    def test_ray_data_map_batches_with_two_scorer_replicas(self, server, model, example_ds, reference, short):
        import ray
        import ray.data

        ds, expected = example_ds.select(short), reference.select(short)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=256 * 2**20,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
        try:
            kwargs = {"model": model, "engine": "openai", "base_url": server, "api_key": KEY, **SCORER}
            rows = (
                ray.data.from_huggingface(ds)
                .repartition(4)  # several blocks, so both replicas work
                .map_batches(
                    mira_hf.Scorer,
                    fn_constructor_kwargs=kwargs,
                    concurrency=2,
                    batch_size=3,
                    batch_format="numpy",
                    num_cpus=0.5,
                )  # leaves a CPU for the repartition tasks
                .take_all()
            )
        finally:
            ray.shutdown()
        assert sorted(r["id"] for r in rows) == sorted(ds["id"])  # every row once
        by_id = {r["id"]: r for r in rows}
        for want in expected:
            got = by_id[want["id"]]
            assert got["mira_status"] == "ok" and got["mira_raw"] == want["mira_raw"]
            assert list(got["mira_scores"]) == pytest.approx(want["mira_scores"])


RESUME_JOB = textwrap.dedent("""
    import json, sys
    if __name__ == "__main__":
        import datasets, mira_hf
        job = json.load(open(sys.argv[1]))
        ds = datasets.Dataset.from_json(job["data"])
        ds = datasets.Dataset.from_list(ds.to_list())  # in memory, like the test's dataset
        scorer = mira_hf.Scorer(model=job["model"], engine="openai", base_url=job["url"], api_key=job["key"],
                                cache_dir=job["cache"], **job["settings"])
        ds.map(scorer, batched=True, batch_size=4)
""")


@pytest.mark.vllm
def test_the_server_gives_the_in_process_engines_text_under_the_same_seed(tiny_model_path, records, vllm_server):
    """The session's shared in-process engine (the settings of the server's arguments) answers as the server."""
    from mira_hf.engines.vllm import VLLMSettings, get_engine

    if "texts" not in _SERVED:  # run on its own: get the server's answers first
        _score_structured(vllm_server.url, str(tiny_model_path), records)
    conversations, regex = _structured_conversations(records)
    engine = get_engine(
        VLLMSettings(
            model=str(tiny_model_path), max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15
        )
    )  # as tests/_vllm_serve.py's SERVER_ARGS
    out = engine.generate(conversations, STRUCTURED.model_copy(update={"regex": regex}))
    in_process = [c.text for c in out]
    assert _SERVED["errors"] == [None] * len(in_process)
    assert in_process == _SERVED["texts"]
