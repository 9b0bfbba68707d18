"""``run_plan``: score → masks (agreement per group) → aggregate → select → report, resumable step by step.

Each step writes ``manifests/<step>.json`` with a hash of its inputs and settings; a rerun skips a step whose
hash is unchanged and whose outputs exist. Every group streams its rows, each finished row stored within 64 rows
or 2 seconds in the run's row store (``cache/``, one for every group: a row's key holds its scorer's settings),
so a run killed mid-scoring sends again only the rows that were in flight or not yet written, and renaming a
group or moving a source between groups with the same scorer re-sends nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_hf.errors import PlanError
from mira_hf.mixture.manifests import Manifests, digest
from mira_hf.mixture.plan import Plan, load_plan

logger = logging.getLogger(__name__)

#: The steps in order; ``force`` names one of them (it and every later step run again) or ``"all"``.
STEPS: tuple[str, ...] = ("score", "masks", "aggregate", "select", "report")


@dataclass
class RunResult:
    """What a run did: each step ``ran``, ``skipped`` (unchanged), ``planned`` (dry run) or ``off``, and where."""

    output_dir: Path
    steps: dict[str, str] = field(default_factory=dict)

    @property
    def selected_path(self) -> Path:
        return self.output_dir / "selected"

    @property
    def report_path(self) -> Path:
        return self.output_dir / "report.html"


#: Bytes read at a time when hashing a data file.
_CHUNK = 8 << 20


def _file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (a 50 GB file never sits in memory)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class _ContentHashes:
    """Content hashes of data files, kept in ``manifests/content_hashes.json`` so an unchanged file is read once.

    A cached hash is reused only while the file's size, modification time, change time and inode are all the
    same: rewriting a file (even to the same size, with its mtime set back) changes its change time, so it is
    hashed again.
    """

    def __init__(self, manifests_dir: Path | None):
        self.path = manifests_dir / "content_hashes.json" if manifests_dir is not None else None
        try:
            self.known: dict[str, Any] = json.loads(self.path.read_text()) if self.path is not None else {}
        except (OSError, ValueError):
            self.known = {}
        self.used: dict[str, Any] = {}

    def digest(self, path: Path) -> str:
        """The content hash of one file (from the cache when the file did not change)."""
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        key = str(path.resolve())
        entry = self.used.get(key) or self.known.get(key)
        if not (isinstance(entry, dict) and entry.get("stamp") == stamp and entry.get("sha256")):
            entry = {"stamp": stamp, "sha256": _file_sha256(path)}
        self.used[key] = entry
        return entry["sha256"]

    def save(self) -> None:
        """Keep the hashes of the files this run read (and only those)."""
        from mira_hf._util.atomic import atomic_path

        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.used, indent=1, sort_keys=True) + "\n")


def _file_identity(path: Path, hashes: _ContentHashes) -> Any:
    """What a data file, folder or Hub name holds: a file's content hash; for a folder, every file's relative
    name and content hash (hidden files such as locks left out, and the ``cache-*.arrow`` files ``datasets``
    writes beside a ``save_to_disk`` folder's data when it is mapped); a Hub name as given."""
    if path.is_file():
        return ["file", hashes.digest(path)]
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and not (p.name.startswith("cache-") and p.suffix == ".arrow")
        )
        return ["folder", [[p.relative_to(path).as_posix(), hashes.digest(p)] for p in files]]
    return ["name", path.as_posix()]  # a Hub name


def _one_row_store(cache: Path) -> None:
    """Fold the per-group row stores an earlier release kept (``cache/<group>``) into the one store every group
    now shares, so a run started before the change resumes without re-sending a row."""
    from mira_hf.scoring.store import RowStore

    old = [d for d in cache.iterdir() if (d / "mira-row-store.json").is_file()] if cache.is_dir() else []
    if old:
        with RowStore(cache) as store:
            for folder in old:
                store.absorb(folder)


def _check_force(force: str | Sequence[str] | None) -> set[str]:
    names = {force} if isinstance(force, str) else set(force or ())
    unknown = names - {*STEPS, "all"}
    if unknown:
        raise PlanError(f"unknown step(s) {sorted(unknown)} to force; the steps are {', '.join(STEPS)} (or 'all')")
    if "all" in names:
        return set(STEPS)
    first = min((STEPS.index(n) for n in names), default=len(STEPS))
    return set(STEPS[first:])


