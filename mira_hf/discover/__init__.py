"""Stage 1 of MIRA for a new group of sources: group the sources, judge freely, discover the dimensions.

* [`group_sources`][mira_hf.discover.grouping.group_sources] clusters the sources of a corpus into groups (each gets its
  own rubric and scorer);
* [`judge`][mira_hf.discover.judging.judge] asks a teacher to propose its own dimensions for each record;
* [`cluster_dimensions`][mira_hf.discover.clustering.cluster_dimensions] clusters the proposals into an anchored rubric
  ``load_rubric`` reads.

Example:
    >>> from mira_hf import discover
    >>> sorted(n for n in discover.__all__ if not n[0].isupper())[:3]
    ['cluster_dimensions', 'get_embedder', 'group_sources']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "judge": "mira_hf.discover.judging",
    "parse_proposals": "mira_hf.discover.judging",
    "cluster_dimensions": "mira_hf.discover.clustering",
    "Discovery": "mira_hf.discover.clustering",
    "group_sources": "mira_hf.discover.grouping",
    "SourceGroups": "mira_hf.discover.grouping",
    "get_embedder": "mira_hf.discover.embed",
    "HttpEmbedder": "mira_hf.discover.embed",
    "TfidfEmbedder": "mira_hf.discover.embed",
    "name_slots": "mira_hf.discover.naming",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mira_hf.discover' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from mira_hf.discover.clustering import Discovery, cluster_dimensions
    from mira_hf.discover.embed import HttpEmbedder, TfidfEmbedder, get_embedder
    from mira_hf.discover.grouping import SourceGroups, group_sources
    from mira_hf.discover.judging import judge, parse_proposals
    from mira_hf.discover.naming import name_slots
