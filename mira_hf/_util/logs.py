"""How loud the command line is: our own lines always, vLLM's INFO lines only with ``-v``.

vLLM reads ``VLLM_LOGGING_LEVEL`` when it is imported, and its engine workers are spawned processes that
inherit the environment, so the level is set in the environment before any engine starts. A level the user
already set is kept.

Example:
    >>> import os
    >>> os.environ.get("VLLM_LOGGING_LEVEL") or set_verbosity(verbose=False)   # the CLI does this first
    'WARNING'
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

#: Set when :func:`set_verbosity` chose vLLM's level (rather than the user, through the environment).
_chose_vllm_level = False


def _set_vllm_level(level: str) -> None:
    os.environ["VLLM_LOGGING_LEVEL"] = level
    if "vllm" in sys.modules:  # imported already (a notebook, a test, a GPU probe): its logger takes it now
        logging.getLogger("vllm").setLevel(level)


def set_verbosity(verbose: bool = False) -> str:
    """Our logs at INFO with ``verbose`` (WARNING without); vLLM's at INFO with ``verbose``, else WARNING.

    Without ``verbose`` it also hides the deprecation chatter of the libraries under vLLM (``FutureWarning``,
    PyTorch's C++ warnings). Returns vLLM's level.
    """
    global _chose_vllm_level
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if "VLLM_LOGGING_LEVEL" not in os.environ:
        _set_vllm_level("INFO" if verbose else "WARNING")
        _chose_vllm_level = True
    if not verbose:
        warnings.filterwarnings("ignore", category=FutureWarning)
        os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")  # vLLM's spawned workers too
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    return os.environ["VLLM_LOGGING_LEVEL"].upper()


def quiet_cpu_engine() -> None:
    """For the CPU stand-in of the demo: vLLM's warnings about running on a CPU (no Triton, no tcmalloc,
    chunked prefill off) are expected there, so only its errors are shown — unless the user chose a level
    (``-v`` or ``VLLM_LOGGING_LEVEL``)."""
    if _chose_vllm_level and os.environ.get("VLLM_LOGGING_LEVEL", "").upper() == "WARNING":
        _set_vllm_level("ERROR")
