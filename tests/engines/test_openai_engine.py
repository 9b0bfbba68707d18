"""The endpoint engine against loopback stub servers: what it sends, retries, ejection, keys, event loops."""

from __future__ import annotations

import asyncio
import logging
import time

import datasets
import pytest

from mira_hf.engines.base import Engine, Sampling
from mira_hf.engines.openai import OpenAIEngine, normalize_url
from mira_hf.errors import EngineUnavailableError
from tests._server_loopback import Reply, StubServer, free_port

FAST = dict(backoff_base=0.01, backoff_max=0.05, timeout=5.0)
SECRET = "sk-mira-test-7f3a9c0d1e2b"


def convs(n: int, prefix: str = "row") -> list[list[dict]]:
    return [[{"role": "system", "content": "grade"}, {"role": "user", "content": f"{prefix}-{i}"}] for i in range(n)]


@pytest.fixture
def stub():
    servers: list[StubServer] = []

    def make(handler=None, **kw) -> StubServer:
        server = StubServer(handler, **kw).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def engines():
    made: list[OpenAIEngine] = []

    def make(*args, **kw) -> OpenAIEngine:
        engine = OpenAIEngine(*args, **{**FAST, **kw})
        made.append(engine)
        return engine

    yield make
    for e in made:
        e.close()


def test_sends_the_sampling_the_structured_regex_and_the_key_and_keeps_order(stub, engines, monkeypatch):
    monkeypatch.setenv("MIRA_API_KEY", SECRET)
    server = stub(lambda body, nth: Reply(body=None, delay=0.05 * (int(body["messages"][-1]["content"][4:]) % 3)))
    engine = engines("stub-model", server.url, extra_body={"priority": 3})
    assert isinstance(engine, Engine) and engine.max_model_len == 4096 and engine.tokenizer is None
    sampling = Sampling(temperature=0.3, top_p=0.9, max_tokens=77, seed=11, regex=r"\[A1\] .*")
    out = engine.generate(convs(30), sampling)

    assert [c.text for c in out] == [f"row-{i}" for i in range(30)]  # order kept despite varied latency
    assert [c.prompt_tokens for c in out] == [len(f"row-{i}") for i in range(30)]
    assert all(c.completion_tokens == 3 and c.error is None for c in out)
    sent = server.chat_requests()[0]
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert {k: v for k, v in sent.body.items() if k != "messages"} == {
        "model": "stub-model",
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 77,
        "seed": 11,
        "n": 1,
        "structured_outputs": {"regex": r"\[A1\] .*"},
        "priority": 3,
    }
    assert len(server.chat_requests()) == 30


def test_n_samples_come_back_as_samples(stub, engines):
    engine = engines("stub-model", stub().url)
    (c,) = engine.generate(convs(1), Sampling(n=3))
    assert c.samples == ["row-0#0", "row-0#1", "row-0#2"] and c.text == "row-0#0" and c.completion_tokens == 9


def test_in_flight_is_bounded_and_reached(stub, engines):
    server = stub(lambda body, nth: Reply(delay=0.05))
    engine = engines("stub-model", server.url, max_in_flight=8)
    out = engine.generate(convs(64), Sampling())
    assert all(c.error is None for c in out)
    assert server.peak == 8


def test_requests_spread_least_in_flight_over_endpoints(stub, engines):
    slow = stub(lambda body, nth: Reply(delay=0.3))
    fast = stub(lambda body, nth: Reply(delay=0.01))
    engine = engines("stub-model", [slow.url, fast.url], max_in_flight=4)
    out = engine.generate(convs(80), Sampling())
    assert [c.text for c in out] == [f"row-{i}" for i in range(80)]
    n_slow, n_fast = len(slow.chat_requests()), len(fast.chat_requests())
    assert n_slow + n_fast == 80 and n_slow >= 1
    assert n_fast > 4 * n_slow  # the fast server frees its slots sooner, so it gets most of the work


