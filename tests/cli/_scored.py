"""A scored dataset as `mira-hf score` writes it (plus teacher labels), for the command-line tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import numpy as np

#: The columns and their types; a test adds ``mira_truncated`` when it needs it.
FEATURES = {
    "id": datasets.Value("string"),
    "source": datasets.Value("string"),
    "trajectory": datasets.Value("string"),
    "teacher_scores": datasets.List(datasets.Value("float64")),
    "mira_scores": datasets.List(datasets.Value("float32")),
    "mira_overall": datasets.Value("float32"),
    "mira_recommendation": datasets.Value("string"),
    "mira_status": datasets.Value("string"),
    "mira_truncated": datasets.Value("bool"),
}


def scored_dataset(
    teacher: np.ndarray, student: np.ndarray, sources: Sequence[str], **columns: list[Any]
) -> datasets.Dataset:
    """Rows ``r000``…, one trajectory text each, the teacher's and the student's scores, ``mira_overall`` from the
    student, and ``columns`` (``mira_recommendation``, ``mira_status``, ...: each a list, one value per row)."""
    n = len(sources)
    data = {
        "id": [f"r{i:03d}" for i in range(n)],
        "source": list(sources),
        "trajectory": [f"trajectory {i}: the agent ran pytest and fixed the bug" for i in range(n)],
        "teacher_scores": teacher.tolist(),
        "mira_scores": student.tolist(),
        "mira_overall": (student.mean(1) * 10).tolist(),
        **columns,
    }
    return datasets.Dataset.from_dict(data, features=datasets.Features({k: FEATURES[k] for k in data}))
