"""One self-contained HTML report of a scored (and optionally selected) dataset, readable offline.

[`build_report`][mira_hf.report.build_report] draws the plots from the per-source summaries of `mira_hf.report.data`,
embeds them as base64 PNG and writes one HTML file with no external CSS, JS, fonts or images.

Example:
    >>> path = build_report(ds, agreement=result, selection=report, path="report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from mira_hf._util.atomic import atomic_path
from mira_hf._util.html import escape
from mira_hf._util.redaction import HIDDEN, is_secret_key, redact
from mira_hf._version import __version__
from mira_hf.errors import ConfigurationError
from mira_hf.report.data import (
    CURVE_POINTS,
    MAX_PLOTTED_SOURCES,
    SCORES_COLUMN,
    ReportData,
    SelectionView,
    SourceSelection,
    read_selection,
    retention_curve,
    summarize,
)
from mira_hf.rubric import Rubric, load_rubric

logger = logging.getLogger(__name__)

DEFAULT_TITLE = "MIRA data selection report"


# --------------------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0;
       color: #1f2328; background: #f6f8fa; line-height: 1.45; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { margin: 0 0 4px; font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; margin: 0 0 12px; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: 10px 0 14px; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; text-align: right; }
th { background: #f6f8fa; } td.name, th.name { text-align: left; }
tr.total td { font-weight: 600; background: #f6f8fa; }
figure { margin: 12px 0 22px; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: 0.9em; margin-top: 4px; }
.note { background: #fff8c5; border: 1px solid #d4a72c66; padding: 6px 10px; border-radius: 6px; }
table.mask td { text-align: center; font-size: 0.82em; padding: 3px 5px; min-width: 38px; }
td.ok { background: #dafbe1; } td.masked { background: #ffebe9; color: #82071e; }
.kv td:first-child { text-align: left; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.kv td:last-child, .kv th { text-align: left; } .kv td:last-child { word-break: break-all; }
"""


def _int(n: Any) -> str:
    return f"{int(n):,}"


def _pct(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    cls: str = "",
    total: Sequence[str] | None = None,
    name_cols: int = 1,
) -> str:
    """An HTML table of already-escaped cells; a cell may be ``(html, css_class)``; the first ``name_cols``
    columns are left-aligned."""

    def cells(row: Sequence[Any], tag: str) -> str:
        out = []
        for i, c in enumerate(row):
            text, klass = c if isinstance(c, tuple) else (c, "name" if i < name_cols else "")
            attr = f' class="{klass}"' if klass else ""
            out.append(f"<{tag}{attr}>{text}</{tag}>")
        return "".join(out)

    head = f"<thead><tr>{cells(headers, 'th')}</tr></thead>"
    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    if total is not None:
        body += f'<tr class="total">{cells(total, "td")}</tr>'
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def _img(png: bytes, plot: str, alt: str, caption: str) -> str:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="{src}" alt="{escape(alt)}" data-plot="{escape(plot)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _svg_or_img(obj: Any, plot: str, alt: str, caption: str) -> str | None:
    """Embed what a plotting function returned: a Figure, Axes, PNG/SVG bytes or text, or a file path."""
    from mira_hf.report.plots import figure_png

    fig = getattr(obj, "figure", None) if not hasattr(obj, "savefig") else obj
    if fig is not None and hasattr(fig, "savefig"):
        return _img(figure_png(fig), plot, alt, caption)
    if isinstance(obj, (str, Path)) and not str(obj).lstrip().startswith("<") and Path(obj).is_file():
        obj = Path(obj).read_bytes()
    if isinstance(obj, str):
        obj = obj.encode("utf-8")
    if isinstance(obj, (bytes, bytearray)):
        blob = bytes(obj)
        if blob.startswith(b"\x89PNG"):
            return _img(blob, plot, alt, caption)
        text = blob.decode("utf-8", errors="replace")
        start = text.find("<svg")
        if start >= 0:
            return (
                f'<figure data-plot="{escape(plot)}" role="img" aria-label="{escape(alt)}">{text[start:]}'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    return None


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def scrub(params: Mapping[str, Any]) -> dict[str, str]:
    """Flatten parameters one level (``scorer.model``) to strings, hiding anything that looks like a secret.

    Example:
        >>> scrub({"model": "m", "api_key": "sk-123", "hub": {"token": "hf_x"}})
        {'model': 'm', 'api_key': '(hidden)', 'hub.token': '(hidden)'}
    """
    out: dict[str, str] = {}

    def put(key: str, value: Any) -> None:
        if is_secret_key(key):
            if value not in (None, "", False):
                out[key] = HIDDEN
            return
        if isinstance(value, Mapping) and set(value) == {"kind", "value"}:  # a retention rule
            value = f"{value['kind']} {value['value']}"
        if isinstance(value, Mapping):
            for k, v in value.items():
                put(f"{key}.{k}", v)
            return
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value) if len(value) <= 8 else f"[{len(value)} values]"
        if isinstance(value, float):
            value = f"{value:.4g}"
        out[key] = redact(str(value))

    for key, value in params.items():
        put(str(key), value)
    return out


