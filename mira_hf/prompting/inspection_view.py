"""How an `Inspection` is shown: rich tables in a terminal, HTML in the report."""

from __future__ import annotations

import io
from typing import Any

from mira_hf._util.html import escape, table
from mira_hf.prompting.inspection_data import InspectionData as Inspection


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _summary_rows(r: Inspection) -> list[tuple[str, str]]:
    rows = [
        ("rows", f"{r.rows:,}"),
        ("record column", r.column or "(each row is the record)"),
        ("rejected (invalid_input)", f"{r.rejected:,}"),
    ]
    if r.coverage:
        rows.append(("coverage mean / p5 / min", " / ".join(_pct(r.coverage[k]) for k in ("mean", "p5", "min"))))
        if r.coverage_shortened:  # text given to the agent that the rendering shortens: counted as not shown
            rows.append(
                (
                    "not shown on purpose (mean)",
                    f"{_pct(r.coverage_shortened)}: tool schemas, demonstrations, long system prompts' middle",
                )
            )
        rows.append((f"rows below {_pct(r.coverage_threshold)} coverage", f"{r.below_threshold:,}"))
    if r.lengths is not None:
        q = r.lengths.quantiles
        rows.append(
            (
                f"prompt {r.lengths.unit} p50 / p90 / p99 / max",
                " / ".join(f"{q[k]:,}" for k in ("p50", "p90", "p99", "max")),
            )
        )
        rows.append(("prompt budget (max_model_len − max_tokens)", f"{r.lengths.budget:,} {r.lengths.unit}"))
        short = r.lengths.shortened
        rows.append(
            (
                "rows the budget shortens",
                f"{short:,}"
                + (
                    f" (cut {_pct(r.lengths.omitted_mean)} of the record on average, "
                    f"at most {_pct(r.lengths.omitted_max)})"
                    if short
                    else ""
                ),
            )
        )
    return rows


