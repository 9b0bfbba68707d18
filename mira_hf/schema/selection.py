"""The evidence of a selection: parameters, per-source and per-cut figures, JSON round trip and a table."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mira_hf._version import __version__
from mira_hf.schema.retention import By, RetentionRule

PushBy = Literal["split", "config"]


def _describe(sampling: str, temperature: float | None, seed: int | None) -> str:
    return "hard cut" if sampling == "cut" else f"Gumbel sampling (τ={temperature:g}, seed {seed})"


class GroupParameters(BaseModel):
    """How one group of a mixture was selected: its sources' rules, its sampling, its share of a token budget.

    A plan (``mira_hf.run_plan``) records one per group, so groups that sample differently are described truthfully.

    Example:
        >>> GroupParameters(sources=["swe_qa"], retention={}, sampling="gumbel", temperature=0.5, seed=0,
        ...                 budget_tokens=1200).describe_sampling()
        'Gumbel sampling (τ=0.5, seed 0), 1,200 tokens of the budget'
    """

    model_config = ConfigDict(extra="forbid")

    sources: list[str]
    retention: dict[str, RetentionRule] = Field(
        description="the rule each source was cut under (its budget share as a tokens rule when the plan has a budget)"
    )
    sampling: Literal["cut", "gumbel"] = "cut"
    temperature: float | None = Field(default=None, description="τ of Gumbel sampling (None for the hard cut)")
    seed: int | None = Field(default=None, description="seed of Gumbel sampling (None for the hard cut)")
    budget_tokens: int | None = Field(default=None, description="the group's share of the plan's token budget")

    def describe_sampling(self) -> str:
        """``hard cut`` or ``Gumbel sampling (τ=0.5, seed 0)``, plus the group's share of a budget."""
        text = _describe(self.sampling, self.temperature, self.seed)
        return text if self.budget_tokens is None else f"{text}, {self.budget_tokens:,} tokens of the budget"


class SelectionParameters(BaseModel):
    """Everything ``filter_by_retention`` was asked to do, in canonical form.

    ``sampling`` is ``"per group"`` when a mixture's groups were selected apart, each by its own rule: then
    ``per_group`` holds each group's parameters and ``temperature`` is ``None``.
    """

    model_config = ConfigDict(extra="forbid")

    by: By
    score_column: str
    source_column: str | None
    token_column: str | None = None
    id_column: str | None = Field(
        default=None, description="ties at a cut and the Gumbel noise follow this column's values, not the row order"
    )
    recommendation_column: str | None = None
    drop_recommendation: list[str] | None = None
    groups: dict[str, list[str]] | None = None
    retention: dict[str, RetentionRule]
    default: RetentionRule | None = None
    sampling: Literal["cut", "gumbel", "per group"] = "cut"
    temperature: float | None = Field(default=None, description="τ of Gumbel sampling (None for the hard cut)")
    seed: int | None = Field(default=None, description="seed of Gumbel sampling (None for the hard cut)")
    budget_tokens: int | None = Field(default=None, description="one token budget split over the keys")
    budget_split: str | dict[str, float] | None = Field(default=None, description="'shares' or {key: weight}")
    per_group: dict[str, GroupParameters] | None = Field(
        default=None, description="a mixture's groups, each with its own parameters (None for one call)"
    )

    def describe_sampling(self) -> str:
        """``hard cut``, ``Gumbel sampling (τ=0.5, seed 0)`` or each group's own rule, plus the budget if any.

        Example:
            >>> SelectionParameters(by="source", score_column="q", source_column="source", retention={},
            ...                     sampling="per group", per_group={
            ...     "agents": GroupParameters(sources=["a"], retention={}, sampling="gumbel", temperature=0.5, seed=0),
            ...     "qa": GroupParameters(sources=["b"], retention={})}).describe_sampling()
            "each group's own rule (agents: Gumbel sampling (τ=0.5, seed 0); qa: hard cut)"
        """
        if self.sampling == "per group":
            each = "; ".join(f"{name}: {g.describe_sampling()}" for name, g in (self.per_group or {}).items())
            text = f"each group's own rule ({each})"
        else:
            text = _describe(self.sampling, self.temperature, self.seed)
        if self.budget_tokens is not None:
            split = "token shares" if self.budget_split == "shares" else f"weights {self.budget_split}"
            text += f", budget {self.budget_tokens:,} tokens split by {split}"
        return text


