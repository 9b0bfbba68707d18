"""Sharding for job arrays: task ``i`` of ``N`` scores one contiguous slice; a merge joins them in order.

Each task writes ``shard-IIIII-of-NNNNN.parquet`` into one output folder. File names sort in shard
order, so the merged dataset has the original row order, whether joined with
[`merge_shards`][mira_hf.scoring.sharding.merge_shards] or loaded as a folder (``datasets.load_dataset("parquet",
data_dir=...)``).

Example:
    >>> part = shard(ds, index=3, num_shards=16)                                # doctest: +SKIP
    >>> write_shard(part.map(scorer, batched=True), "scored", 3, 16)            # doctest: +SKIP
    >>> merged = merge_shards("scored")  # once all 16 tasks are done           # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import datasets

from mira_hf._util.atomic import atomic_path
from mira_hf.errors import ConfigurationError

_SHARD_RE = re.compile(r"^shard-(\d{5,})-of-(\d{5,})\.parquet$")


def _check(index: int, num_shards: int) -> None:
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ConfigurationError(f"num_shards must be a positive integer, got {num_shards!r}.")
    if not isinstance(index, int) or not 0 <= index < num_shards:
        raise ConfigurationError(
            f"shard index must be in 0..{num_shards - 1} for num_shards={num_shards}, "
            f"got {index!r} (job-array task ids often start at 1: pass $TASK_ID - 1)."
        )


def shard(ds: datasets.Dataset, index: int, num_shards: int) -> datasets.Dataset:
    """The ``index``-th of ``num_shards`` contiguous slices of ``ds``; concatenating all restores ``ds``.

    Example:
        >>> ds = datasets.Dataset.from_dict({"x": list(range(10))})
        >>> list(shard(ds, 1, 3)["x"])
        [4, 5, 6]
    """
    _check(index, num_shards)
    return ds.shard(num_shards=num_shards, index=index, contiguous=True)


def shard_path(output_dir: str | os.PathLike[str], index: int, num_shards: int) -> Path:
    """Where shard ``index`` of ``num_shards`` is written in ``output_dir``.

    Example:
        >>> shard_path("scored", 3, 16).name
        'shard-00003-of-00016.parquet'
    """
    _check(index, num_shards)
    return Path(output_dir) / f"shard-{index:05d}-of-{num_shards:05d}.parquet"


def write_shard(ds: datasets.Dataset, output_dir: str | os.PathLike[str], index: int, num_shards: int) -> Path:
    """Write a scored shard to `shard_path` atomically, so a killed task never leaves half a shard."""
    final = shard_path(output_dir, index, num_shards)
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final, durable=True) as tmp:
        ds.to_parquet(str(tmp))
    return final


def merge_shards(output_dir: str | os.PathLike[str]) -> datasets.Dataset:
    """Check that shards 0..N-1 are all in ``output_dir`` and concatenate them in order.

    Raises [`ConfigurationError`][mira_hf.errors.ConfigurationError] naming the missing shards (or the mixed shard
    counts) so the user knows which array tasks to rerun.

    Example:
        >>> merged = merge_shards("scored")                                     # doctest: +SKIP
    """
    folder = Path(output_dir)
    if not folder.is_dir():
        raise ConfigurationError(f"{folder} is not a folder of scored shards (it does not exist).")
    found: dict[int, dict[int, Path]] = {}
    for p in folder.iterdir():
        m = _SHARD_RE.match(p.name)
        if m:
            found.setdefault(int(m.group(2)), {})[int(m.group(1))] = p
    if not found:
        raise ConfigurationError(
            f"No shard-*-of-*.parquet files in {folder}: run `mira-hf score --shard i "
            "--num-shards N --output` into this folder first."
        )
    if len(found) > 1:
        counts = ", ".join(f"{n} ({len(s)} files)" for n, s in sorted(found.items()))
        raise ConfigurationError(
            f"{folder} mixes shards of different runs: num_shards {counts}. "
            "Move the stale run's files elsewhere and merge again."
        )
    ((num_shards, shards),) = found.items()
    missing = [i for i in range(num_shards) if i not in shards]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (", …" if len(missing) > 20 else "")
        raise ConfigurationError(
            f"{len(missing)} of {num_shards} shards are missing in {folder}: {shown}. "
            "Rerun those tasks (`mira-hf score --shard i --num-shards "
            f"{num_shards}`), then merge again."
        )
    stray = sorted(i for i in shards if i >= num_shards)
    if stray:
        raise ConfigurationError(f"{folder} holds shard indices {stray} beyond num_shards={num_shards}.")
    parts = []
    for i in range(num_shards):
        try:
            parts.append(datasets.Dataset.from_parquet(str(shards[i])))
        except Exception as e:  # a truncated or foreign file
            raise ConfigurationError(
                f"shard {i} ({shards[i].name}) cannot be read: {type(e).__name__}: {e}. Rerun task {i} and merge again."
            ) from None
    return datasets.concatenate_datasets(parts)
