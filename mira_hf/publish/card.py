"""The dataset card of a selection: YAML metadata in Hub conventions plus a body that explains and reproduces it.

Pure functions: text in, text out. The metadata ``datasets`` writes on push (``configs``, ``dataset_info``)
is kept as it is; ``tags`` are merged; user ``card_metadata`` wins over everything else.

Example:
    >>> from mira_hf.publish.card import size_category
    >>> size_category(12_345)
    '10K<n<100K'
"""

from __future__ import annotations

import pprint
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from mira_hf.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from mira_hf.schema.selection import SelectionParameters, SelectionReport

#: Tags every selection card carries (merged with any already on the card).
CARD_TAGS: tuple[str, ...] = ("mira", "data-selection", "mid-training", "agent-trajectories")
#: Keys ``datasets`` owns in the card metadata; a user cannot set them through ``card_metadata``.
DATASETS_KEYS: tuple[str, ...] = ("configs", "dataset_info")
REPORT_FILE = "selection_report.json"
RELIABILITY_FILE = "reliability.json"
REPORT_HTML_FILE = "report.html"
#: The config holding a few rows per source worth reading, and the longest string it keeps (longer ones are cut).
SAMPLES_CONFIG = "samples"
SAMPLE_MAX_CHARS = 20_000
#: Example ids per source, as the card lists them: ``{source: [{"id", "score", "kept", "picked"}]}``.
Examples = Mapping[str, Sequence[Mapping[str, Any]]]
_PICKED = {
    "top": "best scored",
    "above_cut": "just above the cut",
    "below_cut": "just below the cut",
    "bottom": "worst scored",
    "random_kept": "random kept",
    "random_dropped": "random dropped",
    "unscored": "unscored",
}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_SIZE_BOUNDS = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (10**12, "100B<n<1T"),
]


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket for ``rows``."""
    for bound, label in _SIZE_BOUNDS:
        if rows < bound:
            return label
    return "n>1T"


def split_front_matter(text: str | None) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a README; no front matter gives ``({}, text)``."""
    if not text:
        return {}, ""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = yaml.safe_load(m.group(1)) or {}
    if not isinstance(meta, dict):
        raise ConfigurationError("the existing README.md has YAML front matter that is not a mapping")
    return meta, text[m.end() :]


def default_metadata(report: SelectionReport) -> dict[str, Any]:
    """What a selection card declares unless the card already says otherwise: tags, task, a pretty name."""
    return {"pretty_name": "MIRA data selection", "tags": list(CARD_TAGS), "task_categories": ["text-generation"]}