def test_5xx_and_resets_are_retried_until_an_answer(stub, engines):
    def flaky(body, nth):
        return (
            [
                Reply(status=500, body={"error": {"message": "boom"}}),
                Reply(reset=True),
                Reply(status=502, body={"error": {"message": "bad gateway"}}),
            ][nth]
            if nth < 3
            else Reply()
        )

    server = stub(flaky)
    engine = engines("stub-model", server.url, eject_after=10)
    (c,) = engine.generate(convs(1), Sampling())
    assert c.text == "row-0" and c.error is None
    assert len(server.chat_requests()) == 4


def test_429_waits_for_retry_after(stub, engines):
    server = stub(
        lambda body, nth: (
            Reply(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "0.4"})
            if nth == 0
            else Reply()
        )
    )
    engine = engines("stub-model", server.url, backoff_max=5.0)
    (c,) = engine.generate(convs(1), Sampling())
    first, second = server.chat_requests()
    assert c.text == "row-0" and second.at - first.at >= 0.4


def test_a_timeout_is_retried(stub, engines):
    server = stub(lambda body, nth: Reply(delay=2.0) if nth == 0 else Reply())
    engine = engines("stub-model", server.url, timeout=0.3)
    (c,) = engine.generate(convs(1), Sampling())
    assert c.text == "row-0" and len(server.chat_requests()) == 2


def test_400_is_not_retried_and_becomes_that_rows_error(stub, engines):
    message = (
        "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens "
        "(8000 in the messages, 1000 in the completion)."
    )

    def too_long(body, nth):
        if body["messages"][-1]["content"] == "row-2":
            return Reply(status=400, body={"error": {"message": message, "type": "BadRequestError", "code": 400}})
        return Reply()

    server = stub(too_long)
    engine = engines("stub-model", server.url)
    out = engine.generate(convs(5), Sampling())
    assert [c.error is None for c in out] == [True, True, False, True, True]
    assert out[2].error == f"HTTP 400: {message}" and out[2].text is None
    assert len(server.chat_requests()) == 5  # sent once, never retried


def test_gives_up_after_max_retries_with_the_last_error(stub, engines):
    server = stub(lambda body, nth: Reply(status=503, body={"error": {"message": "overloaded"}}))
    engine = engines("stub-model", server.url, max_retries=2, eject_after=100)
    out = engine.generate(convs(2), Sampling())
    assert all(c.text is None for c in out)
    assert out[0].error.startswith("gave up after 3 attempts") and "HTTP 503: overloaded" in out[0].error
    assert len(server.chat_requests()) == 6


def test_a_failing_endpoint_is_ejected_then_probed_back(stub, engines):
    state = {"broken": True}
    bad = stub(
        lambda body, nth: Reply(status=500, body={"error": {"message": "gpu fell off"}}) if state["broken"] else Reply()
    )
    good = stub()
    engine = engines("stub-model", [bad.url, good.url], eject_after=3, probe_interval=0.1, max_in_flight=2)
    bad.models_status = 503  # down for the probes too
    out = engine.generate(convs(40), Sampling())
    assert all(c.error is None for c in out)  # the failures were retried on the good endpoint
    assert len(bad.chat_requests()) == 3  # ejected after 3 failures in a row, then left alone
    assert engine.endpoints[0].ejected

    state["broken"], bad.models_status = False, 200
    deadline = time.monotonic() + 5
    while engine.endpoints[0].ejected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not engine.endpoints[0].ejected and bad.probes >= 2  # the start-up check, then probes
    engine.generate(convs(40), Sampling())
    assert len(bad.chat_requests()) > 3  # back in rotation


def test_a_probed_back_endpoint_that_still_fails_is_ejected_on_its_first_failure(stub, engines):
    bad = stub(lambda body, nth: Reply(status=500, body={"error": {"message": "still broken"}}))
    good = stub()
    engine = engines("stub-model", [bad.url, good.url], eject_after=3, probe_interval=0.1, max_in_flight=1)
    engine.generate(convs(10), Sampling())
    assert len(bad.chat_requests()) == 3
    deadline = time.monotonic() + 5  # /models answers, so a probe lets it back in, on trial
    while engine.endpoints[0].ejected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not engine.endpoints[0].ejected
    engine.generate(convs(2), Sampling())
    assert len(bad.chat_requests()) == 4 and engine.endpoints[0].ejected  # one failure is enough now


