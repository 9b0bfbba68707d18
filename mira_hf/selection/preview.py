"""What several retentions, token budgets or temperatures would keep per source, before anything is written.

The columns are read once; each setting only reruns the cut (no row is taken, nothing is saved or pushed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from mira_hf.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

    from mira_hf.selection.api import _Decision
    from mira_hf.selection.apply import _Arrays

Varied = Literal["retention", "budget_tokens", "temperature"]
#: Options of filter_by_retention that write or describe a selection: a preview takes none of them.
_PUBLISHING = (
    "scorer",
    "reliability",
    "rubric",
    "push_to_hub",
    "push_by",
    "private",
    "token",
    "revision",
    "create_pr",
    "config_name",
    "split",
    "max_shard_size",
    "card_metadata",
    "save_to",
    "save_format",
    "storage_options",
)


class PreviewCell(BaseModel):
    """Kept rows and tokens of one source under one setting."""

    model_config = ConfigDict(extra="forbid")

    setting: str
    source: str
    rows: int
    kept: int
    tokens_kept: int | None = None
    mean_score_kept: float | None = None


class SelectionPreview(BaseModel):
    """Kept rows (and tokens) per source for each setting; prints as a table with a column per setting."""

    model_config = ConfigDict(extra="forbid")

    varied: Varied
    settings: list[str]
    sources: list[str]
    cells: list[PreviewCell]

    def kept(self, setting: str, source: str | None = None) -> int:
        """Rows kept under ``setting`` (from one source, or all)."""
        return sum(c.kept for c in self.cells if c.setting == setting and source in (None, c.source))

    def tokens_kept(self, setting: str, source: str | None = None) -> int | None:
        """Tokens kept under ``setting`` (None without a token column)."""
        vals = [c.tokens_kept for c in self.cells if c.setting == setting and source in (None, c.source)]
        counts = [v for v in vals if v is not None]
        return None if len(counts) < len(vals) else sum(counts)

    def to_table(self) -> Any:
        """A ``rich.table.Table``: one row per source and a total, one column per setting."""
        from rich.table import Table

        table = Table(title="selection preview (nothing written)")
        table.add_column("source")
        for setting in self.settings:
            table.add_column(setting, justify="right")
        mean = self.varied == "temperature"
        by_key: dict[tuple[str, str | None], PreviewCell] = {(c.setting, c.source): c for c in self.cells}
        for src in self.sources:
            table.add_row(src, *(_cell(by_key[s, src], mean) for s in self.settings))
        for s in self.settings:
            by_key[s, None] = self._total(s)
        table.add_row("total", *(_cell(by_key[s, None], mean) for s in self.settings), style="bold")
        return table

    def _total(self, setting: str) -> PreviewCell:
        mine = [c for c in self.cells if c.setting == setting]
        kept = sum(c.kept for c in mine)
        score = sum(c.mean_score_kept * c.kept for c in mine if c.mean_score_kept is not None)
        return PreviewCell(
            setting=setting,
            source="total",
            rows=sum(c.rows for c in mine),
            kept=kept,
            tokens_kept=self.tokens_kept(setting),
            mean_score_kept=score / kept if kept else None,
        )

    def __str__(self) -> str:
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=160, color_system=None, force_terminal=False).print(self.to_table())
        return buf.getvalue().rstrip()


def _cell(cell: PreviewCell, mean: bool) -> str:
    """``kept (share)``, then ``· tokens tok`` with a token column and ``· mean 7.9`` when τ varies."""
    text = f"{cell.kept:,} ({cell.kept / cell.rows:.0%})" if cell.rows else f"{cell.kept:,}"
    if cell.tokens_kept is not None:
        text += f" · {cell.tokens_kept:,} tok"
    if mean:
        text += " · mean —" if cell.mean_score_kept is None else f" · mean {cell.mean_score_kept:.2f}"
    return text


def _label(varied: Varied, value: Any) -> str:
    if varied == "budget_tokens":
        return f"{int(value):,} tokens"
    if varied == "temperature":
        return f"τ={float(value):g}"
    from mira_hf.selection.rules import parse_rule

    return parse_rule(value, key=None).describe() if not isinstance(value, dict) or len(value) == 1 else "per-key rules"


def preview(
    ds: Dataset,
    *,
    retentions: Sequence[Any] | None = None,
    budgets: Sequence[int] | None = None,
    temperatures: Sequence[float] | None = None,
    **options: Any,
) -> SelectionPreview:
    """Kept rows and tokens per source for several ``retentions``, token ``budgets`` or Gumbel ``temperatures``.

    The other ``options`` are those of [`filter_by_retention`][mira_hf.selection.filter_by_retention] (``retention=``
    with ``temperatures=``, ``token_column=`` with ``budgets=``, ``by=``, ``seed=`` …); nothing is written.

    Example:
        >>> from datasets import Dataset
        >>> quality = [7.0, 5.0, 6.0, 8.0]
        >>> ds = Dataset.from_dict({"source": ["a", "a", "b", "b"], "mira_quality": quality})
        >>> table = preview(ds, retentions=[0.5, 1.0])
        >>> table.kept("50% of rows"), table.kept("100% of rows", "a")
        (2, 2)
    """
    from mira_hf.selection.checks import _check_input

    varied, values = _varied_values(retentions, budgets, temperatures)
    opts = _preview_options(options, varied)
    _check_input(ds)
    labels = [_label(varied, v) for v in values]
    if len(set(labels)) != len(labels):
        raise ConfigurationError(f"preview got the same {varied} twice: {list(values)}")
    cells: list[PreviewCell] = []
    arrays = None
    sources: list[str] = []
    for label, value in zip(labels, values):
        decision = _decide_one(ds, {**opts, varied: value}, arrays)
        arrays, sources = decision.arrays, list(decision.sources)
        cells += [
            PreviewCell(
                setting=label,
                source=s.source,
                rows=s.rows,
                kept=s.kept,
                tokens_kept=s.tokens_kept,
                mean_score_kept=s.mean_score_kept,
            )
            for s in decision.sources.values()
        ]
    return SelectionPreview(varied=varied, settings=labels, sources=sources, cells=cells)


def _varied_values(
    retentions: Sequence[Any] | None, budgets: Sequence[int] | None, temperatures: Sequence[float] | None
) -> tuple[Varied, Sequence[Any]]:
    """The one setting the preview varies and its values (a non-empty list)."""
    given = {
        name: values
        for name, values in (("retention", retentions), ("budget_tokens", budgets), ("temperature", temperatures))
        if values is not None
    }
    if len(given) != 1:
        raise ConfigurationError(
            "preview varies one setting: give exactly one of retentions=[0.1, 0.25], "
            "budgets=[1_000_000, 2_000_000] or temperatures=[0.5, 1, 2]"
        )
    ((varied, values),) = given.items()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ConfigurationError(f"preview needs a non-empty list of values for {varied}; got {values!r}")
    return varied, values  # type: ignore[return-value]


def _preview_options(options: dict[str, Any], varied: Varied) -> dict[str, Any]:
    """``filter_by_retention``'s row-choosing options, defaults filled in; publishing and varied ones refused."""
    publishing = [k for k in options if k in _PUBLISHING]
    if publishing:
        raise ConfigurationError(f"preview writes nothing; drop {', '.join(publishing)} (use filter_by_retention)")
    if varied in options:
        raise ConfigurationError(f"{varied}= is what the preview varies; pass the values in the list only")
    options.setdefault("retention", None)
    if varied == "temperature":
        options["sampling"] = "gumbel"
    defaults = dict(
        by="source",
        groups=None,
        default=None,
        score_column="mira_quality",
        source_column="source",
        token_column=None,
        drop_recommendation=None,
        recommendation_column="mira_recommendation",
        sampling="cut",
        temperature=1.0,
        seed=0,
        budget_tokens=None,
        budget_split="shares",
        id_column=None,
    )
    unknown = [k for k in options if k not in defaults and k != "retention"]
    if unknown:
        raise ConfigurationError(
            f"preview got unknown option(s) {', '.join(unknown)}; it takes those of "
            "filter_by_retention that choose rows"
        )
    return {**defaults, **options}


def _decide_one(ds: Dataset, run: dict[str, Any], arrays: _Arrays | None) -> _Decision:
    """One setting's decision, its options checked as ``filter_by_retention`` checks them (columns read once)."""
    from mira_hf.selection.api import _decide
    from mira_hf.selection.checks import _check_options

    _check_options(
        retention=0.0 if run["retention"] is None else run["retention"],
        by=run["by"],
        groups=run["groups"],
        default=run["default"],
        source_column=run["source_column"],
        push_to_hub=None,
        push_by=None,
        save_to=None,
        save_format="parquet",
        split="train",
        card_metadata=None,
    )
    retention = run.pop("retention")
    return _decide(ds, retention, arrays=arrays, **run)
