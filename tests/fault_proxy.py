"""A loopback HTTP proxy that injects faults in front of a real OpenAI-compatible server.

On a seeded share of requests it resets the connection, stalls past the client's timeout, or answers
500 or 429 instead of forwarding; the rest go to the server unchanged. It counts what it did, and can
tag each answer with its request's marker (the text before the first ``|`` of the last message) so a
test can prove every answer came back to the row that asked for it.

Example:
    >>> with FaultProxy("http://127.0.0.1:8000/v1", seed=1, reset=0.1, error500=0.1) as proxy:  # doctest: +SKIP
    ...     engine = OpenAIEngine(model, proxy.url)
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp import web

from mira_hf.testing.loopback import LoopbackServer

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


class FaultProxy(LoopbackServer):
    """Forward ``/v1/*`` to ``upstream`` (a ``.../v1`` URL), with seeded faults on chat completions.

    Args:
        reset, stall, error500, error429: the share of chat requests given each fault.
        stall_s: how long a stalled request hangs before the proxy gives up on it (past the client timeout).
        retry_after: the ``Retry-After`` header sent with 429s.
        tag: prefix each answer's content with its request's marker and ``|``.
        first: faults given to the first chat requests, in order, before the seeded draws begin (so a
            short test still sees every kind).
    """

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        reset: float = 0.0,
        stall: float = 0.0,
        error500: float = 0.0,
        error429: float = 0.0,
        stall_s: float = 30.0,
        retry_after: str = "0.1",
        tag: bool = False,
        first: Sequence[str] = (),
    ):
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.rng = random.Random(seed)
        self.shares = [("reset", reset), ("stall", stall), ("error500", error500), ("error429", error429)]
        if sum(s for _, s in self.shares) > 1:
            raise ValueError("the fault shares add up to more than 1")
        self.stall_s = stall_s
        self.retry_after = retry_after
        self.tag = tag
        self.first = list(first)
        self.counts: Counter[str] = Counter()
        self._session: aiohttp.ClientSession | None = None

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 2**20)
        app.router.add_route("*", "/v1/{tail:.*}", self._handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _draw(self) -> str:
        if self.first:
            return self.first.pop(0)
        u = self.rng.random()
        for kind, share in self.shares:
            if u < share:
                return kind
            u -= share
        return "forward"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        chat = request.path.endswith("/chat/completions")
        kind = self._draw() if chat else "forward"
        self.counts[kind if chat else "other"] += 1
        if kind == "reset":
            request.transport.abort()
            raise asyncio.CancelledError
        if kind == "stall":
            await asyncio.sleep(self.stall_s)
            return web.json_response({"error": {"message": "stalled by the proxy", "code": 504}}, status=504)
        if kind == "error500":
            return web.json_response(
                {"error": {"message": "injected internal error", "type": "InternalServerError", "code": 500}},
                status=500,
            )
        if kind == "error429":
            return web.json_response(
                {"error": {"message": "injected rate limit", "code": 429}},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        url = self.upstream + request.path[len("/v1") :]
        async with self._session.request(request.method, url, data=raw, headers=headers) as up:
            status, body = up.status, await up.read()
            content_type = up.headers.get("Content-Type", "application/json")
        if chat and status == 200:
            self.counts["answered"] += 1
            if self.tag:
                body = self._tagged(raw, body)
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    @staticmethod
    def _tagged(request_raw: bytes, body: bytes) -> bytes:
        marker = json.loads(request_raw)["messages"][-1]["content"].split("|", 1)[0]
        data: dict[str, Any] = json.loads(body)
        for choice in data["choices"]:
            choice["message"]["content"] = f"{marker}|{choice['message']['content']}"
        return json.dumps(data).encode()
