"""An inspection draws itself in a notebook (``_repr_html_``): summary, formats and coverage; samples collapsed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import mira_hf

EVIL = "<script>alert(1)</script>"


def _records() -> list:
    chat = [{"role": "user", "content": f"Fix {EVIL} in the parser."}, {"role": "assistant", "content": "Done."}]
    return [chat, chat, json.dumps(chat), "a plain text record", "", [{"a": 1}]]


def _text(el: ET.Element) -> str:
    return "".join(el.itertext())


def test_the_inspection_draws_its_summary_formats_and_coverage():
    report = mira_hf.inspect(_records(), n=0, progress=False)
    root = ET.fromstring(report._repr_html_())
    assert root.find("h3").text == "What the scorer reads: 6 rows, 2 rejected"
    summary = {tr[0].text: tr[1].text for tr in root.find("table").find("tbody")}
    assert summary["rows"] == "6" and summary["rejected (invalid_input)"] == "2"
    tables = {h.text: t for h, t in zip(root.findall("h3")[1:], root.findall("table")[1:])}
    formats = {tr[0].text: tr[1].text for tr in tables["Formats detected"].find("tbody")}
    assert formats == {f: f"{c:,}" for f, c in report.formats.items()} == {"openai": "3", "text": "1"}
    assert "Coverage by field kind" in tables and "Rejected rows" in tables
    assert root.find("details") is None  # no samples asked for: none shown


def test_samples_are_collapsed_and_their_markup_shown_as_text():
    report = mira_hf.inspect(_records(), n=2, progress=False)
    html = report._repr_html_()
    assert EVIL not in html
    details = ET.fromstring(html).findall("details")
    assert len(details) == 2 and all(d.get("open") is None for d in details)
    assert any(EVIL in _text(d.find("pre")) for d in details)
    assert details[0].find("summary").text.startswith(f"row {report.samples[0].index} · ")
