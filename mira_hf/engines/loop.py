"""An asyncio event loop running in a daemon thread, so synchronous callers can await a client's work.

The HTTP engines run their client on such a loop: it works from ``datasets.map``, from threads and from code that
already runs an event loop (Jupyter) without ``asyncio.run`` nesting errors.

Example:
    >>> async def answer():
    ...     return 42
    >>> runner = LoopThread("mira-example")
    >>> runner.submit(answer()).result()
    42
    >>> runner.stop(None)
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Future
from typing import Any

import aiohttp

#: Client state inherited by a forked worker, kept alive so that it is never finalised in the child.
FORK_ORPHANS: list[dict[str, Any]] = []


class LoopThread:
    """An event loop running forever in a daemon thread named ``name``."""

    def __init__(self, name: str) -> None:
        self.loop: asyncio.AbstractEventLoop
        try:  # uvloop (installed with vLLM's server) roughly halves the client's CPU per request
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Any) -> Future:
        """Schedule ``coro`` on the loop; its result comes through the returned future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self, session: aiohttp.ClientSession | None) -> None:
        """Cancel what still runs, close ``session``, stop the loop and join the thread."""
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            try:
                self.submit(_drain(session)).result(timeout=10)
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


async def _drain(session: aiohttp.ClientSession | None) -> None:
    """Cancel what still runs on the client loop (probes, abandoned requests) and close the connections."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    if session is not None:
        await session.close()


def shutdown(state: dict[str, Any]) -> None:
    """Stop the loop of a client ``state`` (``runner``, ``session``, ``pid``) when this process started it."""
    runner: LoopThread | None = state.get("runner")
    if runner is not None and state.get("pid") == os.getpid():
        runner.stop(state.get("session"))
    state.clear()
