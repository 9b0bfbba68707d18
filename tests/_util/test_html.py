"""The HTML pieces the notebook views share: every value escaped, a table that parses."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mira_hf._util.html import Raw, escape, table


def test_escape_turns_markup_into_text_but_leaves_raw_html():
    assert escape("<script>alert('x')</script> & co") == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"
    assert escape(Raw("<b>kept</b>")) == "<b>kept</b>"
    assert escape(3) == "3"


def test_table_escapes_cells_aligns_numbers_and_parses():
    out = table(["source", "kept"], [["<script>x</script>", "1,234"]], caption="a & b", cls="t", numeric=[1])
    root = ET.fromstring(out)
    assert root.tag == "table" and root.get("class") == "t"
    assert root.find("caption").text == "a & b"
    assert [th.text for th in root.iter("th")] == ["source", "kept"]
    first, kept = root.find("tbody").find("tr")
    assert first.text == "<script>x</script>" and not list(first)  # text, not an element
    assert kept.text == "1,234" and "text-align: right" in kept.get("style")
    assert "<script>" not in out


def test_table_without_headers_is_rows_only():
    root = ET.fromstring(table(None, [["rows", "3"]], cell_class="name"))
    assert root.find("thead") is None
    assert [td.get("class") for td in root.iter("td")] == ["name", "name"]
