"""Publish a selection: the rows through ``datasets``' own ``push_to_hub``, then the card and JSON evidence.

``push_selection`` pushes to a Hub repo (the token comes from the argument or the usual login and is never
written anywhere); ``save_selection`` writes the same layout to a local or fsspec path. Both can lay the
selection out as one split, a split per source, or a config per source.

Example:
    >>> from mira_hf.publish.hub import push_selection
    >>> push_selection(kept, report, "my-org/agent-mix-selected", push_by="split")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mira_hf._util.arrow import rows_column, source_codes
from mira_hf.errors import ConfigurationError, HubPushError
from mira_hf.publish.card import (
    RELIABILITY_FILE,
    REPORT_FILE,
    REPORT_HTML_FILE,
    SAMPLE_MAX_CHARS,
    SAMPLES_CONFIG,
    Examples,
    render_card,
)
from mira_hf.schema.selection import PushBy, PushInfo, SelectionReport

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

logger = logging.getLogger(__name__)

_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")  # what datasets accepts as a split name
DEFAULT_SHARD_SIZE = "500MB"


# ----------------------------------------------------------------------------------------------- layout
def safe_name(source: str) -> str:
    """A split/config name for a source: word characters kept, anything else becomes ``_``.

    Example:
        >>> safe_name("swe-qa/v2")
        'swe_qa_v2'
    """
    name = re.sub(r"[^\w.]+", "_", source).strip("._") or "source"
    name = re.sub(r"\.{2,}", ".", name)
    return name if _SPLIT_RE.match(name) else re.sub(r"\W", "_", name)


def layout_names(sources: list[str], push_by: PushBy | None, *, samples: bool = False) -> dict[str, str]:
    """source → split/config name; errors when two sources would collide or a config would be named ``data``
    (or ``samples``, with ``samples=True``: the sampled rows' config)."""
    if push_by is None:
        return {}
    names = {s: safe_name(s) for s in sources}
    seen: dict[str, str] = {}
    for src, name in names.items():
        if name in seen:
            raise ConfigurationError(
                f"sources {seen[name]!r} and {src!r} both become the {push_by} name {name!r}; "
                "rename one of them in the source column before pushing"
            )
        seen[name] = src
        if push_by == "config" and name == "data":
            raise ConfigurationError(
                "a source named 'data' cannot be a config (datasets reserves it); "
                "use push_by='split' or rename the source"
            )
        if push_by == "config" and samples and name == SAMPLES_CONFIG:
            raise ConfigurationError(
                f"a source named {SAMPLES_CONFIG!r} cannot be a config beside the sampled rows' config; "
                "use push_by='split', pass push_samples=False, or rename the source"
            )
    return names


def split_by_source(selection: Dataset, source_column: str, names: Mapping[str, str]) -> dict[str, Dataset]:
    """One dataset per source (name → rows of that source, in order); sources with no kept row are left out."""
    if not names:
        return {}
    column = rows_column(selection, source_column)
    codes, sources = source_codes(column, source_column)
    parts: dict[str, Dataset] = {}
    for i, src in enumerate(sources):
        rows = np.flatnonzero(codes == i)
        if rows.size:
            parts[names[src]] = selection.select(rows.tolist())
    return parts


def _known_secrets(token: str | None) -> list[str]:
    secrets = [token] if isinstance(token, str) and token else []
    try:
        from huggingface_hub import get_token

        login = get_token()
        if login:
            secrets.append(login)
    except Exception:  # pragma: no cover - no login configured is the normal case
        pass
    return secrets


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _capped(value: Any, secrets: list[str], limit: int) -> Any:
    """``value`` with every string in it redacted and cut to ``limit`` characters (lists and dicts walked)."""
    if isinstance(value, str):
        text = _redact(value, secrets)
        return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more characters cut]"
    if isinstance(value, list):
        return [_capped(v, secrets, limit) for v in value]
    if isinstance(value, dict):
        return {k: _capped(v, secrets, limit) for k, v in value.items()}
    return value


