"""``OpenAIEngine``: score through one or many OpenAI-compatible servers (``vllm serve``) at once.

Many requests stay in flight (``max_in_flight``, across every endpoint) so each server's continuous
batching stays full; each request goes to the endpoint with the fewest requests in flight. Transient
failures (connection errors, timeouts, 408, 429 and 5xx) are retried with exponential backoff and full
jitter, honouring ``Retry-After``; other 4xx answers (e.g. 400 "prompt too long") are not retried and
become that row's ``error`` with the server's message. An endpoint failing ``eject_after`` times in a
row leaves the rotation and is probed (``GET /models``) every ``probe_interval`` seconds until it answers.
The pool (concurrency, retry, ejection, probing) lives in `mira_hf.engines.pool`, the client's event loop in
`mira_hf.engines.loop`; this module writes the requests and reads the answers.

Client choice: aiohttp. Against a loopback server with 0.5 s latency at 256 in flight, aiohttp reached
~10x the throughput of an httpx ``AsyncClient`` (httpcore's connection pool is the bottleneck at high
concurrency), and the ``openai`` client is built on httpx. The ``openai`` client's own retries
(2 by default, backoff with jitter, Retry-After) retry on the *same* base URL while holding the request,
with no pool, no ejection and no least-in-flight choice, so the retry loop here is our own: each attempt
picks an endpoint afresh. aiohttp is already a dependency of vLLM.

The synchronous [`OpenAIEngine.generate`][mira_hf.engines.openai.OpenAIEngine.generate] runs the client on an event loop
in a dedicated background thread, so it works from ``datasets.map``, from threads, and from code that already runs an
event loop (Jupyter) without ``asyncio.run`` nesting errors;
[`OpenAIEngine.agenerate`][mira_hf.engines.openai.OpenAIEngine.agenerate] awaits the same work from async code. The API
key (argument, ``MIRA_API_KEY`` or ``OPENAI_API_KEY``) is sent as a Bearer token and never appears in logs, errors,
``repr`` or [`OpenAIEngine.identity`][mira_hf.engines.openai.OpenAIEngine.identity].

A base URL with credentials (``http://user:pw@gateway/v1``) is a server behind HTTP basic auth: its requests carry
``Authorization: Basic`` and go to the URL without them, which no message, log or identity ever shows. A request
has one ``Authorization`` header, so such a URL and an API key given as ``api_key=`` or ``MIRA_API_KEY`` are refused
together with a [`ConfigurationError`][mira_hf.errors.ConfigurationError] before any request; a key found only in the
general ``OPENAI_API_KEY`` is not sent to it (the URL's credentials say how that server is reached).

Example:
    >>> engine = OpenAIEngine("whw06/MIRA-Agent-Group4",                                 # doctest: +SKIP
    ...                       ["http://node1:8000/v1", "http://node2:8000/v1"])
    >>> engine.generate([[{"role": "user", "content": "hi"}]], Sampling(max_tokens=8))   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp

from mira_hf.engines.base import Completion, Conversation, Sampling
from mira_hf.engines.pool import RETRY_STATUSES, EndpointPool
from mira_hf.errors import ConfigurationError

__all__ = ["API_KEY_ENV", "RETRY_STATUSES", "OpenAIEngine", "normalize_url", "request_body", "split_credentials"]

logger = logging.getLogger(__name__)

API_KEY_ENV = ("MIRA_API_KEY", "OPENAI_API_KEY")


def normalize_url(url: str) -> str:
    """``http://host:8000`` → ``http://host:8000/v1``; a URL with a path is kept (minus the trailing ``/``).

    Example:
        >>> normalize_url("http://localhost:8000/")
        'http://localhost:8000/v1'
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base_url {_public_url(url)!r} is not an http(s) URL; pass e.g. 'http://localhost:8000/v1'."
        )
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _public_url(url: str) -> str:
    """The URL without any ``user:password@`` part (nor query, then), for messages.

    Example:
        >>> _public_url("http://me:pw@[::1]:8000/v1")
        'http://[::1]:8000/v1'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def split_credentials(url: str) -> tuple[str, str | None]:
    """``(the URL without user:password, its 'Basic …' Authorization value or None)``; percent-escapes decoded.

    Example:
        >>> split_credentials("http://me:p%40ss@gateway:8080/v1")
        ('http://gateway:8080/v1', 'Basic bWU6cEBzcw==')
        >>> split_credentials("http://node1:8000/v1")
        ('http://node1:8000/v1', None)
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))
    if not parts.username and not parts.password:  # "http://@host": nothing to send
        return bare, None
    user = unquote(parts.username or "")
    if ":" in user:
        raise ConfigurationError(
            f"base_url {_public_url(url)!r}: the user name of its user:password has a ':'; "
            "HTTP basic auth cannot carry one."
        )
    return bare, aiohttp.BasicAuth(user, unquote(parts.password or ""), encoding="utf-8").encode()


