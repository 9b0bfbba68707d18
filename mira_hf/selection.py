"""Stage 4 of MIRA: keep the best share of each source (or group, or the whole corpus) by ``mira_quality``.

The cut is computed from the score, source (and token / recommendation) columns alone, as Arrow → numpy
arrays, so it runs on memory-mapped datasets of tens of millions of rows; the kept rows are then taken with
``Dataset.select`` and stay in their original order.

Example:
    >>> from datasets import Dataset
    >>> import mira_hf
    >>> ds = Dataset.from_dict({"source": ["a", "a", "b", "b"], "mira_quality": [7.0, 5.0, None, 8.0]})
    >>> kept, report = mira_hf.filter_by_retention(ds, retention=0.5)
    >>> list(kept["mira_quality"]), report.sources["b"].unscored
    ([7.0, 8.0], 1)
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from mira_hf import __version__
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.redaction import is_secret_key, redact

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

By = Literal["source", "group", "global"]
PushBy = Literal["split", "config"]
#: The key of the single retention rule of ``by="global"`` (MIRA-Global).
GLOBAL_KEY = "global"


# ----------------------------------------------------------------------------------------------- models
class RetentionRule(BaseModel):
    """One retention rule: a fraction of rows, a minimum score, or a token budget.

    Written by users as ``0.5`` (or ``{"fraction": 0.5}``), ``{"min_score": 6.5}`` or ``{"tokens": 2_000_000}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fraction", "min_score", "tokens"]
    value: float

    def describe(self) -> str:
        """Human form for tables: ``50% of rows``, ``score ≥ 6.5``, ``2,000,000 tokens``."""
        if self.kind == "fraction":
            return f"{self.value:.4g} of rows" if self.value * 100 % 1 else f"{self.value:.0%} of rows"
        if self.kind == "min_score":
            return f"score ≥ {self.value:g}"
        return f"{int(self.value):,} tokens"

    def to_spec(self) -> float | dict[str, float | int]:
        """The form a user writes in ``retention=`` (used by the card's reproduction snippet)."""
        if self.kind == "fraction":
            return self.value
        if self.kind == "tokens":
            return {"tokens": int(self.value)}
        return {"min_score": self.value}