def _load_data(plan: Plan, digest: str | None = None) -> Any:
    """The plan's dataset. A local data file is converted under a ``datasets`` cache name made of its content hash
    (``digest``): ``datasets`` keys its cache by path and mtime, so a file rewritten in place with its mtime set
    back would otherwise be read as it was."""
    from mira_hf.io import FORMATS, TRAJ_SUFFIXES, load_any

    data = plan.path(plan.data)
    builder = FORMATS.get(data.suffix.lower()) if data.is_file() and not data.name.endswith(TRAJ_SUFFIXES) else None
    if builder is not None and digest is not None:
        import datasets

        try:
            return datasets.load_dataset(builder, data_files=str(data), split=plan.split, name=f"mira-{digest[:16]}")
        except Exception:  # noqa: BLE001 - load_any below says what is wrong in one line
            logger.debug("loading %s by content hash failed", data, exc_info=True)
    return load_any(str(data) if data.exists() else plan.data, plan.split)


def _check(plan: Plan, ds: Any, engines: Collection[str], dry_run: bool, say: Callable[[str], None]) -> None:
    """The check phase (before any engine starts): warnings logged; every problem raised in one
    [PlanError][mira_hf.errors.PlanError], a dry run first saying each on its own line."""
    from mira_hf.mixture.checks import check_plan, raise_problems

    problems, warnings = check_plan(plan, ds, engines)
    for warning in warnings:
        logger.warning(warning)
    if dry_run and len(problems) > 1:
        for problem in problems:
            say(f"problem: {problem}")
    raise_problems(problems)


def step_hashes(plan: Plan, identities: Mapping[str, Any], hashes: _ContentHashes | None = None) -> dict[str, str]:
    """Each step's hash: every setting and input that changes the step's output, and the hash of the step before.

    ``score``: the data's content, split, record/source/id columns, which sources each group holds, and each
    group's scorer identity (model, sampling, rubric and prompt *contents*, …; never where requests go).
    ``masks``: each group's reliability settings and the content of its mask file. ``aggregate``: nothing more.
    ``select``: the retention rules (unless a token budget replaces them), sampling (τ and the seed only where a
    group samples), the budget, token column and Hub repo. ``report``: nothing more.

    Example:
        >>> plan = Plan.model_validate({"data": "rows.jsonl", "groups": {"qa": {"sources": ["swe_qa"]}}})
        >>> sorted(step_hashes(plan, {"qa": {"model": "m"}}))
        ['aggregate', 'masks', 'report', 'score', 'select']
    """
    hashes = hashes if hashes is not None else _ContentHashes(None)
    data = plan.path(plan.data)
    data_identity = _file_identity(data if data.exists() else Path(plan.data), hashes)  # a Hub name as written
    chain = {
        "score": digest(
            "score",
            data_identity,
            plan.split,
            plan.text_column,
            plan.source_column,
            sorted(plan.group_of().items()),
            dict(identities),
        )
    }
    masks = {}
    for name, g in plan.groups.items():
        rel = g.reliability
        mask = _file_identity(plan.path(rel.mask), hashes) if rel.mask else None
        masks[name] = [rel.teacher_column, rel.teacher_recommendation_column, rel.thresholds, mask]
    chain["masks"] = digest("masks", chain["score"], masks)
    chain["aggregate"] = digest("aggregate", chain["masks"])
    budget = [plan.budget_tokens, plan.budget_split] if plan.budget_tokens is not None else None
    sampled = any(g.sampling == "gumbel" for g in plan.groups.values())
    rules = {
        name: [None if budget else g.retention, g.sampling, g.temperature if g.sampling == "gumbel" else None]
        for name, g in plan.groups.items()
    }
    chain["select"] = digest(
        "select",
        chain["aggregate"],
        budget,
        plan.token_column,
        plan.id_column,
        plan.push_to_hub,
        plan.seed if sampled else None,
        rules,
    )
    chain["report"] = digest("report", chain["select"])
    return chain