def sample_rows(samples: Dataset, secrets: list[str], limit: int = SAMPLE_MAX_CHARS) -> Dataset:
    """The ``samples`` config as written: every string redacted and cut to ``limit`` characters."""
    return samples.map(
        lambda row: {k: _capped(v, secrets, limit) for k, v in row.items()},
        features=samples.features,
        load_from_cache_file=False,
        desc="Capping sampled rows",
    )


def _evidence(report: SelectionReport, card: str, secrets: list[str]) -> dict[str, bytes]:
    """README.md, selection_report.json and reliability.json as bytes, with any secret redacted."""
    files = {"README.md": card, REPORT_FILE: report.model_dump_json(indent=2)}
    if report.reliability is not None:
        files[RELIABILITY_FILE] = json.dumps(report.reliability, indent=2, ensure_ascii=False)
    return {name: _redact(text, secrets).encode("utf-8") for name, text in files.items()}


# ----------------------------------------------------------------------------------------------- Hub push
_HINTS = {
    401: "Check the token: pass token= or run `hf auth login` with a token that can write to this namespace. ",
    403: "The token cannot write here: use a token with write access to this namespace. ",
    404: "Check the repo id and revision. ",
    409: "Another commit was in progress: retry. ",
    412: "The branch moved while pushing: retry. ",
}


def _push_error(
    repo_id: str,
    step: str,
    exc: BaseException,
    done: str,
    selection: Dataset,
    report: SelectionReport,
    secrets: list[str],
) -> HubPushError:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    reason = getattr(response, "reason_phrase", "") or ""
    answer = f"the Hub answered {status} {reason}".rstrip() if status else f"{type(exc).__name__}: {exc}"
    server_message = getattr(exc, "server_message", None)
    if status and server_message:
        answer += f": {server_message.strip()}"
    hint = _HINTS.get(status or 0, "")
    message = (
        f"Pushing the selection to {repo_id!r} failed while trying to {step} ({answer}). {hint}{done}"
        f"The selection is intact in err.selection ({len(selection):,} rows) and err.report; fix the cause "
        f"and retry with mira_hf.publish.hub.push_selection(err.selection, err.report, {repo_id!r})."
    )
    err = HubPushError(_redact(message, secrets))
    err.repo_id, err.step, err.status_code = repo_id, step, status  # type: ignore[attr-defined]
    err.selection, err.report = selection, report  # type: ignore[attr-defined]
    return err


def _layout(
    report: SelectionReport, push_by: PushBy | None, split: str, *, config_name: str = "default", samples: bool = False
) -> tuple[str | None, dict[str, str]]:
    """The source column and the split/config name of each source, checked before anything is written."""
    source_column = report.parameters.source_column
    if push_by is not None and source_column is None:
        raise ConfigurationError("push_by= needs a source column in the selection")
    if samples and push_by != "config" and config_name == SAMPLES_CONFIG:
        raise ConfigurationError(
            f"config_name={SAMPLES_CONFIG!r} is the sampled rows' config; pick another name or pass push_samples=False"
        )
    names = layout_names(list(report.sources), push_by, samples=samples)
    if push_by == "split" and not _SPLIT_RE.match(split):
        raise ConfigurationError(f"split={split!r} is not a valid split name (letters, digits, _ and .)")
    return source_column, names


