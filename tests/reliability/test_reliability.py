"""Agreement statistics against scipy, the reliability mask, its JSON round trip, aggregation and the heatmap."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset, Features, List, Value, load_from_disk
from PIL import Image
from scipy import stats
from scipy.stats.contingency import crosstab

import mira_hf
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.reliability import Reliability, aggregate, agreement, recommendation_agreement

D = 15
SOURCES = ["agent_openhands", "davinc_dev", "swe_qa"]


def _pairs(rng: np.random.Generator, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Teacher / student matrices with noise that grows along the dimensions and ~10 % missing values."""
    if kind == "integers":
        teacher = rng.integers(0, 11, (n, D)).astype(float)
        student = np.clip(np.round(teacher + rng.normal(0, np.linspace(0.2, 3, D), (n, D))), 0, 10)
    elif kind == "half_points":
        teacher = rng.integers(0, 21, (n, D)) / 2.0
        student = np.clip(np.round(2 * (teacher + rng.normal(0, np.linspace(0.2, 3, D), (n, D)))) / 2, 0, 10)
    else:  # continuous
        teacher = rng.uniform(0, 10, (n, D))
        student = teacher + rng.normal(0, np.linspace(0.1, 4, D), (n, D))
    teacher[rng.random((n, D)) < 0.05] = np.nan
    student[rng.random((n, D)) < 0.08] = np.nan
    return student, teacher


def _scipy_cell(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    constant = len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0])
    return {
        "mae": float(np.mean(np.abs(x - y))) if len(x) else np.nan,
        "spearman": np.nan if constant else float(stats.spearmanr(x, y).statistic),
        "pearson": np.nan if constant else float(stats.pearsonr(x, y).statistic),
        "within_1": float(np.mean(np.abs(x - y) <= 1)) if len(x) else np.nan,
        "support": int(keep.sum()),
    }


def _assert_matches_scipy(got: dict, student: np.ndarray, teacher: np.ndarray) -> None:
    for j in range(D):
        want = _scipy_cell(student[:, j], teacher[:, j])
        for name, value in want.items():
            have = got[name][j]
            if isinstance(value, float) and np.isnan(value):
                assert have is None, (name, j, have)
            else:
                assert have == pytest.approx(value, abs=1e-9, rel=0), (name, j, have, value)


@pytest.mark.parametrize("kind", ["integers", "half_points", "continuous", "rank_fallback"])
def test_statistics_match_scipy_per_dimension_and_source(kind, monkeypatch):
    rng = np.random.default_rng({"integers": 1, "half_points": 2, "continuous": 3, "rank_fallback": 4}[kind])
    if kind == "rank_fallback":  # too many distinct values to rank by counting → scipy.stats.rankdata path
        monkeypatch.setattr("mira_hf.reliability.stats._MAX_LEVELS", 8)
    student, teacher = _pairs(rng, 600, "continuous" if kind == "rank_fallback" else kind)
    sources = rng.choice(SOURCES, 600).tolist()

    result = agreement(student.tolist(), teacher, sources=sources)

    _assert_matches_scipy(result, student, teacher)
    assert result["sources"] == sorted(SOURCES)
    src = np.array(sources)
    for name in SOURCES:
        _assert_matches_scipy(result["by_source"][name], student[src == name], teacher[src == name])
        assert result["by_source"][name]["n_records"] == int((src == name).sum())
    assert result["macro_mae"] == pytest.approx(np.mean(result["mae"]), abs=1e-12)
    assert result["macro_spearman"] == pytest.approx(np.mean(result["spearman"]), abs=1e-12)
    # The mask follows the rule on the reported numbers, cell by cell.
    for name in SOURCES:
        s = result["by_source"][name]
        want = [m <= 1.0 and r >= 0.4 and n >= 30 for m, r, n in zip(s["mae"], s["spearman"], s["support"])]
        assert result["mask"][name] == want
    assert 0 < result["reliable_cells"] < result["total_cells"] == 3 * D


