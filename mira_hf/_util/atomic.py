"""Atomic file writes: a file appears whole under its final name, or not at all.

Every writer of the package that must never leave half a file (resume-store segments, job-array shards, the
HTML report, the installed metric) writes a temporary file beside the target and renames it into place; with
``durable=True`` the file and its directory are fsynced, so the write survives a power loss once it returns.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Prefix of the temporary files; readers of a folder skip names starting with a dot.
TMP_PREFIX = ".tmp-"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in ``path`` durable (a no-op where directories cannot be fsynced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(final: str | os.PathLike[str], *, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside ``final``; when the block ends without error, it replaces ``final`` in one rename.

    On an error (or a kill) ``final`` is untouched and the temporary file is removed (or, after a kill, left
    as a hidden ``.tmp-*`` file that readers ignore).

    Example:
        >>> with atomic_path("report.html") as tmp:
        ...     _ = tmp.write_text("<!doctype html>")
        >>> open("report.html").read()
        '<!doctype html>'
    """
    final = Path(final)
    tmp = final.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{final.name}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, final)
        if durable:
            fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)