def merge_metadata(
    existing: Mapping[str, Any], ours: Mapping[str, Any], user: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Card metadata: ``ours`` (defaults) < ``existing`` (the card already there) < ``user``.

    ``configs``/``dataset_info`` always come from ``existing`` untouched (``datasets`` writes them);
    ``tags`` are the union in first-seen order.
    """
    user = dict(user or {})
    clash = [k for k in DATASETS_KEYS if k in user]
    if clash:
        raise ConfigurationError(f"card_metadata cannot set {clash}: datasets writes them when it pushes the data")
    merged: dict[str, Any] = {}
    tags: list[str] = []
    for layer in (ours, existing, user):  # later layers win
        for k, v in layer.items():
            if k == "tags":
                tags += [t for t in ([v] if isinstance(v, str) else v or []) if t not in tags]
            elif k not in DATASETS_KEYS:
                merged[k] = v
    if tags:
        merged["tags"] = tags
    for k in DATASETS_KEYS:  # datasets' own keys last, untouched
        if k in existing:
            merged[k] = existing[k]
    return merged


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _py(value: Any) -> str:
    return pprint.pformat(value, width=88, sort_dicts=False)


def _thresholds(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    if not payload:
        return {}
    found: dict[str, Any] = {}
    for scope in (payload, *(payload.get(k) for k in ("thresholds", "params", "parameters", "config"))):
        if isinstance(scope, Mapping):
            for k in ("mae_max", "spearman_min", "min_support"):
                if k in scope and k not in found:
                    found[k] = scope[k]
    return found


def _selection_section(report: SelectionReport) -> list[str]:
    p = report.parameters
    has_tokens = report.tokens is not None
    share = report.kept / report.rows if report.rows else 0.0
    lines = [
        "## What was selected",
        "",
        f"MIRA-{p.by.capitalize()} retention on `{p.score_column}` kept **{report.kept:,} of {report.rows:,} rows "
        f"({share:.1%})**"
        + (f" and {report.tokens_kept:,} of {report.tokens:,} tokens" if has_tokens else "")
        + f". Rows with no score ({report.unscored:,}) are never kept"
        + (
            f"; {report.dropped:,} rows the scorer recommended to `{'`/`'.join(p.drop_recommendation or [])}` were "
            "removed first"
            if p.drop_recommendation
            else ""
        )
        + ". Ties at a cut go to the earlier row, and kept "
        "rows are in their original order."
        + (
            f" Rows were chosen by {p.describe_sampling()}"
            + (
                ": a sample without replacement with probability ∝ exp(score / τ), honouring each rule's size"
                if p.sampling == "gumbel"
                else ""
            )
            + "."
            if p.sampling != "cut" or p.budget_tokens is not None
            else ""
        ),
        "",
        "| source | cut under | rows | unscored | dropped | kept | kept % |"
        + (" tokens kept |" if has_tokens else "")
        + " lowest kept score | mean kept score |",
        "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if has_tokens else "") + "---:|---:|",
    ]
    for s in report.sources.values():
        lines.append(
            f"| {_cell(s.source)} | {_cell(s.key)} | {s.rows:,} | {s.unscored:,} | {s.dropped:,} | "
            f"{s.kept:,} | {s.kept_share:.1%} |"
            + (f" {_num(s.tokens_kept)} |" if has_tokens else "")
            + f" {_score(s.cut_score)} | {_score(s.mean_score_kept)} |"
        )
    lines += [
        "",
        "### Retention rules",
        "",
        "| cut | sources | rule | rows | eligible | target | kept | lowest kept score |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in report.cuts.values():
        target = "—" if c.target is None else (f"{c.target:,} tokens" if c.rule.kind == "tokens" else f"{c.target:,}")
        note = " (fewer eligible rows than the target)" if c.shortfall else ""
        lines.append(
            f"| {_cell(c.key)} | {_cell(', '.join(c.sources))} | {_cell(c.rule.describe())} | {c.rows:,} | "
            f"{c.eligible:,} | {target}{note} | {c.kept:,} | {_score(c.cut_score)} |"
        )
    return lines + [""]


def _scorer_section(report: SelectionReport) -> list[str]:
    ident = report.scorer or {}
    lines = ["## Scorer, rubric and prompt", ""]
    rows = [
        ("scorer model", ident.get("model")),
        ("model revision", ident.get("revision")),
        ("engine", ident.get("engine")),
        ("rubric", report.rubric.name if report.rubric else None),
        ("rubric hash (sha256)", report.rubric.hash if report.rubric else None),
        ("prompt version", report.prompt_version),
        (
            "sampling",
            ", ".join(
                f"{k}={ident[k]}" for k in ("temperature", "top_p", "max_tokens", "seed") if ident.get(k) is not None
            )
            or None,
        ),
        ("mira-hf", report.mira_hf_version),
    ]
    lines += ["| | |", "|---|---|"] + [f"| {k} | `{_cell(v)}` |" for k, v in rows if v not in (None, "")]
    if not ident:
        lines += ["", "The scorer identity was not recorded (pass `scorer=` to `filter_by_retention`)."]
    return lines + [""]


def _reliability_section(report: SelectionReport) -> list[str]:
    mask = report.reliability_mask
    lines = ["## Reliability mask", ""]
    if mask is None:
        return lines + ["No reliability mask was recorded with this selection (pass `reliability=`).", ""]
    thresholds = _thresholds(report.reliability)
    if thresholds:
        lines += [
            "A (source × dimension) cell is reliable when "
            + ", ".join(f"`{k}` = {v}" for k, v in thresholds.items())
            + " on the teacher-labelled validation split; only reliable dimensions enter `mira_quality`.",
            "",
        ]
    else:
        lines += ["Only the reliable (source × dimension) cells enter `mira_quality`.", ""]
    names = report.rubric.dimensions if report.rubric else []
    lines += ["| source | reliable dimensions | masked dimensions |", "|---|---:|---|"]
    for src, cells in mask.items():
        label = [f"A{i + 1} {names[i]}" if len(names) == len(cells) else f"A{i + 1}" for i in range(len(cells))]
        masked = [label[i] for i, ok in enumerate(cells) if not ok]
        lines.append(f"| {_cell(src)} | {sum(cells)} / {len(cells)} | {_cell(', '.join(masked)) or '—'} |")
    return lines + [
        "",
        *_cell_table(report.reliability or {}, mask, names),
        f"The full agreement figures are in [`{RELIABILITY_FILE}`]({RELIABILITY_FILE}).",
        "",
    ]


def _interval(point: Any, low: Any, high: Any) -> str:
    if point is None:
        return "—"
    return f"{point:.2f}" if low is None or high is None else f"{point:.2f} [{low:.2f}, {high:.2f}]"


def _cell_table(payload: Mapping[str, Any], mask: Mapping[str, list[bool]], names: list[str]) -> list[str]:
    """Per (source, dimension) cell: MAE and ρ with their bootstrap intervals, support and parse failures."""
    stats = payload.get("stats") or {}
    if not isinstance(stats, Mapping) or not any(
        isinstance(v, Mapping) and (v.get("mae_low") or v.get("parse_failures")) for v in stats.values()
    ):
        return []
    boot = payload.get("bootstrap") or 0
    head = (
        f"MAE and Spearman ρ with {payload.get('confidence', 0.95):.0%} bootstrap intervals ({boot:,} resamples"
        f", seed {payload.get('seed')}); cells judged by the interval's "
        f"{'pessimistic bound' if payload.get('mask_by') == 'bound' else 'point estimate'}."
        if boot
        else "MAE and Spearman ρ per cell."
    )
    lines = [
        "<details><summary>Agreement per cell</summary>",
        "",
        head,
        "",
        "| source | dimension | MAE | ρ | support | parse failures | reliable |",
        "|---|---|---:|---:|---:|---:|:-:|",
    ]
    for src, cell in stats.items():
        if not isinstance(cell, Mapping) or src not in mask:
            continue
        for i, ok in enumerate(mask[src]):

            def at(key: str, cell: Mapping[str, Any] = cell, i: int = i) -> Any:
                values = cell.get(key)
                return values[i] if isinstance(values, list) and i < len(values) else None

            label = f"A{i + 1} {names[i]}" if len(names) == len(mask[src]) else f"A{i + 1}"
            lines.append(
                f"| {_cell(src)} | {_cell(label)} | {_interval(at('mae'), at('mae_low'), at('mae_high'))} | "
                f"{_interval(at('spearman'), at('spearman_low'), at('spearman_high'))} | "
                f"{_num(at('support'))} | {_num(at('parse_failures'))} | {'✓' if ok else '·'} |"
            )
    return lines + ["", "</details>", ""]


def _load_section(report: SelectionReport, repo_id: str | None, path: str | None) -> list[str]:
    push = report.push
    layout = push.layout if push else {}
    split = push.split if push else "train"
    if push and push.format == "arrow" and not repo_id:
        base = path or "."
        if push.push_by == "config" and layout:
            first = next(iter(layout.values()))
            call = f"ds = load_from_disk({base + '/' + first!r})  # one folder per source: " + ", ".join(
                layout.values()
            )
        else:
            call = f"ds = load_from_disk({base + '/data'!r})"
        return ["## Load it", "", "```python", "from datasets import load_from_disk", "", call, "```", ""]
    target = repr(repo_id) if repo_id else repr(path or ".")
    config = f", {push.config_name!r}" if push and push.config_name != "default" else ""
    rev = f", revision={push.revision!r}" if repo_id and push and push.revision not in (None, "main") else ""
    lines = ["## Load it", "", "```python", "from datasets import load_dataset", ""]
    if push and push.push_by == "config" and layout:
        first = next(iter(layout.values()))
        lines.append(
            f"ds = load_dataset({target}, {first!r}, split={split!r}{rev})  # one config per source: "
            + ", ".join(layout.values())
        )
    elif push and push.push_by == "split" and layout:
        lines.append(f"dd = load_dataset({target}{config}{rev})  # one split per source: " + ", ".join(layout.values()))
    else:
        lines.append(f"ds = load_dataset({target}{config}, split={split!r}{rev})")
    return lines + ["```", ""]


def _reproduce_section(report: SelectionReport, repo_id: str | None) -> list[str]:
    """The card's "Reproduce it" code: score, aggregate with the mask, and select with the same arguments."""
    args = _selection_args(report.parameters)
    lines = [
        "## Reproduce it",
        "",
        f"The input had {report.input_rows:,} rows"
        + (f" (datasets fingerprint `{report.input_fingerprint}`)" if report.input_fingerprint else "")
        + " scored by the scorer above. With `mira-hf` installed:",
        "",
        "```python",
        "import mira_hf",
        "",
    ]
    lines += _score_lines(report, repo_id)
    if report.parameters.sampling == "per group":  # a mixture: each group was selected apart, by its own rule
        lines += _per_group_lines(report.parameters, args)
    else:
        call = ",\n    ".join(a.replace("\n", "\n    ") for a in args)
        lines += [
            "",
            f"kept, report = mira_hf.filter_by_retention(\n    scored,\n    {call},\n)",
            "print(report)",
            "```",
        ]
    lines += [
        "",
        f"[`{REPORT_FILE}`]({REPORT_FILE}) holds every figure above (`mira_hf.SelectionReport.load` reads it back).",
        "",
    ]
    return lines


def _selection_args(p: SelectionParameters) -> list[str]:
    """The keyword arguments of ``filter_by_retention`` that reproduce the selection, as Python source."""
    retention: Any
    specs = {k: r.to_spec() for k, r in p.retention.items()}
    distinct = {repr(v) for v in specs.values()}
    if p.by == "global" or (len(distinct) == 1 and p.default is None):
        retention = next(iter(specs.values())) if specs else 0.5
    else:
        retention = specs
    args = [f"retention={_py(retention)}" if p.budget_tokens is None else "retention=None", f"by={p.by!r}"]
    if p.groups:
        args.append(f"groups={_py(p.groups)}")
    args += [f"score_column={p.score_column!r}", f"source_column={p.source_column!r}"]
    if p.token_column:
        args.append(f"token_column={p.token_column!r}")
    if p.budget_tokens is not None:
        args.append(f"budget_tokens={p.budget_tokens}")
        if p.budget_split != "shares":
            args.append(f"budget_split={_py(p.budget_split)}")
    if p.id_column not in (None, "id"):
        args.append(f"id_column={p.id_column!r}")
    if p.sampling not in ("cut", "per group"):
        args.append(f"sampling={p.sampling!r}, temperature={p.temperature!r}, seed={p.seed!r}")
    if p.drop_recommendation:
        args += [
            f"drop_recommendation={_py(p.drop_recommendation)}",
            f"recommendation_column={p.recommendation_column!r}",
        ]
    return args


def _score_lines(report: SelectionReport, repo_id: str | None) -> list[str]:
    """Code that scores the trajectories and aggregates them with the reliability mask (the Hub's copy if pushed)."""
    if report.scorer and report.scorer.get("model"):
        lines = [
            f"scorer = mira_hf.Scorer(model={report.scorer['model']!r}"
            + (f", rubric={report.scorer['rubric']!r}" if report.scorer.get("rubric") else "")
            + ")",
            "scored = ds.map(scorer, batched=True)  # ds: the trajectories, with a source column",
        ]
    else:
        lines = ["scored = ds.map(mira_hf.score, batched=True)  # ds: the trajectories, with a source column"]
    if report.reliability_mask is not None and repo_id:
        return lines + [
            "",
            "import json",
            "from huggingface_hub import hf_hub_download",
            "",
            f"mask = json.load(open(hf_hub_download({repo_id!r}, {RELIABILITY_FILE!r}, repo_type='dataset')))['mask']",
            "scored = mira_hf.aggregate(scored, mask=mask)",
        ]
    if report.reliability_mask is not None:
        return lines + [
            "",
            "import json",
            "",
            f"mask = json.load(open({RELIABILITY_FILE!r}))['mask']",
            "scored = mira_hf.aggregate(scored, mask=mask)",
        ]
    return lines + ["scored = mira_hf.aggregate(scored, mask=mask)  # mask: the reliability mask you used"]


def _per_group_lines(p: SelectionParameters, args: list[str]) -> list[str]:
    """A mixture's selection: each group's rows filtered and selected apart, by the group's own rule."""
    lines = ["", "# each group of the mixture plan was selected apart (`mira-hf run PLAN` does all of this)"]
    for name, g in (p.per_group or {}).items():
        group_args = [f"retention={_py({k: r.to_spec() for k, r in g.retention.items()})}"]
        if g.sampling != "cut":
            group_args.append(f"sampling={g.sampling!r}, temperature={g.temperature!r}, seed={g.seed!r}")
        common = [a for a in args[1:] if not a.startswith("budget_")]  # the budget is in each share
        group_call = ",\n    ".join(a.replace("\n", "\n    ") for a in common + group_args)
        lines += [
            f"part = scored.filter(lambda r: r[{p.source_column!r}] in {sorted(g.sources)!r})",
            f"kept_{_identifier(name)}, _ = mira_hf.filter_by_retention(\n    part,\n    {group_call},\n)",
        ]
    return lines + ["```"]


def _identifier(name: str) -> str:
    """``name`` as a Python identifier (a group's name in a variable)."""
    import re

    return re.sub(r"\W", "_", name) or "group"


def _examples_section(report: SelectionReport, examples: Examples | None, load: str, report_html: bool) -> list[str]:
    """Example ids per source with their scores and why they were picked, how to load the ``samples`` config,
    and where the HTML report is (or how to build it)."""
    lines = ["## Examples", ""] if examples else ["## Report", ""]
    if examples:
        lines += [
            f"A few rows per source, picked to show where the cut fell. The `{SAMPLES_CONFIG}` config "
            f"(`{load}`) holds them with a few more (random kept and dropped rows, unscored rows), why each was "
            f"picked (`mira_sample`) and whether the selection kept it (`mira_kept`); strings longer than "
            f"{SAMPLE_MAX_CHARS:,} characters are cut there.",
            "",
            f"| source | id | `{_cell(report.parameters.score_column)}` | kept | picked as |",
            "|---|---|---:|:-:|---|",
        ]
        for source, rows in examples.items():
            for row in rows:
                picked = _PICKED.get(str(row.get("picked")), row.get("picked"))
                lines.append(
                    f"| {_cell(source)} | `{_cell(row.get('id'))}` | {_score(row.get('score'))} | "
                    f"{'✓' if row.get('kept') else '·'} | {_cell(picked)} |"
                )
        lines.append("")
    if report_html:
        lines.append(
            f"The full report (score distributions, the reliability mask, the sampled records): "
            f"[`{REPORT_HTML_FILE}`]({REPORT_HTML_FILE})."
        )
    else:
        lines.append(
            "Build the full HTML report (score distributions, the reliability mask, the sampled records) from the "
            f"scored data with `mira-hf report scored --selection {REPORT_FILE}"
            + (f" --mask {RELIABILITY_FILE}" if report.reliability is not None else "")
            + f" -o {REPORT_HTML_FILE}`."
        )
    return lines + [""]


def render_body(
    report: SelectionReport,
    *,
    repo_id: str | None = None,
    path: str | None = None,
    examples: Examples | None = None,
    report_html: bool = False,
) -> str:
    """The Markdown body of the card (no front matter); ``examples`` lists example ids per source, ``report_html``
    links the uploaded HTML report."""
    title = repo_id.split("/")[-1] if repo_id else "MIRA data selection"
    lines = [
        f"# {title}",
        "",
        "A subset of agent / SWE-repair trajectories selected with "
        "[MIRA](https://huggingface.co/whw06/MIRA-Agent-Group4)-style source-aware retention by `mira-hf`: "
        "a distilled scorer graded every record on anchored rubric dimensions, unreliable "
        "(source × dimension) cells were masked, and the best share of each "
        f"{'source' if report.parameters.by == 'source' else 'group' if report.parameters.by == 'group' else 'corpus'}"
        " was kept.",
        "",
    ]
    lines += _selection_section(report) + _scorer_section(report) + _reliability_section(report)
    lines += _load_section(report, repo_id, path)
    if report.push and report.push.format == "arrow" and not repo_id:
        load = f"load_from_disk({(path or '.') + '/' + SAMPLES_CONFIG!r})"
    else:
        load = f"load_dataset({repo_id or path or '.'!r}, {SAMPLES_CONFIG!r}, split='train')"
    lines += _examples_section(report, examples, load, report_html) + _reproduce_section(report, repo_id)
    return "\n".join(lines).rstrip() + "\n"


def render_card(
    report: SelectionReport,
    *,
    existing: str | None = None,
    repo_id: str | None = None,
    path: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    examples: Examples | None = None,
    report_html: bool = False,
) -> str:
    """The full README.md: merged YAML metadata, then the body. ``existing`` is the README already there;
    ``examples`` and ``report_html`` as in `render_body`.

    Example:
        >>> text = render_card(report, existing=readme_from_datasets, repo_id="org/agent-mix")   # doctest: +SKIP
    """
    current, _ = split_front_matter(existing)
    computed = {"size_categories": [size_category(report.kept)]}  # always describes this selection
    meta = merge_metadata(current, default_metadata(report), {**computed, **dict(metadata or {})})
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    body = render_body(report, repo_id=repo_id, path=path, examples=examples, report_html=report_html)
    return f"---\n{header}---\n\n{body}"
