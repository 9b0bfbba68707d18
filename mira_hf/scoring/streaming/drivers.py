"""Drivers: keep one engine fed from the `Feed` until the dataset is done.

* ``OpenAIEngine`` (a pool of servers): ``max_in_flight`` requests stay in flight over the whole dataset, each
  on the pool's own per-request coroutine (retries, backoff, ejection) on its own event loop.
* the in-process vLLM engine: requests (token ids, tokenized once by the feed) are added to the shared
  ``vllm.LLM``'s engine as others finish and the engine is stepped in between (continuous batching across batch
  boundaries, one engine, one copy of the weights).
* any other engine: ``generate`` on chunks of requests while the feed builds the next chunk.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from mira_hf.engines.base import Completion
from mira_hf.scoring.scorer import Pending, Scorer
from mira_hf.scoring.streaming.feed import END, Feed
from mira_hf.scoring.streaming.sink import Sink


@dataclass
class Occupancy:
    """How full the engine was: slot-seconds in flight, and seconds with nothing in flight while rows remained."""

    slots: int
    start: float = field(default_factory=time.perf_counter)
    in_flight: int = 0
    busy_slot_s: float = 0.0
    idle_s: float = 0.0
    fed_until: float | None = None  # when the last request was sent (the drain starts)
    busy_slot_s_fed: float = 0.0
    _last: float = 0.0

    def __post_init__(self) -> None:
        self._last = self.start

    def _tick(self) -> None:
        now = time.perf_counter()
        dt = now - self._last
        self.busy_slot_s += self.in_flight * dt
        if self.fed_until is None:
            self.busy_slot_s_fed += self.in_flight * dt
            if self.in_flight == 0:
                self.idle_s += dt
        self._last = now

    def change(self, delta: int) -> None:
        self._tick()
        self.in_flight += delta

    def fed(self) -> None:
        """Every request has been sent: from now on the engine drains."""
        if self.fed_until is None:
            self._tick()
            self.fed_until = time.perf_counter()


class Running:
    """A pass under way: `wait` returns its occupancy; `cancel` stops an endpoint pool's requests.

    An endpoint pool runs on its own event loop from `launch` on (so several pools run at once); the other
    engines run in the caller's thread, inside `wait`.
    """

    def __init__(
        self, occ: Occupancy | None = None, future: Future | None = None, run: Callable[[], Occupancy] | None = None
    ):
        self._occ, self._future, self._run = occ, future, run

    def wait(self) -> Occupancy:
        if self._future is None:
            assert self._run is not None  # a pass is either a future (a pool's) or a run
            return self._run()
        try:
            self._future.result()
        except BaseException:
            self._future.cancel()  # Ctrl-C: stop the requests still in flight
            raise
        assert self._occ is not None  # a pool's pass counts its occupancy
        self._occ.change(0)
        return self._occ

    def cancel(self) -> None:
        if self._future is not None:
            self._future.cancel()


def drive(scorer: Scorer, feed_items: Any, sink: Sink, depth: int) -> Occupancy:
    """Send every request of ``feed_items`` through the scorer's engine; returns the occupancy."""
    return launch(scorer, feed_items, sink, depth).wait()


def launch(scorer: Scorer, feed_items: Any, sink: Sink, depth: int) -> Running:
    """Start sending ``feed_items`` through the scorer's engine: an endpoint pool at once, the others on ``wait``."""
    from mira_hf.engines.openai import OpenAIEngine
    from mira_hf.engines.vllm import VLLMEngine

    engine = scorer.engine
    if isinstance(engine, OpenAIEngine):
        return _launch_pool(engine, scorer, feed_items, sink, depth)
    if isinstance(engine, VLLMEngine):
        return Running(run=lambda: _drive_vllm(engine, scorer, feed_items, sink, depth))
    return Running(run=lambda: _drive_chunks(scorer, feed_items, sink, depth))


