"""The selection report: one self-contained HTML page (data, plots, tables), the reliability heatmap, and the
records it shows (`sample_records`).

Example:
    >>> from mira_hf.report import build_report  # build_report(scored, output="report.html", ...)
"""

from mira_hf.report.cards import RecordCard, record_card
from mira_hf.report.html import DEFAULT_TITLE, build_report, render_html
from mira_hf.selection.samples import sample_records

__all__ = ["DEFAULT_TITLE", "RecordCard", "build_report", "record_card", "render_html", "sample_records"]
