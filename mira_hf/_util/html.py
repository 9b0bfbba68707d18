"""Small HTML pieces shared by the notebook views (``_repr_html_``) and the report: escaping and a table.

Every value is escaped unless it is wrapped in [`Raw`][mira_hf._util.html.Raw] (HTML a caller built itself), so
a source name or a rationale holding ``<script>`` shows as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

#: Right-aligned cells with digits that line up, for numeric columns.
NUMERIC = "text-align: right; font-variant-numeric: tabular-nums"


class Raw(str):
    """HTML built by the caller: [`escape`][mira_hf._util.html.escape] leaves it as it is."""


def escape(x: object) -> str:
    """``x`` as HTML text (``<``, ``>``, ``&`` and quotes escaped), unless it is [`Raw`][mira_hf._util.html.Raw]."""
    return x if isinstance(x, Raw) else html.escape(str(x), quote=True)


def table(
    headers: Sequence[str] | None,
    rows: Iterable[Sequence[object]],
    *,
    caption: str | None = None,
    cls: str | None = None,
    cell_class: str | None = None,
    numeric: Sequence[int] = (),
) -> Raw:
    """An HTML table, every cell escaped.

    Args:
        headers: the column names (``None``: no header row).
        rows: the cells of each row.
        caption: a caption above the table.
        cls: the table's ``class`` attribute.
        cell_class: every cell's ``class`` attribute (the report's stylesheet names them).
        numeric: the positions of the columns aligned right.

    Example:
        >>> table(["source", "kept"], [["a<b", 3]], numeric=[1])[:60]
        '<table><thead><tr><th>source</th><th style="text-align: righ'
    """
    attr = f' class="{escape(cell_class)}"' if cell_class else ""

    def cell(tag: str, i: int, value: object) -> str:
        style = f' style="{NUMERIC}"' if i in numeric else ""
        return f"<{tag}{attr}{style}>{escape(value)}</{tag}>"

    head = "" if headers is None else "<thead><tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers))
    head += "" if headers is None else "</tr></thead>"
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    top = f"<caption>{escape(caption)}</caption>" if caption else ""
    open_tag = f'<table class="{escape(cls)}">' if cls else "<table>"
    return Raw(f"{open_tag}{top}{head}<tbody>{body}</tbody></table>")