def to_rich(r: Inspection):
    """A rich renderable: the samples, formats, rejects, low coverage and, last (where a terminal stops), the
    summary."""
    from rich.console import Group
    from rich.table import Table

    parts: list[Any] = _sample_panels(r)
    formats = Table(title="Formats detected", title_justify="left")
    for col in ("format", "rows", "mean coverage"):
        formats.add_column(col, justify="left" if col == "format" else "right")
    for fmt, count in r.formats.items():
        formats.add_row(fmt, f"{count:,}", _pct(r.coverage_by_format.get(fmt, 1.0)))
    parts.append(formats)
    if r.coverage_by_kind:
        kinds = Table(title="Coverage by field kind", title_justify="left")
        for col in _KIND_COLUMNS:
            kinds.add_column(col, justify="right" if col in ("rows", "mean coverage") else "left")
        for row in _kind_rows(r):
            kinds.add_row(*row)
        parts.append(kinds)
    if r.reasons:
        rejects = Table(title="Rejected rows", title_justify="left")
        rejects.add_column("rows", justify="right")
        rejects.add_column("reason")
        for reason, count in r.reasons.items():
            rejects.add_row(f"{count:,}", reason)
        parts.append(rejects)
        listed = Table(title="First rejected rows", title_justify="left")
        for col in ("row", "id", "reason"):
            listed.add_column(col)
        for x in r.rejected_rows[:_LISTED]:
            listed.add_row(str(x.index), x.id or "", x.reason)
        parts.append(listed)
    if r.low_coverage:
        low = Table(title=f"Rows below {_pct(r.coverage_threshold)} coverage", title_justify="left")
        for col in ("row", "id", "format", "coverage", "text not shown (fields)"):
            low.add_column(col)
        for lc in r.low_coverage[:_LISTED]:
            low.add_row(str(lc.index), lc.id or "", lc.format, _pct(lc.coverage), ", ".join(lc.missing))
        parts.append(low)
    summary = Table(title="What the scorer reads", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    for k, v in _summary_rows(r):
        summary.add_row(k, v)
    parts.append(summary)
    return Group(*parts)


#: Rejected and low-coverage rows listed in a terminal (the JSON keeps up to 20 of each).
_LISTED = 5


def _sample_panels(r: Inspection) -> list[Any]:
    """One panel per rendered sample (``n=``), as the scorer reads the record."""
    from rich.panel import Panel

    panels: list[Any] = []
    for s in r.samples:
        title = (
            f"row {s.index}"
            + (f" · {s.id}" if s.id else "")
            + f" · {s.format} · coverage {_pct(s.coverage)} · {s.prompt_tokens:,} prompt tokens"
        )
        panels.append(Panel(s.text, title=title, title_align="left", expand=True))
    return panels


_KIND_COLUMNS = ("kind", "rows", "mean coverage", "left out on purpose")


def _kind_rows(r: Inspection) -> list[tuple[str, str, str, str]]:
    """``(kind, rows holding it, mean coverage, what the rendering leaves out on purpose)`` for each kind found."""
    from mira_hf.records.measure import KIND_NOTES

    return [(k, f"{r.rows_by_kind.get(k, 0):,}", _pct(v), KIND_NOTES.get(k, "")) for k, v in r.coverage_by_kind.items()]


def to_text(r: Inspection, width: int = 110) -> str:
    """The inspection as plain text (what ``mira-hf inspect`` prints)."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, highlight=False).print(to_rich(r))
    return buf.getvalue()


_e = escape


def _table(headers: list[str] | None, rows: list[list[str]]) -> str:
    """An HTML table; without ``headers`` a two-column key/value table (the report's ``kv`` style)."""
    return table(headers, rows, cls="kv" if headers is None else None, cell_class="name")


def to_html(r: Inspection) -> str:
    """The report's "What the scorer reads" section."""
    return '<section id="reads"><h2>What the scorer reads</h2>' + "".join(_html_parts(r)) + "</section>"


def to_notebook_html(r: Inspection) -> str:
    """The inspection in a notebook (``_repr_html_``): the report's tables under a heading, samples collapsed."""
    title = f"What the scorer reads: {r.rows:,} rows, {r.rejected:,} rejected"
    return f'<div class="mira-inspection"><h3>{_e(title)}</h3>' + "".join(_html_parts(r)) + "</div>"


def _html_parts(r: Inspection) -> list[str]:
    """The summary, formats, coverage and rejects tables, then each sample in a collapsed ``<details>``."""
    parts = [
        _table(None, [[k, v] for k, v in _summary_rows(r)]),
        "<h3>Formats detected</h3>",
        _table(
            ["format", "rows", "mean coverage"],
            [[f, f"{c:,}", _pct(r.coverage_by_format.get(f, 1.0))] for f, c in r.formats.items()],
        ),
    ]
    if r.coverage_by_kind:
        parts += ["<h3>Coverage by field kind</h3>", _table(list(_KIND_COLUMNS), [list(x) for x in _kind_rows(r)])]
    if r.reasons:
        parts += ["<h3>Rejected rows</h3>", _table(["rows", "reason"], [[f"{c:,}", k] for k, c in r.reasons.items()])]
    if r.low_coverage:
        parts += [
            f"<h3>Rows below {_pct(r.coverage_threshold)} coverage</h3>",
            _table(
                ["row", "id", "format", "coverage", "text not shown (fields)"],
                [
                    [str(x.index), x.id or "", x.format, _pct(x.coverage), ", ".join(x.missing)]
                    for x in r.low_coverage[:10]
                ],
            ),
        ]
    for s in r.samples:
        parts.append(
            f"<details><summary>row {s.index}{(' · ' + _e(s.id)) if s.id else ''} · {_e(s.format)} · "
            f"coverage {_pct(s.coverage)} · {s.prompt_tokens:,} prompt tokens</summary>"
            f'<pre style="white-space: pre-wrap">{_e(s.text)}</pre></details>'
        )
    return parts
