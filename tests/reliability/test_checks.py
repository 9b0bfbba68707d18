"""Thresholds checked against the rows there are, before agreement is measured."""

from __future__ import annotations

import datasets

from mira_hf.reliability import agreement
from mira_hf.reliability.checks import source_counts, support_warning


def test_the_warning_names_the_threshold_the_rows_and_the_value_that_works():
    assert support_warning({"swe_qa": 12, "davinc_dev": 9}, 30) == (
        "min_support=30 but every source has at most 12 rows: every (source × dimension) cell will be masked; "
        "pass min_support= <= 12"
    )
    assert support_warning({"swe_qa": 40, "davinc_dev": 9}, 30) == (
        "min_support=30 but source(s) 'davinc_dev' (9 rows) have fewer rows: every cell of it will be masked; "
        "pass min_support= <= 9 to measure them"
    )
    assert support_warning({"swe_qa": 30}, 30) is None


def test_the_warning_is_right_about_the_mask_agreement_computes():
    """Where the warning says every cell is masked, `agreement` masks every cell; at the value it names, none."""
    rows = [[float(i % 11)] * 15 for i in range(12)]
    sources = ["swe_qa"] * 12
    counts = source_counts(datasets.Dataset.from_dict({"source": sources}), "source")
    assert support_warning(counts, 13) is not None
    assert agreement(rows, rows, sources=sources, min_support=13)["reliable_cells"] == 0
    assert support_warning(counts, 12) is None
    assert agreement(rows, rows, sources=sources, min_support=12)["reliable_cells"] == 15