def push_selection(
    selection: Dataset,
    report: SelectionReport,
    repo_id: str,
    *,
    push_by: PushBy | None = None,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    config_name: str = "default",
    split: str = "train",
    max_shard_size: int | str | None = None,
    card_metadata: Mapping[str, Any] | None = None,
    samples: Dataset | None = None,
    examples: Examples | None = None,
    report_html: str | Path | None = None,
) -> PushInfo:
    """Push ``selection`` with ``datasets``' ``push_to_hub``, then README.md + the report and reliability JSON.

    The data goes first (one split, a split per source, or a config per source), then one commit adds the
    card and the JSON files to the same revision (or pull request, with ``create_pr=True``). ``report.push``
    is filled in. ``samples`` (rows with ``mira_sample``/``mira_kept``) goes up as a ``samples`` config (strings
    redacted, cut to `SAMPLE_MAX_CHARS`), the card lists ``examples`` (``{source: [{"id", "score", "kept",
    "picked"}]}``) and links ``report_html`` (a file, uploaded as ``report.html``). On failure raises
    [`HubPushError`][mira_hf.errors.HubPushError] naming the repo, the step and the server's status, with
    ``err.selection`` and ``err.report`` so nothing is lost.

    Example:
        >>> info = push_selection(kept, report, "my-org/agent-mix-selected", private=True)  # doctest: +SKIP
        >>> info.commit_url                                                                # doctest: +SKIP
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    with_samples = samples is not None and len(samples) > 0
    source_column, names = _layout(report, push_by, split, config_name=config_name, samples=with_samples)
    html = _report_html(report_html)
    secrets = _known_secrets(token)
    parts = split_by_source(selection, source_column, names) if push_by and source_column else {}
    at = _Step("push the data")
    common: dict[str, Any] = {"private": private, "token": token}
    try:
        commit = _push_data(
            selection,
            parts,
            repo_id,
            at,
            push_by=push_by,
            config_name=config_name,
            split=split,
            revision=revision,
            create_pr=create_pr,
            common={**common, "max_shard_size": max_shard_size},
        )
        repo_id = commit.repo_url.repo_id if commit is not None else repo_id
        target = (commit.pr_revision if create_pr and commit is not None else None) or revision or "main"
        at.done = f"The data files were pushed to {target!r} but the card and JSON files were not. "
        if samples is not None and with_samples:
            at.step = f"push the {SAMPLES_CONFIG!r} config"
            sample_rows(samples, secrets).push_to_hub(
                repo_id, config_name=SAMPLES_CONFIG, revision=target, commit_message="Upload MIRA samples", **common
            )
        at.step = "read the dataset card datasets wrote"
        existing = _hub_card(repo_id, target, token)

        at.step = "upload the dataset card and JSON files"
        pushed = PushInfo(
            repo_id=repo_id,
            path=report.push.path if report.push else None,
            revision=target,
            push_by=push_by,
            config_name=config_name,
            split=split,
            layout={src: names[src] for src in report.sources if names.get(src) in parts},
            pr_url=commit.pr_url if commit is not None else None,
        )
        card = {"metadata": card_metadata, "examples": examples if with_samples else None}
        files = _card_files(report.model_copy(update={"push": pushed}), existing, repo_id, card, html, secrets)
        final = HfApi(token=token).create_commit(
            repo_id,
            repo_type="dataset",
            revision=target,
            commit_message="Add MIRA selection card and report",
            operations=[CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in files.items()],
        )
    except ConfigurationError:
        raise
    except Exception as exc:
        raise _push_error(repo_id, at.step, exc, at.done, selection, report, secrets) from exc
    report.push = pushed.model_copy(update={"commit_url": final.commit_url})
    logger.info("pushed %s rows to %s (%s)", f"{len(selection):,}", repo_id, target)
    return report.push


def _card_files(
    staged: SelectionReport,
    existing: str | None,
    repo_id: str,
    card: dict[str, Any],
    html: bytes | None,
    secrets: list[str],
) -> dict[str, bytes]:
    """README.md, the JSON evidence and ``report.html`` (where given) as the card commit adds them."""
    text = render_card(staged, existing=existing, repo_id=repo_id, report_html=html is not None, **card)
    return _evidence(staged, text, secrets) | ({REPORT_HTML_FILE: html} if html is not None else {})


def _report_html(path: str | Path | None) -> bytes | None:
    """The bytes of the HTML report to upload (``None`` without one); a missing file is a configuration error."""
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(
            f"report_html={str(path)!r} is not a file; pass the HTML file `mira-hf report` wrote, or leave it out"
        )
    return file.read_bytes()


class _Step:
    """Where a push is (``step``) and what it already did (``done``), for the error if the next call fails."""

    def __init__(self, step: str) -> None:
        self.step, self.done = step, ""


def _push_data(
    selection: Dataset,
    parts: dict[str, Dataset],
    repo_id: str,
    at: _Step,
    *,
    push_by: PushBy | None,
    config_name: str,
    split: str,
    revision: str | None,
    create_pr: bool,
    common: dict[str, Any],
) -> Any:
    """Push the rows with ``datasets``: one split, a split per source, or one config per source (one commit each).

    Returns the first commit's info (``None`` only when a per-config push had nothing to push, which raises).
    """
    from datasets import DatasetDict

    message = "Upload MIRA selection"
    if push_by is None:
        return selection.push_to_hub(
            repo_id,
            config_name=config_name,
            split=split,
            revision=revision,
            create_pr=create_pr,
            commit_message=message,
            **common,
        )
    if push_by == "split":
        return DatasetDict(parts).push_to_hub(
            repo_id, config_name=config_name, revision=revision, create_pr=create_pr, commit_message=message, **common
        )
    commit, target = None, revision
    for name, part in parts.items():
        at.step = f"push config {name!r}"
        info = part.push_to_hub(
            repo_id,
            config_name=name,
            split=split,
            revision=target,
            create_pr=create_pr and commit is None,
            commit_message=f"{message} ({name})",
            **common,
        )
        commit = commit or info
        target = info.pr_revision or target
        at.done = "Some configs were pushed; "
    if commit is None:
        raise ConfigurationError("nothing to push: the selection kept no row")
    return commit


def _hub_card(repo_id: str, revision: str, token: str | None) -> str | None:
    """The README.md ``datasets`` wrote at ``revision`` (its YAML lists the configs), or ``None`` if there is none."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(
            hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=revision, token=token)
        ).read_text(encoding="utf-8")
    except EntryNotFoundError:
        return None


