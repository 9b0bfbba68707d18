"""Install the ``mira_agreement`` metric into ``evaluate``'s modules cache so ``evaluate.load("mira_agreement")`` works.

``evaluate.load`` resolves a bare name through ``./<name>/<name>.py``, then the Hub, then its modules cache
``$HF_MODULES_CACHE/evaluate_modules/metrics/evaluate-metric--<name>/<64-char hash>/<name>.py`` (newest file
wins). Installing there, keyed by the SHA-256 of the metric file, makes the load work offline and is idempotent.
``import mira_hf`` does it once per process (set ``MIRA_NO_METRIC_INSTALL=1`` to opt out); this module imports
nothing heavy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from mira_hf._util.atomic import atomic_path
from mira_hf.errors import ConfigurationError

METRIC_NAME = "mira_agreement"
#: Folder name evaluate gives a canonical ("evaluate-metric/<name>") module in its cache.
CACHE_FOLDER = f"evaluate-metric--{METRIC_NAME}"
#: Files shipped next to the metric script (the card is copied along for ``evaluate``'s tooling).
_FILES = (f"{METRIC_NAME}.py", "README.md")


def metric_source_dir() -> Path:
    """The folder holding ``mira_agreement.py``: the installed ``mira_hf.metric`` package, or a checkout's
    ``metrics/``."""
    spec = importlib.util.find_spec("mira_hf.metric")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if (Path(location) / _FILES[0]).is_file():
            return Path(location)
    checkout = Path(__file__).resolve().parents[1] / "metrics" / METRIC_NAME
    if (checkout / _FILES[0]).is_file():
        return checkout
    raise ConfigurationError(
        f"the {METRIC_NAME} metric script is missing from this mira-hf installation; reinstall mira-hf "
        f"(pip install --force-reinstall mira-hf)."
    )


def modules_cache() -> Path:
    """``evaluate``'s modules cache, resolved as ``evaluate.config`` does (``HF_MODULES_CACHE``, ``HF_HOME``)."""
    config = sys.modules.get("evaluate.config")
    if config is not None:  # evaluate already fixed its paths for this process
        return Path(config.HF_MODULES_CACHE)
    hf_home = os.path.expanduser(
        os.getenv("HF_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "huggingface"))
    )
    return Path(os.getenv("HF_MODULES_CACHE", os.path.join(hf_home, "modules")))


def _newest_other(target: Path) -> float | None:
    """Latest mtime among the other cached versions (evaluate loads the most recently modified one)."""
    latest = None
    for entry in os.scandir(target.parent.parent):
        if len(entry.name) == 64 and entry.name != target.parent.name:
            other = Path(entry.path) / target.name
            if other.is_file():
                latest = max(latest or 0.0, other.stat().st_mtime)
    return latest


def _is_newest(target: Path) -> bool:
    other = _newest_other(target)
    return other is None or target.stat().st_mtime > other


def _make_newest(target: Path) -> None:
    other = _newest_other(target)
    now = max(os.path.getmtime(target), (other or 0.0) + 1.0)
    os.utime(target, (now, now))


def _write_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def install_metric(cache_dir: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
    """Install ``mira_agreement`` where ``evaluate.load("mira_agreement")`` finds it; return the installed script.

    A no-op when the same content (by SHA-256) is already the newest cached version; ``cache_dir`` defaults
    to ``evaluate``'s modules cache (``$HF_MODULES_CACHE`` or ``$HF_HOME/modules``).

    Example:
        >>> path = install_metric()
        >>> path.name
        'mira_agreement.py'
    """
    source = metric_source_dir()
    contents = {name: (source / name).read_bytes() for name in _FILES if (source / name).is_file()}
    digest = hashlib.sha256(contents[_FILES[0]]).hexdigest()
    root = Path(cache_dir) if cache_dir is not None else modules_cache()
    folder = root / "evaluate_modules" / "metrics" / CACHE_FOLDER / digest
    target = folder / _FILES[0]
    if not force and target.is_file() and target.read_bytes() == contents[_FILES[0]] and _is_newest(target):
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for package in (root / "evaluate_modules", folder.parents[1], folder.parent, folder):
            (package / "__init__.py").touch(exist_ok=True)
        for name, data in contents.items():
            if name != _FILES[0]:
                _write_atomic(folder / name, data)
        if force or not (target.is_file() and target.read_bytes() == contents[_FILES[0]]):
            _write_atomic(target, contents[_FILES[0]])  # last, so only a complete folder becomes the newest
        _make_newest(target)
    except OSError as e:
        raise ConfigurationError(
            f"cannot install the {METRIC_NAME} metric into {root} ({e.strerror or e}); set HF_MODULES_CACHE or "
            f"HF_HOME to a writable folder, or load it by path: evaluate.load({str(source)!r})."
        ) from None
    return target
