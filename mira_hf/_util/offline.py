"""Fail fast without a network: look at the local cache first, and at the Hub only when it can answer.

``huggingface_hub`` retries an unreachable Hub for tens of seconds before giving up. A lookup that cannot
succeed — ``HF_HUB_OFFLINE=1``, or no route to the Hub endpoint — instead says so once and falls back at once.

Example:
    >>> hub_endpoint()                       # HF_ENDPOINT when set
    'https://huggingface.co'
    >>> hub_reachable() if hub_offline() else False   # with HF_HUB_OFFLINE=1 nothing is probed
    False
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

#: Seconds the reachability probe waits for a TCP connection to the Hub endpoint (name lookup included).
PROBE_TIMEOUT_S = 1.0
_TRUE = {"1", "on", "yes", "true"}
_probed: dict[str, bool] = {}
_warned: set[tuple[str, str | None]] = set()


def hub_offline() -> bool:
    """Whether the Hub is switched off here: ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    """The Hub endpoint the clients use (``HF_ENDPOINT``, else ``https://huggingface.co``)."""
    return os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` seconds (cached per endpoint).

    ``False`` at once when `hub_offline`. The probe runs on a daemon thread, so a name lookup that hangs
    (a network that drops packets) costs ``timeout`` seconds, not the resolver's own minutes.
    """
    if hub_offline():
        return False
    endpoint = hub_endpoint()
    if endpoint in _probed:
        return _probed[endpoint]
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, name="mira-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    _probed[endpoint] = bool(answer and answer[0])
    return _probed[endpoint]


def why_offline() -> str:
    """Why the Hub cannot be asked, in words (for a message)."""
    return "HF_HUB_OFFLINE is set" if hub_offline() else f"{hub_endpoint()} cannot be reached"


def _in_local_cache(name: str, revision: str | None) -> bool:
    """Whether the Hub cache holds a tokenizer file of ``name`` (no network, no transformers import)."""
    from huggingface_hub import try_to_load_from_cache

    for filename in ("tokenizer_config.json", "tokenizer.json"):
        try:
            found = try_to_load_from_cache(name, filename, revision=revision)
        except Exception:  # noqa: BLE001 - not a valid repo id: the cache cannot hold it
            return False
        if isinstance(found, str):
            return True
    return False


def load_tokenizer(name: str, revision: str | None = None, *, warn: bool = True) -> Any | None:
    """``AutoTokenizer`` for ``name``: a local folder, else the local cache, else the Hub when it answers.

    Returns ``None`` (after one warning per name, unless ``warn`` is false: the caller says it another way) when
    none of them has it, so the caller falls back at once — without the Hub client's retries when there is no
    network.
    """
    local = Path(name).expanduser()
    try:
        if local.is_dir():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(local))
        if _in_local_cache(name, revision):
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(name, revision=revision, local_files_only=True)
        if hub_reachable():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(name, revision=revision)
        reason = f"it is not in the local cache and {why_offline()}"
    except Exception as e:  # noqa: BLE001 - any failure falls back to the byte budget
        reason = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
    if warn and (name, revision) not in _warned:
        _warned.add((name, revision))
        logger.warning(
            "No tokenizer for %s (%s): prompts are budgeted by UTF-8 bytes, which is safe but shortens "
            "long records more than needed. Pass tokenizer= to fix.",
            name,
            reason,
        )
    return None


def resolve_model(name: str, revision: str | None = None) -> str:
    """What to hand the engine for ``name``: itself when it is a folder or the Hub can be asked, else its cached
    snapshot folder; when the cache does not hold it either, one error at once instead of minutes of retries.

    Raises:
        EngineUnavailableError: the Hub cannot be asked and the model is not in the local cache.
    """
    if Path(name).expanduser().is_dir() or hub_reachable():
        return name
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached (or not a repo id): say what to do instead
        from mira_hf.errors import EngineUnavailableError

        raise EngineUnavailableError(
            f"cannot load the model {name!r}: it is not in the local cache and {why_offline()}. Download it where "
            f"there is a network (`hf download {name}`) and pass the folder as model=, or copy the Hub cache "
            "(HF_HOME) to this machine."
        ) from None
