"""Which records the report shows: a bounded, seeded sample per source, chosen without looking at row order.

Per source: the best and worst scored rows, the rows just above and just below the cut, and random kept and
random dropped rows; rows that could not be scored go to their own list; where teacher scores exist, the rows
whose scores the student and the teacher disagree on most, for each (source × dimension) cell worth a look.
Every choice ranks rows by score and then by the hash of their id (`id_hashes`),
and the random picks by that hash mixed with the seed, so the same seed shows the same rows however the dataset
is shuffled or sharded, and no row is shown twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf._util.arrow import rows_table, source_codes
from mira_hf._util.problems import joined, missing_column
from mira_hf.errors import ColumnNotFoundError
from mira_hf.selection.ties import gumbel_from_ties, id_hashes

#: The kinds of sampled record, in the order they are drawn (a row takes the first kind that picks it).
KINDS: tuple[str, ...] = ("top", "above_cut", "below_cut", "bottom", "random_kept", "random_dropped")
#: Without a selection there is no cut: the best, the worst and random rows.
UNCUT_KINDS: tuple[str, ...] = ("top", "bottom", "random")
#: Rows without a score (``invalid_input``, ``engine_error``, ...): listed apart, with their errors.
UNSCORED = "unscored"
#: Rows where the teacher and the student disagree most on one (source × dimension) cell.
DISPUTED = "disputed"


@dataclass(frozen=True)
class Pick:
    """One sampled row: its position in the dataset, its source, why it was picked, and the dimension for a
    disputed row."""

    row: int
    source: str
    kind: str
    dimension: int | None = None


def _ranked(positions: np.ndarray, values: np.ndarray, ties: np.ndarray, descending: bool) -> np.ndarray:
    """``positions`` ordered by value (then by id hash): the order never depends on where rows sit."""
    keys = -values[positions] if descending else values[positions]
    return positions[np.lexsort((ties[positions], keys))]


def _take(ordered: np.ndarray, chosen: set[int], k: int) -> list[int]:
    """The first ``k`` rows of ``ordered`` not chosen yet (and marks them chosen)."""
    out: list[int] = []
    for row in ordered.tolist():
        if len(out) == k:
            break
        if row not in chosen:
            chosen.add(row)
            out.append(row)
    return out


def _shuffled(positions: np.ndarray, ties: np.ndarray, seed: int, key: str) -> np.ndarray:
    """``positions`` in a seeded order that follows each row's id, not its position."""
    noise = gumbel_from_ties(ties[positions], seed=seed, key=key)
    return positions[np.argsort(noise, kind="stable")]


def _source_picks(
    rows: np.ndarray, scores: np.ndarray, kept: np.ndarray | None, ties: np.ndarray, seed: int, key: str, per_kind: int
) -> list[tuple[int, str]]:
    """The picks of one source's scored rows, kind by kind (without ``kept``: the best, the worst, random)."""
    chosen: set[int] = set()
    orders = {
        "top": _ranked(rows, scores, ties, descending=True),
        "bottom": _ranked(rows, scores, ties, descending=False),
        "random": _shuffled(rows, ties, seed, key + "/all"),
    }
    if kept is not None:
        kept_rows, dropped_rows = rows[kept[rows]], rows[~kept[rows]]
        orders |= {
            "above_cut": _ranked(kept_rows, scores, ties, descending=False),
            "below_cut": _ranked(dropped_rows, scores, ties, descending=True),
            "random_kept": _shuffled(kept_rows, ties, seed, key + "/kept"),
            "random_dropped": _shuffled(dropped_rows, ties, seed, key + "/dropped"),
        }
    kinds = KINDS if kept is not None else UNCUT_KINDS
    return [(row, kind) for kind in kinds for row in _take(orders[kind], chosen, per_kind)]


def draw_sample(
    codes: np.ndarray,
    sources: Sequence[str],
    scores: np.ndarray,
    kept: np.ndarray | None,
    ties: np.ndarray,
    *,
    seed: int = 0,
    per_kind: int = 3,
    unscored_cap: int = 10,
) -> list[Pick]:
    """The sampled rows of every source: ``per_kind`` of each kind in `KINDS`, and up
    to ``unscored_cap`` rows whose score is NaN (never scored) as ``"unscored"``.

    ``codes`` index ``sources`` (one per row), ``scores`` is the score the cut used (NaN where there is none),
    ``kept`` says which rows the selection kept (``None`` without one: the kinds of
    `UNCUT_KINDS`), ``ties`` is one id hash per row.

    Example:
        >>> import numpy as np
        >>> codes = np.zeros(6, dtype=np.int32)
        >>> scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, np.nan])
        >>> kept = scores >= 3
        >>> picks = draw_sample(codes, ["a"], scores, kept, np.arange(6, dtype=np.uint64), per_kind=1)
        >>> [(p.row, p.kind) for p in picks]
        [(0, 'top'), (2, 'above_cut'), (3, 'below_cut'), (4, 'bottom'), (1, 'random_kept'), (5, 'unscored')]
    """
    scored = ~np.isnan(scores)
    picks: list[Pick] = []
    for code, source in enumerate(sources):
        mine = codes == code
        rows = np.flatnonzero(mine & scored)
        picks += [
            Pick(row, source, kind) for row, kind in _source_picks(rows, scores, kept, ties, seed, source, per_kind)
        ]
        failed = _shuffled(np.flatnonzero(mine & ~scored), ties, seed, source + "/unscored")[:unscored_cap]
        picks += [Pick(int(row), source, UNSCORED) for row in failed]
    return picks


