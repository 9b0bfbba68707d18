"""Loopback HTTP servers for the endpoint tests: a scripted OpenAI-compatible stub, run in a thread.

``StubServer`` answers ``/v1/chat/completions`` with whatever its ``handler`` decides (echo by default)
and records every request, so a test can check what the client sent, how often, and how many at once.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mira_hf.testing.loopback import ChatLoopbackServer


@dataclass
class Reply:
    """What the stub does with one request: answer ``status``/``body``, or ``reset`` the connection."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False


def completion_body(texts: list[str], prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """An OpenAI chat-completions response with one choice per text."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": "stub",
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def echo(body: dict[str, Any]) -> Reply:
    """The default answer: the last message's content back (``#k`` appended per sample when n > 1)."""
    content = body["messages"][-1]["content"]
    n = body.get("n", 1)
    texts = [content] if n == 1 else [f"{content}#{k}" for k in range(n)]
    return Reply(body=completion_body(texts, len(content), 3 * n))


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


Handler = Callable[[dict[str, Any], int], "Reply | Awaitable[Reply]"]


class StubServer(ChatLoopbackServer):
    """A scripted OpenAI-compatible server: ``handler(body, nth_request) -> Reply``; echo by default."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        model: str = "stub-model",
        max_model_len: int = 4096,
        models_status: int = 200,
    ):
        super().__init__()
        self.handler = handler
        self.model = model
        self.max_model_len = max_model_len
        self.models_status = models_status
        self.seen: list[Seen] = []
        self.probes = 0
        self.in_flight = 0
        self.peak = 0

    def chat_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/chat/completions")]

    async def _models(self, request: web.Request) -> web.StreamResponse:
        self.probes += 1
        self.seen.append(Seen(request.path, dict(request.headers), None, time.monotonic()))
        if self.models_status != 200:
            return web.json_response(
                {"error": {"message": "nope", "type": "x", "code": self.models_status}}, status=self.models_status
            )
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model", "max_model_len": self.max_model_len}]}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        nth = len(self.chat_requests())
        self.seen.append(Seen(request.path, dict(request.headers), body, time.monotonic()))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            reply = self.handler(body, nth) if self.handler else echo(body)
            if asyncio.iscoroutine(reply):
                reply = await reply
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.reset:
                request.transport.abort()
                raise asyncio.CancelledError
            if reply.body is None:
                reply.body = echo(body).body
            return web.Response(
                status=reply.status,
                body=json.dumps(reply.body).encode(),
                content_type="application/json",
                headers=reply.headers,
            )
        finally:
            self.in_flight -= 1


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
