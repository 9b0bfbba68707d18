"""A selection report draws itself in a notebook (``_repr_html_``): the table a user checks, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import datasets

import mira_hf

EVIL = "<script>alert(1)</script>"


def _report(**kwargs):
    ds = datasets.Dataset.from_dict(
        {
            "id": list(range(10)),
            "source": ["swe & qa"] * 6 + [EVIL] * 4,
            "mira_quality": [9.0, 8.0, 7.0, 6.0, 5.0, None, 4.0, 3.0, 2.0, 1.0],
            "tokens": [100] * 10,
        }
    )
    return mira_hf.filter_by_retention(ds, {"swe & qa": 0.5, EVIL: 0.5}, token_column="tokens", **kwargs)[1]


def _cells(html: str) -> tuple[ET.Element, dict[str, dict[str, str]]]:
    """The parsed table and ``{source: {column: cell}}`` (the total row under ``total``)."""
    root = ET.fromstring(html)
    headers = [th.text or "" for th in root.iter("th")]
    rows = {}
    for tr in root.find("tbody"):
        cells = [td.text or "" for td in tr]
        rows[cells[0]] = dict(zip(headers, cells))
    return root, rows


def test_the_report_draws_the_kept_counts_and_cut_scores_of_each_source():
    report = _report()
    root, rows = _cells(report._repr_html_())
    assert root.find("caption").text == report.to_table().title  # the title: what was kept of what
    assert "kept 5 of 10 rows" in root.find("caption").text
    swe, evil, total = rows["swe & qa"], rows[EVIL], rows["total"]
    assert (swe["rows"], swe["unscored"], swe["kept"], swe["kept %"]) == ("6", "1", "3", "50.0%")
    assert swe["rule"] == "50% of rows"
    assert swe["cut score"] == f"{report.sources['swe & qa'].cut_score:.3f}" == "7.000"
    assert (evil["kept"], evil["cut score"], evil["tokens kept"]) == ("2", "3.000", "200")
    assert (total["rows"], total["kept"], total["unscored"], total["tokens kept"]) == ("10", "5", "1", "500")
    assert root.find("tbody")[-1].get("style") == "font-weight: bold"


def test_a_source_name_holding_markup_is_shown_as_text():
    html = _report()._repr_html_()
    assert EVIL not in html and "&lt;script&gt;" in html and "swe &amp; qa" in html


def test_the_title_names_the_sampling():
    report = _report(sampling="gumbel", temperature=0.5, seed=3)
    caption = ET.fromstring(report._repr_html_()).find("caption").text
    assert "Gumbel sampling (τ=0.5, seed 3)" in caption


def test_without_a_token_column_there_is_no_tokens_column():
    ds = datasets.Dataset.from_dict({"source": ["a", "a"], "mira_quality": [1.0, 2.0]})
    _, report = mira_hf.filter_by_retention(ds, 0.5)
    _, rows = _cells(report._repr_html_())
    assert "tokens kept" not in rows["a"] and rows["a"]["cut score"] == "2.000"
