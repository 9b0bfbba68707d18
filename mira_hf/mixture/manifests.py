"""The run's memory of its steps: ``manifests/<step>.json`` holds the hash a step last finished with.

`digest` is the one hash of a run: of a step's inputs and settings, and of a selection made group by group.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def digest(*parts: Any) -> str:
    """A stable 32-hex-digit hash of JSON-able ``parts`` (keys sorted; anything else by its ``str``).

    Example:
        >>> digest("select", {"b": 1, "a": 2}) == digest("select", {"a": 2, "b": 1})
        True
    """
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


class Manifests:
    """``manifests/<step>.json``: the hash a step last finished with."""

    def __init__(self, out: Path):
        self.dir = out / "manifests"

    def done(self, step: str, digest: str) -> bool:
        """Whether ``step`` last finished with this hash."""
        path = self.dir / f"{step}.json"
        return path.is_file() and json.loads(path.read_text()).get("hash") == digest

    def write(self, step: str, digest: str, **extra: Any) -> None:
        """Record that ``step`` finished with this hash (and ``extra`` figures), written atomically."""
        from mira_hf._util.atomic import atomic_path

        self.dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.dir / f"{step}.json") as tmp:
            tmp.write_text(json.dumps({"step": step, "hash": digest, **extra}, indent=2) + "\n")
