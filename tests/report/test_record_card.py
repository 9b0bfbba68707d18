"""``mira_hf.report.record_card``: a scored row drawn in a notebook, its dimensions named by the rubric."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mira_hf.report import record_card
from mira_hf.rubric import load_rubric
from mira_hf.scoring.scorer import _row_from_card
from mira_hf.testing.fake_engine import card_for


def _row(**extra) -> dict:
    """A row as the scorer writes it (the ``mira_*`` columns of one scored record, made by the scorer's own code)."""
    card = card_for("Fix the failing test.")
    return {"trajectory": "…"} | _row_from_card(card, load_rubric("agent-group4")) | extra


def test_a_scored_row_draws_with_the_rubric_names_and_its_scores():
    row = _row()
    root = ET.fromstring(record_card(row)._repr_html_())
    rows = list(root.find("table").find("tbody"))
    assert [tr[0].text for tr in rows] == load_rubric("agent-group4").names
    assert [tr[1].text for tr in rows] == [f"{s:.3g}" for s in row["mira_scores"]]
    assert f"{row['mira_overall']:.3g} / 100" in "".join(root.itertext())


def test_without_a_rubric_the_slots_are_named_and_a_failed_row_shows_its_error():
    row = _row(
        mira_scores=[None] * 15,
        mira_rationales=[None] * 15,
        mira_overall=None,
        mira_status="engine_error",
        mira_error="<timeout> after 3 tries",
    )
    html = record_card(row, rubric=None)._repr_html_()
    root = ET.fromstring(html)
    assert [tr[0].text for tr in root.find("table").find("tbody")][:2] == ["A1", "A2"]
    text = "".join(root.itertext())
    assert "error: <timeout> after 3 tries" in text and "engine_error" in text and "<timeout>" not in html
