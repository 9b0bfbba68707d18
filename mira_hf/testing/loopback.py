"""``LoopbackServer``: an aiohttp application served on 127.0.0.1 from its own event-loop thread.

The base of the loopback servers that tests and examples run instead of a real endpoint
(`mira_hf.testing.judge_server`, and the test suite's stub and fault proxy).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiohttp import web


class LoopbackServer:
    """An aiohttp application served on 127.0.0.1 (a free port) from its own event-loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="loopback-server")
        self._runner: web.AppRunner | None = None
        self.port = 0

    def build_app(self) -> web.Application:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LoopbackServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024, shutdown_timeout=0.1).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
            self._runner = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:  # handlers still stalling on purpose
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class ChatLoopbackServer(LoopbackServer):
    """A loopback OpenAI-compatible model ``model``: ``GET /v1/models`` and ``POST /v1/chat/completions``,
    answered by the subclass's ``_chat``."""

    model: str = "loopback"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:  # pragma: no cover - overridden
        raise NotImplementedError
