"""The mixture plan: groups of sources, each with its scorer, rubric, reliability mask and retention.

A plan is a YAML file validated by pydantic; a mistake is a [`PlanError`][mira_hf.errors.PlanError] naming the key
path and its line. Paths in the plan (data, rubric, mask, a scorer's prompt) are read relative to the plan file.

Example:
    >>> plan = Plan.model_validate({"data": "rows.jsonl", "groups": {"qa": {"sources": ["swe_qa"]}}})
    >>> plan.groups["qa"].rubric, plan.groups["qa"].scorer.model, plan.group_of()["swe_qa"]
    ('agent-group4', 'whw06/MIRA-Agent-Group4', 'qa')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)

from mira_hf.config import ScorerConfig
from mira_hf.errors import PlanError

#: Scorer settings a plan sets through its own keys (``base_urls``, ``api_key_env``) or never (run-time ones).
_NOT_SETTINGS = {
    "engine",
    "base_url",
    "rubric",
    "model",
    "text_column",
    "source_column",
    "id_column",
    "cache_dir",
    "progress",
    "engine_kwargs",
}
SCORER_SETTINGS = tuple(k for k in ScorerConfig.model_fields if k not in _NOT_SETTINGS)


class _ScorerKeys(BaseModel):
    """The keys of a group's scorer that are not `ScorerConfig` settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = ScorerConfig().model
    engine: Literal["vllm", "openai"] = "vllm"
    base_urls: list[str] = Field(default_factory=list)
    #: The NAME of the environment variable holding the endpoints' key (never the key itself).
    api_key_env: str | None = None
    #: Plan-wide scorer settings (``id_column``), set by the `Plan` that holds this group.
    _plan_settings: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> _ScorerKeys:
        if self.engine == "openai" and not self.base_urls:
            raise ValueError("engine 'openai' needs base_urls (e.g. ['http://node1:8000/v1'])")
        if self.engine == "vllm" and self.base_urls:
            raise ValueError("base_urls are for engine 'openai'; engine 'vllm' runs in this process")
        ScorerConfig(**self.settings)  # the ranges (temperature ≥ 0, …) are checked with the plan
        return self

    @model_serializer(mode="wrap")
    def _only_set(self, handler: Any) -> dict[str, Any]:
        """Dump only the settings the plan set, so a dumped plan validates again (``MixtureScorer`` is pickled)."""
        return {k: v for k, v in handler(self).items() if k not in SCORER_SETTINGS or k in self.model_fields_set}

    @property
    def settings(self) -> dict[str, Any]:
        """The scorer settings the plan sets (``max_model_len``, ``temperature``, …, and the plan's ``id_column``);
        the others are the card's."""
        own = {k: getattr(self, k) for k in SCORER_SETTINGS if k in self.model_fields_set}
        return {**own, **self._plan_settings}


if TYPE_CHECKING:  # the settings are fields made from ScorerConfig's at run time; to a type checker, any of them

    class ScorerPlan(_ScorerKeys):
        """One group's scorer: model, engine, endpoints and engine settings."""

        def __getattr__(self, name: str) -> Any: ...

else:
    #: One group's scorer: the model, how it is served, and any `ScorerConfig` setting.
    ScorerPlan = create_model(
        "ScorerPlan",
        __base__=_ScorerKeys,
        __doc__="One group's scorer: model, engine, endpoints and engine settings.",
        **{k: (Optional[ScorerConfig.model_fields[k].annotation], None) for k in SCORER_SETTINGS},
    )


