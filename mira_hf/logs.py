"""How loud the command line is: our own lines always, vLLM's INFO lines only with ``-v``.

vLLM reads ``VLLM_LOGGING_LEVEL`` when it is imported, and its engine workers are spawned processes that
inherit the environment, so the level is set in the environment before any engine starts.

Example:
    >>> import os
    >>> os.environ.get("VLLM_LOGGING_LEVEL") or set_verbosity(verbose=False)   # the CLI does this first
    'WARNING'
"""

from __future__ import annotations

import logging
import os
import sys


def set_verbosity(verbose: bool = False) -> str:
    """Our logs at INFO with ``verbose`` (WARNING without); vLLM's at INFO with ``verbose``, else WARNING.

    A ``VLLM_LOGGING_LEVEL`` already in the environment is kept (the user chose it). Returns vLLM's level.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    level = os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO" if verbose else "WARNING").upper()
    if "vllm" in sys.modules:  # imported already (a notebook, a test): its logger takes the level now
        logging.getLogger("vllm").setLevel(level)
    if not verbose:
        for name in ("transformers", "datasets", "evaluate"):
            logging.getLogger(name).setLevel(max(logging.getLogger(name).getEffectiveLevel(), logging.WARNING))
    return level
