"""The report's "Records" section: the rows behind the numbers, with their scores, rationales and transcripts.

[`records_section`][mira_hf.report.records_html.records_section] draws a bounded, seeded sample per source with
`mira_hf.selection.samples.sample_records` (the selection's cuts, the reliability mask, the teacher scores where
present) and writes one ``<section id="records">``: per source the sampled records, the disputed rows of each
masked (source × dimension) cell under that cell, and the rows that could not be scored with their errors. Plain
inline JavaScript filters the records by source, kept or dropped, dimension, score range and text; the same state
is read from the URL fragment (``#records?source=swe_qa&kept=dropped&q=pytest``).

Example:
    >>> html = records_section(ds, cuts={"swe_qa": 6.5}, reliability=rel, dimensions=names)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mira_hf._util.html import escape as _e
from mira_hf.errors import MiraError

#: Characters of each rendered transcript the page holds; a longer one keeps its head and tail around a marker.
TRANSCRIPT_CAP = 6_000
#: Rows that could not be scored, listed per source at most.
UNSCORED_CAP = 10
#: The teacher column used when present and none is named.
TEACHER_COLUMN = "teacher_scores"
#: The highest score a dimension takes (the bars' full height).
SCORE_MAX = 10.0

_KIND_LABELS = {
    "top": "top",
    "above_cut": "just above the cut",
    "below_cut": "just below the cut",
    "bottom": "bottom",
    "random_kept": "random kept",
    "random_dropped": "random dropped",
    "random": "random",
    "disputed": "disputed",
    "unscored": "could not be scored",
}

RECORDS_CSS = """
.rec-filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; background: #f6f8fa;
  border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px; position: sticky; top: 0; z-index: 2; }