def _summary_section(data: ReportData, sel: dict[str, SourceSelection]) -> str:
    headers = ["source", "rows"]
    if data.statuses is not None:
        headers += data.statuses
    if data.truncated is not None:
        headers.append("truncated")
    if data.scores is not None:
        headers += [f"scored ({data.score_column})", "median"]
    if sel:
        headers += ["kept", "kept share"]

    def row(i: int | None) -> list[str]:
        pick = (lambda a: a.sum(0)) if i is None else (lambda a: a[i])
        n = int(pick(data.rows))
        cells = [escape(data.sources[i]) if i is not None else "all sources", _int(n)]
        if data.statuses is not None:
            cells += [_int(c) for c in pick(data.status_counts)]
        if data.truncated is not None:
            cells.append(_pct(int(pick(data.truncated)) / n if n else float("nan")))
        if data.scores is not None:
            vals = data.scores[i] if i is not None else np.concatenate(data.scores) if data.scores else np.array([])
            cells += [_int(len(vals)), _num(float(np.median(vals))) if len(vals) else "—"]
        if sel:
            kept = (
                (sel[data.sources[i]].kept if data.sources[i] in sel else None)
                if i is not None
                else sum(e.kept for e in sel.values())
            )
            cells += ["—", "—"] if kept is None else [_int(kept), _pct(kept / n if n else float("nan"))]
        return cells

    body = _table(headers, [row(i) for i in range(len(data.sources))], total=row(None))
    extra = [name for name in sel if name not in data.sources]
    if extra:
        body += _note(
            f"Selection entries that are not sources of this dataset (groups or a global cut): "
            f"{', '.join(extra)}; their kept rows count in the total."
        )
    return _section("summary", "Summary", body)


def _plotted(data: ReportData) -> list[int]:
    """Indices of the sources drawn in per-source plots: all, or the largest `MAX_PLOTTED_SOURCES`."""
    idx = list(range(len(data.sources)))
    if len(idx) > MAX_PLOTTED_SOURCES:
        keep = set(np.argsort(-data.rows, kind="stable")[:MAX_PLOTTED_SOURCES].tolist())
        idx = [i for i in idx if i in keep]
    return idx


def _scores_section(data: ReportData, sel: dict[str, SourceSelection], idx: list[int]) -> str:
    from mira_hf.report.plots import plot_score_histograms

    if data.scores is None:
        return _section("scores", "Score distributions", _note("No score column to plot."))
    lo, hi = data.score_range
    edges = np.linspace(lo, hi, 41 if hi - lo <= 10 else 51)
    counts = {data.sources[i]: np.histogram(data.scores[i], bins=edges)[0] for i in idx}
    cuts = {name: e.cut_score for name, e in sel.items() if e.cut_score is not None}
    fig = plot_score_histograms(counts, edges, xlabel=data.score_column or "score", cut_scores=cuts)
    body = _img(
        _png(fig),
        "score-histograms",
        f"Histogram of {data.score_column} per source",
        f"Distribution of {data.score_column} per source (rows with a null score are not drawn)"
        + ("; dashed line: the selection's cut." if cuts else "."),
    )
    return _section("scores", f"Score distributions ({data.score_column})", body)


def _png(fig: Any) -> bytes:
    from mira_hf.report.plots import figure_png

    return figure_png(fig)