def test_inputs_as_arrow_dataset_column_and_numpy_agree():
    rng = np.random.default_rng(5)
    student, teacher = _pairs(rng, 200, "integers")
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in student]
    ds = Dataset.from_dict({"s": rows, "t": teacher.tolist(), "source": ["swe_qa"] * 200})
    expected = agreement(student, teacher, sources=["swe_qa"] * 200)
    assert agreement(ds["s"], ds["t"], sources=ds["source"]) == expected
    assert agreement(ds.data.column("s"), ds.data.column("t"), sources=ds.data.column("source")) == expected
    assert (
        agreement(
            pa.array(rows, pa.list_(pa.float32())), teacher.astype(np.float32), sources=np.array(["swe_qa"] * 200)
        )
        == expected
    )


def test_null_and_empty_rows_are_missing_and_wrong_length_is_an_error():
    full = [float(i % 11) for i in range(D)]
    result = agreement([full, None, [], full], [full, full, full, [None] * D], min_support=1)
    assert result["support"] == [1] * D
    with pytest.raises(ConfigurationError, match=r"predictions\[1\] has 3 scores but the rubric has 15 slots"):
        agreement([full, [1.0, 2.0, 3.0]], [full, full])
    with pytest.raises(ConfigurationError, match="paired row by row"):
        agreement([full, full], [full])
    with pytest.raises(ConfigurationError, match=r"sources has 1 values but there are 2 records"):
        agreement([full, full], [full, full], sources=["a"])


def test_constant_column_is_reported_undefined_and_never_reliable():
    rng = np.random.default_rng(6)
    teacher = rng.integers(0, 11, (100, D)).astype(float)
    student = teacher.copy()
    teacher[:, 0] = student[:, 0] = 7.0  # identical and constant: MAE 0, but ρ undefined
    student[:, 1] = 5.0  # constant on the student side only
    result = agreement(student, teacher, sources=["swe_qa"] * 100)
    s = result["by_source"]["swe_qa"]
    assert s["mae"][0] == 0.0 and s["spearman"][0] is None and s["pearson"][0] is None
    assert s["spearman"][1] is None
    assert result["mask"]["swe_qa"][:3] == [False, False, True]
    json.dumps(result, allow_nan=False)  # undefined values are None, never NaN


def test_thresholds_are_inclusive_at_the_boundary():
    rng = np.random.default_rng(7)
    student, teacher = _pairs(rng, 300, "integers")
    base = agreement(student, teacher)
    j = 5
    mae, rho, n = base["mae"][j], base["spearman"][j], base["support"][j]

    def cell(**kw) -> bool:
        return agreement(student, teacher, **kw)["mask"]["*"][j]

    assert cell(mae_max=mae, spearman_min=rho, min_support=n)
    assert not cell(mae_max=mae - 1e-6, spearman_min=rho, min_support=n)
    assert not cell(mae_max=mae, spearman_min=rho + 1e-6, min_support=n)
    assert not cell(mae_max=mae, spearman_min=rho, min_support=n + 1)
    # Hand-checkable: every difference is exactly 1 → MAE exactly 1.0, reliable at mae_max=1.0 only.
    t = np.tile(np.arange(40, dtype=float)[:, None] % 9, (1, D))
    s = t + 1.0
    assert agreement(s, t, mae_max=1.0)["mask"]["*"] == [True] * D
    assert agreement(s, t, mae_max=0.99)["mask"]["*"] == [False] * D


def test_a_source_with_too_little_support_is_masked():
    rng = np.random.default_rng(8)
    teacher = rng.integers(0, 11, (205, D)).astype(float)
    student = teacher.copy()  # perfect agreement everywhere
    sources = ["agent_openhands"] * 200 + ["swe_qa"] * 5
    result = agreement(student, teacher, sources=sources)
    assert result["mask"]["agent_openhands"] == [True] * D
    assert result["mask"]["swe_qa"] == [False] * D
    assert result["by_source"]["swe_qa"]["support"] == [5] * D
    assert agreement(student, teacher, sources=sources, min_support=5)["mask"]["swe_qa"] == [True] * D