class SourceStats(BaseModel):
    """What happened to one source: rows in, rows kept, why the others were not."""

    model_config = ConfigDict(extra="forbid")

    source: str
    key: str = Field(description="the retention key the source was cut under (itself, its group, or 'global')")
    rows: int
    unscored: int = Field(description="rows with a null/NaN score: never kept")
    dropped: int = Field(description="scored rows removed by drop_recommendation")
    kept: int
    tokens: int | None = None
    tokens_kept: int | None = None
    cut_score: float | None = Field(default=None, description="lowest score kept from this source")
    mean_score_kept: float | None = None

    @property
    def kept_share(self) -> float:
        return self.kept / self.rows if self.rows else 0.0


class CutStats(BaseModel):
    """One retention cut (per source, per group, or global) and what it kept."""

    model_config = ConfigDict(extra="forbid")

    key: str
    rule: RetentionRule
    sources: list[str]
    rows: int
    eligible: int = Field(description="scored rows not dropped: the rows the rule chooses from")
    target: int | None = Field(default=None, description="ceil(f·rows) for a fraction, the budget for tokens")
    kept: int
    tokens_kept: int | None = None
    cut_score: float | None = Field(default=None, description="lowest score kept under this rule")

    @property
    def shortfall(self) -> bool:
        """A fraction rule wanted more rows than were eligible (too many unscored or dropped rows)."""
        return self.rule.kind == "fraction" and self.target is not None and self.kept < self.target


class RubricInfo(BaseModel):
    """The rubric the scores come from: name, content hash, dimension names in slot order."""

    model_config = ConfigDict(extra="forbid")

    name: str
    hash: str | None = None
    dimensions: list[str] = Field(default_factory=list)