def _completion(data: dict[str, Any]) -> Completion:
    """The [`Completion`][mira_hf.engines.base.Completion] of a chat-completions answer (every choice's text when ``n``
    > 1)."""
    choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
    texts = [(c.get("message") or {}).get("content") or "" for c in choices]
    usage = data.get("usage") or {}
    return Completion(
        text=texts[0] if texts else "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        samples=texts if len(texts) > 1 else None,
    )


def request_body(model: str, sampling: Sampling, extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The chat-completions body for ``sampling`` (without ``messages``), as the in-process engine samples.

    ``Sampling.regex`` goes in vLLM's ``structured_outputs`` field (vLLM ≥ 0.11; older servers took
    ``guided_regex``, which ``extra_body`` can still send).

    Example:
        >>> request_body("m", Sampling(regex="[0-9]+"))["structured_outputs"]
        {'regex': '[0-9]+'}
    """
    body: dict[str, Any] = {
        "model": model,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "n": sampling.n,
    }
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.regex is not None:
        body["structured_outputs"] = {"regex": sampling.regex}
    if extra_body:
        body.update(extra_body)
    return body


def _check_credentials(logins: Sequence[tuple[str, str | None]], key_source: str | None) -> None:
    """Refuse a URL with ``user:password@`` beside a key given for these servers (both would be Authorization)."""
    if key_source not in ("api_key=", "MIRA_API_KEY"):
        return  # no key, or only the general OPENAI_API_KEY: a URL's credentials decide its server's header
    with_login = [url for url, basic in logins if basic is not None]
    if with_login:
        both = "a request has one Authorization header: remove the user:password from the URL or drop the key"
        raise ConfigurationError(
            f"base_url {with_login[0]} carries a user:password (sent as 'Authorization: Basic') and an API key is "
            f"set ({key_source}; sent as 'Authorization: Bearer'), but {both} (api_key= or MIRA_API_KEY; in a "
            "plan, api_key_env).",
            code="MIRA-E207",
            cli=f"the base URL {with_login[0]} carries a user:password (sent as 'Authorization: Basic') and an API "
            f"key is set (sent as 'Authorization: Bearer'), but {both} (--api-key or MIRA_API_KEY; in a plan, "
            "api_key_env).",
        )


class OpenAIEngine(EndpointPool):
    """An [`Engine`][mira_hf.engines.base.Engine] over a pool of OpenAI-compatible chat-completions servers.

    Args:
        model: the model name the servers serve (``vllm serve <model>``, or its ``--served-model-name``).
        base_url: one URL or a list (``http://host:8000/v1``; a bare ``http://host:8000`` gets ``/v1``).
        api_key: sent as ``Authorization: Bearer``; default ``MIRA_API_KEY`` then ``OPENAI_API_KEY``. A URL with
            ``user:password@`` is sent ``Authorization: Basic`` instead (with ``api_key=`` or ``MIRA_API_KEY`` too,
            [`ConfigurationError`][mira_hf.errors.ConfigurationError]: a request has one ``Authorization`` header).
        max_in_flight: requests in flight across all endpoints (keep vLLM's batches full).
        timeout: seconds for one attempt of one request.
        max_retries: further attempts after a transient failure.
        backoff_base, backoff_max: attempt ``k`` waits a random time in ``[0, min(max, base * 2**k)]``;
            ``Retry-After`` is honoured up to ``backoff_max``.
        eject_after: consecutive failures that take an endpoint out of rotation.
        probe_interval: seconds between probes of an ejected endpoint.
        extra_body: more fields for every request body (e.g. ``{"priority": 1}``).

    Raises [`EngineUnavailableError`][mira_hf.errors.EngineUnavailableError] at construction when no endpoint answers.

    Example:
        >>> engine = OpenAIEngine("whw06/MIRA-Agent-Group4", "http://localhost:8000/v1")   # doctest: +SKIP
        >>> [c.text for c in engine.generate(conversations, Sampling())]                    # doctest: +SKIP
    """

    tokenizer = None
    logger = logger
    thread_name = "mira-openai-client"

    def __init__(
        self,
        model: str,
        base_url: str | list[str],
        *,
        api_key: str | None = None,
        max_in_flight: int = 256,
        timeout: float = 600.0,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        eject_after: int = 5,
        probe_interval: float = 30.0,
        extra_body: dict | None = None,
    ):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ConfigurationError("OpenAIEngine needs at least one base_url, e.g. 'http://localhost:8000/v1'.")
        super().__init__(
            model,
            max_in_flight=max_in_flight,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            eject_after=eject_after,
            probe_interval=probe_interval,
        )
        self.extra_body = dict(extra_body or {})
        self._urls = list(dict.fromkeys(normalize_url(u) for u in urls))
        source = "api_key=" if api_key else next((v for v in API_KEY_ENV if os.environ.get(v)), None)
        key = api_key or (os.environ[source] if source else None)
        self._logins = [split_credentials(u) for u in self._urls]  # (URL without them, 'Basic …' or None)
        _check_credentials(self._logins, source)
        self._bearer = f"Bearer {key}" if key else None
        self._open([(url, basic or self._bearer) for url, basic in self._logins])

    # ------------------------------------------------------- requests, answers
    def _encoder(self, sampling: Sampling) -> Callable[[Conversation], bytes]:
        base = request_body(self.model, sampling, self.extra_body)
        return lambda messages: json.dumps({**base, "messages": messages}, ensure_ascii=False).encode()

    def _read(self, body: bytes) -> Completion:
        return _completion(json.loads(body))

    # ---------------------------------------------------------------- API
    def generate(self, conversations: list[Conversation], sampling: Sampling) -> list[Completion]:
        """One [`Completion`][mira_hf.engines.base.Completion] per conversation, in order; a failed request has
        ``error`` set."""
        if not conversations:
            return []
        future = self._submit(self._generate(list(conversations), sampling))
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C: stop the requests still in flight
            raise

    async def agenerate(self, conversations: list[Conversation], sampling: Sampling) -> list[Completion]:
        """[`generate`][mira_hf.engines.openai.OpenAIEngine.generate] for async code: awaits the client loop without
        blocking the caller's loop."""
        if not conversations:
            return []
        return await asyncio.wrap_future(self._submit(self._generate(list(conversations), sampling)))

    def identity(self) -> dict[str, Any]:
        """What decides the output: the model and the endpoints (never the API key)."""
        return {"engine": "openai", "model": self.model, "endpoints": sorted(_public_url(u) for u in self._urls)}

    def __enter__(self) -> OpenAIEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "OpenAIEngine holds open connections and cannot be pickled; create it in each worker "
            "(Scorer(engine='openai', base_url=...) does)."
        )

    def __repr__(self) -> str:
        return f"OpenAIEngine(model={self.model!r}, endpoints={[_public_url(u) for u in self._urls]!r})"
