"""The whole mixture: a plan file of groups, routing rows to each group's scorer, per-group masks, one run.

Example:
    >>> from mira_hf.mixture import Plan
    >>> sorted(Plan.model_validate({"data": "d.jsonl", "groups": {"a": {"sources": ["x", "y"]}}}).group_of())
    ['x', 'y']
"""

from mira_hf.mixture.plan import GroupPlan, Plan, ReliabilityPlan, ScorerPlan, load_plan
from mira_hf.mixture.router import MixtureScorer

__all__ = ["GroupPlan", "MixtureScorer", "Plan", "ReliabilityPlan", "ScorerPlan", "load_plan", "run_plan"]


def __getattr__(name: str):
    if name == "run_plan":
        from mira_hf.mixture.run import run_plan

        return run_plan
    raise AttributeError(name)
