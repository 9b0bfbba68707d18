"""Group the sources of a corpus by what their records look like, so each group gets its own rubric and scorer.

A seeded sample of each source's records is embedded; a source is the mean of its records' vectors; KMeans
over the sources gives ``k`` groups. Each group's intra-group cosine similarity (the mean pairwise cosine of
its sources' vectors) says how alike its members are — the model card's source-grouping report. The groups
are in the form ``filter_by_retention(by="group", groups=...)`` reads.

Example:
    >>> import datasets
    >>> ds = datasets.Dataset.from_dict({
    ...     "source": ["a", "a", "b", "b", "c", "c"],
    ...     "text": ["pytest fails", "pytest passes", "pytest fails again", "pytest ok",
    ...              "write a poem", "a poem about the sea"]})
    >>> sorted(group_sources(ds, 2, text_column="text").groups.values())
    [['a', 'b'], ['c']]
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mira_hf._util.problems import missing_column
from mira_hf.discover.embed import Embedder, get_embedder, normalize_rows
from mira_hf.errors import ColumnNotFoundError, ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Characters of each record that are embedded (the opening of a trajectory says what kind it is).
RECORD_CHARS = 4000
GROUPS_FORMAT = 1


@dataclass
class SourceGroups:
    """Groups of sources (``group_1`` is the largest), the sources' similarity matrix and each group's cohesion."""

    groups: dict[str, list[str]]
    sources: list[str]
    matrix: list[list[float]]
    records: dict[str, int]

    @property
    def similarity(self) -> list[dict[str, Any]]:
        """One row per group: its sources, records sampled and intra-group cosine similarity (1.0 for one source)."""
        index = {s: i for i, s in enumerate(self.sources)}
        m = np.asarray(self.matrix)
        rows = []
        for g, members in self.groups.items():
            idx = [index[s] for s in members]
            sub = m[np.ix_(idx, idx)]
            n = len(idx)
            cohesion = 1.0 if n == 1 else float((sub.sum() - np.trace(sub)) / (n * (n - 1)))
            rows.append(
                {
                    "group": g,
                    "sources": len(members),
                    "records": sum(self.records[s] for s in members),
                    "intra_cosine": round(cohesion, 4),
                    "members": ", ".join(members),
                }
            )
        return rows

    def to_table(self):
        """The similarity table as a ``datasets.Dataset`` (one row per group)."""
        import datasets

        return datasets.Dataset.from_list(self.similarity)

    def save(self, path: str | Path) -> Path:
        """Write JSON: ``{"groups": ..., "sources": ..., "matrix": ..., "records": ...}``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "format": GROUPS_FORMAT,
                    "groups": self.groups,
                    "similarity": self.similarity,
                    "sources": self.sources,
                    "matrix": self.matrix,
                    "records": self.records,
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SourceGroups:
        """Read what [`save`][mira_hf.discover.grouping.SourceGroups.save] wrote."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                groups={g: list(m) for g, m in data["groups"].items()},
                sources=list(data["sources"]),
                matrix=data["matrix"],
                records={k: int(v) for k, v in data["records"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ConfigurationError(f"{path} is not a source-groups file written by group_sources ({e})") from None

    def plot(self, path: str | Path | None = None) -> Figure | Path:
        """Heatmap of the sources' cosine similarities, ordered by group, with group boundaries drawn."""
        from mira_hf._util.figures import new_figure, save_figure

        order = [s for members in self.groups.values() for s in members]
        index = {s: i for i, s in enumerate(self.sources)}
        idx = [index[s] for s in order]
        m = np.asarray(self.matrix)[np.ix_(idx, idx)]
        size = 2.5 + 0.35 * len(order)
        fig = new_figure(size + 1.5, size)
        ax = fig.add_subplot()
        im = ax.imshow(m, cmap="viridis", vmin=min(0.0, float(m.min())), vmax=1.0)
        ax.set_xticks(range(len(order)), order, rotation=90, fontsize=8)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        edge = 0
        for members in self.groups.values():
            ax.add_patch(_rect(edge - 0.5, len(members)))
            edge += len(members)
        fig.colorbar(im, ax=ax, label="cosine similarity")
        ax.set_title(f"{len(order)} sources in {len(self.groups)} groups")
        return save_figure(fig, path) if path is not None else fig


