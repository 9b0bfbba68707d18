"""Loading data as users hold it: ``save_to_disk`` folders, data files, agent run files, sharded runs, the Hub.

The library raises :class:`~mira_hf.errors.DataLoadError`; the command line turns it into one line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from mira_hf.errors import DataLoadError, MiraError

#: Data file suffixes and the ``datasets`` builder that reads each.
FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
#: Agent run files read one file per record, as a JSON string (Arrow cannot hold their mixed field types).
TRAJ_SUFFIXES = (".traj", ".traj.json")


def _traj_files(path: Path) -> list[Path]:
    """SWE-agent ``.traj`` / mini-swe-agent ``.traj.json`` files at ``path`` (a file, or a folder searched deeply)."""
    if path.is_file():
        return [path] if path.name.endswith(TRAJ_SUFFIXES) else []
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TRAJ_SUFFIXES))
    return []


def _load_traj_files(files: list[Path], root: Path) -> Any:
    """One row per run file: ``id`` (its path under ``root``) and ``trajectory`` (the file's JSON text)."""
    import datasets

    ids = [str(f.relative_to(root)) if f != root else f.name for f in files]
    return datasets.Dataset.from_dict({"id": ids, "trajectory": [f.read_text(encoding="utf-8") for f in files]})


def _looks_local(data: str) -> bool:
    """A path the user meant as a local file or folder (a Hub name is ``org/name``)."""
    return (
        Path(data).suffix.lower() in FORMATS
        or data.startswith((".", "/", "~"))
        or data.endswith("/")
        or data.count("/") > 1
    )


def load_any(data: str, split: str = "train", data_files: Optional[list[str]] = None) -> Any:
    """A dataset from a ``save_to_disk`` folder, data files (json/jsonl/parquet/csv), run files, or a Hub name.

    Anything that cannot be loaded raises :class:`~mira_hf.errors.DataLoadError` saying what to pass instead
    (the command line prints it as one ``error:`` line).

    Example:
        >>> from mira_hf.io import load_any
        >>> load_any("no/such/file.jsonl")
        Traceback (most recent call last):
        ...
        mira_hf.errors.DataLoadError: no/such/file.jsonl does not exist; pass a data file (.jsonl, .json, ...
    """
    import datasets

    path = Path(data).expanduser()
    if not data_files and not path.exists() and _looks_local(data):
        raise DataLoadError(
            f"{data} does not exist; pass a data file (.jsonl, .json, .parquet, .csv), a save_to_disk folder, "
            "or a Hub dataset name (org/name)"
        )
    traj = _traj_files(path) if not data_files else []
    if traj and not (path.is_dir() and (path / "dataset_info.json").exists()):
        return _load_traj_files(traj, path)
    if path.is_file() and not data_files and FORMATS.get(path.suffix.lower()) is None:
        raise DataLoadError(
            f"cannot tell the format of {data}: use a .jsonl, .json, .parquet, .csv, .traj or .traj.json file, "
            "or a save_to_disk folder"
        )
    try:
        if data_files:
            return datasets.load_dataset(data, data_files=data_files, split=split)
        if path.is_dir() and any((path / f).exists() for f in ("dataset_info.json", "state.json", "dataset_dict.json")):
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise DataLoadError(f"{data} has no split {split!r}; its splits are {list(loaded)}: pass --split")
                return loaded[split]
            return loaded
        if path.is_file():
            return datasets.load_dataset(FORMATS[path.suffix.lower()], data_files=str(path), split=split)
        if path.is_dir():
            from mira_hf.scoring.sharding import merge_shards

            return merge_shards(path)
        return datasets.load_dataset(data, split=split)
    except MiraError:
        raise
    except Exception as e:  # noqa: BLE001 - any load failure becomes one error that says what to pass instead
        logging.getLogger(__name__).info("loading %s failed", data, exc_info=True)
        what = f"cannot read {data}" if path.exists() else f"cannot load {data!r} from the Hub"
        detail = " ".join(str(e).split())[:300]
        raise DataLoadError(
            f"{what} ({type(e).__name__}: {detail}); check the path or name and --split, and for the Hub "
            "your network and HF_TOKEN"
        ) from e
