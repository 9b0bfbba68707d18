"""The report's record sample: bounded, seeded, never a row twice, the same however the rows are ordered."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mira_hf.selection.samples import DISPUTED, KINDS, UNSCORED, disputed_rows, draw_sample
from mira_hf.selection.ties import id_hashes


def _corpus(n: int = 400, seed: int = 7):
    """Three sources of uneven size, scores with ties, some rows never scored (NaN), a cut per source."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"row-{i:05d}" for i in range(n)])
    codes = rng.choice(3, size=n, p=[0.6, 0.3, 0.1]).astype(np.int32)
    scores = np.round(rng.normal(3.0, 0.8, size=n), 1)
    scores[rng.random(n) < 0.05] = np.nan
    kept = np.zeros(n, dtype=bool)
    for c in range(3):
        mine = (codes == c) & ~np.isnan(scores)
        kept[mine] = scores[mine] >= np.quantile(scores[mine], 0.6)
    return ids, codes, scores, kept


SOURCES = ["swe_qa", "openhands", "tiny"]


def _picks(ids, codes, scores, kept, **kw):
    ties = id_hashes(pa.array(ids))
    return {(str(ids[p.row]), p.kind) for p in draw_sample(codes, SOURCES, scores, kept, ties, **kw)}


def test_each_kind_is_what_it_says_and_rows_are_unique():
    ids, codes, scores, kept = _corpus()
    ties = id_hashes(pa.array(ids))
    picks = draw_sample(codes, SOURCES, scores, kept, ties, seed=1, per_kind=4, unscored_cap=3)
    rows = [p.row for p in picks]
    assert len(rows) == len(set(rows)), "a row was shown twice"
    for code, source in enumerate(SOURCES):
        mine = [p for p in picks if p.source == source]
        assert all(codes[p.row] == code for p in mine)
        by_kind = {k: [p.row for p in mine if p.kind == k] for k in (*KINDS, UNSCORED)}
        assert all(len(v) <= 4 for k, v in by_kind.items() if k != UNSCORED)
        assert len(by_kind[UNSCORED]) <= 3
        assert all(np.isnan(scores[r]) for r in by_kind[UNSCORED])
        scored = np.flatnonzero((codes == code) & ~np.isnan(scores))
        # top rows carry the source's best score, bottom rows its worst
        assert scores[by_kind["top"][0]] == scores[scored].max()
        assert scores[by_kind["bottom"][0]] == scores[scored].min()
        # just above the cut: the lowest kept score; just below: the highest dropped score
        assert scores[by_kind["above_cut"][0]] == scores[scored[kept[scored]]].min()
        assert scores[by_kind["below_cut"][0]] == scores[scored[~kept[scored]]].max()
        assert all(kept[r] for r in by_kind["random_kept"] + by_kind["above_cut"])
        assert not any(kept[r] for r in by_kind["random_dropped"] + by_kind["below_cut"])
        assert not any(np.isnan(scores[r]) for k in KINDS for r in by_kind[k])


def test_same_seed_same_rows_other_seed_other_random_rows():
    corpus = _corpus()
    a, b, c = (_picks(*corpus, seed=s, per_kind=5) for s in (0, 0, 1))
    assert a == b
    random_a = {x for x in a if x[1].startswith("random")}
    random_c = {x for x in c if x[1].startswith("random")}
    assert random_a != random_c
    # the ranked kinds do not depend on the seed
    assert {x for x in a if not x[1].startswith("random") and x[1] != UNSCORED} == {
        x for x in c if not x[1].startswith("random") and x[1] != UNSCORED
    }


@pytest.mark.parametrize("seed", [0, 3])
def test_sample_does_not_depend_on_row_order(seed):
    ids, codes, scores, kept = _corpus()
    perm = np.random.default_rng(seed + 100).permutation(len(ids))
    assert _picks(ids, codes, scores, kept, seed=seed) == _picks(
        ids[perm], codes[perm], scores[perm], kept[perm], seed=seed
    )


def test_disputed_rows_are_the_largest_gaps_of_each_cell():
    ids, codes, scores, _ = _corpus()
    rng = np.random.default_rng(0)
    student = rng.integers(1, 6, size=(len(ids), 15)).astype(float)
    teacher = student.copy()
    teacher[::7, 4] = np.nan  # rows without a teacher label are never listed
    far = next(i for i in range(len(ids)) if codes[i] == 0 and i % 7)
    teacher[far, 4] = student[far, 4] + 4  # the one large disagreement of the cell
    ties = id_hashes(pa.array(ids))
    picks = disputed_rows(codes, SOURCES, student, teacher, ties, [("swe_qa", 4), ("gone", 1)], per_cell=3)
    assert all(p.kind == DISPUTED and p.dimension == 4 and p.source == "swe_qa" for p in picks)
    assert len(picks) == 3 and len({p.row for p in picks}) == 3
    gaps = [abs(student[p.row, 4] - teacher[p.row, 4]) for p in picks]
    assert gaps == sorted(gaps, reverse=True)
    assert not any(np.isnan(teacher[p.row, 4]) for p in picks)
    assert picks[0].row == far