def _dimensions_section(data: ReportData, idx: list[int]) -> str:
    from mira_hf.report.plots import dimension_labels, plot_dimension_boxes, plot_dimension_means

    if data.dim_means is None or data.dim_quantiles is None or data.dim_missing is None:  # set together
        return _section("dimensions", "Scores per dimension", _note(f"No {SCORES_COLUMN!r} column to plot."))
    names = [data.sources[i] for i in idx]
    labels = dimension_labels(data.slots, data.dimensions)
    heat = plot_dimension_means(data.dim_means[:, idx], names, labels)
    boxes = plot_dimension_boxes(
        data.dim_quantiles[:, idx, :], names, dimension_labels(data.slots, data.dimensions, 44)
    )
    body = _img(
        _png(heat),
        "dimension-means",
        "Mean score per dimension and source",
        "Mean of mira_scores per rubric dimension (rows) and source (columns), over the rows that have a "
        "score for that dimension; grey: no score.",
    )
    body += _img(
        _png(boxes),
        "dimension-boxes",
        "Score spread per dimension and source",
        "Per dimension, one box per source: quartiles and median, whiskers at the 5th and 95th percentiles.",
    )
    missing = data.dim_missing[:, idx]
    rows = [
        [escape(s), escape(n)] + [_pct(v) for v in missing[d]]
        for d, (s, n) in enumerate(zip(data.slots, data.dimensions))
    ]
    body += "<details><summary>Share of rows with no score, per dimension and source</summary>"
    body += _table(["slot", "dimension", *(escape(n) for n in names)], rows, name_cols=2) + "</details>"
    return _section("dimensions", "Scores per dimension", body)


def _reliability_section(rel: Any) -> str:
    if rel is None:
        return _section(
            "reliability",
            "Reliability",
            _note(
                "No agreement result or reliability mask given: pass agreement= (what evaluate.load('mira_agreement')"
                ".compute returns) or reliability= to show the heatmap and the mask."
            ),
        )
    body = ""
    plot_reliability: Callable[..., Any] | None
    try:
        from mira_hf.report.heatmap import plot_reliability
    except ImportError:
        plot_reliability = None
        body += _note(
            "The reliability heatmap needs mira_hf.report.heatmap.plot_reliability, which this installation "
            "does not provide; the mask table below shows the same cells."
        )
    if plot_reliability is not None:
        try:
            fig = _svg_or_img(
                plot_reliability(rel),
                "reliability-heatmap",
                "Reliability heatmap: MAE and Spearman per source and dimension",
                "Teacher–student agreement per source × dimension; masked cells are marked.",
            )
            body += fig or _note("plot_reliability returned nothing that can be embedded.")
        except Exception as e:  # one plot must not cost the user the whole report
            logger.warning("the reliability heatmap could not be drawn: %s", e)
            body += _note(f"The reliability heatmap could not be drawn: {type(e).__name__}: {e}")
    slots = [f"A{i + 1}" for i in range(len(rel.dimensions))]
    headers = ["source"] + [f'<span title="{escape(n)}">{s}</span>' for s, n in zip(slots, rel.dimensions)]
    rows: list[list[Any]] = []
    for source, mask in rel.mask.items():
        stats = rel.stats.get(source)
        cells: list[Any] = [escape(source)]
        for d, ok in enumerate(mask):
            if stats is not None:
                mae, rho, n = stats.mae[d], stats.spearman[d], stats.support[d]
                tip = f"{rel.dimensions[d]}: MAE {_num(mae)}, Spearman {_num(rho)}, n={n}"
                text = f"{_num(mae)}<br>{_num(rho)}"
            else:
                tip, text = rel.dimensions[d], ("✓" if ok else "✗")
            cells.append((f'<span title="{escape(tip)}">{text}</span>', "ok" if ok else "masked"))
        rows.append(cells)
    table = _table(headers, rows, cls="mask")
    reliable = sum(sum(m) for m in rel.mask.values())
    total = sum(len(m) for m in rel.mask.values())
    body += (
        f"<p>{reliable} of {total} (source × dimension) cells are reliable: MAE ≤ {_num(rel.mae_max)} and "
        f"Spearman ρ ≥ {_num(rel.spearman_min)} with at least {rel.min_support} rows. Green cells are used "
        f"in mira_quality; red cells are masked."
        + (" Each cell shows MAE over ρ." if rel.stats else "")
        + "</p>"
        + table
    )
    key = "; ".join(f"{s} {escape(n)}" for s, n in zip(slots, rel.dimensions))
    body += f'<p class="meta">Slots: {key}.</p>'
    return _section("reliability", "Reliability", body)