# ----------------------------------------------------------------------------------------------- save_to
def _num_shards(ds: Dataset, max_shard_size: int | str | None) -> int:
    from datasets.utils.py_utils import convert_file_size_to_int

    limit = convert_file_size_to_int(max_shard_size or DEFAULT_SHARD_SIZE)
    from mira_hf._util.arrow import estimated_nbytes

    estimate = estimated_nbytes(ds)
    return max(1, min(len(ds), math.ceil(estimate / limit))) if len(ds) else 1


def _pieces(
    selection: Dataset, parts: dict[str, Dataset], push_by: PushBy | None, config_name: str, split: str
) -> list[tuple[str, str, str, Dataset]]:
    """(config, split, folder, rows) of every piece the layout writes, as the Hub layout names them."""
    data_dir = "data" if config_name == "default" else config_name
    if push_by is None:
        return [(config_name, split, data_dir, selection)]
    if push_by == "split":
        return [(config_name, name, data_dir, part) for name, part in parts.items()]
    return [(name, split, name, part) for name, part in parts.items()]


def _write_parquet(
    fs: Any, root: str, pieces: list[tuple[str, str, str, Dataset]], max_shard_size: int | str | None
) -> str:
    """Write each piece as Parquet shards (replacing stale ones); returns the card front matter listing configs."""
    configs: dict[str, list[dict[str, str]]] = {}
    for config, split_name, folder, part in pieces:
        for stale in fs.glob(f"{root}/{folder}/{split_name}-*.parquet"):
            fs.rm(stale)
        fs.makedirs(f"{root}/{folder}", exist_ok=True)
        n = _num_shards(part, max_shard_size)
        for i in range(n):
            with fs.open(f"{root}/{folder}/{split_name}-{i:05d}-of-{n:05d}.parquet", "wb") as fh:
                part.shard(num_shards=n, index=i, contiguous=True).to_parquet(fh)
        configs.setdefault(config, []).append({"split": split_name, "path": f"{folder}/{split_name}-*"})
    front = [{"config_name": c, "data_files": files} for c, files in configs.items()]
    return "---\n" + json.dumps({"configs": front}) + "\n---\n"