def disputed_rows(
    codes: np.ndarray,
    sources: Sequence[str],
    student: np.ndarray,
    teacher: np.ndarray,
    ties: np.ndarray,
    cells: Sequence[tuple[str, int]],
    *,
    per_cell: int = 3,
) -> list[Pick]:
    """For each (source, dimension) cell, the ``per_cell`` rows with the largest ``|student - teacher|`` on that
    dimension (rows without both scores are left out; ties by id hash).

    ``student`` and ``teacher`` are ``(rows, dimensions)`` arrays with NaN where a score is missing.

    Example:
        >>> import numpy as np
        >>> s = np.array([[3.0], [4.0], [1.0]]); t = np.array([[3.0], [1.0], [np.nan]])
        >>> [(p.row, p.dimension) for p in disputed_rows(np.zeros(3, int), ["a"], s, t, np.arange(3, dtype=np.uint64),
        ...                                             [("a", 0)], per_cell=2)]
        [(1, 0), (0, 0)]
    """
    index = {name: i for i, name in enumerate(sources)}
    picks: list[Pick] = []
    for source, dim in cells:
        if source not in index:
            continue
        gap = np.abs(student[:, dim] - teacher[:, dim])
        rows = np.flatnonzero((codes == index[source]) & ~np.isnan(gap))
        picks += [Pick(int(r), source, DISPUTED, dim) for r in _ranked(rows, gap, ties, descending=True)[:per_cell]]
    return picks


#: Columns `sample_records` adds: why each row was picked, the dimension a disputed row is disputed on, whether
#: the selection kept it (null without a selection), and every masked or near-threshold dimension it is among
#: the most disputed rows of (whatever it was picked for: a row is in the sample once).
SAMPLE_COLUMNS = ("mira_sample", "mira_sample_dimension", "mira_kept", "mira_disputed")


def _kept_by_cut(codes: np.ndarray, sources: Sequence[str], scores: np.ndarray, cuts: Mapping[str, float]) -> Any:
    """Kept rows under each source's cut score (``None`` when no source has one)."""
    if not any(source in cuts for source in sources):
        return None
    bar = np.array([cuts.get(source, np.inf) for source in sources] + [np.inf])[codes]
    return np.nan_to_num(scores, nan=-np.inf) >= bar


#: A reliable cell is near its threshold when its MAE is at least this share of ``mae_max``...
NEAR_MAE_SHARE = 0.8
#: ... or its Spearman ρ at most this much above ``spearman_min``: its disputed rows are worth a look too.
NEAR_SPEARMAN = 0.1


def _near(reliability: Any, source: str, dim: int) -> bool:
    """Whether a reliable cell of a ``Reliability`` (with statistics) only just passed its thresholds."""
    stats = (getattr(reliability, "stats", None) or {}).get(source)
    if stats is None:
        return False
    mae, rho = stats.mae[dim], stats.spearman[dim]
    mae_max, rho_min = reliability.mae_max, reliability.spearman_min
    near_mae = mae is not None and math.isfinite(mae) and mae >= NEAR_MAE_SHARE * mae_max
    near_rho = rho is not None and math.isfinite(rho) and rho <= rho_min + NEAR_SPEARMAN
    return bool(near_mae or near_rho)


def disputed_cells(reliability: Any, sources: Sequence[str]) -> list[tuple[str, int]]:
    """The (source × dimension) cells whose disputed rows are worth reading: every masked cell of a mask
    ``{source: [bool per slot]}``, and with a ``Reliability`` that holds statistics the reliable cells near their
    thresholds (MAE ≥ 80% of ``mae_max``, or ρ within 0.1 of ``spearman_min``).

    Example:
        >>> disputed_cells({"mask": {"swe_qa": [True, False, True]}}, ["swe_qa", "other"])
        [('swe_qa', 1)]
    """
    mask = getattr(reliability, "mask", reliability)
    if isinstance(mask, Mapping) and "mask" in mask:
        mask = mask["mask"]
    if not isinstance(mask, Mapping):
        return []
    return [(s, d) for s in sources for d, ok in enumerate(mask.get(s, ())) if not ok or _near(reliability, s, d)]


def _checked(ds: Any, named: Mapping[str, str | None]) -> None:
    """Every named column exists, else one error naming the closest ones."""
    problems = [p for key, col in named.items() if col and (p := missing_column(col, ds.column_names, key))]
    if problems:
        raise ColumnNotFoundError(joined(problems))