class PushInfo(BaseModel):
    """Where the selection was published (filled in after a push or a ``save_to``)."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str | None = None
    path: str | None = None
    revision: str | None = None
    push_by: PushBy | None = None
    format: Literal["parquet", "arrow"] = "parquet"
    config_name: str = "default"
    split: str = "train"
    layout: dict[str, str] = Field(default_factory=dict, description="source → split or config name")
    commit_url: str | None = None
    pr_url: str | None = None


class SelectionReport(BaseModel):
    """Evidence of a selection: per-source and per-cut figures, the parameters, the scorer, rubric and mask.

    JSON round-trips (``model_dump_json`` / ``model_validate_json``, or [`save`][mira_hf.selection.SelectionReport.save]
    / [`load`][mira_hf.selection.SelectionReport.load]) and prints as a table. It never contains a token or API key.

    Example:
        >>> report = SelectionReport.model_validate_json(report.model_dump_json())   # doctest: +SKIP
        >>> print(report)                                                           # doctest: +SKIP
    """

    model_config = ConfigDict(extra="forbid")

    mira_hf_version: str = __version__
    parameters: SelectionParameters
    input_rows: int
    input_fingerprint: str | None = None
    output_fingerprint: str | None = None
    sources: dict[str, SourceStats]
    cuts: dict[str, CutStats]
    scorer: dict[str, Any] | None = None
    rubric: RubricInfo | None = None
    prompt_version: str | None = None
    reliability: dict[str, Any] | None = Field(default=None, description="the reliability object, as JSON")
    push: PushInfo | None = None

    # -- totals
    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources.values())

    @property
    def kept(self) -> int:
        return sum(s.kept for s in self.sources.values())

    @property
    def unscored(self) -> int:
        return sum(s.unscored for s in self.sources.values())

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self.sources.values())

    @property
    def tokens(self) -> int | None:
        vals = [s.tokens for s in self.sources.values()]
        known = [v for v in vals if v is not None]
        return None if len(known) < len(vals) else sum(known)

    @property
    def tokens_kept(self) -> int | None:
        vals = [s.tokens_kept for s in self.sources.values()]
        known = [v for v in vals if v is not None]
        return None if len(known) < len(vals) else sum(known)

    @property
    def reliability_mask(self) -> dict[str, list[bool]] | None:
        """``mask[source]`` = one bool per rubric slot (True = reliable), when the reliability object has one."""
        return extract_mask(self.reliability)

    # -- I/O
    def save(self, path: str | Path) -> None:
        """Write the report as JSON."""
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SelectionReport:
        """Read a report written by [`save`][mira_hf.selection.SelectionReport.save] (or ``selection_report.json`` from
        a pushed repo)."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def title(self) -> str:
        """``MIRA-Source selection on 'mira_quality': kept 4 of 6 rows`` (and how rows were sampled, when not the
        cut)."""
        title = (
            f"MIRA-{self.parameters.by.capitalize()} selection on {self.parameters.score_column!r}: "
            f"kept {self.kept:,} of {self.rows:,} rows"
        )
        if self.parameters.sampling != "cut" or self.parameters.budget_tokens is not None:
            title += f" ({self.parameters.describe_sampling()})"
        return title

    def to_table(self) -> Any:
        """A ``rich.table.Table`` with one row per source and a total row."""
        from rich import box
        from rich.table import Table

        has_tokens = self.tokens is not None
        title = self.title()
        # no inner borders and two-line headers: a table of nine columns fits 88 columns
        table = Table(title=title, show_footer=False, box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
        for name, justify in [
            ("source", "left"),
            ("rule", "left"),
            ("rows", "right"),
            ("unscored", "right"),
            ("dropped", "right"),
            ("kept", "right"),
            ("kept %", "right"),
            *([("tokens\nkept", "right")] if has_tokens else []),
            ("cut\nscore", "right"),
        ]:
            table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for s in self.sources.values():
            rule = self.cuts[s.key].rule.describe()
            if s.key != s.source:
                rule = f"{s.key}: {rule}"
            table.add_row(
                s.source,
                rule,
                f"{s.rows:,}",
                f"{s.unscored:,}",
                f"{s.dropped:,}",
                f"{s.kept:,}",
                f"{s.kept_share:.1%}",
                *([_fmt_int(s.tokens_kept)] if has_tokens else []),
                _fmt_score(s.cut_score),
            )
        share = self.kept / self.rows if self.rows else 0.0
        table.add_row(
            "total",
            "",
            f"{self.rows:,}",
            f"{self.unscored:,}",
            f"{self.dropped:,}",
            f"{self.kept:,}",
            f"{share:.1%}",
            *([_fmt_int(self.tokens_kept)] if has_tokens else []),
            "",
            style="bold",
        )
        return table

    def _repr_html_(self) -> str:
        """The report in a notebook: the table of [`to_table`][mira_hf.selection.SelectionReport.to_table] as HTML,
        its title (with the sampling) as the caption, every source name escaped."""
        from mira_hf._util.html import table

        has_tokens = self.tokens is not None
        title = self.title()
        headers = ["source", "rule", "rows", "unscored", "dropped", "kept", "kept %"]
        headers += ["tokens kept", "cut score"] if has_tokens else ["cut score"]
        rows: list[list[str]] = []
        for s in self.sources.values():
            rule = self.cuts[s.key].rule.describe()
            rows.append(
                [s.source, rule if s.key == s.source else f"{s.key}: {rule}"]
                + [f"{n:,}" for n in (s.rows, s.unscored, s.dropped, s.kept)]
                + [f"{s.kept_share:.1%}", *([_fmt_int(s.tokens_kept)] if has_tokens else []), _fmt_score(s.cut_score)]
            )
        share = self.kept / self.rows if self.rows else 0.0
        rows.append(
            ["total", ""]
            + [f"{n:,}" for n in (self.rows, self.unscored, self.dropped, self.kept)]
            + [f"{share:.1%}", *([_fmt_int(self.tokens_kept)] if has_tokens else []), ""]
        )
        body = table(headers, rows, caption=title, cls="mira-selection", numeric=range(2, len(headers)))
        head, row, tail = body.rpartition("<tr><td>total</td>")  # the last row: the total, in bold
        return f'{head}<tr style="font-weight: bold"><td>total</td>{tail}' if row else body

    def __str__(self) -> str:
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, width=88, color_system=None, force_terminal=False)
        table = self.to_table()
        title, table.title = table.title, None
        console.print(title, soft_wrap=True)  # whole, whatever its length: one line a grep finds
        console.print(table)
        return buf.getvalue().rstrip()


def _fmt_int(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _fmt_score(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def extract_mask(payload: Mapping[str, Any] | None) -> dict[str, list[bool]] | None:
    """``{source: [bool per slot]}`` out of a reliability payload, if it has one."""
    if not payload:
        return None
    mask = payload.get("mask")
    if not isinstance(mask, Mapping):
        return None
    out: dict[str, list[bool]] = {}
    for src, cells in mask.items():
        if isinstance(cells, Mapping):
            cells = list(cells.values())
        if not isinstance(cells, (list, tuple)):
            return None
        out[str(src)] = [bool(c) for c in cells]
    return out