def test_no_endpoint_answering_at_start_up_is_a_clear_error(caplog):
    caplog.set_level(logging.WARNING, logger="mira_hf.engines.openai")
    port = free_port()
    with pytest.raises(EngineUnavailableError) as err:
        OpenAIEngine("m", f"http://127.0.0.1:{port}/v1", api_key=SECRET, max_retries=2, backoff_base=0.01)
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg and "vllm serve" in msg and SECRET not in msg
    # the wait is not silent: one warning when the first attempt fails, saying that it retries
    said = [r.getMessage() for r in caplog.records if f"127.0.0.1:{port}" in r.getMessage()]
    assert len(said) == 1 and "does not answer" in said[0] and "2 more times" in said[0], said


def test_a_dead_endpoint_among_live_ones_starts_ejected(stub, engines):
    live = stub()
    dead = f"http://127.0.0.1:{free_port()}/v1"
    engine = engines("stub-model", [dead, live.url], max_retries=1, probe_interval=30)
    assert [ep.ejected for ep in engine.endpoints] == [True, False]
    out = engine.generate(convs(10), Sampling())
    assert all(c.error is None for c in out) and len(live.chat_requests()) == 10


def test_a_refused_key_is_a_clear_error(stub):
    server = stub(models_status=401)
    with pytest.raises(EngineUnavailableError, match="API key") as err:
        OpenAIEngine("stub-model", server.url, api_key=SECRET, **FAST)
    assert SECRET not in str(err.value)


def test_the_key_never_reaches_logs_errors_repr_or_identity(stub, engines, caplog):
    caplog.set_level(logging.DEBUG)

    def mixed(body, nth):
        content = body["messages"][-1]["content"]
        if content.endswith("-1"):
            return Reply(status=400, body={"error": {"message": "bad request"}})
        if nth % 2:
            return Reply(status=500, body={"error": {"message": "flaky"}})
        return Reply()

    server = stub(mixed)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    engine = engines(
        "stub-model", [server.url, dead], api_key=SECRET, max_retries=3, eject_after=2, probe_interval=0.05
    )
    out = engine.generate(convs(12), Sampling())
    engine.close()
    assert any(c.error for c in out) and caplog.records  # there was something to log
    texts = [r.getMessage() for r in caplog.records] + [c.error or "" for c in out]
    texts += [repr(engine), str(engine.identity())]
    assert not [t for t in texts if SECRET in t]
    assert engine.identity() == {"engine": "openai", "model": "stub-model", "endpoints": sorted([server.url, dead])}


def test_works_inside_a_running_event_loop_and_from_async_code(stub, engines):
    engine = engines("stub-model", stub().url)

    async def notebook_cell():  # what Jupyter does: a loop is already running in this thread
        sync = engine.generate(convs(3), Sampling())
        asynchronous = await engine.agenerate(convs(3, "async"), Sampling())
        return sync, asynchronous

    sync, asynchronous = asyncio.run(notebook_cell())
    assert [c.text for c in sync] == ["row-0", "row-1", "row-2"]
    assert [c.text for c in asynchronous] == ["async-0", "async-1", "async-2"]


_ENGINE: OpenAIEngine | None = None


def _map_batch(batch: dict) -> dict:
    out = _ENGINE.generate([[{"role": "user", "content": t}] for t in batch["text"]], Sampling())
    return {"answer": [c.text for c in out]}


def test_works_inside_datasets_map_in_forked_workers(stub, engines):
    global _ENGINE
    _ENGINE = engines("stub-model", stub().url)
    _ENGINE.generate(convs(1), Sampling())  # the client loop runs in the parent before the fork
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(40)]})
    try:
        out = ds.map(_map_batch, batched=True, batch_size=5, num_proc=2)
    finally:
        _ENGINE = None
    assert out["answer"] == out["text"]


def test_empty_input_and_url_forms(stub, engines):
    engine = engines("stub-model", stub().url)
    assert engine.generate([], Sampling()) == []
    assert normalize_url("http://h:8000") == "http://h:8000/v1"
    assert normalize_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert normalize_url("https://gw.example/openai/v1") == "https://gw.example/openai/v1"
