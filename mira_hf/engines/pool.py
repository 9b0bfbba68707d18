"""A pool of OpenAI-compatible servers: concurrency, retry with backoff, endpoint ejection and probing, once.

`EndpointPool` is the base of the HTTP engines (as NeMo Curator's ``llm_client.py`` keeps retry and
concurrency in one base): a subclass says how a request body is written and how an answer is read, the pool does
the rest. Many requests stay in flight (``max_in_flight``, across every endpoint) so each server's continuous
batching stays full; each request goes to the endpoint with the fewest requests in flight. Transient failures
(connection errors, timeouts, 408, 409, 425, 429 and 5xx) are retried with exponential backoff and full jitter,
honouring ``Retry-After``; other 4xx answers are final and become that row's ``error`` with the server's message.
An endpoint failing ``eject_after`` times in a row leaves the rotation and is probed (``GET /models``) every
``probe_interval`` seconds until it answers; back, it is on trial (one more failure ejects it again).

Example:
    >>> server_message(429, b'{"error": {"message": "slow down"}}')
    'HTTP 429: slow down'
    >>> retry_after("2.5")
    2.5
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import aiohttp

from mira_hf.engines.base import Completion, Conversation, Sampling
from mira_hf.engines.loop import FORK_ORPHANS, LoopThread, shutdown
from mira_hf.errors import ConfigurationError, EngineUnavailableError

#: HTTP statuses worth another attempt (the rest of 4xx are the request's own fault).
RETRY_STATUSES = frozenset({408, 409, 425, 429})
_MAX_MESSAGE = 2000
#: What a failed attempt can raise besides an HTTP answer: each counts against its endpoint.
_READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


def server_message(status: int, body: bytes) -> str:
    """The human message of an error response (OpenAI ``{"error": {"message"}}`` or vLLM's older shape).

    Example:
        >>> server_message(400, b'{"message": "prompt too long"}')
        'HTTP 400: prompt too long'
    """
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            text = str(err["message"])
        elif isinstance(err, str):
            text = err
        elif data.get("message"):
            text = str(data["message"])
    text = " ".join(text.split()) or "(empty body)"
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "…"
    return f"HTTP {status}: {text}"


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date).

    Example:
        >>> retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), retry_after(None)
        (0.0, None)
    """
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class Endpoint:
    """One server of the pool and its health, touched only on the client's event loop."""

    __slots__ = ("url", "public", "headers", "in_flight", "failures", "ejected", "max_model_len", "served")

    def __init__(self, url: str, authorization: str | None = None):
        self.url = url  # without credentials: errors may quote it
        self.public = url
        self.headers = {"Authorization": authorization} if authorization else None  # per request: they may differ
        self.in_flight = 0
        self.failures = 0
        self.ejected = False
        self.max_model_len: int | None = None
        self.served: list[str] = []


class EndpointPool:
    """The pool's settings, client loop and health; subclasses write requests (`_encoder`) and read answers
    (`_read`), then call `_open` with their endpoints. See the module docstring for the policy."""

    #: Where the pool's messages go (a subclass names its own, so its users filter its logs by its module).
    logger = logging.getLogger(__name__)
    #: The name of the client loop's thread.
    thread_name = "mira-pool-client"
    #: The path a request is POSTed to, under each endpoint's base URL.
    request_path = "/chat/completions"

    def __init__(
        self,
        model: str,
        *,
        max_in_flight: int,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        eject_after: int,
        probe_interval: float,
    ):
        if max_in_flight < 1 or max_retries < 0 or timeout <= 0 or eject_after < 1 or probe_interval <= 0:
            raise ConfigurationError(
                f"{type(self).__name__}: max_in_flight, timeout, eject_after and probe_interval must be "
                "positive and max_retries >= 0."
            )
        self.model = model
        self.max_in_flight = max_in_flight
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.eject_after = eject_after
        self.probe_interval = probe_interval
        self._headers = {"Content-Type": "application/json"}
        self._rng = random.Random()
        self._rr = 0
        self._auths: list[tuple[str, str | None]] = []
        self._state: dict[str, Any] = {}
        self._state_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutdown, self._state)
        self.endpoints: list[Endpoint] = []
        self.max_model_len: int | None = None
        self._closed = False

    # ------------------------------------------------------------- subclass hooks
    def _encoder(self, sampling: Sampling) -> Callable[[Conversation], bytes]:
        """The request body of one conversation under ``sampling``."""
        raise NotImplementedError

    def _read(self, body: bytes) -> Completion:
        """The completion in a 200 answer; raises ``ValueError``/``KeyError``/``TypeError``/``AttributeError``."""
        raise NotImplementedError

    # ------------------------------------------------------------- plumbing
    def _open(self, auths: Sequence[tuple[str, str | None]]) -> None:
        """Reach the endpoints ``(url, Authorization value or None)``; raises when none answers."""
        self._auths = list(auths)
        try:
            self._submit(self._connect()).result()
        except BaseException:
            self.close()
            raise

    def _runner(self) -> LoopThread:
        """This process's client loop (a forked ``num_proc`` worker starts its own)."""
        with self._state_lock:
            if self._state.get("pid") != os.getpid():
                if self._state:  # inherited through fork: the parent's loop and sockets are not ours to close
                    FORK_ORPHANS.append(dict(self._state))
                self._state.clear()
                runner = LoopThread(self.thread_name)
                self._state.update(pid=os.getpid(), runner=runner, session=None, sem=None, probe=None)
                for ep in self.endpoints:
                    ep.in_flight = 0
            return self._state["runner"]

    def _submit(self, coro: Any) -> Future:
        if self._closed:
            coro.close()
            raise EngineUnavailableError(f"this {type(self).__name__} was closed; create a new one to score again.")
        return self._runner().submit(coro)

    def _session(self) -> aiohttp.ClientSession:
        session = self._state.get("session")
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            self._state["session"] = session
            self._state["sem"] = asyncio.Semaphore(self.max_in_flight)
        return session

    def _delay(self, attempt: int, hint: float | None) -> float:
        delay = self._rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))
        if hint is not None:
            delay = max(delay, hint)
        return min(delay, self.backoff_max)

    def close(self) -> None:
        """Close the connections and stop the client thread."""
        self._closed = True
        self._finalizer()

    # -------------------------------------------------------------- start-up
    async def _probe(self, ep: Endpoint, timeout: float) -> tuple[bool, str]:
        """``GET /models`` once: (answered, what happened). Any HTTP answer but 5xx counts as alive."""
        try:
            async with self._session().get(
                f"{ep.url}/models", headers=ep.headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as r:
                body = await r.read()
                if r.status >= 500:
                    return False, server_message(r.status, body)
                if r.status in (401, 403):
                    return True, server_message(r.status, body)
                if r.status == 200:
                    self._read_models(ep, body)
                return True, f"HTTP {r.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return False, f"{type(e).__name__}: {e}"

    def _read_models(self, ep: Endpoint, body: bytes) -> None:
        """What ``GET /models`` says an endpoint serves, and its context length for ``model``."""
        try:
            data = json.loads(body).get("data") or []
        except (ValueError, AttributeError):
            data = []
        ep.served = [str(m.get("id")) for m in data if isinstance(m, dict)]
        lens = [m.get("max_model_len") for m in data if isinstance(m, dict) and m.get("id") == self.model]
        if lens and isinstance(lens[0], int):
            ep.max_model_len = lens[0]

    async def _first_contact(self, ep: Endpoint) -> tuple[bool, str]:
        """Probe ``ep`` until it answers, with backoff, at most ``max_retries + 1`` times."""
        outcome = (False, "not tried")
        for attempt in range(self.max_retries + 1):
            outcome = await self._probe(ep, min(self.timeout, 30.0))
            if outcome[0]:
                return outcome
            if attempt == 0 and self.max_retries:
                self.logger.warning(
                    "Endpoint %s does not answer (%s); trying %d more times with backoff before giving up on it.",
                    ep.public,
                    outcome[1],
                    self.max_retries,
                )
            if attempt < self.max_retries:
                await asyncio.sleep(self._delay(attempt, None))
        return outcome

    async def _connect(self) -> None:
        self.endpoints = [Endpoint(url, authorization) for url, authorization in self._auths]
        results = await asyncio.gather(*(self._first_contact(ep) for ep in self.endpoints))
        alive = [(ep, msg) for ep, (ok, msg) in zip(self.endpoints, results) if ok]
        if not alive:
            detail = "; ".join(f"{ep.public}: {msg}" for ep, (_, msg) in zip(self.endpoints, results))
            raise EngineUnavailableError(
                f"No OpenAI-compatible server answered at {len(self.endpoints)} endpoint(s) after "
                f"{self.max_retries + 1} attempts each ({detail}). Start one, e.g. `vllm serve {self.model} "
                "--port 8000`, and check base_url (it should end in /v1)."
            )
        denied = [ep for ep, msg in alive if msg.startswith(("HTTP 401", "HTTP 403"))]
        if len(denied) == len(alive):
            raise EngineUnavailableError(
                f"Every server refused the API key or the URL's user:password ({alive[0][1]}). Pass api_key= or "
                "set MIRA_API_KEY to the key the servers were started with (`vllm serve ... --api-key`), or put the "
                "gateway's user:password in base_url."
            )
        self._note_start(results)
        lens = [ep.max_model_len for ep in self.endpoints if ep.max_model_len]
        self.max_model_len = min(lens) if lens else None
        if any(ep.ejected for ep in self.endpoints):
            self._start_prober()

    def _note_start(self, results: Sequence[tuple[bool, str]]) -> None:
        """Eject the endpoints that did not answer at start-up; warn about those serving another model."""
        for ep, (ok, msg) in zip(self.endpoints, results):
            if not ok:
                ep.ejected = True
                self.logger.warning(
                    "Endpoint %s did not answer (%s); it stays out of rotation and is probed every %.0f s.",
                    ep.public,
                    msg,
                    self.probe_interval,
                )
            elif ep.served and self.model not in ep.served:
                self.logger.warning(
                    "Endpoint %s serves %s, not %r: requests will fail unless model= names one of "
                    "them (or the server's --served-model-name).",
                    ep.public,
                    ep.served,
                    self.model,
                )

    # ---------------------------------------------------------- health
    def _pick(self, avoid: Endpoint | None = None) -> Endpoint:
        """The live endpoint with the fewest requests in flight (ties go round-robin). A retry ``avoid``s the
        endpoint that just failed it when another is live: a node failing fast has few requests in flight and
        would otherwise draw the retries it fails."""
        eps = self.endpoints
        live = [ep for ep in eps if not ep.ejected] or eps  # all out: try them all rather than stall
        if avoid is not None and len(live) > 1:
            live = [ep for ep in live if ep is not avoid] or live
        self._rr += 1
        start = self._rr % len(live)
        best = live[start]
        for i in range(1, len(live)):
            ep = live[(start + i) % len(live)]
            if ep.in_flight < best.in_flight:
                best = ep
        return best

    def _failed(self, ep: Endpoint, why: str) -> None:
        ep.failures += 1
        if not ep.ejected and ep.failures >= self.eject_after:
            ep.ejected = True
            self.logger.warning(
                "Endpoint %s failed %d times in a row (last: %s); out of rotation, probed every %.0f s.",
                ep.public,
                ep.failures,
                why,
                self.probe_interval,
            )
            self._start_prober()

    def _probed_back(self, ep: Endpoint) -> None:
        # Half-open, as a circuit breaker: back in rotation on trial, so one more failure ejects it again.
        ep.failures = self.eject_after - 1
        ep.ejected = False
        self.logger.info("Endpoint %s answers again; back in rotation.", ep.public)

    def _start_prober(self) -> None:
        task = self._state.get("probe")
        if task is None or task.done():
            self._state["probe"] = asyncio.get_running_loop().create_task(self._probe_loop())

    async def _probe_loop(self) -> None:
        while any(ep.ejected for ep in self.endpoints):
            await asyncio.sleep(self.probe_interval)
            for ep in [ep for ep in self.endpoints if ep.ejected]:
                ok, _ = await self._probe(ep, min(self.timeout, 10.0))
                if ok and ep.ejected:
                    self._probed_back(ep)

    # ------------------------------------------------------------ requests
    async def _attempt(
        self, session: aiohttp.ClientSession, ep: Endpoint, payload: bytes
    ) -> tuple[Completion | None, str, float | None]:
        """One try on ``ep``: ``(the final completion or None to retry, what went wrong, Retry-After)``."""
        async with session.post(f"{ep.url}{self.request_path}", data=payload, headers=ep.headers) as resp:
            body = await resp.read()
            status = resp.status
            if status == 200:
                try:
                    completion = self._read(body)
                except _READ_ERRORS as e:
                    last = f"unreadable response from {ep.public}: {type(e).__name__}: {e}"
                    self._failed(ep, last)
                    return None, last, None
                ep.failures = 0
                return completion, "", None
            if status >= 500 or status in RETRY_STATUSES:
                last = f"{server_message(status, body)} (from {ep.public})"
                hint = retry_after(resp.headers.get("Retry-After"))
                if status >= 500:
                    self._failed(ep, last)
                else:
                    ep.failures = 0  # overloaded, but alive
                return None, last, hint
            # the request's own fault (400 prompt too long, 404 unknown model, ...): final
            ep.failures = 0
            return Completion(error=server_message(status, body)), "", None

    async def _one(self, payload: bytes) -> Completion:
        """Send one request, retrying transient failures on the best endpoint each time."""
        session = self._session()
        last = "no attempt made"
        attempts = self.max_retries + 1
        ep = None
        for attempt in range(attempts):
            ep = self._pick(avoid=ep)
            hint = None
            ep.in_flight += 1
            try:
                done, last, hint = await self._attempt(session, ep, payload)
                if done is not None:
                    return done
            except asyncio.TimeoutError:
                last = f"no answer from {ep.public} within {self.timeout:g} s"
                self._failed(ep, last)
            except (aiohttp.ClientError, OSError) as e:
                last = f"{type(e).__name__} talking to {ep.public}: {e}"
                self._failed(ep, last)
            finally:
                ep.in_flight -= 1
            if attempt + 1 < attempts:
                delay = self._delay(attempt, hint)
                self.logger.debug("attempt %d/%d failed (%s); retrying in %.2f s", attempt + 1, attempts, last, delay)
                await asyncio.sleep(delay)
        return Completion(error=f"gave up after {attempts} attempts; last error: {last}")

    async def _generate(self, conversations: Sequence[Conversation], sampling: Sampling) -> list[Completion]:
        """Every conversation through the pool, ``max_in_flight`` at a time; completions in order."""
        self._session()
        sem: asyncio.Semaphore = self._state["sem"]
        encode = self._encoder(sampling)
        out: list[Completion | None] = [None] * len(conversations)
        todo = iter(range(len(conversations)))

        async def worker() -> None:
            for i in todo:  # shared iterator: each index is taken by exactly one worker
                payload = encode(conversations[i])
                async with sem:
                    out[i] = await self._one(payload)

        await asyncio.gather(*(worker() for _ in range(min(self.max_in_flight, len(conversations)))))
        failed = [c for c in out if c is not None and c.error is not None]
        if failed:
            self.logger.warning("%d of %d requests failed; first error: %s", len(failed), len(out), failed[0].error)
        return out  # type: ignore[return-value]