class SelectionParameters(BaseModel):
    """Everything ``filter_by_retention`` was asked to do, in canonical form."""

    model_config = ConfigDict(extra="forbid")

    by: By
    score_column: str
    source_column: str | None
    token_column: str | None = None
    recommendation_column: str | None = None
    drop_recommendation: list[str] | None = None
    groups: dict[str, list[str]] | None = None
    retention: dict[str, RetentionRule]
    default: RetentionRule | None = None


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

    JSON round-trips (``model_dump_json`` / ``model_validate_json``, or :meth:`save` / :meth:`load`) and
    prints as a table. It never contains a token or API key.

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
        return None if any(v is None for v in vals) else sum(vals)  # type: ignore[misc]

    @property
    def tokens_kept(self) -> int | None:
        vals = [s.tokens_kept for s in self.sources.values()]
        return None if any(v is None for v in vals) else sum(vals)  # type: ignore[misc]

    @property
    def reliability_mask(self) -> dict[str, list[bool]] | None:
        """``mask[source]`` = one bool per rubric slot (True = reliable), when the reliability object has one."""
        return extract_mask(self.reliability)

    # -- I/O
    def save(self, path: str | Path) -> None:
        """Write the report as JSON."""
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "SelectionReport":
        """Read a report written by :meth:`save` (or ``selection_report.json`` from a pushed repo)."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def to_table(self) -> Any:
        """A ``rich.table.Table`` with one row per source and a total row."""
        from rich.table import Table

        has_tokens = self.tokens is not None
        title = (f"MIRA-{self.parameters.by.capitalize()} selection on {self.parameters.score_column!r}: "
                 f"kept {self.kept:,} of {self.rows:,} rows")
        table = Table(title=title, show_footer=False)
        for name, justify in [("source", "left"), ("rule", "left"), ("rows", "right"), ("unscored", "right"),
                              ("dropped", "right"), ("kept", "right"), ("kept %", "right"),
                              *([("tokens kept", "right")] if has_tokens else []), ("cut score", "right")]:
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for s in self.sources.values():
            rule = self.cuts[s.key].rule.describe()
            if s.key != s.source:
                rule = f"{s.key}: {rule}"
            table.add_row(s.source, rule, f"{s.rows:,}", f"{s.unscored:,}", f"{s.dropped:,}", f"{s.kept:,}",
                          f"{s.kept_share:.1%}", *([_fmt_int(s.tokens_kept)] if has_tokens else []),
                          _fmt_score(s.cut_score))
        share = self.kept / self.rows if self.rows else 0.0
        table.add_row("total", "", f"{self.rows:,}", f"{self.unscored:,}", f"{self.dropped:,}", f"{self.kept:,}",
                      f"{share:.1%}", *([_fmt_int(self.tokens_kept)] if has_tokens else []), "", style="bold")
        return table

    def __str__(self) -> str:
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=140, color_system=None, force_terminal=False).print(self.to_table())
        return buf.getvalue().rstrip()


def _fmt_int(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _fmt_score(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


# ----------------------------------------------------------------------------------------------- parsing
def parse_rule(spec: Any, *, key: str) -> RetentionRule:
    """Turn one user retention value into a :class:`RetentionRule`; the error names ``key`` and the fix.

    Example:
        >>> parse_rule({"min_score": 6.5}, key="swe_qa").describe()
        'score ≥ 6.5'
    """
    if isinstance(spec, RetentionRule):
        return spec
    if isinstance(spec, bool) or spec is None:
        raise ConfigurationError(f"retention for {key!r} is {spec!r}; write a fraction like 0.5, "
                                 "{'min_score': 6.5} or {'tokens': 2_000_000}")
    if isinstance(spec, (int, float, np.integer, np.floating)):
        value = float(spec)
        if not (0.0 <= value <= 1.0) or math.isnan(value):
            raise ConfigurationError(
                f"retention for {key!r} is {spec!r}, not a fraction in [0, 1]; for a score threshold write "
                f"{{'min_score': {spec!r}}}, for a token budget {{'tokens': {spec!r}}}")
        return RetentionRule(kind="fraction", value=value)
    if isinstance(spec, Mapping):
        if len(spec) != 1 or next(iter(spec)) not in ("fraction", "min_score", "tokens"):
            raise ConfigurationError(
                f"retention for {key!r} is {dict(spec)!r}; a rule is one of {{'fraction': f}}, "
                "{'min_score': x} or {'tokens': n}")
        kind, value = next(iter(spec.items()))
        if kind == "fraction":
            return parse_rule(value, key=key)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(value)):
            raise ConfigurationError(f"retention for {key!r}: {kind} must be a finite number, got {value!r}")
        if kind == "tokens":
            if float(value) < 0 or float(value) != int(value):
                raise ConfigurationError(f"retention for {key!r}: tokens must be a whole number ≥ 0, got {value!r}")
            return RetentionRule(kind="tokens", value=float(int(value)))
        return RetentionRule(kind="min_score", value=float(value))
    raise ConfigurationError(f"retention for {key!r} has type {type(spec).__name__}; write a fraction like 0.5, "
                             "{'min_score': 6.5} or {'tokens': 2_000_000}")


def _is_single_rule(retention: Any) -> bool:
    if not isinstance(retention, Mapping):
        return True
    return len(retention) == 1 and next(iter(retention)) in ("fraction", "min_score", "tokens")


def resolve_rules(retention: Any, keys: Sequence[str], *, by: By, default: Any = None,
                  what: str = "source") -> dict[str, RetentionRule]:
    """One rule per key: a single rule applies to every key; a mapping must cover each key (or ``default``)."""
    default_rule = parse_rule(default, key="default") if default is not None else None
    if _is_single_rule(retention):
        rule = parse_rule(retention, key=GLOBAL_KEY if by == "global" else f"every {what}")
        return {k: rule for k in keys}
    if not isinstance(retention, Mapping):  # pragma: no cover - _is_single_rule covers it
        raise ConfigurationError("retention must be a number, a rule, or a mapping of rules")
    unknown = [str(k) for k in retention if k not in keys]
    if unknown:
        raise ConfigurationError(
            f"retention names {what}(s) {', '.join(map(repr, unknown))} that are not in the data; "
            f"the {what}s are: {', '.join(map(repr, keys)) or '(none)'}")
    missing = [k for k in keys if k not in retention]
    if missing and default_rule is None:
        raise ConfigurationError(
            f"retention has no rule for {what}(s) {', '.join(map(repr, missing))}; add them to retention or "
            "pass default= (e.g. default=0.5)")
    return {k: parse_rule(retention[k], key=k) if k in retention else default_rule for k in keys}  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------- the math
def cut_rows(scores: np.ndarray, rule: RetentionRule, *, tokens: np.ndarray | None = None,
             rows: int | None = None) -> tuple[np.ndarray, int | None]:
    """Which rows of one key to keep (a bool mask) and the rule's target, best score first.

    ``scores`` is in original row order with NaN for rows that cannot be kept (unscored or dropped).
    A fraction keeps ``ceil(f·rows)`` rows (``rows`` defaults to ``len(scores)``); ties at the cut go to the
    earlier row. A token budget keeps the longest best-first prefix whose tokens fit the budget (the row
    that would cross it is not kept). Pure numpy, O(n) for fractions and thresholds, one sort for tokens.

    Example:
        >>> keep, target = cut_rows(np.array([3.0, 9.0, 3.0, np.nan]), RetentionRule(kind="fraction", value=0.5))
        >>> keep.tolist(), target
        ([True, True, False, False], 2)
    """
    n = len(scores) if rows is None else rows
    eligible = ~np.isnan(scores)
    if rule.kind == "min_score":
        return eligible & (scores >= rule.value), None
    if rule.kind == "tokens":
        if tokens is None:
            raise ConfigurationError("a {'tokens': n} retention needs token_column= (a column of token counts)")
        budget = int(rule.value)
        return _token_cut(scores, eligible, tokens, budget), budget
    target = math.ceil(Fraction(repr(rule.value)) * n)  # exact: 0.3 × 10 is 3, not 4
    m = int(eligible.sum())
    if target >= m:
        return eligible, target
    keep = np.zeros(len(scores), dtype=bool)
    if target == 0:
        return keep, target
    threshold = np.partition(scores[eligible], m - target)[m - target]  # the target-th best score
    keep = scores > threshold
    need = target - int(keep.sum())
    keep[np.flatnonzero(scores == threshold)[:need]] = True
    return keep, target


def _best_first_prefix(scores: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """Positions (into ``scores``) of the longest best-first prefix whose tokens fit ``budget``; ties by position."""
    order = np.argsort(-scores, kind="stable")
    fit = int(np.searchsorted(np.cumsum(tokens[order], dtype=np.int64), budget, side="right"))
    return order[:fit]


def _token_cut(scores: np.ndarray, eligible: np.ndarray, tokens: np.ndarray, budget: int,
               bins: int = 4096) -> np.ndarray:
    """Keep mask of a token budget filled best-first, in O(n): bucket scores, sort only the bucket at the cut.

    Buckets are monotone in the score, so every row of a higher bucket ranks before every row of a lower one;
    only the bucket where the running total crosses the budget needs ordering by (score desc, position).
    """
    keep = np.zeros(len(scores), dtype=bool)
    pos = np.flatnonzero(eligible)
    s, t = scores[pos], tokens[pos]
    if int(t.sum()) <= budget:
        keep[pos] = True
        return keep
    lo, hi = float(s.min()), float(s.max())
    if len(pos) <= bins or hi == lo:
        keep[pos[_best_first_prefix(s, t, budget)]] = True
        return keep
    bucket = np.minimum(((s.astype(np.float64) - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    per_bucket = np.bincount(bucket, weights=t, minlength=bins)
    at_or_above = np.cumsum(per_bucket[::-1])[::-1]  # tokens in buckets ≥ j
    crossing = int(np.flatnonzero(at_or_above > budget)[-1])
    above = float(at_or_above[crossing + 1]) if crossing + 1 < bins else 0.0
    keep[pos[bucket > crossing]] = True
    rows = np.flatnonzero(bucket == crossing)
    keep[pos[rows[_best_first_prefix(s[rows], t[rows], budget - int(above))]]] = True
    return keep


def _encode(column: pa.ChunkedArray, name: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes (sorted-name order) and names of a string-like column, in one hashing pass."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    if column.null_count:
        raise ConfigurationError(
            f"column {name!r} has {column.null_count:,} null value(s); every row needs a source. Fill them "
            f"first, e.g. ds.map(lambda r: {{{name!r}: r[{name!r}] or 'unknown'}})")
    encoded = column.dictionary_encode()
    if encoded.num_chunks == 0 or len(encoded) == 0:
        return np.zeros(0, dtype=np.int32), []
    dictionary = encoded.chunk(0).dictionary
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks]).astype(np.int32)
    names = dictionary.to_pylist()
    rank = np.argsort(np.array(names, dtype=object), kind="stable")
    remap = np.empty(len(names), dtype=np.int32)
    remap[rank] = np.arange(len(names), dtype=np.int32)
    return remap[codes], [names[i] for i in rank]


def _min_per_code(codes: np.ndarray, values: np.ndarray, n_codes: int) -> np.ndarray:
    """Minimum of ``values`` per code (``inf`` where a code has none): one radix sort and a ``reduceat``."""
    out = np.full(n_codes, np.inf)
    if not len(codes):
        return out
    order = np.argsort(codes.astype(np.uint16 if n_codes <= np.iinfo(np.uint16).max else np.int32, copy=False),
                       kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.minimum.reduceat(values[order], starts)
    return out


def _positions_by_key(codes: np.ndarray, n_keys: int) -> list[np.ndarray]:
    """Row positions of each key, ascending (a stable radix sort on small integer codes)."""
    small = codes.astype(np.uint16 if n_keys <= np.iinfo(np.uint16).max else np.int32, copy=False)
    order = np.argsort(small, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_keys))])
    return [order[bounds[i]:bounds[i + 1]] for i in range(n_keys)]


# ----------------------------------------------------------------------------------------------- identities
def _scrub(value: Any) -> Any:
    """Drop secret-looking keys and URL credentials from an identity / reliability dump."""
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return _scrub(value.tolist())
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def scorer_identity(scorer: Any) -> dict[str, Any] | None:
    """A JSON-safe identity from a :class:`~mira_hf.Scorer` (``identity()``) or a plain dict."""
    if scorer is None:
        return None
    if isinstance(scorer, Mapping):
        return _scrub(scorer)
    if callable(getattr(scorer, "identity", None)):
        ident = scorer.identity()
        if not isinstance(ident, Mapping):
            raise ConfigurationError(f"scorer.identity() returned {type(ident).__name__}, expected a dict")
        return _scrub(ident)
    raise ConfigurationError(
        f"scorer= got a {type(scorer).__name__}; pass a mira_hf.Scorer (anything with identity() -> dict) or a dict "
        "such as {'model': 'whw06/MIRA-Agent-Group4', 'rubric_hash': '...', 'prompt_version': '...'}")


def reliability_payload(reliability: Any) -> dict[str, Any] | None:
    """The reliability object as JSON: ``model_dump()``, ``to_dict()``, ``save()`` to a file, or a plain mask dict."""
    if reliability is None:
        return None
    if isinstance(reliability, Mapping):
        payload: Any = dict(reliability)
        if payload and all(isinstance(v, (list, tuple, np.ndarray)) for v in payload.values()) \
                and "mask" not in payload:
            payload = {"mask": payload}  # a bare mask: {source: [bool, ...]}
        return _scrub(payload)
    for attr in ("model_dump", "to_dict"):
        fn = getattr(reliability, attr, None)
        if callable(fn):
            dumped = fn(mode="json") if attr == "model_dump" else fn()
            if isinstance(dumped, Mapping):
                return _scrub(dumped)
    save = getattr(reliability, "save", None)
    if callable(save):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "reliability.json"
            save(target)
            return _scrub(json.loads(target.read_text(encoding="utf-8")))
    raise ConfigurationError(
        f"reliability= got a {type(reliability).__name__}; pass the mira_hf.Reliability object, the metric's "
        "result dict, or a mask {source: [bool per rubric slot]}")


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


def rubric_info(rubric: Any, identity: Mapping[str, Any] | None) -> RubricInfo | None:
    """Rubric name, hash and dimension names from ``rubric=`` (name, path or Rubric) or the scorer identity."""
    from mira_hf.rubric import Rubric, load_rubric

    if rubric is None and identity:
        name = identity.get("rubric") or identity.get("rubric_name")
        if not name:
            return None
        try:
            loaded = load_rubric(str(name))
        except ConfigurationError:
            return RubricInfo(name=str(identity.get("rubric_name") or name), hash=identity.get("rubric_hash"))
        return RubricInfo(name=loaded.name, hash=identity.get("rubric_hash") or loaded.content_hash,
                          dimensions=loaded.names)
    if rubric is None:
        return None
    loaded = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    return RubricInfo(name=loaded.name, hash=loaded.content_hash, dimensions=loaded.names)


# ----------------------------------------------------------------------------------------------- validation
def _require_column(ds: "Dataset", name: str, role: str) -> None:
    if name not in ds.column_names:
        raise ColumnNotFoundError(
            f"{role} column {name!r} is not in the dataset; its columns are: {', '.join(ds.column_names)}. "
            f"Pass {role}_column= with the right name" + (" (scores come from mira_hf.aggregate)"
                                                           if role == "score" else ""))


def _check_groups(groups: Any, sources: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigurationError("by='group' needs groups={'group_name': ['source_a', 'source_b'], ...}")
    group_of: dict[str, str] = {}
    clean: dict[str, list[str]] = {}
    for g, members in groups.items():
        if isinstance(members, str) or not isinstance(members, Sequence):
            raise ConfigurationError(f"groups[{g!r}] must be a list of source names, got {members!r}")
        clean[str(g)] = [str(m) for m in members]
        for m in members:
            if m in group_of and group_of[m] != g:
                raise ConfigurationError(f"source {m!r} is in two groups: {group_of[m]!r} and {g!r}")
            group_of[str(m)] = str(g)
    orphans = [s for s in sources if s not in group_of]
    if orphans:
        raise ConfigurationError(f"source(s) {', '.join(map(repr, orphans))} are in no group; add them to groups=")
    return clean, group_of


def _dataset_fingerprint(ds: "Dataset") -> str | None:
    return getattr(ds, "_fingerprint", None)


# ----------------------------------------------------------------------------------------------- steps
def _check_input(ds: Any) -> None:
    from datasets import Dataset, DatasetDict, IterableDataset

    if isinstance(ds, DatasetDict):
        raise ConfigurationError(f"filter_by_retention takes one split; got a DatasetDict with splits "
                                 f"{list(ds)}. Pass ds['train'] (or the split to select from)")
    if isinstance(ds, IterableDataset):
        raise ConfigurationError("filter_by_retention needs a map-style datasets.Dataset (the cut looks at every "
                                 "row); load without streaming=True, or materialise with Dataset.from_generator")
    if not isinstance(ds, Dataset):
        raise ConfigurationError(f"filter_by_retention takes a datasets.Dataset, got {type(ds).__name__}")


def _check_options(*, retention: Any, by: Any, groups: Any, default: Any, source_column: str | None,
                   push_to_hub: Any, push_by: Any, save_to: Any, save_format: Any, split: str,
                   card_metadata: Mapping[str, Any] | None) -> None:
    """Every option that does not need the data, checked before any work."""
    if by not in ("source", "group", "global"):
        raise ConfigurationError(f"by={by!r}; use 'source' (MIRA-Source), 'group' (MIRA-Group) or 'global'")
    if by != "group" and groups is not None:
        raise ConfigurationError(f"groups= is only used with by='group' (got by={by!r})")
    if by == "global" and default is not None:
        raise ConfigurationError("default= is only used with by='source' or by='group'")
    if by == "global" and not _is_single_rule(retention) and set(retention) != {GLOBAL_KEY}:
        raise ConfigurationError(f"by='global' takes one rule (e.g. retention=0.5), got a mapping with keys "
                                 f"{list(retention)}")
    if source_column is None and by != "global":
        raise ConfigurationError(f"by={by!r} needs source_column= (or use by='global')")
    if push_by not in (None, "split", "config"):
        raise ConfigurationError(f"push_by={push_by!r}; use None (one split), 'split' (a split per source) "
                                 "or 'config' (a config per source)")
    if push_by is not None and push_to_hub is None and save_to is None:
        raise ConfigurationError("push_by= only applies with push_to_hub= or save_to=")
    if push_by is not None and source_column is None:
        raise ConfigurationError("push_by= needs source_column=")
    if save_format not in ("parquet", "arrow"):
        raise ConfigurationError(f"save_format={save_format!r}; use 'parquet' or 'arrow'")
    if push_to_hub is not None:
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(push_to_hub)
        except (HFValidationError, TypeError) as e:
            raise ConfigurationError(f"push_to_hub={push_to_hub!r} is not a valid repo id ({e}); "
                                     "use 'org/name'") from None
    if (push_to_hub is not None or save_to is not None) and not re.match(r"^\w+(\.\w+)*$", str(split)):
        raise ConfigurationError(f"split={split!r} is not a valid split name (letters, digits, _ and .)")
    if card_metadata is not None:
        from mira_hf.card import merge_metadata

        merge_metadata({}, {}, card_metadata)  # raises if it tries to set what datasets owns


def _check_columns(ds: "Dataset", *, score_column: str, source_column: str | None, token_column: str | None,
                   drop_recommendation: str | Sequence[str] | None, recommendation_column: str) -> list[str] | None:
    """Every named column exists; returns the recommendations to drop (or None)."""
    _require_column(ds, score_column, "score")
    if source_column is not None:
        _require_column(ds, source_column, "source")
    if token_column is not None:
        _require_column(ds, token_column, "token")
    if drop_recommendation is None:
        return None
    values = [drop_recommendation] if isinstance(drop_recommendation, str) else list(drop_recommendation)
    bad = [v for v in values if v not in ("keep", "downsample", "drop")]
    if bad:
        raise ConfigurationError(f"drop_recommendation={drop_recommendation!r}: {bad} not among "
                                 "'keep', 'downsample', 'drop'")
    _require_column(ds, recommendation_column, "recommendation")
    return values


class _Arrays:
    """The columns the cut needs, as numpy arrays (NaN for a null score)."""

    def __init__(self, ds: "Dataset", *, score_column: str, source_column: str | None, token_column: str | None,
                 drop_values: list[str] | None, recommendation_column: str) -> None:
        names = [c for c in (score_column, source_column, token_column,
                             recommendation_column if drop_values else None) if c is not None]
        table: pa.Table = ds.with_format("arrow", columns=list(dict.fromkeys(names)))[:]  # zero-copy slices
        self.n = n = table.num_rows
        score = table.column(score_column)
        if not (pa.types.is_floating(score.type) or pa.types.is_integer(score.type)
                or pa.types.is_decimal(score.type)):
            raise ConfigurationError(f"score column {score_column!r} has type {score.type}, expected numbers "
                                     "(float32 from mira_hf.aggregate)")
        if not pa.types.is_floating(score.type):
            score = pc.cast(score, pa.float64())
        self.scores = pc.fill_null(score, float("nan")).to_numpy() if n else np.zeros(0, dtype=np.float32)
        self.unscored = np.isnan(self.scores)
        if source_column is not None:
            self.src_codes, self.sources = _encode(table.column(source_column), source_column)
        else:
            self.src_codes, self.sources = np.zeros(n, dtype=np.int32), (["all"] if n else [])
        self.dropped = np.zeros(n, dtype=bool)
        if drop_values:
            rec = table.column(recommendation_column)
            hit = pc.fill_null(pc.is_in(rec, value_set=pa.array(drop_values, type=rec.type)), False)
            self.dropped = hit.to_numpy(zero_copy_only=False) & ~self.unscored
        self.tokens: np.ndarray | None = None
        if token_column is not None:
            tok = table.column(token_column)
            if not pa.types.is_integer(tok.type):
                raise ConfigurationError(f"token column {token_column!r} has type {tok.type}, expected integers")
            if tok.null_count:
                raise ConfigurationError(f"token column {token_column!r} has {tok.null_count:,} null value(s); "
                                         "fill them (e.g. with the row's prompt token count) before selecting")
            self.tokens = tok.to_numpy().astype(np.int64, copy=False) if n else np.zeros(0, dtype=np.int64)
            if n and self.tokens.min() < 0:
                raise ConfigurationError(f"token column {token_column!r} has negative counts")
        # what a rule may choose from: scored and not dropped
        self.eligible_scores = np.where(self.dropped, np.nan, self.scores) if drop_values else self.scores


def _keys_and_rules(arrays: _Arrays, *, by: By, retention: Any, default: Any, groups: Any
                    ) -> tuple[list[str], np.ndarray, dict[str, RetentionRule], dict[str, list[str]] | None]:
    """The retention keys, the key of each source, one rule per key, and the cleaned groups."""
    sources = arrays.sources
    if by == "source":
        rules = resolve_rules(retention, sources, by=by, default=default, what="source")
        return list(sources), np.arange(len(sources), dtype=np.int32), rules, None
    if by == "group":
        clean, group_of = _check_groups(groups, sources)
        keys = list(clean)
        key_of_src = np.array([keys.index(group_of[s]) for s in sources], dtype=np.int32)
        return keys, key_of_src, resolve_rules(retention, keys, by=by, default=default, what="group"), clean
    spec = retention[GLOBAL_KEY] if not _is_single_rule(retention) else retention
    return [GLOBAL_KEY], np.zeros(len(sources), dtype=np.int32), {GLOBAL_KEY: parse_rule(spec, key=GLOBAL_KEY)}, None


def _apply_cuts(arrays: _Arrays, keys: list[str], key_of_src: np.ndarray, rules: Mapping[str, RetentionRule]
                ) -> tuple[np.ndarray, dict[str, CutStats]]:
    """The kept-row mask over the whole dataset and the figures of each cut."""
    n, scores, tokens = arrays.n, arrays.eligible_scores, arrays.tokens
    row_key = key_of_src[arrays.src_codes] if len(arrays.sources) else np.zeros(0, dtype=np.int32)
    positions: list[np.ndarray | None] = [None] if len(keys) == 1 else _positions_by_key(row_key, len(keys))
    kept = np.zeros(n, dtype=bool)
    cuts: dict[str, CutStats] = {}
    for k, key in enumerate(keys):
        idx = positions[k]
        s = scores if idx is None else scores[idx]
        t = None if tokens is None else (tokens if idx is None else tokens[idx])
        keep, target = cut_rows(s, rules[key], tokens=t)
        if idx is None:
            kept = keep
        else:
            kept[idx[keep]] = True
        kept_scores = s[keep]
        cuts[key] = CutStats(
            key=key, rule=rules[key], sources=[src for i, src in enumerate(arrays.sources) if key_of_src[i] == k],
            rows=len(s), eligible=int((~np.isnan(s)).sum()), target=target, kept=int(keep.sum()),
            tokens_kept=None if t is None else int(t[keep].sum()),
            cut_score=float(kept_scores.min()) if kept_scores.size else None)
    return kept, cuts


def _source_stats(arrays: _Arrays, kept: np.ndarray, keys: list[str], key_of_src: np.ndarray
                  ) -> dict[str, SourceStats]:
    """Per-source figures with bincounts over the whole dataset (no loop over rows)."""
    m, codes, scores, tokens = len(arrays.sources), arrays.src_codes, arrays.scores, arrays.tokens
    kept_src, kept_scores = codes[kept], scores[kept]
    rows = np.bincount(codes, minlength=m)
    n_kept = np.bincount(kept_src, minlength=m)
    unscored = np.bincount(codes[arrays.unscored], minlength=m)
    dropped = np.bincount(codes[arrays.dropped], minlength=m)
    score_sum = np.bincount(kept_src, weights=kept_scores, minlength=m)
    lowest = _min_per_code(kept_src, kept_scores, m)
    tok = tok_kept = None
    if tokens is not None:
        tok = np.bincount(codes, weights=tokens, minlength=m)
        tok_kept = np.bincount(kept_src, weights=tokens[kept], minlength=m)
    return {
        src: SourceStats(
            source=src, key=keys[key_of_src[i]], rows=int(rows[i]), unscored=int(unscored[i]),
            dropped=int(dropped[i]), kept=int(n_kept[i]), tokens=None if tok is None else int(tok[i]),
            tokens_kept=None if tok_kept is None else int(tok_kept[i]),
            cut_score=float(lowest[i]) if n_kept[i] else None,
            mean_score_kept=float(score_sum[i] / n_kept[i]) if n_kept[i] else None)
        for i, src in enumerate(arrays.sources)
    }


def _take(ds: "Dataset", kept: np.ndarray, fingerprint: str) -> "Dataset":
    """``ds.select`` of the kept rows, in order (a contiguous run becomes a zero-copy slice)."""
    indices = np.flatnonzero(kept)
    if indices.size and indices[-1] - indices[0] + 1 == indices.size:
        return ds.select(range(int(indices[0]), int(indices[-1]) + 1), new_fingerprint=fingerprint)
    return ds.select(indices.tolist(), new_fingerprint=fingerprint)  # a list of ints is datasets' fast path


# ----------------------------------------------------------------------------------------------- entry point
def filter_by_retention(
    ds: "Dataset",
    retention: Any,
    *,
    score_column: str = "mira_quality",
    source_column: str | None = "source",
    by: By = "source",
    groups: Mapping[str, Sequence[str]] | None = None,
    default: Any = None,
    token_column: str | None = None,
    drop_recommendation: str | Sequence[str] | None = None,
    recommendation_column: str = "mira_recommendation",
    scorer: Any = None,
    reliability: Any = None,
    rubric: Any = None,
    push_to_hub: str | None = None,
    push_by: PushBy | None = None,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    config_name: str = "default",
    split: str = "train",
    max_shard_size: int | str | None = None,
    card_metadata: Mapping[str, Any] | None = None,
    save_to: str | Path | None = None,
    save_format: Literal["parquet", "arrow"] = "parquet",
    storage_options: Mapping[str, Any] | None = None,
) -> tuple["Dataset", SelectionReport]:
    """Keep the best-scored rows of each source (``by="source"``), group (``"group"``) or overall (``"global"``).

    ``retention`` is one rule for every key or ``{key: rule}``; a rule is a fraction of the key's rows
    (``0.5`` keeps ``ceil(0.5·n)`` of its ``n`` rows, counting unscored ones), ``{"min_score": 6.5}`` or
    ``{"tokens": 2_000_000_000}`` (with ``token_column=``, filled best-first, never over budget). Rows with a
    null score are never kept; ties at a cut go to the earlier row; kept rows keep their order. With
    ``push_to_hub="org/name"`` the selection, a dataset card, ``selection_report.json`` and
    ``reliability.json`` are pushed (``save_to=`` writes the same to a local or fsspec path). If the push fails,
    :class:`~mira_hf.errors.HubPushError` is raised with the selection in ``err.selection`` and the report in
    ``err.report``.

    Example:
        >>> kept, report = filter_by_retention(ds, {"agent_openhands": 0.5, "swe_qa": {"min_score": 6.5}})  # doctest: +SKIP
        >>> print(report)                                                                                 # doctest: +SKIP
    """
    # ---- validate every argument before touching data
    _check_input(ds)
    _check_options(retention=retention, by=by, groups=groups, default=default, source_column=source_column,
                   push_to_hub=push_to_hub, push_by=push_by, save_to=save_to, save_format=save_format, split=split,
                   card_metadata=card_metadata)
    drop_values = _check_columns(ds, score_column=score_column, source_column=source_column,
                                 token_column=token_column, drop_recommendation=drop_recommendation,
                                 recommendation_column=recommendation_column)
    arrays = _Arrays(ds, score_column=score_column, source_column=source_column, token_column=token_column,
                     drop_values=drop_values, recommendation_column=recommendation_column)
    keys, key_of_src, rules, clean_groups = _keys_and_rules(arrays, by=by, retention=retention, default=default,
                                                            groups=groups)
    if any(r.kind == "tokens" for r in rules.values()) and token_column is None:
        raise ConfigurationError("a {'tokens': n} retention needs token_column= (a column of token counts per row)")
    if push_by is not None:
        from mira_hf.hub import layout_names

        layout_names(arrays.sources, push_by)  # two sources → one split name, or a config named 'data': fail now
    ident = scorer_identity(scorer)
    reliability_json = reliability_payload(reliability)
    info = rubric_info(rubric, ident)

    # ---- the cut and its figures
    kept, cuts = _apply_cuts(arrays, keys, key_of_src, rules)
    params = SelectionParameters(
        by=by, score_column=score_column, source_column=source_column, token_column=token_column,
        recommendation_column=recommendation_column if drop_values else None, drop_recommendation=drop_values,
        groups=clean_groups, retention=rules,
        default=parse_rule(default, key="default") if default is not None else None)
    fp_in = _dataset_fingerprint(ds)
    fp_out = hashlib.sha256(json.dumps([fp_in, params.model_dump(mode="json")], sort_keys=True).encode()
                            ).hexdigest()[:16]
    report = SelectionReport(
        parameters=params, input_rows=arrays.n, input_fingerprint=fp_in, output_fingerprint=fp_out,
        sources=_source_stats(arrays, kept, keys, key_of_src), cuts=cuts, scorer=ident, rubric=info,
        prompt_version=(ident or {}).get("prompt_version"), reliability=reliability_json)
    selection = _take(ds, kept, fp_out)

    # ---- publish (after the local selection exists, so a failed push never loses it)
    if save_to is not None:
        from mira_hf.hub import save_selection

        save_selection(selection, report, save_to, push_by=push_by, config_name=config_name, split=split,
                       max_shard_size=max_shard_size, card_metadata=card_metadata, save_format=save_format,
                       storage_options=storage_options)
    if push_to_hub is not None:
        from mira_hf.hub import push_selection

        push_selection(selection, report, push_to_hub, push_by=push_by, private=private, token=token,
                       revision=revision, create_pr=create_pr, config_name=config_name, split=split,
                       max_shard_size=max_shard_size, card_metadata=card_metadata)
    return selection, report


__all__ = ["CutStats", "PushInfo", "RetentionRule", "RubricInfo", "SelectionParameters", "SelectionReport",
           "SourceStats", "cut_rows", "filter_by_retention", "parse_rule", "resolve_rules"]