def test_recommendation_accuracy_and_kappa_match_the_confusion_matrix():
    rng = np.random.default_rng(9)
    labels = np.array(["keep", "downsample", "drop"])
    ref = labels[rng.integers(0, 3, 500)]
    pred = np.where(rng.random(500) < 0.7, ref, labels[rng.integers(0, 3, 500)])
    pred_l, ref_l = pred.astype(object), ref.astype(object)
    pred_l[:20] = None
    ref_l[10:30] = None
    got = recommendation_agreement(list(pred_l), list(ref_l))

    keep = np.array([p is not None and r is not None for p, r in zip(pred_l, ref_l)])
    table = crosstab(pred[keep], ref[keep]).count.astype(float)  # same label order on both axes
    n = table.sum()
    po = np.trace(table) / n
    pe = (table.sum(1) @ table.sum(0)) / n**2
    assert got["recommendation_support"] == keep.sum() == 470
    assert got["recommendation_accuracy"] == pytest.approx(po, abs=1e-12)
    assert got["recommendation_kappa"] == pytest.approx((po - pe) / (1 - pe), abs=1e-9)
    # Through agreement(), and κ undefined when both sides always give the same single label.
    full = [[5.0] * D] * 3
    res = agreement(full, full, prediction_recommendations=["keep"] * 3, reference_recommendations=["keep"] * 3)
    assert res["recommendation_accuracy"] == 1.0 and res["recommendation_kappa"] is None


def test_reliability_round_trips_through_json_and_answers_lookups(tmp_path):
    rng = np.random.default_rng(10)
    student, teacher = _pairs(rng, 400, "integers")
    sources = rng.choice(SOURCES, 400).tolist()
    result = agreement(student, teacher, sources=sources, mae_max=0.8)
    rel = Reliability.from_result(result)
    path = rel.save(tmp_path / "reliability.json")

    loaded = Reliability.load(path)
    assert loaded == rel
    assert loaded.mask == result["mask"] and loaded.mae_max == 0.8 and loaded.rubric == "group_D"
    assert loaded.stats["swe_qa"].mae == result["by_source"]["swe_qa"]["mae"]
    names = mira_hf.load_rubric().names
    for j in range(D):
        want = result["mask"]["davinc_dev"][j]
        assert loaded.is_reliable("davinc_dev", f"A{j + 1}") is want
        assert loaded.is_reliable("davinc_dev", names[j]) is want
        assert loaded.is_reliable("davinc_dev", j) is want
    with pytest.raises(ConfigurationError, match="source 'unknown' is not in the reliability mask"):
        loaded.is_reliable("unknown", "A1")
    # Other thresholds re-derive the mask from the stored statistics, as a fresh measurement would.
    again = agreement(student, teacher, sources=sources, mae_max=1.5, spearman_min=0.6)
    assert loaded.with_thresholds(mae_max=1.5, spearman_min=0.6).mask == again["mask"]
    (tmp_path / "bad.json").write_text('{"dimensions": ["a"], "mask": {"x": [true, false]}}')
    with pytest.raises(ConfigurationError, match="bad.json is not a reliability file"):
        Reliability.load(tmp_path / "bad.json")


# ---------------------------------------------------------------------------------------------- aggregation


def _row(*values: float | None) -> list[float | None]:
    return list(values) + [None] * (D - len(values))


