"""Which records the report shows: a bounded, seeded sample per source, chosen without looking at row order.

Per source: the best and worst scored rows, the rows just above and just below the cut, and random kept and
random dropped rows; rows that could not be scored go to their own list; where teacher scores exist, the rows
whose scores the student and the teacher disagree on most, for each (source × dimension) cell worth a look.
Every choice ranks rows by score and then by the hash of their id ([id_hashes][mira_hf.selection.ties.id_hashes]),
and the random picks by that hash mixed with the seed, so the same seed shows the same rows however the dataset
is shuffled or sharded, and no row is shown twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mira_hf.selection.ties import gumbel_from_ties

#: The kinds of sampled record, in the order they are drawn (a row takes the first kind that picks it).
KINDS: tuple[str, ...] = ("top", "above_cut", "below_cut", "bottom", "random_kept", "random_dropped")
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
    rows: np.ndarray, scores: np.ndarray, kept: np.ndarray, ties: np.ndarray, seed: int, key: str, per_kind: int
) -> list[tuple[int, str]]:
    """The picks of one source's scored rows, kind by kind."""
    chosen: set[int] = set()
    kept_rows, dropped_rows = rows[kept[rows]], rows[~kept[rows]]
    orders = {
        "top": _ranked(rows, scores, ties, descending=True),
        "above_cut": _ranked(kept_rows, scores, ties, descending=False),
        "below_cut": _ranked(dropped_rows, scores, ties, descending=True),
        "bottom": _ranked(rows, scores, ties, descending=False),
        "random_kept": _shuffled(kept_rows, ties, seed, key + "/kept"),
        "random_dropped": _shuffled(dropped_rows, ties, seed, key + "/dropped"),
    }
    return [(row, kind) for kind in KINDS for row in _take(orders[kind], chosen, per_kind)]


def draw_sample(
    codes: np.ndarray,
    sources: Sequence[str],
    scores: np.ndarray,
    kept: np.ndarray,
    ties: np.ndarray,
    *,
    seed: int = 0,
    per_kind: int = 3,
    unscored_cap: int = 10,
) -> list[Pick]:
    """The sampled rows of every source: ``per_kind`` of each kind in [KINDS][mira_hf.report.samples.KINDS], and up
    to ``unscored_cap`` rows whose score is NaN (never scored) as ``"unscored"``.

    ``codes`` index ``sources`` (one per row), ``scores`` is the score the cut used (NaN where there is none),
    ``kept`` says which rows the selection kept, ``ties`` is one id hash per row.

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