def to_reliability(obj: Any, rubric: Rubric | None = None) -> Any:
    """A [`mira_hf.reliability.Reliability`][mira_hf.reliability.Reliability] from itself, an agreement result, a
    saved/dumped Reliability,
    a ``{"mask": {...}}`` payload or a bare ``{source: [bool, ...]}`` mask."""
    from mira_hf.reliability import Reliability, as_reliability

    if isinstance(obj, Mapping):
        if "format_version" in obj or "stats" in obj:
            try:
                return Reliability.model_validate(dict(obj))
            except ValidationError as e:
                raise ConfigurationError(f"not a reliability object: {e.errors()[0]['msg']}") from None
        if "mask" in obj and "dimensions" not in obj:
            obj = obj["mask"]
    return as_reliability(obj, rubric)


def _retention_section(data: ReportData, view: SelectionView, idx: list[int]) -> str:
    from mira_hf.report.plots import plot_retention_curves

    if data.scores is None:
        return _section("retention", "Retention curves", _note("No score column: retention curves are left out."))
    lo, hi = data.score_range
    grid = np.linspace(lo, hi, CURVE_POINTS)
    curves = {data.sources[i]: (grid, retention_curve(data.scores[i], int(data.rows[i]), grid)) for i in idx}
    sel = view.entries
    cuts, global_cuts = {}, dict(view.shared_cuts)
    for name, e in sel.items():
        if e.cut_score is None:
            continue
        if name in curves:
            n = e.rows if e.rows else int(data.rows[data.sources.index(name)])
            cuts[name] = (e.cut_score, e.kept / n if n else 0.0)
        else:
            global_cuts[name] = e.cut_score
    fig = plot_retention_curves(curves, xlabel=f"cut on {data.score_column}", cuts=cuts, global_cuts=global_cuts)
    body = _img(
        _png(fig),
        "retention-curves",
        "Kept share versus cut score per source",
        f"Share of each source's rows with {data.score_column} ≥ the cut (rows with a null score are never "
        "kept)" + ("; dots: the selection's actual cut and kept share." if cuts else "."),
    )
    if sel:
        rows = [
            [
                escape(name),
                _int(e.rows) if e.rows is not None else "—",
                _int(e.kept),
                _pct(e.kept / e.rows) if e.rows else "—",
                _num(e.cut_score),
            ]
            for name, e in sel.items()
        ]
        body += _table(["selection entry", "rows", "kept", "kept share", "cut score"], rows)
    return _section("retention", "Retention curves", body)


def _status_section(data: ReportData, idx: list[int]) -> str:
    from mira_hf.report.plots import plot_status_counts

    if data.status_counts is None and data.truncated is None:
        return _section("status", "Status and truncation", _note("No mira_status or mira_truncated column."))
    names = [data.sources[i] for i in idx]
    rows = data.rows[idx]
    if data.status_counts is not None:
        counts, statuses = data.status_counts[idx], data.statuses or []  # set with the counts
    else:  # truncation only
        counts, statuses = rows[:, None], ["rows"]
    trunc = None
    if data.truncated is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            trunc = np.where(rows > 0, data.truncated[idx] / np.maximum(rows, 1), 0.0)
    fig = plot_status_counts(counts, names, statuses, trunc)
    body = _img(
        _png(fig),
        "status-counts",
        "mira_status shares and truncation share per source",
        "Share of each mira_status per source"
        + (", and the share of rows shortened to fit the context." if trunc is not None else "."),
    )
    if data.status_counts is not None:
        total = data.status_counts.sum(0)
        n = max(int(data.rows.sum()), 1)
        body += _table(
            ["status", "rows", "share"], [[escape(s), _int(c), _pct(c / n)] for s, c in zip(statuses, total)]
        )
    return _section("status", "Status and truncation", body)


def _parameters_section(params: dict[str, str]) -> str:
    rows = [[escape(k), escape(v)] for k, v in params.items()]
    return _section("parameters", "Parameters", _table(["parameter", "value"], rows, cls="kv"))


