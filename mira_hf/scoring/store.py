"""``RowStore``: the durable per-row resume store, a plain key → row map kept in a directory.

A scoring run commits every finished row here, so a rerun after a crash sends only the rows that were
not finished. The scorer computes the keys (a hash of record, rubric, prompt version, model and
sampling); this module only stores and finds rows.

Why Parquet segments and not SQLite: every ``put_many`` writes one new immutable Parquet file under a
temporary name, fsyncs it and renames it into place. A rename is atomic, so

* a process killed mid-write (``kill -9``, OOM, pre-emption) leaves at most a hidden ``.tmp-*`` file
  that readers ignore: the store holds exactly the batches whose ``put_many`` returned, never a
  half-written row;
* writers never share a file, so any number of processes (``datasets`` ``num_proc`` workers, Ray
  actors, job-array tasks on several nodes) can read and write one directory with no locks at all.
  SQLite in WAL mode needs every process on one host (shared memory) and working POSIX locks, which
  the network filesystems of job arrays (NFS, Lustre without ``flock``) do not give;
* ``put_many`` is durable when it returns (file and directory are fsynced) — one fsync per batch,
  nothing next to the seconds a batch takes to score.

Rows are stored as JSON text (exact round trip of any dict of JSON values) next to their key and
status; Parquet's zstd compression keeps the model's raw text small. Each process keeps an in-memory
index key → (segment, row), refreshed from the directory listing on every lookup, so rows written by
other processes are seen. [`RowStore.compact`][mira_hf.scoring.store.RowStore.compact] merges segments when a run leaves
many small ones.

Example:
    >>> with RowStore("scores-cache") as store:                                  # doctest: +SKIP
    ...     store.put_many({"k1": {"mira_status": "ok", "mira_scores": [7.0, None]}})
    ...     store.get_many(["k1", "k2"])
    {'k1': {'mira_status': 'ok', 'mira_scores': [7.0, None]}}
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mira_hf._util.atomic import TMP_PREFIX, atomic_path, fsync_dir
from mira_hf.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: Rows with this status are never returned (nor kept): they are retried on the next run.
RETRY_STATUS = "engine_error"
STORE_FORMAT = 1
_MARKER = "mira-row-store.json"
_SUFFIX = ".parquet"
_SCHEMA = pa.schema([("key", pa.string()), ("status", pa.string()), ("row", pa.string())])
_STALE_TMP_S = 3600.0
#: Rows per Parquet row group: a lookup reads only the row groups that hold its keys.
_ROW_GROUP = 1024


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays (Ray Data batches) become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(
        f"a row value of type {type(value).__name__} cannot be stored; use lists, str, int, float, bool or None"
    )


def _write_segment(directory: Path, table: pa.Table, name: str) -> Path:
    """Write ``table`` as ``name`` atomically and durably (temporary file, fsync, rename, fsync the directory)."""
    final = directory / name
    with atomic_path(final, durable=True) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=_ROW_GROUP)
    return final


class RowStore:
    """A durable key → row store in ``path`` (a directory, created), safe for many processes at once.

    ``get_many`` returns finished rows only: a row whose ``mira_status`` is ``engine_error`` is never
    kept, so it is scored again next run. ``put_many`` is durable when it returns.

    Example:
        >>> store = RowStore("scores-cache")                                    # doctest: +SKIP
        >>> store.put_many({"abc": {"mira_status": "ok", "mira_overall": 71.0}})  # doctest: +SKIP
        >>> store.get_many(["abc"])["abc"]["mira_overall"]                      # doctest: +SKIP
        71.0
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigurationError(
                f"cannot create the row store directory {self.path}: {e.strerror}. Pass a writable cache_dir."
            ) from None
        self._check_marker()
        self._writer_id = uuid.uuid4().hex[:12]
        self._counter = 0
        self._lock = threading.Lock()
        self._segments: dict[str, int] = {}  # file name -> segment number
        self._names: list[str] = []  # segment number -> file name
        self._groups: list[tuple[np.ndarray, np.ndarray]] = []  # segment -> (first row, size) of its row groups
        self._index: dict[str, tuple[int, int]] = {}  # key -> (segment number, row)
        self._closed = False

    # ------------------------------------------------------------------ format
    def _check_marker(self) -> None:
        marker = self.path / _MARKER
        if marker.is_file():
            try:
                fmt = json.loads(marker.read_text()).get("format")
            except (OSError, ValueError, AttributeError):
                fmt = None
            if fmt != STORE_FORMAT:
                raise ConfigurationError(
                    f"{self.path} holds a row store of format {fmt!r}, but this mira-hf reads format "
                    f"{STORE_FORMAT}. Use another cache_dir, or delete this one to score from scratch."
                )
            return
        if any(p.suffix == _SUFFIX and not p.name.startswith(".") for p in self.path.iterdir()):
            raise ConfigurationError(
                f"{self.path} already holds Parquet files that are not a mira-hf row store. "
                "Pass an empty or new directory as cache_dir."
            )
        with atomic_path(marker) as tmp:
            tmp.write_text(json.dumps({"format": STORE_FORMAT, "what": "mira-hf per-row resume store"}))

    # ------------------------------------------------------------------- index
    def _segment_names(self) -> list[str]:
        with os.scandir(self.path) as it:
            return sorted(e.name for e in it if e.name.endswith(_SUFFIX) and not e.name.startswith("."))

    def _refresh(self, full: bool = False) -> None:
        """Index the segments written since the last look (by any process); ``full`` re-reads all."""
        if full:
            self._segments.clear()
            self._names.clear()
            self._groups.clear()
            self._index.clear()
        for name in self._segment_names():
            if name in self._segments:
                continue
            try:
                with pq.ParquetFile(self.path / name) as pf:
                    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
                    keys = pf.read(columns=["key"]).column("key").to_pylist()
            except FileNotFoundError:  # compacted away by another process between listing and reading
                continue
            except (OSError, pa.ArrowException) as e:  # only a filesystem that lied about fsync gets here
                logger.warning("Skipping unreadable row store segment %s (%s); its rows will be scored again.", name, e)
                keys, sizes = [], []
            seg = len(self._names)
            self._names.append(name)
            sizes_np = np.asarray(sizes, dtype=np.int64)
            self._groups.append((np.cumsum(sizes_np) - sizes_np, sizes_np))
            self._segments[name] = seg
            # Names sort by write time, so a later segment wins for a key written twice.
            self._index.update(zip(keys, ((seg, i) for i in range(len(keys)))))

    def _read(self, wanted: dict[int, list[tuple[str, int]]]) -> dict[str, dict[str, Any]]:
        """Decode the wanted rows, reading only the row groups that hold them."""
        out: dict[str, dict[str, Any]] = {}
        for seg, items in wanted.items():
            starts, sizes = self._groups[seg]
            rows = np.fromiter((i for _, i in items), dtype=np.int64, count=len(items))
            groups = np.searchsorted(starts, rows, side="right") - 1
            needed = np.unique(groups)
            with pq.ParquetFile(self.path / self._names[seg]) as pf:
                column = pf.read_row_groups(needed.tolist(), columns=["row"]).column("row")
            # position of each wanted row inside the concatenation of the needed row groups
            base = np.cumsum(sizes[needed]) - sizes[needed]
            local = base[np.searchsorted(needed, groups)] + rows - starts[groups]
            blobs = column.take(pa.array(local)).to_pylist()
            for (key, _), blob in zip(items, blobs):
                out[key] = json.loads(blob)
        return out

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The finished rows among ``keys`` (missing keys are simply absent from the result)."""
        self._check_open()
        with self._lock:
            for attempt in range(3):
                self._refresh(full=attempt > 0)
                wanted: dict[int, list[tuple[str, int]]] = {}
                for key in keys:
                    hit = self._index.get(key)
                    if hit is not None:
                        wanted.setdefault(hit[0], []).append((key, hit[1]))
                if not wanted:
                    return {}
                try:
                    return self._read(wanted)
                except FileNotFoundError:  # another process compacted: index again and retry
                    continue
            raise OSError(
                f"the row store {self.path} keeps changing under this process; is something deleting its files?"
            )

    def put_many(self, rows: Mapping[str, Mapping[str, Any]]) -> None:
        """Store ``rows`` (key → row); durable when it returns. ``engine_error`` rows are not kept."""
        self._check_open()
        keys: list[str] = []
        statuses: list[str | None] = []
        blobs: list[str] = []
        for key, row in rows.items():
            status = row.get("mira_status")
            if status == RETRY_STATUS:
                continue
            if not isinstance(key, str):
                raise TypeError(f"row store keys are str, got {type(key).__name__}")
            keys.append(key)
            statuses.append(status)
            blobs.append(json.dumps(row, default=_json_default, ensure_ascii=False))
        if not keys:
            return
        table = pa.Table.from_arrays(
            [pa.array(keys, pa.string()), pa.array(statuses, pa.string()), pa.array(blobs, pa.string())], schema=_SCHEMA
        )
        with self._lock:
            self._counter += 1
            name = f"{time.time_ns():020d}-{self._writer_id}-{self._counter:08d}{_SUFFIX}"
            _write_segment(self.path, table, name)

    def absorb(self, other: str | os.PathLike[str]) -> int:
        """Move the rows of the row store in ``other`` into this one and remove ``other``; returns the segments
        moved. Segments keep their names (time-ordered, unique per writer), each moved by one atomic rename.

        Example:
            >>> RowStore("scores-cache").absorb("old-cache/agents")                  # doctest: +SKIP
            3
        """
        self._check_open()
        source = Path(other)
        RowStore(source).close()  # checks that ``other`` is a row store of this format
        moved = 0
        for entry in sorted(source.iterdir()):
            if entry.suffix == _SUFFIX and not entry.name.startswith("."):
                os.replace(entry, self.path / entry.name)
                moved += 1
        fsync_dir(self.path)
        import shutil

        shutil.rmtree(source, ignore_errors=True)
        return moved

    def compact(self) -> int:
        """Merge every segment into one (latest row per key wins); returns how many segments were merged.

        Safe while other processes read or write: rows written during compaction stay in their own
        segments, and readers that miss a merged-away file index again.
        """
        self._check_open()
        with self._lock:
            names = self._segment_names()
            if len(names) <= 1:
                return 0
            tables = []
            for name in names:
                try:
                    tables.append(pq.read_table(self.path / name))
                except FileNotFoundError:  # another compaction took it
                    continue
            if not tables:
                return 0
            merged = pa.concat_tables(tables)
            # the latest row of each key: segments are in write order, so the highest position wins
            merged = merged.append_column("_pos", pa.array(np.arange(merged.num_rows, dtype=np.int64)))
            last = merged.group_by("key", use_threads=False).aggregate([("_pos", "max")]).column("_pos_max")
            keep = pc.take(last, pc.array_sort_indices(last))  # in write order
            merged = merged.take(keep).drop_columns(["_pos"])
            stem = names[-1][: -len(_SUFFIX)]
            _write_segment(self.path, merged, f"{stem}-compact-{uuid.uuid4().hex[:8]}{_SUFFIX}")
            for name in names:
                try:
                    os.remove(self.path / name)
                except FileNotFoundError:
                    pass
            now = time.time()
            for p in self.path.glob(f"{TMP_PREFIX}*"):
                try:
                    if now - p.stat().st_mtime > _STALE_TMP_S:
                        p.unlink()
                except FileNotFoundError:
                    pass
            fsync_dir(self.path)
            self._refresh(full=True)
            return len(tables)

    def __len__(self) -> int:
        self._check_open()
        with self._lock:
            self._refresh()
            return len(self._index)

    def close(self) -> None:
        """Forget the in-memory index (every write is already on disk)."""
        self._closed = True
        self._index.clear()
        self._segments.clear()
        self._names.clear()
        self._groups.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the row store {self.path} is closed")

    def __enter__(self) -> RowStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RowStore({str(self.path)!r})"