# ------------------------------------------------------------------------------------- sample_records (a Dataset)
def _scored(n: int = 120, seed: int = 3):
    import datasets

    ids, codes, scores, _ = _corpus(n, seed)
    rng = np.random.default_rng(seed)
    student = rng.integers(0, 11, size=(n, 15)).astype(float)
    teacher = student.copy()
    teacher[:, 2] = 10 - student[:, 2]  # dimension A3 disputed everywhere
    unscored = np.isnan(scores)
    return datasets.Dataset.from_dict(
        {
            "id": ids.tolist(),
            "source": [SOURCES[c] for c in codes],
            "mira_quality": [None if u else float(s) for u, s in zip(unscored, scores)],
            "mira_status": ["engine_error" if u else "ok" for u in unscored],
            "mira_scores": [None if u else row.tolist() for u, row in zip(unscored, student)],
            "teacher_scores": teacher.tolist(),
        }
    )


def test_sample_records_is_the_same_rows_however_the_dataset_is_ordered():
    from mira_hf.selection.samples import sample_records

    ds = _scored()
    cuts = {"swe_qa": 3.0, "openhands": 3.2, "tiny": 2.5}
    a = sample_records(ds, cuts=cuts, seed=5)
    b = sample_records(ds.shuffle(seed=1), cuts=cuts, seed=5)
    c = sample_records(ds.shuffle(seed=2).select(range(len(ds))), cuts=cuts, seed=5)
    rows = lambda s: sorted(zip(s["id"], s["mira_sample"], s["mira_kept"]))  # noqa: E731
    assert rows(a) == rows(b) == rows(c)
    assert len(set(a["id"])) == len(a)
    for row in a:
        if row["mira_sample"] == UNSCORED:
            assert row["mira_quality"] is None and row["mira_status"] == "engine_error"
        else:
            assert row["mira_quality"] is not None
            assert row["mira_kept"] == (row["mira_quality"] >= cuts[row["source"]])


def test_sample_records_lists_the_disputed_rows_of_each_masked_cell_and_works_without_a_selection():
    from mira_hf.selection.samples import sample_records

    ds = _scored()
    mask = {s: [d != 2 for d in range(15)] for s in SOURCES}  # A3 masked in every source
    out = sample_records(ds, reliability={"mask": mask}, teacher_column="teacher_scores", per_cell=2)
    disputed = [r for r in out if r["mira_sample"] == DISPUTED]
    assert disputed and all(r["mira_sample_dimension"] == 2 for r in disputed)
    assert {r["source"] for r in disputed} <= set(SOURCES)
    assert all(r["mira_kept"] is None for r in out)  # no selection: nothing kept or dropped
    assert {r["mira_sample"] for r in out} <= {"top", "bottom", "random", UNSCORED, DISPUTED}


def test_sample_records_names_the_closest_column():
    from mira_hf.errors import ColumnNotFoundError
    from mira_hf.selection.samples import sample_records

    with pytest.raises(ColumnNotFoundError, match="did you mean 'source'"):
        sample_records(_scored(), source_column="sorce")


def test_a_disputed_row_already_in_the_sample_carries_its_cells_instead_of_coming_twice():
    """Small sources: every row is picked for its score, yet each masked cell still names its most disputed rows."""
    from mira_hf.selection.samples import sample_records

    ds = _scored(n=30)
    mask = {s: [d != 2 for d in range(15)] for s in SOURCES}
    out = sample_records(ds, reliability=mask, teacher_column="teacher_scores", per_kind=10, per_cell=2)
    assert len(set(out["id"])) == len(out)
    by_cell: dict[str, list[str]] = {}
    for row in out:
        for d in row["mira_disputed"]:
            assert d == 2
            by_cell.setdefault(row["source"], []).append(row["id"])
    assert by_cell and all(1 <= len(ids) <= 2 for ids in by_cell.values())
    for source, ids in by_cell.items():  # the largest gaps of the cell, whatever the rows were picked for
        rows = [r for r in ds if r["source"] == source and r["mira_scores"] is not None]
        gaps = sorted((abs(r["mira_scores"][2] - r["teacher_scores"][2]) for r in rows), reverse=True)
        listed = [abs(r["mira_scores"][2] - r["teacher_scores"][2]) for r in out if r["id"] in ids]
        assert sorted(listed, reverse=True) == gaps[: len(ids)]


def test_near_threshold_cells_are_disputed_too_when_the_reliability_has_statistics():
    from mira_hf.reliability import Reliability
    from mira_hf.selection.samples import disputed_cells

    def stats(mae, rho):
        n = len(mae)
        return {"n_records": 50, "mae": mae, "spearman": rho, "pearson": [None] * n, "within_1": [None] * n,
                "support": [50] * n}  # fmt: skip

    rel = Reliability(
        dimensions=["a", "b", "c", "d"],
        mae_max=1.0,
        spearman_min=0.5,
        mask={"swe_qa": [True, True, True, False]},
        stats={"swe_qa": stats([0.2, 0.85, 0.3, 2.0], [0.9, 0.9, 0.55, 0.1])},
    )
    # b: MAE 0.85 ≥ 80% of 1.0; c: ρ 0.55 within 0.1 of 0.5; d: masked; a: comfortably reliable
    assert disputed_cells(rel, ["swe_qa"]) == [("swe_qa", 1), ("swe_qa", 2), ("swe_qa", 3)]
    assert disputed_cells({"swe_qa": [True, True, True, False]}, ["swe_qa"]) == [("swe_qa", 3)]  # no statistics