def _launch_pool(engine: Any, scorer: Scorer, items: Any, sink: Sink, depth: int) -> Running:
    from mira_hf.engines.openai import request_body

    slots = engine.max_in_flight
    occ = Occupancy(slots)
    base = request_body(engine.model, scorer.sampling, engine.extra_body)

    async def run() -> None:
        engine._session()
        loop = asyncio.get_running_loop()
        ready: asyncio.Queue = asyncio.Queue(maxsize=max(depth, slots))
        feed = Feed(items, depth, put=lambda x: asyncio.run_coroutine_threadsafe(ready.put(x), loop).result())
        feed.start()

        async def worker() -> None:
            while True:
                item = await ready.get()
                if item is END:
                    occ.fed()
                    ready.put_nowait(END)  # tell the next worker too
                    return
                payload = json.dumps({**base, "messages": item.messages}, ensure_ascii=False).encode()
                occ.change(+1)
                try:
                    completion = await engine._one(payload)
                finally:
                    occ.change(-1)
                sink.add(item, completion)

        try:
            await asyncio.gather(*(worker() for _ in range(slots)))
        finally:
            feed.stop()
        feed.raise_error()

    return Running(occ, future=engine._submit(run()))


def _drive_chunks(scorer: Scorer, items: Any, sink: Sink, depth: int) -> Occupancy:
    occ = Occupancy(depth)
    feed = Feed(items, 2 * depth).start()
    rt = scorer._ensure_runtime()
    try:
        done = False
        while not done:
            chunk: list[Pending] = []
            while len(chunk) < depth:
                item = feed.get()
                if item is END:
                    done = True
                    occ.fed()
                    break
                chunk.append(item)
            if chunk:
                occ.change(+len(chunk))
                completions = scorer._generate(rt, chunk)
                occ.change(-len(chunk))
                for item, completion in zip(chunk, completions):
                    sink.add(item, completion)
    finally:
        feed.stop()
    feed.raise_error()
    return occ


def _drive_vllm(engine: Any, scorer: Scorer, items: Any, sink: Sink, depth: int) -> Occupancy:
    from mira_hf.engines.vllm import completion_of, is_request_error, token_prompts

    llm = engine.llm
    core = llm.llm_engine
    params = engine.sampling_params(scorer.sampling)
    occ = Occupancy(depth)
    feed = Feed(items, depth).start()
    running: dict[str, Pending] = {}
    fed = False
    try:
        while True:
            while not fed and len(running) < depth:  # top up: never wait for a batch to finish
                item = feed.get() if not running else feed.get_nowait()
                if item is None:
                    break
                if item is END:
                    fed = True
                    occ.fed()
                    break
                try:
                    if item.token_ids is not None:  # tokenized once, by the feed: vLLM takes the ids as they are
                        (request_id,) = llm.enqueue(token_prompts([item.token_ids]), params, use_tqdm=False)
                    else:
                        (request_id,) = llm.enqueue_chat([item.messages], params, use_tqdm=False)
                except Exception as e:
                    if not is_request_error(e):
                        raise
                    sink.add(item, Completion(error=f"{type(e).__name__}: {e}"))
                    continue
                running[_external_id(request_id)] = item
                occ.change(+1)
            if not running:
                if fed:
                    break
                continue
            if not core.has_unfinished_requests():  # never block on step() for answers that cannot come
                for lost in list(running):
                    occ.change(-1)
                    sink.add(running.pop(lost), Completion(error="the engine dropped this request"))
                continue
            for out in core.step():
                if getattr(out, "finished", False) and out.request_id in running:
                    occ.change(-1)
                    sink.add(running.pop(out.request_id), completion_of(out))
    except BaseException:
        if running:
            try:
                core.abort_request(list(running))
            except Exception:  # the engine is gone already
                pass
        raise
    finally:
        feed.stop()
    feed.raise_error()
    return occ


def _external_id(request_id: str) -> str:
    """The id vLLM's outputs carry: ``add_request`` returns it with 8 random hex digits appended.

    Example:
        >>> _external_id("17-3fa2b9c0"), _external_id("17")
        ('17', '17')
    """
    match = re.fullmatch(r"(.+)-[0-9a-f]{8}", request_id)
    return match.group(1) if match else request_id