def render_html(
    data: ReportData,
    *,
    title: str,
    reliability: Any = None,
    selection: SelectionView | None = None,
    parameters: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    inspection: Any = None,
    records: str = "",
) -> str:
    """The report as one HTML string (plots embedded as base64 PNG); ``records`` is the records section's HTML
    (`mira_hf.report.records_html.records_section`), left out when empty."""
    from mira_hf.report.records_html import RECORDS_CSS

    view = selection or SelectionView(entries={})
    sel = view.entries
    idx = _plotted(data)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    all_notes = list(data.notes) + list(notes)
    if len(idx) < len(data.sources):
        all_notes.append(
            f"{len(data.sources)} sources: the per-source plots show the {len(idx)} largest; the tables list them all."
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="mira-hf {escape(__version__)}">',
        f"<title>{escape(title)}</title><style>{_CSS}{RECORDS_CSS if records else ''}</style></head><body><main>",
        f'<header><h1>{escape(title)}</h1><p class="meta">{_int(data.n_rows)} rows · {len(data.sources)} sources · '
        f"generated {now} by mira-hf {escape(__version__)}</p></header>",
        '<nav><a href="#summary">Summary</a><a href="#scores">Scores</a><a href="#dimensions">Dimensions</a>'
        '<a href="#reliability">Reliability</a><a href="#retention">Retention</a><a href="#status">Status</a>'
        + ('<a href="#records">Records</a>' if records else "")
        + ('<a href="#reads">What the scorer reads</a>' if inspection is not None else "")
        + '<a href="#parameters">Parameters</a></nav>',
        "".join(_note(n) for n in all_notes),
        _summary_section(data, sel),
    ]
    if data.n_rows:
        parts += [
            _scores_section(data, sel, idx),
            _dimensions_section(data, idx),
            _reliability_section(reliability),
            _retention_section(data, view, idx),
            _status_section(data, idx),
        ]
    else:
        parts.append(_reliability_section(reliability))
    parts.append(records)
    if inspection is not None:  # its own anchor: #records is the records section
        parts.append(inspection.to_html())
    parts += [_parameters_section(scrub(parameters or {})), "</main></body></html>"]
    return "\n".join(parts)


