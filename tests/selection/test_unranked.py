"""Why a selection keeps no row of a source: every row of it has no score, most often because of the mask."""

from __future__ import annotations

import datasets

from mira_hf.reliability import Reliability, aggregate
from mira_hf.selection.checks import unranked_note

DIMS = ["a", "b"]


def scored(n: int) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"source": ["swe_qa"] * n + ["davinc_dev"] * n, "mira_scores": [[7.0, 6.0]] * (2 * n)}
    )


def test_a_mask_with_no_reliable_cell_is_named_as_the_reason():
    stats = {"n_records": 12, "mae": [0.0, 0.0], "spearman": [1.0, 1.0], "pearson": [1.0, 1.0]}
    stats |= {"within_1": [1.0, 1.0], "support": [12, 12]}
    rel = Reliability(
        dimensions=DIMS,
        mask={"swe_qa": [False, False], "davinc_dev": [True, True]},
        min_support=30,
        stats={"swe_qa": stats},
    )
    ds = aggregate(scored(12), mask=rel, rubric=None, source_column="source")
    assert unranked_note(ds, "mira_quality", "source", rel) == (
        "no row of source(s) 'swe_qa' has a mira_quality, so none of them can be kept: the mask marks no dimension "
        "of them reliable because min_support=30 and their support is at most 12; measure the mask again with "
        "min_support= <= 12"
    )


def test_no_note_when_every_source_has_a_score():
    rel = Reliability(dimensions=DIMS, mask={"swe_qa": [True, False], "davinc_dev": [True, True]})
    ds = aggregate(scored(3), mask=rel, rubric=None, source_column="source")
    assert unranked_note(ds, "mira_quality", "source", rel) is None
    assert unranked_note(ds.shuffle(seed=1), "mira_quality", "source", rel) is None
