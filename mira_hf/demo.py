"""``mira-hf demo``: the whole pipeline on the bundled example dataset, end to end.

score (the real scorer on a GPU; on a machine without one, the real vLLM CPU engine with a tiny
random-weight model) → agreement against the bundled teacher labels → mask → aggregate → select →
``<out>/selected`` (``datasets.load_from_disk``) and ``<out>/report.html``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mira_hf.scoring.scorer import Scorer

logger = logging.getLogger(__name__)

REPO_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "trajectories.jsonl"
#: Engine settings for the CPU stand-in: small enough for 2 cores, same code path as a GPU run.
CPU_SETTINGS: dict[str, Any] = dict(
    max_model_len=8192,
    max_num_batched_tokens=8192,
    gpu_memory_utilization=0.15,
    max_tokens=1024,
    max_rationale_chars=24,
)
#: With random weights nothing agrees with the teacher; the demo relaxes the mask so every stage has data.
CPU_THRESHOLDS: dict[str, Any] = dict(mae_max=10.0, spearman_min=-1.0, min_support=1)
#: What every CPU stand-in run says first, as a warning line: its scores mean nothing.
CPU_WARNING = (
    "warning: --cpu scores with a tiny RANDOM-WEIGHT model on the CPU: its scores are meaningless. "
    "This run checks the pipeline end to end; score on a GPU (or --engine openai) for a real selection."
)


@dataclass
class DemoResult:
    """What the demo wrote, for the summary and for tests."""

    out_dir: Path
    scored: Any
    agreement: dict[str, Any]
    report: Any
    selected_path: Path
    report_path: Path
    real_scorer: bool


def find_example(data: str | Path | None = None) -> Path:
    """The example dataset: ``data`` if given, else ``examples/data/trajectories.jsonl`` here or in the repo."""
    candidates = [Path(data)] if data else [Path("examples/data/trajectories.jsonl"), REPO_EXAMPLE]
    for path in candidates:
        if path.is_file():
            return path
    from mira_hf.errors import ConfigurationError

    raise ConfigurationError(
        f"example dataset not found (looked at {', '.join(map(str, candidates))}); "
        "run the demo from the repository root or pass --data"
    )


def gpu_available() -> bool:
    """Whether the real scorer can run here: a CUDA GPU and vLLM."""
    try:
        import torch

        if not torch.cuda.is_available():
            return False
        import vllm  # noqa: F401
    except Exception:
        return False
    return True


def run_demo(
    out_dir: str | Path = "mira-demo",
    *,
    data: str | Path | None = None,
    model: str | None = None,
    cpu: bool | None = None,
    retention: float = 0.5,
    say: Callable[[str], Any] = print,
) -> DemoResult:
    """Run the pipeline on the example dataset and write ``selected/`` and ``report.html`` under ``out_dir``.

    Example:
        >>> result = run_demo("mira-demo")   # doctest: +SKIP
    """
    import datasets

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = find_example(data)
    datasets.disable_progress_bars()  # our lines and our bar, not one bar per datasets step
    try:
        ds = datasets.load_dataset("json", data_files=str(path), split="train")
    finally:
        datasets.enable_progress_bars()
    use_cpu = (not gpu_available()) if cpu is None else cpu
    scorer, thresholds = _cpu_scorer(out, say) if use_cpu else _card_scorer(out, model)
    say(f"Scoring {len(ds)} records of {path} (rows already in {out / 'cache'} are read back, not scored again)")
    datasets.disable_progress_bars()  # our bar and our lines, not one bar per datasets step
    try:
        scored = _score(ds, scorer, say)
        say("Measuring teacher–student agreement, masking unreliable cells, selecting, writing the report")
        return _select_and_report(
            scored, scorer, out, retention=retention, thresholds=thresholds, real_scorer=not use_cpu, say=say
        )
    finally:
        datasets.enable_progress_bars()


def _card_scorer(out: Path, model: str | None) -> tuple[Scorer, dict[str, Any]]:
    """The card's scorer (or ``model``) on the example's columns, and no relaxed thresholds."""
    from mira_hf.scoring.scorer import Scorer

    scorer = Scorer(
        model=model, text_column="trajectory", source_column="source", id_column="id", cache_dir=str(out / "cache")
    )
    return scorer, {}


def _cpu_scorer(out: Path, say: Callable[[str], Any]) -> tuple[Scorer, dict[str, Any]]:
    """The CPU stand-in: the real vLLM engine on a tiny random-weight model, and the relaxed thresholds."""
    from mira_hf.scoring.scorer import Scorer

    say(
        "No GPU here: scoring with the real vLLM engine on the CPU and a tiny random-weight model.\n"
        "Its scores are NOT meaningful — this run shows the pipeline, not a real selection.\n"
        "On a GPU machine the same command uses the card's scorer (whw06/MIRA-Agent-Group4)."
    )
    scorer = Scorer(
        model=str(cpu_model(out / "tiny-model")),
        text_column="trajectory",
        source_column="source",
        id_column="id",
        cache_dir=str(out / "cache"),
        **CPU_SETTINGS,
    )
    return scorer, CPU_THRESHOLDS


def cpu_model(path: str | Path) -> Path:
    """The tiny random-weight model of the CPU stand-in, built at ``path`` (reused when it is there already), with
    vLLM's expected CPU warnings held back (``-v`` shows them).

    Example:
        >>> cpu_model("mixture-out/tiny-model")   # doctest: +SKIP
        PosixPath('mixture-out/tiny-model')
    """
    from transformers.utils import logging as transformers_logging

    from mira_hf._util.logs import quiet_cpu_engine
    from mira_hf.testing import tiny_model

    quiet_cpu_engine()  # the stand-in's expected CPU warnings are not news to the reader
    transformers_logging.disable_progress_bar()  # "Writing model shards": not a step the reader needs
    try:
        return Path(tiny_model.build_tiny_model(Path(path)))
    finally:
        transformers_logging.enable_progress_bar()


def cpu_score_settings(path: str | Path) -> dict[str, Any]:
    """`Scorer` settings of the CPU stand-in for ``mira-hf score --cpu``: the tiny model (built at ``path``), the
    in-process engine and the demo's small engine settings. Say [`CPU_WARNING`][mira_hf.demo.CPU_WARNING] first.

    Example:
        >>> settings = cpu_score_settings("scored.tiny-model")   # doctest: +SKIP
        >>> settings["engine"], settings["max_model_len"]         # doctest: +SKIP
        ('vllm', 8192)
    """
    return {"model": str(cpu_model(path)), "engine": "vllm", "base_url": None, **CPU_SETTINGS}


def cpu_plan(plan: Any, path: str | Path) -> Any:
    """``plan`` with every group scored by the CPU stand-in (``mira-hf run --cpu``): the tiny model built at
    ``path``, in this process (a group's endpoints are left out), with the demo's engine settings; a group that
    measures agreement with a teacher gets the demo's relaxed thresholds (random scores agree with nothing).

    Example:
        >>> from mira_hf.mixture.plan import load_plan
        >>> cpu = cpu_plan(load_plan("examples/mixture.yaml"), "mixture-out/tiny-model")   # doctest: +SKIP
        >>> {g.scorer.engine for g in cpu.groups.values()}                                 # doctest: +SKIP
        {'vllm'}
    """
    from mira_hf.mixture.plan import Plan

    model = str(cpu_model(path))
    data = plan.model_dump()
    for group in data["groups"].values():
        scorer = {k: v for k, v in group.get("scorer", {}).items() if k not in ("base_urls", "api_key_env")}
        group["scorer"] = {**scorer, "model": model, "engine": "vllm", **CPU_SETTINGS}
        reliability = group.get("reliability") or {}
        if reliability.get("teacher_column"):
            group["reliability"] = {**reliability, **CPU_THRESHOLDS}
    return Plan.model_validate(data)


def _score(ds: Any, scorer: Scorer, say: Callable[[str], Any]) -> Any:
    """Every example row through ``scorer`` in one batch, with the progress bar and its summary line."""
    from mira_hf._util.progress import ScoreProgress

    scorer.progress = ScoreProgress(total=len(ds), desc="scoring")  # rows, tokens/s, errors, ETA
    try:
        scored = ds.map(scorer, batched=True, batch_size=len(ds), load_from_cache_file=False)
    finally:
        scorer.progress.close()
    say(scorer.progress.summary_line())
    return scored


def _select_and_report(
    scored: Any,
    scorer: Scorer,
    out: Path,
    *,
    retention: float,
    thresholds: dict[str, Any],
    real_scorer: bool,
    say: Callable[[str], Any],
) -> DemoResult:
    """Agreement against the teacher labels → mask → aggregate → select → ``selected/`` and ``report.html``."""
    from mira_hf.reliability import Reliability, aggregate, agreement
    from mira_hf.report import build_report
    from mira_hf.selection import filter_by_retention

    result = agreement(
        scored["mira_scores"],
        scored["teacher_scores"],
        sources=scored["source"],
        prediction_recommendations=scored["mira_recommendation"],
        reference_recommendations=scored["teacher_recommendation"],
        **thresholds,
    )
    if thresholds:
        say(f"Reliability thresholds relaxed for the tiny model: {thresholds}")
    reliability = Reliability.from_result(result)
    reliability.save(out / "reliability.json")
    aggregated = aggregate(scored, mask=reliability)
    kept, report = filter_by_retention(
        aggregated, retention=retention, scorer=scorer, reliability=reliability, rubric=scorer.rubric
    )
    selected = out / "selected"
    kept.save_to_disk(str(selected))
    (out / "selection_report.json").write_text(report.model_dump_json(indent=2))
    report_path = build_report(
        aggregated,
        agreement=result,
        reliability=reliability,
        selection=report,
        path=out / "report.html",
        parameters=scorer.identity(),
        inspection=True,
    )
    return DemoResult(
        out_dir=out,
        scored=aggregated,
        agreement=result,
        report=report,
        selected_path=selected,
        report_path=Path(report_path),
        real_scorer=real_scorer,
    )