def sample_records(
    ds: Any,
    *,
    cuts: Mapping[str, float] | None = None,
    reliability: Any = None,
    source_column: str = "source",
    score_column: str = "mira_quality",
    id_column: str | None = "id",
    student_column: str = "mira_scores",
    teacher_column: str | None = None,
    seed: int = 0,
    per_kind: int = 3,
    unscored_cap: int = 10,
    per_cell: int = 3,
) -> Any:
    """The records the report shows, as a ``datasets.Dataset``: ``ds``'s sampled rows plus ``mira_sample`` (why
    each was picked), ``mira_sample_dimension``, ``mira_kept`` and ``mira_disputed``.

    Per source: the best and worst rows, with ``cuts`` (``{source: cut score}``, e.g. from a selection report)
    the rows just above and just below the cut and random kept and dropped rows, else random rows; rows without a
    score as ``"unscored"``; with ``teacher_column`` and a ``reliability`` mask, the rows whose student and teacher
    scores differ most on each masked or near-threshold cell (``"disputed"``, see `disputed_cells`). The same
    ``seed`` picks the same ids however ``ds`` is ordered; no row is picked twice.

    Example:
        >>> import datasets
        >>> ds = datasets.Dataset.from_dict({"id": list("abcdef"), "source": ["q"] * 6,
        ...                                  "mira_quality": [9.0, 8.0, 7.0, 5.0, 4.0, None]})
        >>> picked = sample_records(ds, cuts={"q": 7.0}, per_kind=1)
        >>> list(zip(picked["id"], picked["mira_sample"]))[:4]
        [('a', 'top'), ('c', 'above_cut'), ('d', 'below_cut'), ('e', 'bottom')]
    """
    id_column = id_column if id_column and id_column in ds.column_names else None
    _checked(ds, {"source_column": source_column, "score_column": score_column})
    if teacher_column:
        _checked(ds, {"teacher_column": teacher_column, "student_column": student_column})
    table = rows_table(ds, [c for c in (source_column, score_column, id_column) if c])
    codes, sources = source_codes(table.column(source_column), source_column, nulls="last")
    sources = [*sources, "(no source)"]
    scores = np.array(pc.cast(table.column(score_column), pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    scores[~np.isfinite(scores)] = np.nan  # null (never scored) and ±inf alike
    ties = id_hashes(table.column(id_column)) if id_column else id_hashes(pa.array(np.arange(len(ds))))
    kept = _kept_by_cut(codes, sources, scores, cuts or {})
    picks = draw_sample(codes, sources, scores, kept, ties, seed=seed, per_kind=per_kind, unscored_cap=unscored_cap)
    cells = disputed_cells(reliability, sources) if teacher_column else []
    disputes: dict[int, list[int]] = {}  # row → the cells' dimensions it is among the most disputed rows of
    if cells and teacher_column:
        pair = rows_table(ds, [student_column, teacher_column])
        student, teacher = (_matrix(pair.column(c).to_pylist()) for c in (student_column, teacher_column))
        for pick in disputed_rows(codes, sources, student, teacher, ties, cells, per_cell=per_cell):
            if pick.row not in disputes:  # a row is in the sample once; the cells it is disputed on go with it
                disputes[pick.row] = []
                if all(p.row != pick.row for p in picks):
                    picks.append(pick)
            disputes[pick.row].append(int(pick.dimension))  # type: ignore[arg-type]
    return _with_reasons(ds, picks, kept, disputes)


def _with_reasons(
    ds: Any, picks: Sequence[Pick], kept: np.ndarray | None, disputes: Mapping[int, list[int]] | None = None
) -> Any:
    """The picked rows of ``ds`` in pick order, with the ``SAMPLE_COLUMNS`` (no index flattening pass)."""
    import datasets
    from datasets.table import InMemoryTable

    table = rows_table(ds.select([p.row for p in picks]))
    columns = {
        "mira_sample": pa.array([p.kind for p in picks], pa.string()),
        "mira_sample_dimension": pa.array([p.dimension for p in picks], pa.int32()),
        "mira_kept": pa.array([None if kept is None else bool(kept[p.row]) for p in picks], pa.bool_()),
        "mira_disputed": pa.array([(disputes or {}).get(p.row, []) for p in picks], pa.list_(pa.int32())),
    }
    for name, column in columns.items():
        table = table.append_column(name, column)
    features = datasets.Features(
        {**ds.features, **datasets.Features.from_arrow_schema(pa.schema([(k, v.type) for k, v in columns.items()]))}
    )
    return datasets.Dataset(InMemoryTable(table), info=datasets.DatasetInfo(features=features))


def _matrix(rows: Sequence[Any]) -> np.ndarray:
    """Lists of scores (``None`` where missing, rows of any length) as a float matrix with NaN gaps."""
    width = max((len(r) for r in rows if r is not None), default=0)
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        if row is not None:
            out[i, : len(row)] = [np.nan if v is None else v for v in row]
    return out
