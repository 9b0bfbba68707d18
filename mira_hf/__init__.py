"""mira-hf: MIRA data selection as a plugin for Hugging Face ``datasets`` and ``evaluate``.

Score agent / SWE-repair trajectories with a distilled rubric scorer served by vLLM, measure
teacher–student agreement to mask unreliable (source × dimension) cells, and keep the best share
of each source.

Example:
    >>> import mira_hf
    >>> rubric = mira_hf.load_rubric("agent-group4")
    >>> len(rubric)
    15
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mira_hf._version import __version__

# Public names, imported lazily so that ``import mira_hf`` stays cheap and never imports vLLM.
_LAZY: dict[str, str] = {
    "load_rubric": "mira_hf.rubric",
    "Rubric": "mira_hf.rubric",
    "Dimension": "mira_hf.rubric",
    "Anchor": "mira_hf.rubric",
    "render_record": "mira_hf.records",
    "detect_format": "mira_hf.records",
    "coverage": "mira_hf.records",
    "inspect": "mira_hf.prompting.inspection",
    "build_messages": "mira_hf.prompting.prompt",
    "build_prompt": "mira_hf.prompting.prompt",
    "Prompt": "mira_hf.prompting.prompt",
    "PROMPT_VERSION": "mira_hf.prompting.prompt",
    "parse_output": "mira_hf.answer.parse",
    "template_regex": "mira_hf.answer.regex",
    "format_output": "mira_hf.answer.format",
    "ScoreCard": "mira_hf.schema.scorecard",
    "Engine": "mira_hf.engines.base",
    "Completion": "mira_hf.engines.base",
    "Sampling": "mira_hf.engines.base",
    "Scorer": "mira_hf.scoring.scorer",
    "score": "mira_hf.scoring.scorer",
    "score_features": "mira_hf.schema.columns",
    "Reliability": "mira_hf.reliability",
    "agreement": "mira_hf.reliability",
    "aggregate": "mira_hf.reliability",
    "plot_reliability": "mira_hf.report.heatmap",
    "filter_by_retention": "mira_hf.selection",
    "SelectionReport": "mira_hf.selection",
    "install_metric": "mira_hf._util.metric_install",
    "build_report": "mira_hf.report",
    "run_demo": "mira_hf.demo",
    "MixtureScorer": "mira_hf.mixture",
    "load_plan": "mira_hf.mixture",
    "run_plan": "mira_hf.mixture",
    "load_prompt": "mira_hf.prompting.template",
    "PromptTemplate": "mira_hf.prompting.template",
    "distill": "mira_hf",
    "group_sources": "mira_hf.discover.grouping",
    "SourceGroups": "mira_hf.discover.grouping",
    "discover": "mira_hf",
    "score_dataset": "mira_hf.scoring.streaming",
    "StreamStats": "mira_hf.scoring.streaming",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mira_hf' has no attribute {name!r}")
    if module == "mira_hf":  # a subpackage
        value = importlib.import_module(f"mira_hf.{name}")
        globals()[name] = value
        return value
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from mira_hf import discover, distill
    from mira_hf.answer.format import format_output
    from mira_hf.answer.parse import parse_output
    from mira_hf.answer.regex import template_regex
    from mira_hf.demo import run_demo
    from mira_hf.discover.grouping import SourceGroups, group_sources
    from mira_hf.engines.base import Completion, Engine, Sampling
    from mira_hf.mixture import MixtureScorer, load_plan, run_plan
    from mira_hf.prompting.inspection import inspect
    from mira_hf.prompting.prompt import PROMPT_VERSION, Prompt, build_messages, build_prompt
    from mira_hf.prompting.template import PromptTemplate, load_prompt
    from mira_hf.records import coverage, detect_format, render_record
    from mira_hf.reliability import Reliability, aggregate, agreement
    from mira_hf.report import build_report
    from mira_hf.rubric import Anchor, Dimension, Rubric, load_rubric
    from mira_hf.schema.columns import score_features
    from mira_hf.schema.scorecard import ScoreCard
    from mira_hf.scoring.scorer import Scorer, score
    from mira_hf.scoring.streaming import StreamStats, score_dataset
    from mira_hf.selection import SelectionReport, filter_by_retention


def _install_metric_on_import() -> None:
    """Make ``evaluate.load("mira_agreement")`` work offline: idempotent, by content hash; never fails the import."""
    import os

    if os.environ.get("MIRA_NO_METRIC_INSTALL", "").strip().lower() in {"1", "true", "yes", "on"}:
        return
    try:
        from mira_hf._util.metric_install import install_metric

        install_metric()
    except Exception:  # noqa: BLE001 - a read-only cache must not break `import mira_hf`; install_metric() says why
        pass


_install_metric_on_import()