def _write_arrow(
    selection: Dataset,
    parts: dict[str, Dataset],
    root: str,
    push_by: PushBy | None,
    options: dict[str, Any] | None,
    max_shard_size: int | str | None,
) -> None:
    """``save_to_disk`` the rows: ``data/`` (one split or a DatasetDict of one split per source) or one per config."""
    from datasets import DatasetDict

    if push_by is None:
        selection.save_to_disk(f"{root}/data", storage_options=options, max_shard_size=max_shard_size)
    elif push_by == "split":
        DatasetDict(parts).save_to_disk(f"{root}/data", storage_options=options, max_shard_size=max_shard_size)
    else:
        for name, part in parts.items():
            part.save_to_disk(f"{root}/{name}", storage_options=options, max_shard_size=max_shard_size)


def save_selection(
    selection: Dataset,
    report: SelectionReport,
    path: str | Path,
    *,
    push_by: PushBy | None = None,
    config_name: str = "default",
    split: str = "train",
    max_shard_size: int | str | None = None,
    card_metadata: Mapping[str, Any] | None = None,
    save_format: Literal["parquet", "arrow"] = "parquet",
    storage_options: Mapping[str, Any] | None = None,
    samples: Dataset | None = None,
    examples: Examples | None = None,
) -> PushInfo:
    """Write the selection, README.md, selection_report.json and reliability.json to a local or fsspec path.

    ``parquet`` (default) mirrors the Hub layout, so ``load_dataset(path)`` reads it back with the same
    splits/configs; ``arrow`` uses ``save_to_disk`` (read back with ``load_from_disk``). ``samples`` and
    ``examples`` are written as in `push_selection` (a ``samples`` config, or a ``samples/`` folder with arrow).

    Example:
        >>> save_selection(kept, report, "s3://bucket/agent-mix-selected")   # doctest: +SKIP
    """
    import fsspec

    with_samples = samples is not None and len(samples) > 0
    source_column, names = _layout(report, push_by, split, config_name=config_name, samples=with_samples)
    if push_by is None and not _SPLIT_RE.match(split):
        raise ConfigurationError(f"split={split!r} is not a valid split name (letters, digits, _ and .)")
    options = dict(storage_options or {})
    fs, root = fsspec.core.url_to_fs(str(path), **options)
    root = root.rstrip("/")
    parts = split_by_source(selection, source_column, names) if push_by and source_column else {}
    existing = None
    capped = sample_rows(samples, _known_secrets(None)) if with_samples and samples is not None else None
    if save_format == "parquet":
        pieces = _pieces(selection, parts, push_by, config_name, split)
        pieces += [(SAMPLES_CONFIG, "train", SAMPLES_CONFIG, capped)] if capped is not None else []
        existing = _write_parquet(fs, root, pieces, max_shard_size)
    else:
        _write_arrow(selection, parts, root, push_by, options or None, max_shard_size)
        if capped is not None:
            capped.save_to_disk(f"{root}/{SAMPLES_CONFIG}", storage_options=options or None)

    saved = PushInfo(
        repo_id=report.push.repo_id if report.push else None,
        path=str(path),
        push_by=push_by,
        format=save_format,
        config_name=config_name,
        split=split,
        layout={src: names[src] for src in report.sources if names.get(src) in parts},
    )
    staged = report.model_copy(update={"push": saved})
    card = render_card(
        staged,
        existing=existing,
        path=str(path),
        metadata=card_metadata,
        examples=examples if capped is not None else None,
    )
    for name, blob in _evidence(staged, card, _known_secrets(None)).items():
        with fs.open(f"{root}/{name}", "wb") as fh:
            fh.write(blob)
    report.push = saved
    logger.info("saved %s rows to %s", f"{len(selection):,}", path)
    return saved


__all__ = ["layout_names", "push_selection", "sample_rows", "safe_name", "save_selection", "split_by_source"]
