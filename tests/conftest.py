"""Shared fixtures: the tiny random-weight model and the real vLLM CPU engine, one per test session."""

from __future__ import annotations

import os
from pathlib import Path

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
