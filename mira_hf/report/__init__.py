"""The selection report: one self-contained HTML page (data, plots, tables) and the reliability heatmap.

Example:
    >>> from mira_hf.report import build_report  # build_report(scored, output="report.html", ...)
"""

from mira_hf.report.html import DEFAULT_TITLE, build_report, render_html

__all__ = ["DEFAULT_TITLE", "build_report", "render_html"]