.rec-filters label { font-size: 0.9em; } .rec-filters input[type=number] { width: 5em; }
article.rec { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
article.rec header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
.rec-id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; }
.tag { font-size: 0.8em; padding: 1px 7px; border-radius: 10px; background: #eaeef2; }
.tag.kept { background: #dafbe1; } .tag.dropped { background: #ffebe9; }
table.rat td { vertical-align: top; } table.rat th, table.rat td.name { text-align: left; }
table.rat td.r { text-align: left; white-space: pre-wrap; }
table.rat tr.off td { color: #8c959f; } tr.sel td { background: #fff8c5; }
pre.transcript { white-space: pre-wrap; word-break: break-word; max-height: 40em; overflow: auto;
  background: #f6f8fa; padding: 8px; font-size: 0.85em; }
mark.cut { background: #ffd8b5; display: block; padding: 2px 4px; }
.cell-head { margin: 14px 0 2px; color: #82071e; }
"""

_JS = """
(function () {
  // its own section: a mixture page holds one per group, with prefixed ids (#agents-records)
  var root = document.currentScript && document.currentScript.closest('section');
  if (!root) return;
  var here = '#' + root.id;
  var keys = ['source', 'kept', 'dim', 'min', 'max', 'q'];
  var ctl = {};
  keys.forEach(function (k) { ctl[k] = root.querySelector('[data-filter="' + k + '"]'); });
  function num(v) { return v === '' || v === undefined ? NaN : parseFloat(v); }
  function apply() {
    var s = {}; keys.forEach(function (k) { s[k] = ctl[k].value.trim(); });
    var lo = num(s.min), hi = num(s.max), q = s.q.toLowerCase(), shown = 0;
    var recs = root.querySelectorAll('article.rec');
    recs.forEach(function (a) {
      var ok = (!s.source || a.dataset.source === s.source) && (!s.kept || a.dataset.kept === s.kept);
      var v = s.dim === '' ? num(a.dataset.score) : num((a.dataset.scores || '').split(',')[+s.dim]);
      if ((s.dim !== '' || !isNaN(lo) || !isNaN(hi)) && isNaN(v)) ok = false;
      if (!isNaN(lo) && v < lo) ok = false;
      if (!isNaN(hi) && v > hi) ok = false;
      if (ok && q && a.textContent.toLowerCase().indexOf(q) < 0) ok = false;
      a.hidden = !ok; if (ok) shown += 1;
      a.querySelectorAll('tr[data-dim]').forEach(function (r) {
        r.classList.toggle('sel', r.dataset.dim === s.dim);
      });
    });
    root.querySelectorAll('.rec-group').forEach(function (g) {
      g.hidden = !g.querySelector('article.rec:not([hidden])');
    });
    root.querySelector('.rec-count').textContent = shown + ' of ' + recs.length + ' records shown';
    return s;
  }
  function fromHash() {
    var h = location.hash, i = h.indexOf('?');
    if (i < 0 || h.slice(0, i) !== here) return;
    var p = new URLSearchParams(h.slice(i + 1));
    keys.forEach(function (k) { if (p.has(k)) ctl[k].value = p.get(k); });
    return true;
  }
  function changed() {
    var s = apply(), p = new URLSearchParams();
    keys.forEach(function (k) { if (s[k]) p.set(k, s[k]); });
    history.replaceState(null, '', here + (p.toString() ? '?' + p.toString() : ''));
  }
  keys.forEach(function (k) { ctl[k].addEventListener('input', changed); ctl[k].addEventListener('change', changed); });
  window.addEventListener('hashchange', function () { fromHash(); apply(); });
  if (fromHash()) { apply(); root.scrollIntoView(); } else { apply(); }
})();
"""


def _fmt(x: Any, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{float(x):.{digits}g}"


def _blank(value: Any) -> str:
    return "" if value is None else str(value)


def capped(text: str, cap: int = TRANSCRIPT_CAP) -> tuple[str, int]:
    """``text`` as escaped HTML of at most ``cap`` characters (head and tail around a marked cut) and how many
    characters were left out.

    Example:
        >>> capped("abcdefghij", 4)
        ('ab<mark class="cut">[… 6 characters not shown in this report …]</mark>ij', 6)
    """
    if len(text) <= cap:
        return _e(text), 0
    head, omitted = cap // 2, len(text) - cap
    marker = f'<mark class="cut">[… {omitted:,} characters not shown in this report …]</mark>'
    return _e(text[:head]) + marker + _e(text[len(text) - (cap - head) :]), omitted


def _transcript(row: Mapping[str, Any], column: str | None) -> str:
    """The rendered transcript of one row (what the scorer read), capped, in a closed ``<details>``."""
    from mira_hf.records.batches import batch_records
    from mira_hf.records.detect import render

    try:
        record = batch_records({k: [v] for k, v in row.items()}, column)[0]
        text = render(record).text
    except (MiraError, ValueError, TypeError, KeyError) as e:
        return f'<p class="meta">The record cannot be rendered: {_e(e)}</p>'
    body, omitted = capped(text)
    cut = f", cut to {TRANSCRIPT_CAP:,} characters here" if omitted else ""
    note = (
        '<p class="meta">The scorer read a shortened version of this record (mira_truncated): the middle was left out '
        "to fit the context.</p>"
        if row.get("mira_truncated")
        else ""
    )
    return (
        f"<details><summary>Transcript ({len(text):,} characters{cut})</summary>{note}"
        f'<pre class="transcript">{body}</pre></details>'
    )


def _values(row: Mapping[str, Any], column: str | None) -> list[float]:
    vals = row.get(column) if column else None
    return [math.nan if v is None else float(v) for v in (vals or [])]


def bar_strip(scores: Sequence[float], masked: Sequence[bool], teacher: Sequence[float], slots: Sequence[str]) -> str:
    """The scores as an inline SVG strip: one bar per dimension (grey where masked), the teacher's as a tick."""
    w, h, out = 12, 36, []
    for d, slot in enumerate(slots):
        s = scores[d] if d < len(scores) else math.nan
        t = teacher[d] if d < len(teacher) else math.nan
        x = d * w
        tip = f"{slot}: {_fmt(s)}" + (f", teacher {_fmt(t)}" if math.isfinite(t) else "")
        tip += " (masked)" if d < len(masked) and masked[d] else ""
        fill = "#afb8c1" if d < len(masked) and masked[d] else "#0969da"
        bar = max(0.0, min(s, SCORE_MAX)) / SCORE_MAX * h if math.isfinite(s) else 0.0
        out.append(f'<g><title>{_e(tip)}</title><rect x="{x}" y="0" width="{w - 2}" height="{h}" fill="#f6f8fa"/>')
        out.append(f'<rect x="{x}" y="{h - bar:.1f}" width="{w - 2}" height="{bar:.1f}" fill="{fill}"/>')
        if math.isfinite(t):
            ty = h - max(0.0, min(t, SCORE_MAX)) / SCORE_MAX * h
            out.append(f'<rect x="{x}" y="{ty - 1:.1f}" width="{w - 2}" height="2" fill="#bc4c00"/>')
        out.append("</g>")
    return (
        f'<svg class="bars" width="{len(slots) * w}" height="{h}" role="img" aria-label="scores per dimension">'
        + "".join(out)
        + "</svg>"
    )


class _Page:
    """What every record of the section needs: dimension labels, the mask, the columns."""

    def __init__(
        self, dimensions: Sequence[str], mask: Mapping[str, Sequence[bool]], columns: Mapping[str, Any], n: int
    ):
        self.n = n
        self.dimensions = list(dimensions)
        self.slots = [f"A{i + 1}" for i in range(len(self.dimensions))]
        self.mask = mask
        self.c = columns

    def masked(self, source: str) -> list[bool]:
        return [not ok for ok in self.mask.get(source, [True] * len(self.dimensions))]

    def rationales(self, row: Mapping[str, Any], scores: list[float], teacher: list[float], masked: list[bool]) -> str:
        texts = row.get("mira_rationales") or []
        rows = []
        for d, (slot, name) in enumerate(zip(self.slots, self.dimensions)):
            cls = ' class="off"' if masked[d] else ""
            t = f"<td>{_fmt(teacher[d])}</td>" if teacher else ""
            why = texts[d] if d < len(texts) and texts[d] else "—"
            s = scores[d] if d < len(scores) else None
            rows.append(
                f'<tr data-dim="{d}"{cls}><td class="name">{slot}</td><td class="name">{_e(name)}'
                f'{" (masked)" if masked[d] else ""}</td><td>{_fmt(s)}</td>{t}<td class="r">{_e(why)}</td></tr>'
            )
        head = "<th>slot</th><th>dimension</th><th>score</th>" + ("<th>teacher</th>" if teacher else "")
        return (
            f'<details><summary>Rationales</summary><table class="rat"><thead><tr>{head}<th>rationale</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></details>"
        )

    def record(self, row: Mapping[str, Any]) -> str:
        """One record as an ``<article class="rec">`` whose data attributes the filters read."""
        c = self.c
        source = str(row.get(c["source"]))
        flag = row.get("mira_kept")
        kept = "" if flag is None else "kept" if flag else "dropped"
        scores, teacher = _values(row, "mira_scores"), _values(row, c["teacher"])
        masked = self.masked(source)
        quality = row.get(c["score"])
        q = float(quality) if quality is not None and math.isfinite(float(quality)) else math.nan
        if row.get("mira_sample") == "unscored":
            scores = []
        kind = _KIND_LABELS.get(str(row.get("mira_sample")), str(row.get("mira_sample")))
        attrs = (
            (f'id="{_e(anchor(row.get(c["id"])))}" ' if c["id"] else "")
            + f'data-id="{_e(row.get(c["id"]) if c["id"] else "")}" data-source="{_e(source)}" data-kept="{kept}" '
            f'data-kind="{_e(row.get("mira_sample"))}" data-cell="{_e(_blank(row.get("mira_sample_dimension")))}" '
            f'data-score="{"" if math.isnan(q) else q}" '
            f'data-scores="{",".join("" if math.isnan(s) else f"{s:g}" for s in scores)}"'
        )
        head = (
            f'<header><span class="rec-id">{_e(row.get(c["id"], "—") if c["id"] else "—")}</span>'
            f'<span class="tag">{_e(source)}</span><span class="tag {kept}">{kept or "no selection"}</span>'
            f'<span class="tag">{_e(kind)}</span><span>{_e(c["score"])} <b>{_fmt(q, 3)}</b></span>'
            f"<span>status {_e(row.get('mira_status', '—'))}</span></header>"
        )
        transcript = "" if c["record"] is False else _transcript(row, c["record"])
        if row.get("mira_sample") == "unscored" or not any(math.isfinite(v) for v in scores):
            error = row.get("mira_error") or f"no {c['score']} (no reliable scored dimension)"
            return f'<article class="rec" {attrs}>{head}<p class="error">error: {_e(error)}</p>{transcript}</article>'
        facts = (
            f"overall <b>{_fmt(row.get('mira_overall'), 3)}</b> · recommendation "
            f"<b>{_e(row.get('mira_recommendation') or '—')}</b> · domain "
            f"<b>{_e(row.get('mira_domain_tag') or '—')}</b>"
        )
        strip = bar_strip(scores, masked, teacher, self.slots)
        return (
            f'<article class="rec" {attrs}>{head}<p>{strip} {facts}</p>'
            f"<p>{_e(row.get('mira_brief') or '')}</p>{self.rationales(row, scores, teacher, masked)}"
            f"{transcript}</article>"
        )


def anchor(value: Any) -> str:
    """The HTML id of a record: ``rec-`` and its id, whitespace made ``_`` (ids may hold anything else)."""
    return "rec-" + "_".join(str(value).split())


def _link(row: Mapping[str, Any], page: Any, dim: int) -> str:
    """A line under a disputed cell pointing at a record shown elsewhere on the page, with the two scores."""
    ident = row.get(page.c["id"]) if page.c["id"] else None
    student, teacher = _values(row, "mira_scores"), _values(row, page.c["teacher"])
    pair = [f"{v[dim]:g}" if dim < len(v) and math.isfinite(v[dim]) else "—" for v in (student, teacher)]
    target = f'<a href="#{_e(anchor(ident))}">{_e(ident)}</a>' if ident is not None else "a row"
    return f'<p class="disputed-link">{target} (shown above): student {pair[0]}, teacher {pair[1]} on A{dim + 1}</p>'


def _cut_reason(rel: Any, source: str, dim: int, dimensions: Sequence[str]) -> str:
    stats = getattr(rel, "stats", {}).get(source) if rel is not None else None
    masked = rel is None or not (getattr(rel, "mask", {}).get(source) or [True] * (dim + 1))[dim]
    state = "masked" if masked else "reliable, near its threshold"
    why = f"{source} × A{dim + 1} {dimensions[dim] if dim < len(dimensions) else ''}: {state}"
    if stats is not None:
        why += f" (MAE {_fmt(stats.mae[dim])}, Spearman {_fmt(stats.spearman[dim])}, n={stats.support[dim]})"
    return f'<h4 class="cell-head">{_e(why)}; the rows the student and the teacher disagree on most:</h4>'


def _filters(sources: Sequence[str], slots: Sequence[str], dimensions: Sequence[str]) -> str:
    opts = "".join(f'<option value="{_e(s)}">{_e(s)}</option>' for s in sources)
    dims = "".join(f'<option value="{d}">{s} {_e(n)}</option>' for d, (s, n) in enumerate(zip(slots, dimensions)))
    return (
        '<div class="rec-filters">'
        f'<label>source <select data-filter="source"><option value="">all</option>{opts}</select></label>'
        '<label>kept <select data-filter="kept"><option value="">all</option><option value="kept">kept</option>'
        '<option value="dropped">dropped</option></select></label>'
        f'<label>dimension <select data-filter="dim"><option value="">{"mira_quality"}</option>{dims}</select></label>'
        '<label>score from <input type="number" step="any" data-filter="min"></label>'
        '<label>to <input type="number" step="any" data-filter="max"></label>'
        '<label>search <input type="search" data-filter="q" placeholder="id, rationale, transcript"></label>'
        '<span class="rec-count meta"></span></div>'
    )


def _groups(picked: Sequence[Mapping[str, Any]], page: _Page, rel: Any) -> tuple[list[str], str, str]:
    """The sources in order, the sampled records grouped per source, and the could-not-be-scored list."""
    sources: list[str] = []
    body: dict[str, list[str]] = {}
    cells: dict[tuple[str, int], list[str]] = {}
    failed: list[str] = []
    for row in picked:
        source = str(row.get(page.c["source"]))
        if source not in body:
            sources.append(source)
            body[source] = []
        kind = row.get("mira_sample")
        if kind == "unscored":
            failed.append(page.record(row))
        elif kind == "disputed":  # picked for its dispute alone: shown under its (first) cell
            first = int(row["mira_sample_dimension"])
            cells.setdefault((source, first), []).append(page.record(row))
            for d in row.get("mira_disputed") or ():
                if d != first:
                    cells.setdefault((source, d), []).append(_link(row, page, d))
        else:
            body[source].append(page.record(row))
            for d in row.get("mira_disputed") or ():  # shown above: the cell points at it
                cells.setdefault((source, d), []).append(_link(row, page, d))
    html_parts = []
    for source in sources:
        disputed = "".join(
            f'<div class="rec-group">{_cut_reason(rel, s, d, page.dimensions)}{"".join(recs)}</div>'
            for (s, d), recs in cells.items()
            if s == source
        )
        short = [
            f"A{d + 1}" for d, off in enumerate(page.masked(source)) if off and len(cells.get((source, d), [])) < page.n
        ]
        if page.c["teacher"] and short:
            disputed += (
                f'<p class="meta">Masked cells of {_e(source)} with fewer than {page.n} disputed rows listed: '
                f"{', '.join(short)}: fewer rows have both a student and a teacher score.</p>"
            )
        html_parts.append(f'<div class="rec-group"><h3>{_e(source)}</h3>{"".join(body[source])}{disputed}</div>')
    unscored = (
        '<div class="rec-group"><h3>Could not be scored</h3>'
        f'<p class="meta">Rows with no {_e(page.c["score"])}, up to {UNSCORED_CAP} per source, with their '
        f"mira_error.</p>{''.join(failed)}</div>"
        if failed
        else ""
    )
    return sources, "".join(html_parts), unscored


def records_section(
    ds: Any,
    *,
    cuts: Mapping[str, float] | None = None,
    reliability: Any = None,
    dimensions: Sequence[str] = (),
    source_column: str = "source",
    score_column: str = "mira_quality",
    id_column: str = "id",
    teacher_column: str | None = None,
    samples: int = 3,
    seed: int = 0,
) -> str:
    """The "Records" section as HTML: ``samples`` rows of each kind per source (`sample_records`), the disputed
    rows of each masked or near-threshold cell, the rows that could not be scored, and the filters.

    ``cuts`` is ``{source: cut score}`` (from the selection), ``reliability`` a ``Reliability`` (its mask greys
    dimensions and names the disputed cells), ``teacher_column`` the teacher's scores (``"teacher_scores"`` when
    present and none is named).
    """
    from mira_hf.records.batches import record_column
    from mira_hf.selection.samples import SAMPLE_COLUMNS, sample_records

    teacher = teacher_column or (TEACHER_COLUMN if TEACHER_COLUMN in ds.column_names else None)
    picked = sample_records(
        ds, cuts=cuts, reliability=reliability, source_column=source_column, score_column=score_column,
        id_column=id_column, teacher_column=teacher, seed=seed, per_kind=samples, unscored_cap=UNSCORED_CAP,
        per_cell=samples,
    )  # fmt: skip
    plain = [c for c in picked.column_names if c not in SAMPLE_COLUMNS and c not in (source_column, id_column)]
    column: str | None | bool
    try:
        column = record_column(plain)
    except MiraError:
        column = False  # no record column: no transcripts
    columns = {"source": source_column, "score": score_column, "teacher": teacher, "record": column}
    columns["id"] = id_column if id_column in picked.column_names else None
    mask = getattr(reliability, "mask", None) or {}
    page = _Page(dimensions, mask, columns, samples)
    sources, body, unscored = _groups(picked.to_list(), page, reliability)
    kinds = (
        "top, just above and just below the cut, bottom, random kept, random dropped"
        if cuts
        else ("top, bottom, random")
    )
    intro = (
        f"<p>Per source, {samples} rows of each kind ({kinds}), drawn with seed {seed} by the hash of each "
        f"row's id (the same rows however the dataset is ordered; no row twice)"
        + (f"; under each masked or near-threshold cell, the {samples} rows whose student and teacher scores "
            "differ most" if teacher
           and mask else "")
        + f". At most {UNSCORED_CAP} rows per source that could not be scored. Each transcript is what the "
        f"scorer read, cut to {TRANSCRIPT_CAP:,} characters on this page (head and tail kept, the cut marked). "
        "Grey bars: masked dimensions; orange ticks: the teacher's scores. Filters can be set in the address: "
        "<code>#records?source=…&amp;kept=dropped&amp;dim=0&amp;min=5&amp;max=10&amp;q=pytest</code>.</p>"
    )  # fmt: skip
    filters = _filters(sources, page.slots, page.dimensions)
    return (
        f'<section id="records"><h2>Records</h2>{intro}{filters}<div class="rec-list">{body}{unscored}</div>'
        f"<script>{_JS}</script></section>"
    )
