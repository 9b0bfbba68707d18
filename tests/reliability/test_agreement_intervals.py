"""Bootstrap intervals of the agreement, the mask by the interval's bound, and parse failures per cell."""

from __future__ import annotations

import math

import datasets
import numpy as np
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from mira_hf.cli import app
from mira_hf.errors import ConfigurationError
from mira_hf.publish.card import render_card
from mira_hf.reliability import Reliability, agreement, reliability_mask
from mira_hf.selection import filter_by_retention


def population(size: int = 400_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Teacher scores 0–10 and a student that is close on dimension 1 and loose on dimension 2."""
    rng = np.random.default_rng(seed)
    teacher = rng.integers(0, 11, (size, 2)).astype(np.float64)
    noise = np.round(rng.normal(0, [0.8, 2.5], (size, 2)))
    return np.clip(teacher + noise, 0, 10), teacher


def test_intervals_cover_the_true_values_at_the_nominal_rate():
    """200 samples of 300 rows from a known population: each 90 % interval should hold the truth ~180 times."""
    student, teacher = population()
    true_mae = np.abs(student - teacher).mean(0)
    true_rho = [spearmanr(student[:, j], teacher[:, j])[0] for j in range(2)]
    rng = np.random.default_rng(1)
    trials, n, level = 200, 300, 0.9
    covered = np.zeros((2, 2), dtype=int)  # (statistic, dimension)
    for t in range(trials):
        rows = rng.integers(0, len(teacher), n)
        cell = agreement(student[rows], teacher[rows], rubric=None, bootstrap=300, confidence=level, seed=t)
        for j in range(2):
            covered[0, j] += cell["mae_low"][j] <= true_mae[j] <= cell["mae_high"][j]
            covered[1, j] += cell["spearman_low"][j] <= true_rho[j] <= cell["spearman_high"][j]
    expected, sd = trials * level, math.sqrt(trials * level * (1 - level))
    assert np.all(np.abs(covered - expected) <= 3.5 * sd), covered  # binomial tolerance, ~1 in 2000 false alarms


def test_same_seed_same_intervals_and_they_bracket_the_estimate():
    student, teacher = population(3000, seed=2)
    sources = np.array(["agent_openhands", "swe_qa"])[np.arange(3000) % 2]
    first = agreement(student, teacher, sources=sources, rubric=None, bootstrap=300, seed=5)
    again = agreement(student, teacher, sources=sources, rubric=None, bootstrap=300, seed=5)
    assert first == again
    for cell in first["by_source"].values():
        for j in range(2):
            assert cell["mae_low"][j] <= cell["mae"][j] <= cell["mae_high"][j]
            assert cell["spearman_low"][j] <= cell["spearman"][j] <= cell["spearman_high"][j]
    assert first["bootstrap"] == 300 and first["confidence"] == 0.95 and first["mask_by"] == "point"


def test_mask_by_bound_drops_a_cell_whose_interval_crosses_the_threshold():
    rng = np.random.default_rng(4)
    teacher = rng.integers(0, 11, (60, 1)).astype(float)
    student = np.clip(teacher + rng.choice([-1.0, 0.0, 1.0], (60, 1), p=[0.45, 0.1, 0.45]), 0, 10)
    mae = agreement(student, teacher, rubric=None)["mae"][0]
    limit = mae + 0.01  # the estimate passes; 60 rows leave the upper bound well above it
    point = agreement(student, teacher, rubric=None, bootstrap=500, mae_max=limit)
    bound = agreement(student, teacher, rubric=None, bootstrap=500, mae_max=limit, mask_by="bound")
    assert point["mae"][0] <= limit < point["mae_high"][0]
    assert point["mask"]["*"] == [True] and bound["mask"]["*"] == [False]
    assert (
        bound["mask"]["*"]
        == reliability_mask(bound["mae_high"], bound["spearman_low"], bound["support"], mae_max=limit).tolist()
    )
    rel = Reliability.from_result(bound)
    assert rel.mask_by == "bound" and rel.with_thresholds(mae_max=limit + 0.5).mask["*"] == [True]
    with pytest.raises(ConfigurationError, match="bootstrap="):
        agreement(student, teacher, rubric=None, mask_by="bound")


def test_parse_failures_are_counted_per_cell_and_shown_on_the_card():
    student, teacher = population(400, seed=3)
    statuses = ["ok"] * 400
    for i in range(0, 40, 2):  # 20 rows of source a: no output parsed
        student[i], statuses[i] = np.nan, "parse_error"
    student[1, 1], statuses[1] = np.nan, "partial"  # one row of b lost its second dimension
    student[3, 0] = np.nan  # a gap with an "ok" status is not a parse failure
    sources = ["a" if i % 2 == 0 else "b" for i in range(400)]
    result = agreement(student, teacher, sources=sources, rubric=None, statuses=statuses, bootstrap=200)
    assert result["by_source"]["a"]["parse_failures"] == [20, 20]
    assert result["by_source"]["b"]["parse_failures"] == [0, 1]
    assert result["parse_failures"] == [20, 21] and result["by_source"]["a"]["support"] == [180, 180]
    rel = Reliability.from_result(result)
    assert rel.stats["a"].parse_failures == [20, 20]
    ds = datasets.Dataset.from_dict({"source": sources, "mira_quality": teacher[:, 0].tolist()})
    _, report = filter_by_retention(ds, 0.5, reliability=rel)
    card = render_card(report)
    assert "Agreement per cell" in card and "95% bootstrap intervals (200 resamples" in card
    a1 = next(line for line in card.splitlines() if line.startswith("| a | A1 |"))
    assert f"[{rel.stats['a'].mae_low[0]:.2f}, {rel.stats['a'].mae_high[0]:.2f}]" in a1 and "| 20 |" in a1


def test_agree_cli_writes_intervals_and_parse_failures(tmp_path):
    student, teacher = (np.tile(m, 8)[:, :15] for m in population(200, seed=6))  # the card rubric's 15 slots
    status = ["parse_error" if i < 10 else "ok" for i in range(200)]
    student[:10] = np.nan
    data = tmp_path / "scored"
    datasets.Dataset.from_dict(
        {
            "mira_scores": student.tolist(),
            "teacher_scores": teacher.tolist(),
            "source": ["swe_qa"] * 200,
            "mira_status": status,
        }
    ).save_to_disk(str(data))
    out = tmp_path / "reliability.json"
    result = CliRunner().invoke(
        app,
        ["agree", str(data), "--bootstrap", "200", "--mask-by", "bound", "--min-support", "10", "-o", str(out)],
        env={"COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    rel = Reliability.load(out)
    assert rel.bootstrap == 200 and rel.mask_by == "bound" and rel.stats["swe_qa"].parse_failures == [10] * 15
    assert rel.stats["swe_qa"].mae_high[0] > rel.stats["swe_qa"].mae[0]
