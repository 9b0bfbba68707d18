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
import warnings

#: Set when `set_verbosity` chose vLLM's level (rather than the user, through the environment).
_chose_vllm_level = False
#: What the command line asked for: ``None`` outside it (a library call leaves every library as it is).
_verbose: bool | None = None


def _set_vllm_level(level: str) -> None:
    os.environ["VLLM_LOGGING_LEVEL"] = level
    # Now, imported or not: vLLM configures its logging only when an engine starts, and the lines its modules
    # log while being imported (e.g. "Triton is installed, but doesn't include CPU backend") would pass.
    logging.getLogger("vllm").setLevel(level)


def _hold_vllm_to_its_variable() -> None:
    """In a process vLLM spawns for its engine (which imports the command line again, as multiprocessing's spawn
    does), vLLM's import-time lines keep to ``VLLM_LOGGING_LEVEL`` too, before vLLM configures its logging."""
    level = os.environ.get("VLLM_LOGGING_LEVEL", "").upper()
    if level in ("ERROR", "CRITICAL", "WARNING") and logging.getLogger("vllm").level == logging.NOTSET:
        logging.getLogger("vllm").setLevel(level)


_hold_vllm_to_its_variable()


class LevelPrefix(logging.Formatter):
    """``warning: <message>``: the level in lower case, then the message, as the command line's own lines read.

    Example:
        >>> LevelPrefix().format(logging.makeLogRecord({"msg": "3 rows", "levelname": "WARNING"}))
        'warning: 3 rows'
    """

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {super().format(record)}"


def set_verbosity(verbose: bool = False) -> str:
    """Our logs at INFO with ``verbose`` (WARNING without); vLLM's at INFO with ``verbose``, else WARNING.

    Without ``verbose`` it also hides the deprecation chatter of the libraries under vLLM (``FutureWarning``,
    PyTorch's C++ warnings). Returns vLLM's level.
    """
    global _chose_vllm_level, _verbose
    _verbose = verbose
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:  # a person reads these: `warning: ...`, like the command's own lines
        handler = logging.StreamHandler()
        handler.setFormatter(LevelPrefix())
        logging.basicConfig(level=logging.WARNING, handlers=[handler])
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


def quiet_datasets() -> None:
    """For a command that loads or writes data: ``datasets``' own bars ("Generating train split", "Map",
    "Saving the dataset") and its warnings only with ``-v``; the command's own lines and progress bar say
    what happens. Does nothing outside the command line or with ``-v``.

    A library function that turns the bars off and on again around a step (``run_plan``, ``run_score_job``)
    leaves them on at its end; nothing of the command is left to draw one by then.
    """
    if _verbose is not False:
        return
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def quiet() -> bool:
    """Whether the command line runs without ``-v`` (``False`` outside it): bars of the libraries stay hidden.

    Example:
        >>> quiet() in (True, False)
        True
    """
    return _verbose is False