def test_aggregate_methods_on_hand_checkable_rows():
    cluster = np.array(mira_hf.load_rubric().cluster_sizes, dtype=float)
    all15 = [float(v) for v in range(1, 16)]  # 1..15
    ds = Dataset.from_dict(
        {
            "mira_scores": [all15, _row(2.0, 4.0, 9.0), _row(None, 6.0)],
            "source": ["swe_qa", "swe_qa", "swe_qa"],
        }
    )
    mask = {"swe_qa": [True] * D}

    mean = aggregate(ds, mask, method="mean")["mira_quality"]
    assert mean == [8.0, 5.0, 6.0]
    trimmed = aggregate(ds, mask)["mira_quality"]  # trim=0.1: 15 values → cut one at each end; 3 → none
    assert trimmed == [pytest.approx(stats.trim_mean(all15, 0.1)), 5.0, 6.0] and trimmed[0] == 8.0
    assert aggregate(ds, mask, trim=0.25)["mira_quality"][0] == pytest.approx(stats.trim_mean(all15, 0.25))
    weighted = aggregate(ds, mask, method="weighted")["mira_quality"]
    assert weighted[0] == pytest.approx(np.average(all15, weights=cluster), rel=1e-6)
    assert weighted[1] == pytest.approx(np.average([2, 4, 9], weights=cluster[:3]), rel=1e-6)

    # Masking A3 (the 9) changes the second row only through the reliable dims.
    masked = {"swe_qa": [True, True, False] + [True] * (D - 3)}
    assert aggregate(ds, masked, method="mean")["mira_quality"][1] == 3.0
    out = aggregate(ds, mask)
    assert out.features["mira_quality"].dtype == "float32"
    assert out.features["mira_quality_reason"].dtype == "string"
    assert out["mira_quality_reason"] == [None, None, None]


def test_trimmed_mean_matches_scipy_over_each_rows_reliable_values():
    rng = np.random.default_rng(11)
    scores = rng.integers(0, 11, (300, D)).astype(float)
    scores[rng.random(scores.shape) < 0.3] = np.nan
    mask_row = rng.random(D) < 0.8
    ds = Dataset.from_dict({"mira_scores": scores.tolist(), "source": ["a"] * 300})
    got = aggregate(ds, {"a": mask_row.tolist()}, trim=0.2)["mira_quality"]
    for i, row in enumerate(scores):
        usable = row[mask_row & ~np.isnan(row)]
        if usable.size:
            assert got[i] == pytest.approx(stats.trim_mean(usable, 0.2), abs=1e-5)
        else:
            assert got[i] is None


def test_rows_without_a_reliable_scored_dimension_get_null_and_a_reason():
    ds = Dataset.from_dict(
        {
            "mira_scores": [[None] * D, _row(None, 5.0), _row(8.0, 5.0), _row(7.0)],
            "source": ["swe_qa", "swe_qa", "davinc_dev", "swe_qa"],
        }
    )
    mask = {"swe_qa": [True] + [False] * (D - 1), "davinc_dev": [False] * D}
    out = aggregate(ds, mask)
    assert out["mira_quality"] == [None, None, None, 7.0]
    reasons = out["mira_quality_reason"]
    assert "every dimension is null" in reasons[0]
    assert "none of the reliable dimensions of source 'swe_qa' were scored" in reasons[1]
    assert "source 'davinc_dev' has no reliable dimension" in reasons[2]
    assert reasons[3] is None


def test_sources_missing_from_the_mask_raise_unless_a_default_is_given():
    ds = Dataset.from_dict(
        {"mira_scores": [_row(4.0), _row(6.0), _row(8.0)], "source": ["swe_qa", "new_source", "other"]}
    )
    mask = {"swe_qa": [True] * D}
    with pytest.raises(ConfigurationError, match=r"2 source\(s\).*'new_source', 'other'.*default='all'"):
        aggregate(ds, mask)
    assert aggregate(ds, mask, default="all")["mira_quality"] == [4.0, 6.0, 8.0]
    none = aggregate(ds, mask, default="none")
    assert none["mira_quality"] == [4.0, None, None]
    assert "'new_source' is not in the mask" in none["mira_quality_reason"][1]
    # A mask measured without sources ("*") covers every source.
    assert aggregate(ds, {"*": [True] * D})["mira_quality"] == [4.0, 6.0, 8.0]
    with pytest.raises(ColumnNotFoundError, match="no column 'mira_scores'"):
        aggregate(ds.rename_column("mira_scores", "x"), mask)
    with pytest.raises(ConfigurationError, match="mask has 2 dimensions but rubric"):
        aggregate(ds, {"swe_qa": [True, True]})


