"""A record's score card draws itself in a notebook (``_repr_html_``): a bar, a score and a rationale per dimension."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mira_hf.rubric import load_rubric
from mira_hf.schema.scorecard import ScoreCard

EVIL = "<script>alert(1)</script>"


def _card() -> ScoreCard:
    scores: list[float | None] = [float(i % 11) for i in range(15)]
    scores[3] = None
    rationales: list[str | None] = [f"reason {i}" for i in range(15)]
    rationales[0], rationales[3] = EVIL, None
    return ScoreCard(
        scores=scores,
        rationales=rationales,
        overall=72.5,
        recommendation="downsample",
        domain_tag="swe & bash",
        brief="Fixes the <b>test</b>.",
        status="partial",
    )


def _rows(html: str) -> list[list[ET.Element]]:
    root = ET.fromstring(html)
    return [list(tr) for tr in root.find("table").find("tbody")]


def test_the_card_shows_each_slot_with_its_score_bar_and_rationale():
    card = _card()
    html = card._repr_html_()
    rows = _rows(html)
    assert [r[0].text for r in rows] == [f"A{i}" for i in range(1, 16)]  # no rubric: the slot ids
    assert [r[1].text for r in rows][:5] == ["0", "1", "2", "—", "4"]
    assert rows[10][1].text == "10" and rows[14][1].text == "3"
    bar = rows[10][2].find("div").find("div")  # the inner bar: its width is the score out of 10
    assert "width: 100%" in bar.get("style")
    assert "width: 30%" in rows[14][2].find("div").find("div").get("style")
    assert rows[1][3].text == "reason 1" and rows[3][3].text is None
    text = "".join(ET.fromstring(html).itertext())
    for fact in ("72.5 / 100", "downsample", "swe & bash", "Fixes the <b>test</b>.", "partial"):
        assert fact in text


def test_markup_in_a_rationale_or_the_brief_is_shown_as_text():
    html = _card()._repr_html_()
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>test</b>" not in html
    assert _rows(html)[0][3].text == EVIL


def test_the_rubric_names_the_dimensions():
    rubric = load_rubric("agent-group4")
    rows = _rows(_card().to_html(rubric.names))
    assert [r[0].text for r in rows] == rubric.names


def test_a_card_that_did_not_parse_still_draws():
    card = ScoreCard(scores=[None] * 15, rationales=[None] * 15)
    root = ET.fromstring(card._repr_html_())
    assert "parse_error" in "".join(root.itertext()) and len(_rows(card._repr_html_())) == 15
