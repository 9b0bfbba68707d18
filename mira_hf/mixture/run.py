"""``run_plan``: score → masks (agreement per group) → aggregate → select → report, resumable step by step.

Each step writes ``manifests/<step>.json`` with a hash of its inputs and settings; a rerun skips a step whose
hash is unchanged and whose outputs exist. Scoring resumes from the per-row stores (``cache/<group>``), so a
run killed mid-scoring scores only the rows it had not finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_hf._util.arrow import rows_table
from mira_hf.errors import PlanError
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


def _hash(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _file_identity(path: Path) -> Any:
    """A cheap identity of a data file or folder: names, sizes and modification times (not the bytes)."""
    if path.is_file():
        st = path.stat()
        return [path.name, st.st_size, st.st_mtime_ns]
    if path.is_dir():
        return sorted([str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns]
                      for p in path.rglob("*") if p.is_file())
    return str(path)  # a Hub name


class _Manifests:
    """``manifests/<step>.json``: the hash a step last finished with."""

    def __init__(self, out: Path):
        self.dir = out / "manifests"

    def done(self, step: str, digest: str) -> bool:
        path = self.dir / f"{step}.json"
        return path.is_file() and json.loads(path.read_text()).get("hash") == digest

    def write(self, step: str, digest: str, **extra: Any) -> None:
        from mira_hf.atomic import atomic_path

        self.dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.dir / f"{step}.json") as tmp:
            tmp.write_text(json.dumps({"step": step, "hash": digest, **extra}, indent=2) + "\n")


def _check_force(force: str | Sequence[str] | None) -> set[str]:
    names = {force} if isinstance(force, str) else set(force or ())
    unknown = names - {*STEPS, "all"}
    if unknown:
        raise PlanError(f"unknown step(s) {sorted(unknown)} to force; the steps are {', '.join(STEPS)} (or 'all')")
    if "all" in names:
        return set(STEPS)
    first = min((STEPS.index(n) for n in names), default=len(STEPS))
    return set(STEPS[first:])


def _load_data(plan: Plan):
    from mira_hf.cli import load_any

    data = plan.path(plan.data)
    return load_any(str(data) if data.exists() else plan.data, plan.split)


def _retention(plan: Plan) -> dict[str, Any]:
    """Each source's rule: its group's retention."""
    return {s: g.retention for g in plan.groups.values() for s in g.sources}


def run_plan(plan: Plan | str | Path, output_dir: str | Path, *, force: str | Sequence[str] | None = None,
             dry_run: bool = False, engines: Mapping[str, Any] | None = None, batch_size: int | None = None,
             say: Callable[[str], None] = logger.info) -> RunResult:
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

    from mira_hf.mixture.router import MixtureScorer, check_sources

    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    forced = _check_force(force)
    out = Path(output_dir)
    result = RunResult(output_dir=out)
    manifests = _Manifests(out)
    ds = _load_data(plan)
    if plan.source_column not in ds.column_names:
        raise PlanError(f"source_column: the dataset has no column {plan.source_column!r}; its columns are "
                        f"{ds.column_names}")
    sources = ds.unique(plan.source_column)
    check_sources(sources, plan.group_of(), plan.source_column)  # before any engine work
    scorer = MixtureScorer(plan, cache_dir=out / "cache", engines=engines)

    digest = _hash("score", _file_identity(plan.path(plan.data)), plan.split, plan.text_column, plan.source_column,
                   scorer.__getstate__()["identities"])
    plan_json = plan.model_dump(mode="json", exclude={"base_dir"})
    mask_inputs = {g: [p.reliability.model_dump(), _file_identity(plan.path(p.reliability.mask))
                       if p.reliability.mask else None] for g, p in plan.groups.items()}
    chain = {"score": digest}
    chain["masks"] = _hash(chain["score"], mask_inputs)
    chain["aggregate"] = _hash(chain["masks"])
    chain["select"] = _hash(chain["aggregate"], {k: plan_json[k] for k in ("budget_tokens", "budget_split", "seed",
                                                                            "token_column", "push_to_hub")},
                            {g: [p["retention"], p["sampling"], p["temperature"]]
                             for g, p in plan_json["groups"].items()})
    chain["report"] = _hash(chain["select"])
    outputs = {"score": out / "scored", "masks": out / "masks", "aggregate": out / "aggregated",
               "select": out / "selected", "report": out / "report.html"}

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


def _run_steps(plan: Plan, ds: Any, scorer: Any, result: RunResult, manifests: _Manifests, chain: dict[str, str],
               outputs: dict[str, Path], todo: Callable[[str], bool], batch_size: int | None,
               say: Callable[[str], None]) -> None:
    import datasets

    out = result.output_dir
    scored = aggregated = None
    if todo("score"):
        rows = len(ds)
        say(f"scoring {rows:,} rows in {len(plan.groups)} group(s) (rows already in {out / 'cache'} are read back)")
        from mira_hf.progress import ScoreProgress

        scorer.progress = ScoreProgress(total=rows, desc="scoring")  # rows, tokens/s, errors, ETA over every group
        try:
            scored = ds.map(scorer, batched=True, batch_size=batch_size or plan.batch_size, load_from_cache_file=False)
        finally:
            scorer.progress.close()
        say(scorer.progress.summary_line())
        _save(scored, outputs["score"])
        manifests.write("score", chain["score"], rows=rows)
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
        kept, report = _select(plan, aggregated)
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
        mixture_report(plan, aggregated, masks_dir=outputs["masks"],
                       selection=outputs["select"] / "selection_report.json", path=outputs["report"])
        manifests.write("report", chain["report"])
        result.steps["report"] = "ran"
    else:
        result.steps["report"] = "skipped"


def _save(ds: Any, path: Path) -> None:
    """``save_to_disk`` beside, then swap in: a killed step never leaves half a folder where the next run looks."""
    import shutil

    tmp = path.with_name(f".tmp-{path.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.save_to_disk(str(tmp))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def _select(plan: Plan, ds: Any) -> tuple[Any, Any]:
    """Keep each source's share by its group's rule, or one token budget for the whole mixture.

    Groups that sample alike are selected in one ``filter_by_retention`` call; when groups differ (a hard cut here,
    Gumbel sampling there) each group is selected apart, the budget first split over the sources exactly as one
    call would split it, and the kept rows come back in input order.
    """
    import numpy as np

    from mira_hf.selection import filter_by_retention

    common = dict(by="source", source_column=plan.source_column, token_column=plan.token_column, seed=plan.seed)
    kinds = {(g.sampling, g.temperature) for g in plan.groups.values()}
    if len(kinds) == 1:
        sampling, temperature = kinds.pop()
        budget = dict(budget_tokens=plan.budget_tokens, budget_split=plan.budget_split) if plan.budget_tokens else {}
        return filter_by_retention(ds, retention=None if budget else _retention(plan), sampling=sampling,
                                   temperature=temperature, push_to_hub=plan.push_to_hub, **budget, **common)
    rules = _budget_rules(plan, ds) if plan.budget_tokens else _retention(plan)
    from mira_hf.mixture.steps import group_rows

    ds = ds.add_column("__mira_row", list(range(len(ds))))
    kept, reports = [], []
    for name, g in plan.groups.items():
        sub = ds.select(group_rows(ds, name))
        part, report = filter_by_retention(sub, retention={s: rules[s] for s in g.sources}, sampling=g.sampling,
                                           temperature=g.temperature, **common)
        kept.append(part)
        reports.append(report)
    import datasets

    merged = datasets.concatenate_datasets(kept)
    order = np.argsort(np.asarray(merged["__mira_row"]), kind="stable")
    merged = merged.select(order).flatten_indices().remove_columns("__mira_row")
    report = _merge_reports(reports)
    if plan.push_to_hub:
        from mira_hf.hub import push_selection

        push_selection(merged, report, plan.push_to_hub)
    return merged, report


def _budget_rules(plan: Plan, ds: Any) -> dict[str, Any]:
    """The mixture's token budget as one ``{tokens: n}`` rule per source (the split one call would make)."""
    import numpy as np

    from mira_hf.selection.budget import budget_rules

    table = rows_table(ds, [plan.source_column, plan.token_column])
    sums = table.group_by(plan.source_column).aggregate([(plan.token_column, "sum")])
    per = dict(zip(sums.column(plan.source_column).to_pylist(), sums.column(f"{plan.token_column}_sum").to_pylist()))
    keys = sorted(per, key=str)
    rules = budget_rules(int(plan.budget_tokens), plan.budget_split, keys, np.array([per[k] for k in keys]),
                         what="source")
    return {k: r.to_spec() for k, r in rules.items()}


def _merge_reports(reports: list[Any]) -> Any:
    """One report for groups selected apart: their sources and cuts together, the first group's parameters."""
    first = reports[0]
    update = {"sources": {k: v for r in reports for k, v in r.sources.items()},
              "cuts": {k: v for r in reports for k, v in r.cuts.items()},
              "input_rows": sum(r.input_rows for r in reports),
              "parameters": first.parameters.model_copy(update={"retention": {
                  k: v for r in reports for k, v in r.parameters.retention.items()}})}
    return first.model_copy(update=update)