def run_plan(
    plan: Plan | str | Path,
    output_dir: str | Path,
    *,
    force: str | Sequence[str] | None = None,
    dry_run: bool = False,
    engines: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    say: Callable[[str], None] = logger.info,
) -> RunResult:
    """Run a mixture plan into ``output_dir``: ``scored/``, ``masks/<group>.json``, ``selected/``, ``report.html``.

    A rerun skips every step whose inputs and settings are unchanged; ``force="masks"`` runs that step and the
    later ones again; ``dry_run=True`` checks the plan and the sources and says what would run, scoring nothing.
    ``engines={group: engine}`` replaces a group's engine (e.g. a test double).

    Example:
        >>> result = run_plan("examples/mixture.yaml", "mixture-out")   # doctest: +SKIP
        >>> result.steps                                                 # doctest: +SKIP
        {'score': 'ran', 'masks': 'ran', 'aggregate': 'ran', 'select': 'ran', 'report': 'ran'}
    """
    import datasets

    from mira_hf.mixture.router import MixtureScorer

    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    forced = _check_force(force)
    out = Path(output_dir)
    result = RunResult(output_dir=out)
    manifests = Manifests(out)
    hashes = _ContentHashes(manifests.dir)
    identity = _file_identity(plan.path(plan.data), hashes)  # before loading: a data file's load is keyed by it
    ds = _load_data(plan, identity[1] if identity[0] == "file" else None)
    _check(plan, ds, list(engines or ()), dry_run, say)  # every problem at once, before any engine work
    if not dry_run:
        _one_row_store(out / "cache")
    scorer = MixtureScorer(plan, cache_dir=out / "cache", engines=engines)

    chain = step_hashes(plan, scorer.__getstate__()["identities"], hashes)
    if not dry_run or manifests.dir.is_dir():
        hashes.save()
    outputs = {
        "score": out / "scored",
        "masks": out / "masks",
        "aggregate": out / "aggregated",
        "select": out / "selected",
        "report": out / "report.html",
    }

    def todo(step: str) -> bool:
        return step in forced or not (manifests.done(step, chain[step]) and outputs[step].exists())

    if dry_run:
        for step in STEPS:
            result.steps[step] = "planned" if todo(step) else "skipped"
        if not plan.report:
            result.steps["report"] = "off"
        return result
    datasets.disable_progress_bars()  # one line per step, not one bar per datasets call
    try:
        _run_steps(plan, ds, scorer, result, manifests, chain, outputs, todo, batch_size, say)
    finally:
        datasets.enable_progress_bars()
    return result


def _run_steps(
    plan: Plan,
    ds: Any,
    scorer: Any,
    result: RunResult,
    manifests: Manifests,
    chain: dict[str, str],
    outputs: dict[str, Path],
    todo: Callable[[str], bool],
    batch_size: int | None,
    say: Callable[[str], None],
) -> None:
    import datasets

    out = result.output_dir
    scored = aggregated = None
    if todo("score"):
        scored = _score(plan, ds, scorer, out, batch_size, say)
        _save(scored, outputs["score"])
        manifests.write("score", chain["score"], rows=len(ds))
        result.steps["score"] = "ran"
    else:
        result.steps["score"] = "skipped"

    if todo("masks") or todo("aggregate"):
        from mira_hf.mixture.steps import masks_and_quality

        scored = scored if scored is not None else datasets.load_from_disk(str(outputs["score"]))
        aggregated, _ = masks_and_quality(plan, scored, outputs["masks"])
        manifests.write("masks", chain["masks"])
        _save(aggregated, outputs["aggregate"])
        manifests.write("aggregate", chain["aggregate"])
        result.steps["masks"] = result.steps["aggregate"] = "ran"
    else:
        result.steps["masks"] = result.steps["aggregate"] = "skipped"

    if todo("select"):
        aggregated = aggregated if aggregated is not None else datasets.load_from_disk(str(outputs["aggregate"]))
        from mira_hf.mixture.select import select_mixture

        kept, report = select_mixture(plan, aggregated)
        _save(kept, outputs["select"])
        report.save(outputs["select"] / "selection_report.json")
        manifests.write("select", chain["select"], kept=len(kept))
        result.steps["select"] = "ran"
    else:
        result.steps["select"] = "skipped"

    if not plan.report:
        result.steps["report"] = "off"
    elif todo("report"):
        from mira_hf.mixture.report import mixture_report

        aggregated = aggregated if aggregated is not None else datasets.load_from_disk(str(outputs["aggregate"]))
        mixture_report(
            plan,
            aggregated,
            masks_dir=outputs["masks"],
            selection=outputs["select"] / "selection_report.json",
            path=outputs["report"],
        )
        manifests.write("report", chain["report"])
        result.steps["report"] = "ran"
    else:
        result.steps["report"] = "skipped"


def _score(plan: Plan, ds: Any, scorer: Any, out: Path, batch_size: int | None, say: Callable[[str], None]) -> Any:
    """Score every group, each streaming its rows into the run's row store; one progress line over them all."""
    from mira_hf._util.progress import ScoreProgress
    from mira_hf.mixture.streaming import score_mixture

    rows = len(ds)
    say(f"scoring {rows:,} rows in {len(plan.groups)} group(s) (rows already in {out / 'cache'} are read back)")
    scorer.progress = ScoreProgress(total=rows, desc="scoring")  # rows, tokens/s, errors, ETA over every group
    try:  # every group streams, its rows stored as they finish; the final ds.map only reads the stores
        scored = score_mixture(ds, scorer, batch_size=batch_size or plan.batch_size, load_from_cache_file=False)
    finally:
        scorer.progress.close()
    say(scorer.progress.summary_line())
    return scored


def _save(ds: Any, path: Path) -> None:
    """``save_to_disk`` beside, then swap in: a killed step never leaves half a folder where the next run looks."""
    import shutil

    tmp = path.with_name(f".tmp-{path.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.save_to_disk(str(tmp))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