def _rect(start: float, n: int):
    from matplotlib.patches import Rectangle

    return Rectangle((start, start), n, n, fill=False, edgecolor="white", linewidth=2)


def _sample(ds: Any, source_column: str, per_source: int | None, seed: int) -> dict[str, list[int]]:
    """Row indices per source, a seeded sample of at most ``per_source`` each (all when ``None``)."""
    if source_column not in ds.column_names:
        raise ColumnNotFoundError(missing_column(source_column, ds.column_names, "source_column"))
    by: dict[str, list[int]] = {}
    for i, s in enumerate(ds[source_column]):
        by.setdefault(str(s), []).append(i)
    rng = random.Random(seed)
    return {
        s: sorted(rng.sample(idx, per_source)) if per_source and len(idx) > per_source else idx
        for s, idx in sorted(by.items())
    }


def record_texts(ds: Any, indices: list[int], text_column: str | None, chars: int | None = None) -> list[str]:
    """The rendered records at ``indices`` (as the scorer reads them); unreadable records become ``""``."""
    from mira_hf.errors import InvalidRecordError
    from mira_hf.records import render_record
    from mira_hf.records.batches import batch_records, record_column

    column = record_column(ds.column_names, text_column)
    records = batch_records(ds[indices] if indices else {c: [] for c in ds.column_names}, column)
    out = []
    for r in records:
        try:
            text = r if isinstance(r, str) else render_record(r)
        except (InvalidRecordError, RecursionError):
            text = ""
        out.append(text[:chars] if chars else text)
    return out


def group_sources(
    ds: Any,
    k: int,
    *,
    source_column: str = "source",
    text_column: str | None = None,
    embedder: str | Embedder = "tfidf",
    sample_per_source: int | None = 200,
    seed: int = 0,
) -> SourceGroups:
    """Cluster the sources of ``ds`` into ``k`` groups by their records' embeddings; see the module docstring.

    ``text_column`` is the record column (detected as the scorer does when omitted); ``sample_per_source``
    records of each source are embedded (all when ``None``), drawn with ``seed``.

    Example:
        >>> import datasets
        >>> texts = ["pytest fails", "pytest fails again", "a poem"]
        >>> ds = datasets.Dataset.from_dict({"source": ["a", "b", "c"], "text": texts})
        >>> group_sources(ds, 2, text_column="text").groups
        {'group_1': ['a', 'b'], 'group_2': ['c']}
    """
    from sklearn.cluster import KMeans

    samples = _sample(ds, source_column, sample_per_source, seed)
    sources = list(samples)
    if not 1 <= k <= len(sources):
        raise ConfigurationError(
            f"k={k} must be between 1 and the number of sources ({len(sources)})", code="MIRA-E208"
        )
    flat = [i for s in sources for i in samples[s]]
    emb = normalize_rows(get_embedder(embedder, seed=seed)(record_texts(ds, flat, text_column, RECORD_CHARS)))
    bounds = np.cumsum([0] + [len(samples[s]) for s in sources])
    centroids = normalize_rows(np.stack([emb[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(centroids).labels_
    members: dict[int, list[str]] = {}
    for s, c in zip(sources, labels):
        members.setdefault(int(c), []).append(s)
    ranked = sorted(members.values(), key=lambda m: (-len(m), m[0]))
    groups = {f"group_{i + 1}": m for i, m in enumerate(ranked)}
    matrix = np.clip(centroids @ centroids.T, -1.0, 1.0)
    return SourceGroups(
        groups=groups,
        sources=sources,
        matrix=np.round(matrix, 6).tolist(),
        records={s: len(samples[s]) for s in sources},
    )
