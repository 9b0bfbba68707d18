"""Slot names for discovered clusters, with the model card's collision rule.

Each cluster is named after its most frequent proposed name. When several clusters would get the same name,
the cluster holding the most records labelled with that name keeps the bare form; each other one gets a
parenthetical sub-label drawn from its own name distribution (its most frequent other name), so every slot is
unique — as ``Plan Quality / Reasoning Transparency (Goal Achievement)`` in the card's rubric.

Example:
    >>> name_slots([{"Planning": 5, "Goal": 1}, {"Planning": 3, "Goal Achievement": 2}, {"Error Recovery": 4}])
    ['Planning', 'Planning (Goal Achievement)', 'Error Recovery']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import cast


def _ranked(counts: Mapping[str, int]) -> list[str]:
    """Names by count, descending; ties alphabetical (deterministic)."""
    return [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def name_slots(name_counts: Sequence[Mapping[str, int]]) -> list[str]:
    """One unique name per cluster (in the given order) from each cluster's proposed-name counts.

    Example:
        >>> name_slots([{"Tests": 2}, {"Tests": 9}])
        ['Tests (2)', 'Tests']
    """
    tops = [(_ranked(c) or ["Dimension"])[0] for c in name_counts]
    names: list[str | None] = list(tops)
    for top, members in _collisions(tops).items():
        # the keeper holds the most records labelled `top`; ties go to the earlier (larger) cluster
        keeper = max(members, key=lambda i: (name_counts[i].get(top, 0), -i))
        for i in members:
            if i != keeper:
                names[i] = None
    taken = {n for n in names if n is not None}
    for i, name in enumerate(names):
        if name is not None:
            continue
        top = tops[i]
        label = next(
            (f"{top} ({alt})" for alt in _ranked(name_counts[i]) if alt != top and f"{top} ({alt})" not in taken), None
        )
        k = 2
        while label is None or label in taken:
            label, k = f"{top} ({k})", k + 1
        names[i] = label
        taken.add(label)
    return cast("list[str]", names)  # every slot is named now


def _collisions(tops: Sequence[str]) -> dict[str, list[int]]:
    """Names that more than one cluster would take, with those clusters' positions."""
    seen: dict[str, list[int]] = {}
    for i, t in enumerate(tops):
        seen.setdefault(t, []).append(i)
    return {t: idx for t, idx in seen.items() if len(idx) > 1}


def count_names(names: Sequence[str]) -> Counter[str]:
    """Proposed names counted after trimming whitespace and unifying case to the most common spelling.

    Example:
        >>> dict(count_names(["Error Recovery", "error recovery ", "Error Recovery", "Tests"]))
        {'Error Recovery': 3, 'Tests': 1}
    """
    spellings: dict[str, Counter[str]] = {}
    for n in names:
        clean = " ".join(str(n).split())
        spellings.setdefault(clean.casefold(), Counter())[clean] += 1
    return Counter({_ranked(c)[0]: sum(c.values()) for c in spellings.values()})
