"""Loading data as users hold it: ``save_to_disk`` folders, data files, agent run files, sharded runs, the Hub.

The library raises [DataLoadError][mira_hf.errors.DataLoadError]; the command line turns it into one line. A
name that is no local path is looked up on the Hub only when it reads as ``org/name`` and the Hub answers (see
`mira_hf._util.offline`); anything else fails at once, saying what to pass.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from mira_hf.errors import DataLoadError, MiraError

#: Data file suffixes and the ``datasets`` builder that reads each.
FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
#: Agent run files read one file per record, as a JSON string (Arrow cannot hold their mixed field types).
TRAJ_SUFFIXES = (".traj", ".traj.json")
#: What to pass, said by every message about a path that cannot be read.
WHAT_TO_PASS = (
    "pass a data file (.jsonl, .json, .parquet, .csv), a folder of them, run files (.traj, .traj.json), "
    "a save_to_disk folder, or a Hub dataset name (org/name)"
)
_SAVED = ("dataset_info.json", "state.json", "dataset_dict.json")  # what ``save_to_disk`` writes
_STORE_MARKER = "mira-row-store.json"  # in the folder of a `RowStore` (`mira_hf.scoring.store`)
_SHARD_RE = re.compile(r"^shard-\d{5,}-of-\d{5,}\.parquet$")  # `mira-hf score --shard` outputs
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
#: Top-level keys of a ``.json`` file that is one agent run (not a table of rows).
_RUN_KEYS = frozenset({"history", "trajectory", "messages", "events", "conversations"})
_RUN_JSON_MAX_BYTES = 256 << 20  # a larger .json file is read as data, not parsed here to find out
_log = logging.getLogger(__name__)


def looks_like_repo_id(name: str) -> bool:
    """Whether ``name`` reads as a Hub repository id ``org/name`` (one slash, the Hub's characters).

    Example:
        >>> looks_like_repo_id("my-org/agent-runs"), looks_like_repo_id("myruns"), looks_like_repo_id("a/b/c")
        (True, False, False)
    """
    return bool(_REPO_ID_RE.match(name)) and ".." not in name and "--" not in name and not name.endswith(".")


def load_any(data: str, split: str = "train", data_files: Optional[list[str]] = None) -> Any:
    """A dataset from a ``save_to_disk`` folder, data files (json/jsonl/parquet/csv) or a folder of them, agent
    run files, the shards of a ``mira-hf score --shard`` run, or a Hub name (``org/name``).

    Anything that cannot be loaded raises [DataLoadError][mira_hf.errors.DataLoadError] saying what to pass
    instead (the command line prints it as one ``error:`` line). A name that is neither a local path nor
    ``org/name`` fails at once, without asking the Hub.

    Example:
        >>> from mira_hf.io import load_any
        >>> load_any("myruns")
        Traceback (most recent call last):
        ...
        mira_hf.errors.DataLoadError: no file or folder 'myruns' here; pass a data file (.jsonl, .json, ...
    """
    path = Path(data).expanduser()
    try:
        if data_files:
            import datasets

            with _quiet_hub():
                return datasets.load_dataset(data, data_files=data_files, split=split)
        if path.is_file():
            return _load_file(data, path, split)
        if path.is_dir():
            return _load_folder(data, path, split)
    except MiraError:
        raise
    except Exception as e:  # noqa: BLE001 - any load failure becomes one error that says what to pass instead
        raise _failed(f"cannot read {data}", e, "check the file and --split") from e
    check_source(data)
    return _load_hub(data, split)


def check_source(data: str) -> None:
    """Raise [DataLoadError][mira_hf.errors.DataLoadError] at once, before anything is imported or asked, when
    ``data`` is no local file or folder and no Hub name (``org/name``) either.

    Example:
        >>> check_source("my-org/agent-runs")  # a Hub name: `load_any` asks the Hub (when it answers)
    """
    if Path(data).expanduser().exists():
        return
    if _looks_local(data):
        raise DataLoadError(f"{data} does not exist; {WHAT_TO_PASS}")
    if not looks_like_repo_id(data):
        raise DataLoadError(f"no file or folder {data!r} here; {WHAT_TO_PASS}")


def _looks_local(data: str) -> bool:
    """A path the user meant as a local file or folder: a data or run file name, or a path no Hub name is."""
    return (
        Path(data).suffix.lower() in FORMATS
        or data.endswith(TRAJ_SUFFIXES)
        or data.startswith((".", "/", "~"))
        or data.endswith("/")
        or data.count("/") > 1
    )


def _failed(what: str, e: Exception, fix: str) -> DataLoadError:
    _log.info("%s", what, exc_info=True)
    cause = e.__cause__ if type(e).__name__ == "DatasetGenerationError" and e.__cause__ is not None else e
    detail = " ".join(str(cause).split())[:300]
    return DataLoadError(f"{what} ({type(cause).__name__}: {detail}); {fix}")


# --------------------------------------------------------------------------------------------------- the Hub
def _load_hub(name: str, split: str) -> Any:
    """``name`` from the Hub (or, with ``HF_HUB_OFFLINE=1``, the local cache): asked only when it answers."""
    import datasets

    from mira_hf._util.offline import hub_offline, hub_reachable, why_offline

    offline = hub_offline()
    if not offline and not hub_reachable():
        raise DataLoadError(
            f"no file or folder {name!r} here, and the Hub cannot be asked: {why_offline()}. Check the name, "
            "pass a local path, or set HF_HUB_OFFLINE=1 to read the dataset from the local cache"
        )
    try:
        with _quiet_hub():
            return datasets.load_dataset(name, split=split)
    except Exception as e:  # noqa: BLE001 - any Hub failure becomes one error that says what to pass instead
        where = "the local cache (HF_HUB_OFFLINE is set)" if offline else "the Hub"
        raise _failed(
            f"cannot load {name!r} from {where}", e, "check the name and --split, your network and HF_TOKEN"
        ) from e


@contextlib.contextmanager
def _quiet_hub() -> Iterator[None]:
    """No ``huggingface_hub`` retry lines while a look-up runs (its failure is said once, by the caller)."""
    hub = logging.getLogger("huggingface_hub")
    level = hub.level
    hub.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub.setLevel(level)


# --------------------------------------------------------------------------------------------------- a file
def _load_file(data: str, path: Path, split: str) -> Any:
    """One local file: run file(s), a data file, or one error saying what is wrong with it."""
    import datasets

    if not _has_content(path):
        raise DataLoadError(f"{data} is empty (no records in it): pass a file that holds the records")
    if path.name.endswith(TRAJ_SUFFIXES):
        return _load_run_files([path], path)
    builder = FORMATS.get(path.suffix.lower())
    if builder is None:
        raise DataLoadError(
            f"cannot tell the format of {data}: use a .jsonl, .json, .parquet, .csv, .traj or .traj.json file, "
            "or a save_to_disk folder"
        )
    if path.suffix.lower() == ".json" and _is_run_json(path):
        return _load_run_files([path], path)
    return datasets.load_dataset(builder, data_files=str(path), split=split)


def _has_content(path: Path) -> bool:
    """Whether ``path`` holds more than white space (only its first bytes are read)."""
    with path.open("rb") as f:
        return bool(f.read(1 << 16).strip())


def _is_run_json(path: Path) -> bool:
    """Whether a ``.json`` file is one agent run, not a table of rows: an object holding its history
    (SWE-agent), or a list of OpenHands events or of chat messages."""
    try:
        if path.stat().st_size > _RUN_JSON_MAX_BYTES:
            return False
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if isinstance(obj, dict):
        return not _RUN_KEYS.isdisjoint(obj)
    first = obj[0] if isinstance(obj, list) and obj else None
    if not isinstance(first, dict):
        return False
    return ("source" in first and ("action" in first or "observation" in first)) or {"role", "content"} <= set(first)


def _load_run_files(files: list[Path], root: Path) -> Any:
    """One row per run file: ``id`` (its path under ``root``) and ``trajectory`` (the file's JSON text)."""
    import datasets

    ids = [str(f.relative_to(root)) if f != root else f.name for f in files]
    return datasets.Dataset.from_dict({"id": ids, "trajectory": [f.read_text(encoding="utf-8") for f in files]})


# ------------------------------------------------------------------------------------------------- a folder
def _load_folder(data: str, path: Path, split: str) -> Any:
    """A folder: ``save_to_disk``, score shards, run files, OpenHands event folders, ``.json`` run files, or data
    files, in this order."""
    import datasets

    if any((path / f).exists() for f in _SAVED):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataLoadError(f"{data} has no split {split!r}; its splits are {list(loaded)}: pass --split")
            return loaded[split]
        return loaded
    if (path / _STORE_MARKER).exists():
        raise DataLoadError(
            f"{data} is the resume store of a scoring run (its rows by key), not a dataset: pass the scored "
            "dataset the run wrote (its output folder); the same score command run again finishes an interrupted run"
        )
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and not _hidden(p, path)]
    if any(_SHARD_RE.match(p.name) for p in files if p.parent == path):
        from mira_hf.scoring.sharding import merge_shards

        return merge_shards(path)  # names the shards missing, or the runs mixed
    runs = [p for p in files if p.name.endswith(TRAJ_SUFFIXES)]
    if runs:
        return _load_run_files(runs, path)
    events = _event_folders(path, files)
    if events:
        return _load_event_folders(events, path)
    data_files = [p for p in files if p.suffix.lower() in FORMATS]
    if data_files and all(p.suffix.lower() == ".json" for p in data_files) and _is_run_json(data_files[0]):
        return _load_run_files(data_files, path)  # one run per .json file (SWE-agent, OpenHands events)
    return _load_data_folder(data, path, data_files, split)


def _hidden(p: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in p.relative_to(root).parts)


def _event_folders(root: Path, files: list[Path]) -> list[Path]:
    """OpenHands session folders: ``events/`` folders of one ``<n>.json`` file per event."""
    folders = sorted({p.parent for p in files if p.parent.name == "events" and p.suffix == ".json"})
    return [d for d in folders if all(f.stem.isdigit() for f in d.glob("*.json"))]


def _load_event_folders(folders: list[Path], root: Path) -> Any:
    """One row per OpenHands session: ``id`` (the session folder) and ``trajectory`` (its events, in order)."""
    import datasets

    ids, runs = [], []
    for d in folders:
        session = d.parent
        ids.append(str(session.relative_to(root)) if session != root and root in session.parents else session.name)
        events = [
            json.loads(f.read_text(encoding="utf-8")) for f in sorted(d.glob("*.json"), key=lambda f: int(f.stem))
        ]
        runs.append(json.dumps(events))
    return datasets.Dataset.from_dict({"id": ids, "trajectory": runs})


def _load_data_folder(data: str, path: Path, files: list[Path], split: str) -> Any:
    """The data files of a folder, of one format, as ``datasets`` reads a Hub repository (its README's
    ``configs`` and the split names in file names are kept)."""
    import datasets

    if not files:
        raise DataLoadError(f"{data} holds no data files nor run files; {WHAT_TO_PASS}")
    kinds = sorted({p.suffix.lower() for p in files})
    if len({FORMATS[k] for k in kinds}) > 1 and not _card_configs(path):
        raise DataLoadError(
            f"{data} holds data files of several formats ({', '.join(kinds)}); pass one file, or a folder of "
            "files of one format"
        )
    if not any(_has_content(p) for p in files):
        raise DataLoadError(f"the data files in {data} are empty: they hold no records; {WHAT_TO_PASS}")
    try:
        return datasets.load_dataset(str(path), split=split)
    except MiraError:
        raise
    except Exception as e:  # noqa: BLE001 - say which files could not be read together
        raise _failed(
            f"cannot read the {len(files)} {'/'.join(kinds)} files in {data} as one dataset",
            e,
            "check --split; files read together need the same columns, so pass one file or a folder of like files",
        ) from e


def _card_configs(path: Path) -> bool:
    """Whether the folder's dataset card (README.md) names its data files (a ``configs:`` section)."""
    card = path / "README.md"
    try:
        return card.is_file() and "\nconfigs:" in card.read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