class ReliabilityPlan(BaseModel):
    """Where a group's mask comes from: a saved mask file, or teacher columns to measure agreement on.

    With neither, every dimension of the group counts as reliable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mask: str | None = None
    teacher_column: str | None = None
    teacher_recommendation_column: str | None = None
    mae_max: float | None = None
    spearman_min: float | None = None
    min_support: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_way(self) -> ReliabilityPlan:
        if self.mask and self.teacher_column:
            raise ValueError("give either mask (a saved mask file) or teacher_column (to measure one), not both")
        return self

    @property
    def thresholds(self) -> dict[str, Any]:
        """The agreement thresholds the plan sets (the others keep their defaults)."""
        return {
            k: v
            for k, v in (
                ("mae_max", self.mae_max),
                ("spearman_min", self.spearman_min),
                ("min_support", self.min_support),
            )
            if v is not None
        }


class GroupPlan(BaseModel):
    """One group of sources with its scorer, rubric, reliability and retention (a rule per source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[str] = Field(min_length=1)
    scorer: ScorerPlan = Field(default_factory=ScorerPlan)
    rubric: str = "agent-group4"
    reliability: ReliabilityPlan = Field(default_factory=ReliabilityPlan)
    #: A fraction of each source's rows, ``{min_score: x}`` or ``{tokens: n}``; the card keeps half. A plan's
    #: ``budget_tokens`` replaces it.
    retention: float | dict[str, float] = 0.5
    #: ``cut`` keeps the best rows; ``gumbel`` samples them with probability ∝ exp(score / temperature).
    sampling: Literal["cut", "gumbel"] = "cut"
    temperature: float = Field(default=1.0, gt=0)


class Plan(BaseModel):
    """A whole mixture: the data, its groups, and what to write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str
    split: str = "train"
    text_column: str | None = None
    source_column: str = "source"
    id_column: str | None = None
    token_column: str | None = None
    batch_size: int = Field(default=256, ge=1)
    #: One token budget for the whole mixture (needs ``token_column``).
    budget_tokens: int | None = Field(default=None, ge=1)
    #: How the budget is split: ``shares`` keeps each source's share of the tokens, or ``{source: weight}``.
    budget_split: Literal["shares"] | dict[str, float] = "shares"
    #: Seed of Gumbel sampling (groups with ``sampling: gumbel``).
    seed: int = 0
    push_to_hub: str | None = None
    #: Write ``report.html`` (a section per group); ``false`` skips the step.
    report: bool = True
    groups: dict[str, GroupPlan] = Field(min_length=1)
    #: Let every in-process scorer run Python code from its model's repository (a group's scorer may set its own).
    trust_remote_code: bool = False
    #: The folder relative paths are read from (the plan file's folder); set by `load_plan`.
    base_dir: str = "."

    @model_validator(mode="after")
    def _disjoint(self) -> Plan:
        seen: dict[str, str] = {}
        for name, group in self.groups.items():
            for source in group.sources:
                if source in seen:
                    raise ValueError(
                        f"source {source!r} is in groups {seen[source]!r} and {name!r}; a source belongs to one group"
                    )
                seen[source] = name
        if self.budget_tokens is not None and self.token_column is None:
            raise ValueError("budget_tokens needs token_column (the column of each row's token count)")
        for name, group in list(self.groups.items()):  # each group's Scorer gets a copy of its own
            extra: dict[str, Any] = {}
            if self.id_column is not None:  # the Scorer checks it is a column of every batch
                extra["id_column"] = self.id_column
            if self.trust_remote_code:  # asked once for the whole plan
                extra["trust_remote_code"] = True
            prompt = group.scorer.prompt
            if prompt is not None and prompt != "default":  # a template file, read relative to the plan file
                extra["prompt"] = str(self.path(prompt))
            if extra:
                scorer = group.scorer.model_copy()
                scorer._plan_settings = extra
                self.groups[name] = group.model_copy(update={"scorer": scorer})
        return self

    def group_of(self) -> dict[str, str]:
        """Source → the name of its group."""
        return {s: name for name, g in self.groups.items() for s in g.sources}

    def path(self, value: str) -> Path:
        """A path from the plan, relative to the plan file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def rubric_ref(self, group: str) -> str:
        """The group's rubric: a bundled name as is, a file path resolved against the plan's folder (an edited
        file is read again: ``load_rubric`` caches by path, size and modification time)."""
        ref = self.groups[group].rubric
        from mira_hf import rubric as rubrics

        if ref in rubrics.BUNDLED:
            return ref
        return str(self.path(ref))


def _node_for(root: Any, loc: tuple[Any, ...]) -> Any:
    """The deepest YAML node on the key path ``loc`` (pydantic's error location)."""
    import yaml

    node = root
    for depth, key in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is None:
                return node
            node = pair[0] if depth == len(loc) - 1 else pair[1]  # the key's own line at the end
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    return node


def _plan_keys(model: type[BaseModel] | None = None) -> set[str]:
    """Every key a plan may hold, at any depth (for the closest name to a typo)."""
    keys: set[str] = set()
    for name, info in (model or Plan).model_fields.items():
        keys.add(info.alias or name)
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            for inner in (arg, *getattr(arg, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    keys |= _plan_keys(inner)
    return keys


def plan_error_message(error: ValidationError, root: Any, where: str) -> str:
    """Every pydantic error as ``where:LINE: key.path: message``, on one line (an unknown key with the closest
    known one)."""
    from mira_hf._util.problems import closest, joined

    problems: dict[Any, dict[str, Any]] = {}  # in the order pydantic found them; one per union value
    for e in error.errors():
        loc = tuple(x for x in e["loc"] if x not in ("function-after",))
        if loc and isinstance(loc[-1], str) and (loc[-1] in ("float", "int", "str", "bool") or "[" in loc[-1]):
            # `retention: lots` fails each form of a union: one problem naming every form
            union = problems.setdefault(("union", loc[:-1]), {"loc": loc[:-1], "input": e["input"], "forms": []})
            union["forms"].append(_FORM.get(loc[-1].split("[")[0], loc[-1]))
            continue
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            near = closest(str(loc[-1]), _plan_keys()) if loc else None
            msg = f"unknown key (did you mean {near!r}?)" if near else "unknown key (a typo?)"
        problems[len(problems)] = {"loc": loc, "msg": msg}
    lines = []
    for problem in problems.values():
        loc = problem["loc"]
        node = _node_for(root, loc) if root is not None else None
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        key = ".".join(str(x) for x in loc) or "(top level)"
        msg = problem.get("msg") or f"{problem['input']!r} is not {' nor '.join(problem['forms'])}"
        lines.append(f"{where}{line}: {key}: {msg}")
    return joined(lines)


#: How a plan error names each form a value may take.
_FORM = {"float": "a number", "int": "a whole number", "str": "a text", "bool": "true or false", "dict": "a mapping"}


def duplicate_keys(root: Any, where: str) -> list[str]:
    """Every key written twice in one mapping of the YAML node tree, with both lines (YAML keeps only the last).

    Example:
        >>> import yaml
        >>> duplicate_keys(yaml.compose("groups:\\n  qa: {sources: [a]}\\n  qa: {sources: [b]}\\n"), "plan.yaml")
        ["plan.yaml:3: groups.qa: the key 'qa' is written twice (lines 2 and 3); the second would replace the first"]
    """
    import yaml

    found: list[str] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(node.value))
        if not isinstance(node, yaml.MappingNode):
            continue
        first: dict[str, int] = {}
        for key, value in node.value:
            name, line = str(key.value), key.start_mark.line + 1
            if name in first and name != "<<":
                found.append(
                    f"{where}:{line}: {'.'.join((*path, name))}: the key {name!r} is written twice "
                    f"(lines {first[name]} and {line}); the second would replace the first"
                )
            first.setdefault(name, line)
            stack.append((value, (*path, name)))
    return sorted(found, key=lambda f: int(f.split(":")[1]))


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and check a plan file (YAML); a mistake raises [`PlanError`][mira_hf.errors.PlanError] with key and line.

    Example:
        >>> p = Path("plan.yaml")
        >>> qa = "  qa:\\n    sources: [swe_qa]\\n    retention: lots\\n"
        >>> _ = p.write_text("data: rows.jsonl\\ngroups:\\n" + qa)
        >>> load_plan(p)
        Traceback (most recent call last):
        ...
        mira_hf.errors.PlanError: plan.yaml:5: groups.qa.retention: 'lots' is not a number ...
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PlanError(f"plan file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PlanError(f"{path.name}: not valid YAML: {' '.join(str(e).split())}") from None
    duplicates = duplicate_keys(root, path.name)
    if duplicates:
        from mira_hf._util.problems import joined

        raise PlanError(joined(duplicates))
    if not isinstance(data, dict):
        raise PlanError(f"{path.name}: a plan is a mapping with 'data:' and 'groups:' keys")
    if "base_dir" in data:
        raise PlanError(f"{path.name}: base_dir is set from the plan file's folder, not in the file")
    try:
        return Plan.model_validate({**data, "base_dir": str(path.resolve().parent)})
    except ValidationError as e:
        raise PlanError(plan_error_message(e, root, path.name)) from None


def check_sources(sources: list[Any], group_of: Mapping[str, str], column: str) -> None:
    """Raise [`PlanError`][mira_hf.errors.PlanError] naming every source that is in no group (before any engine work).

    Example:
        >>> check_sources(["a", "b", "zz"], {"a": "g1", "b": "g1"}, "source")
        Traceback (most recent call last):
        ...
        mira_hf.errors.PlanError: source 'zz' (1 row) is in no group of the plan; add it to a group's sources ...
    """
    missing: dict[str, int] = {}
    for s in sources:
        if s not in group_of:
            missing[str(s)] = missing.get(str(s), 0) + 1
    if missing:
        names = ", ".join(f"{s!r} ({n} row{'s' if n > 1 else ''})" for s, n in sorted(missing.items()))
        raise PlanError(
            f"source {names} {'is' if len(missing) == 1 else 'are'} in no group of the plan; add "
            f"{'it' if len(missing) == 1 else 'them'} to a group's sources (column {column!r})"
        )
