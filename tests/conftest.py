"""Shared fixtures: the tiny random-weight model and the real vLLM CPU engine, one per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "data"

# Offline, always: the tests never reach the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen3-MoE checkpoint with a real tokenizer, built once per session."""
    from mira_hf.testing.tiny_model import build_tiny_model

    cache = os.environ.get("MIRA_TEST_MODEL_DIR")
    target = Path(cache) if cache else tmp_path_factory.mktemp("tiny-model")
    return build_tiny_model(target)


class Served(NamedTuple):
    """A running ``vllm serve``: its ``/v1`` URL and the API key it requires."""

    url: str
    key: str


#: The key the shared test server requires (a test of secrets checks it never reaches a log or an error).
SERVER_KEY = "sk-mira-serve-test-5b1e0c"


@pytest.fixture(scope="session")
def vllm_server(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real ``vllm serve`` of the tiny model on loopback for every HTTP-path test, started on first use.

    ``MIRA_TEST_SERVER_URL`` points the tests at a server already running (started with the arguments of
    ``tests/_vllm_serve.py`` and ``--api-key`` ``SERVER_KEY``).
    """
    external = os.environ.get("MIRA_TEST_SERVER_URL")
    if external:
        yield Served(external, SERVER_KEY)
        return
    from tests._vllm_serve import vllm_serve

    with vllm_serve(tiny_model_path, tmp_path_factory.mktemp("serve") / "vllm-serve.log", api_key=SERVER_KEY) as url:
        yield Served(url, SERVER_KEY)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the shared in-process engine at the end, its shutdown messages going to the real stderr.

    vLLM's log handler holds the stream that was ``sys.stdout`` when vLLM was imported, which is the capture
    file of the test that imported it, closed by now.
    """
    import logging
    import sys

    engines = sys.modules.get("mira_hf.engines.vllm")
    if engines is None:
        return
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, "closed", False):
                handler.stream = sys.__stderr__  # not setStream: it flushes the closed stream first
    engines.shutdown_engines()


@pytest.fixture()
def listener():
    """A loopback port that listens and never answers (e.g. ``HF_ENDPOINT`` for a Hub that must not be asked):
    a connection to it is counted (``accept()`` on it), never served."""
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        srv.setblocking(False)
        yield srv