def _gather_parameters(
    rubric: Rubric, data: ReportData, rel: Any, sel_params: Mapping[str, Any], parameters: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """The parameters table (explicit ones first, then rubric, agreement, selection) and any mismatch notes."""
    out: dict[str, Any] = dict(parameters or {})
    notes: list[str] = []
    sel = dict(sel_params)
    for key, value in (sel.pop("scorer", None) or {}).items():  # the scorer's identity, as the selection saw it
        out.setdefault(key, value)
    if sel.get("prompt_version") is not None:
        out.setdefault("prompt_version", sel.pop("prompt_version"))
    out.setdefault("rubric", rubric.name)
    out.setdefault("rubric_hash", rubric.content_hash)
    out.setdefault("dimensions", len(rubric))
    sel_rubric = sel.pop("rubric", None)
    if isinstance(sel_rubric, Mapping) and sel_rubric.get("hash") not in (None, rubric.content_hash):
        out["selection.rubric"] = sel_rubric.get("name")
        out["selection.rubric_hash"] = sel_rubric.get("hash")
        notes.append(
            f"The selection was made with rubric {sel_rubric.get('name')!r} but this report labels the "
            f"dimensions with {rubric.name!r}; pass the same rubric= to both."
        )
    if out.get("rubric_hash") not in (None, rubric.content_hash):
        notes.append(
            f"The scorer used rubric hash {out['rubric_hash']}, not that of {rubric.name!r} "
            f"({rubric.content_hash}); pass the scorer's rubric as rubric=."
        )
    if data.score_column:
        out.setdefault("score_column", data.score_column)
    if rel is not None:
        for key in ("mae_max", "spearman_min", "min_support"):
            out.setdefault(f"reliability.{key}", getattr(rel, key))
        cells = [c for row in rel.mask.values() for c in row]
        out.setdefault("reliability.reliable_cells", f"{sum(cells)} of {len(cells)}")
    for key, value in sel.items():
        if key == "parameters" and isinstance(value, Mapping):
            for k, v in value.items():
                out.setdefault(f"selection.{k}", v)
        elif key != "mira_hf_version":
            out.setdefault(f"selection.{key}", value)
    out.setdefault("mira_hf_version", __version__)
    return {k: v for k, v in out.items() if v is not None}, notes


def _records(
    ds: Any,
    data: ReportData,
    view: SelectionView,
    rel: Any,
    *,
    source_column: str | None,
    samples: int,
    teacher_column: str | None,
    seed: int,
) -> str:
    """The records section (empty with ``samples=0``; a note where the dataset cannot be sampled)."""
    from mira_hf.report.records_html import records_section

    if samples <= 0:
        return ""
    if not hasattr(ds, "select") or not hasattr(ds, "column_names") or isinstance(ds.column_names, Mapping):
        return _section("records", "Records", _note("Records are sampled from a Dataset (not a dict or a stream)."))
    if data.scores is None or not data.score_column or not source_column:
        return _section("records", "Records", _note("Records need a source and a score column."))
    cuts = {name: e.cut_score for name, e in view.entries.items() if e.cut_score is not None}
    if "global" in view.shared_cuts:
        cuts = {s: cuts.get(s, view.shared_cuts["global"]) for s in data.sources}
    return records_section(
        ds, cuts=cuts, reliability=rel, dimensions=data.dimensions, source_column=source_column,
        score_column=data.score_column, teacher_column=teacher_column, samples=samples, seed=seed,
    )  # fmt: skip


def build_report(
    ds: Any,
    *,
    agreement: Any = None,
    reliability: Any = None,
    selection: Any = None,
    path: str | os.PathLike[str] = "report.html",
    title: str = DEFAULT_TITLE,
    source_column: str | None = "source",
    score_column: str = "mira_quality",
    rubric: str | Path | Rubric = "agent-group4",
    parameters: Mapping[str, Any] | None = None,
    inspection: Any = None,
    samples: int = 3,
    teacher_column: str | None = None,
    seed: int = 0,
) -> Path:
    """Write one self-contained HTML report of a scored dataset and return its path.

    Sections: summary table, score histograms per source, per-dimension mean grid and boxes, the reliability
    heatmap and mask (from ``agreement`` — what ``mira_agreement`` returns — or a ``Reliability``), retention
    curves with the ``selection``'s cuts, status and truncation shares, and the parameters (``parameters=``,
    e.g. ``scorer.identity()``, plus the rubric hash and what the selection records; secrets are hidden), and
    what the scorer reads (``inspection=``: a `mira_hf.inspect` result, or ``True`` to inspect ``ds`` now), and
    the records behind the numbers: ``samples`` rows of each kind per source (top, around the cut, bottom, random
    kept and dropped; 0 leaves the section out), the rows ``teacher_column`` (``teacher_scores`` when present)
    disputes most on each masked cell, and the rows that could not be scored, drawn with ``seed``.
    Missing inputs leave their part out with a note. Only the needed columns are read, with Arrow.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({
        ...     "source": ["swe_qa", "davinc_dev"], "mira_overall": [71.0, 38.0],
        ...     "mira_status": ["ok", "partial"], "mira_truncated": [False, True],
        ... })
        >>> build_report(ds, path=tmp / "report.html").name  # doctest: +SKIP
        'report.html'
    """
    rub = load_rubric(rubric)
    data = summarize(ds, rubric=rub, source_column=source_column, score_column=score_column)
    view = read_selection(selection) if selection is not None else SelectionView(entries={})
    rel, rel_notes = None, []
    if reliability is not None or agreement is not None:
        rel = to_reliability(reliability if reliability is not None else agreement, rub)
    elif view.mask is not None:
        try:
            rel = to_reliability(view.mask, rub)
        except ConfigurationError as e:
            rel_notes.append(f"The reliability mask the selection carries cannot be read: {e}")
    params, notes = _gather_parameters(rub, data, rel, view.parameters, parameters)
    if inspection is True:
        from mira_hf.prompting.inspection import inspect

        inspection = inspect(ds, rubric=rub, n=3, progress=False)
    text = render_html(
        data,
        title=title,
        reliability=rel,
        selection=view,
        parameters=params,
        notes=rel_notes + notes,
        inspection=inspection or None,
        records=_records(
            ds, data, view, rel, source_column=source_column, samples=samples, teacher_column=teacher_column, seed=seed
        ),
    )

    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:  # written whole, then renamed into place
        tmp.write_text(text, encoding="utf-8")
    return target