def test_aggregate_on_a_memory_mapped_dataset_with_a_saved_mask(tmp_path):
    rng = np.random.default_rng(12)
    student, teacher = _pairs(rng, 300, "integers")
    sources = rng.choice(SOURCES, 300).tolist()
    rel = Reliability.from_result(agreement(student, teacher, sources=sources, mae_max=1.2))
    rel.save(tmp_path / "mask.json")
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in student]
    features = Features({"mira_scores": List(Value("float32")), "source": Value("string"), "text": Value("string")})
    Dataset.from_dict(
        {"mira_scores": rows, "source": sources, "text": ["x" * 50] * 300}, features=features
    ).save_to_disk(tmp_path / "ds")
    ds = load_from_disk(tmp_path / "ds")
    assert ds.cache_files  # memory-mapped from disk

    out = aggregate(ds, tmp_path / "mask.json")
    assert out.cache_files and out.column_names == [
        "mira_scores",
        "source",
        "text",
        "mira_quality",
        "mira_quality_reason",
    ]
    got = np.array([np.nan if v is None else v for v in out["mira_quality"]])
    want = np.full(300, np.nan)
    for i in range(300):
        keep = np.array(rel.mask[sources[i]]) & ~np.isnan(student[i])
        if keep.any():
            want[i] = stats.trim_mean(student[i][keep], 0.1)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, equal_nan=True)
    # Re-aggregating replaces the columns; a shuffled view keeps each row's own value.
    again = aggregate(out, rel, method="mean")
    assert again.column_names == out.column_names
    order = rng.permutation(300).tolist()
    np.testing.assert_array_equal(
        np.array(aggregate(ds.select(order), rel)["mira_quality"], dtype=float),
        np.array(out.select(order)["mira_quality"], dtype=float),
    )


def test_aggregate_accepts_the_metric_result_as_the_mask():
    rng = np.random.default_rng(13)
    student, teacher = _pairs(rng, 200, "integers")
    result = agreement(student, teacher, sources=["swe_qa"] * 200)
    ds = Dataset.from_dict({"mira_scores": np.nan_to_num(student, nan=5.0).tolist(), "source": ["swe_qa"] * 200})
    by_result = aggregate(ds, result)["mira_quality"]
    assert by_result == aggregate(ds, result["mask"])["mira_quality"]
    assert by_result == aggregate(ds, Reliability.from_result(result))["mira_quality"]


# ---------------------------------------------------------------------------------------------- heatmap


def test_heatmap_png_and_svg_mark_the_masked_cells(tmp_path):
    rng = np.random.default_rng(14)
    student, teacher = _pairs(rng, 400, "integers")
    sources = rng.choice(SOURCES, 400).tolist()
    result = agreement(student, teacher, sources=sources)
    masked = result["total_cells"] - result["reliable_cells"]
    assert masked > 0

    fig = mira_hf.plot_reliability(result, path=tmp_path / "heat.png")
    with Image.open(tmp_path / "heat.png") as img:
        img.verify()
    with Image.open(tmp_path / "heat.png") as img:
        assert img.format == "PNG" and img.width >= 1200 and 400 <= img.height <= 4000
    assert len(fig.axes) == 4  # MAE and ρ panels with their colour bars
    mae_ax, rho_ax = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in mae_ax.get_yticklabels()][0].startswith("agent_openhands")
    assert rho_ax.get_xticklabels()[2].get_text().startswith("A3 Goal")
    for ax in (mae_ax, rho_ax):
        assert sum(1 for p in ax.patches if p.get_hatch()) == masked
    assert mae_ax.texts[0].get_text() == f"{result['by_source']['agent_openhands']['mae'][0]:.2f}"

    single = mira_hf.plot_reliability(Reliability.from_result(result), path=tmp_path / "heat.svg", metric="spearman")
    assert (tmp_path / "heat.svg").read_text().lstrip().startswith("<?xml") and len(single.axes) == 2
    with pytest.raises(ConfigurationError, match="ending in .png"):
        mira_hf.plot_reliability(result, path=tmp_path / "heat.bmp")
