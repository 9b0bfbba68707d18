"""A score job checks every column it names before any engine starts (``--estimate`` included)."""

from __future__ import annotations

import datasets
import pytest

from mira_hf.errors import ColumnNotFoundError
from mira_hf.scoring.job import ScoreJob, check_job, estimate_job

ROWS = datasets.Dataset.from_dict({"id": ["a"], "source": ["swe_qa"], "trajectory": ["agent ran pytest"]})


def test_every_missing_column_is_named_at_once_with_the_closest_one():
    job = ScoreJob("out", settings={"text_column": "trajectories", "source_column": "src", "id_column": "id"})
    with pytest.raises(ColumnNotFoundError) as err:
        check_job(ROWS, job)
    message = str(err.value)
    assert message.startswith("2 problems: (1) no column 'trajectories' in the dataset (did you mean 'trajectory'?)")
    assert "(2) no column 'src' in the dataset (did you mean 'source'?)" in message
    assert "pass source_column= with one of them" in message


def test_the_estimate_checks_first():
    with pytest.raises(ColumnNotFoundError, match="no column 'src'"):
        estimate_job(ROWS, ScoreJob("out", settings={"source_column": "src"}))
    check_job(ROWS, ScoreJob("out", settings={"text_column": "trajectory", "source_column": "source"}))
