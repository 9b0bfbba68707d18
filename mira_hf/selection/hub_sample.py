"""The sample a pushed selection carries: a few rows per source worth reading, drawn from the scored dataset.

The rows are those of [`draw_sample`][mira_hf.selection.samples.draw_sample] with the selection's own kept
mask (so ``mira_kept`` is what the selection did, ties and Gumbel sampling included): the best and worst rows,
the rows just above and just below the cut, random kept and dropped rows, and a few unscored rows. Next to the
rows comes a plain summary (example ids per source with their scores) for the dataset card.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mira_hf.selection.samples import _with_reasons, draw_sample
from mira_hf.selection.ties import id_hashes

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

    from mira_hf.selection.apply import _Arrays

#: Rows of each kind per source in the pushed ``samples`` config.
PER_KIND = 3
#: The kinds the card lists (one id each, per source), in the order it lists them.
CARD_KINDS: tuple[str, ...] = ("top", "above_cut", "below_cut", "bottom")


def selection_sample(
    ds: Dataset, arrays: _Arrays, kept: np.ndarray, *, per_kind: int = PER_KIND, seed: int = 0
) -> tuple[Dataset, dict[str, list[dict[str, Any]]]]:
    """``(rows, examples)``: the sampled rows of ``ds`` with ``mira_sample``/``mira_sample_dimension``/``mira_kept``,
    and per source the first id of each kind in `CARD_KINDS` as ``{"id", "score", "kept", "picked"}``.

    ``arrays`` are the columns the selection read from ``ds`` and ``kept`` its mask. Ids are strings (the id
    column's value, or ``row N`` without one).

    Example:
        >>> rows, examples = selection_sample(ds, decision.arrays, decision.kept)  # doctest: +SKIP
        >>> examples["swe_qa"][0]  # doctest: +SKIP
        {'id': 'r17', 'score': 9.1, 'kept': True, 'picked': 'top'}
    """
    ties = arrays.ties(None) if arrays.ids is not None else id_hashes(pa.array(np.arange(arrays.n)))
    picks = draw_sample(
        arrays.src_codes, arrays.sources, arrays.scores, kept, ties, seed=seed, per_kind=per_kind, unscored_cap=per_kind
    )
    rows = _with_reasons(ds, picks, kept)
    ids = arrays.ids.take(pa.array([p.row for p in picks], pa.int64())).to_pylist() if arrays.ids is not None else None
    examples: dict[str, list[dict[str, Any]]] = {}
    for i, pick in enumerate(picks):
        listed = examples.setdefault(pick.source, [])
        if pick.kind not in CARD_KINDS or any(e["picked"] == pick.kind for e in listed):
            continue
        score = float(arrays.scores[pick.row])
        listed.append(
            {
                "id": str(ids[i]) if ids is not None else f"row {pick.row}",
                "score": None if math.isnan(score) else round(score, 4),
                "kept": bool(kept[pick.row]),
                "picked": pick.kind,
            }
        )
    order = {kind: i for i, kind in enumerate(CARD_KINDS)}
    return rows, {src: sorted(listed, key=lambda e: order[e["picked"]]) for src, listed in examples.items() if listed}


__all__ = ["CARD_KINDS", "PER_KIND", "selection_sample"]
