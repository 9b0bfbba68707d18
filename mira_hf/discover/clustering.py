"""Cluster the teacher's free-form proposals into anchored rubric dimensions (stage 1 of MIRA).

Every proposal's ``name: definition`` is embedded; KMeans (seeded, ``n_init`` fixed) groups them into ``k``
clusters, sorted by size into slots ``A1..Ak``. A slot is named after its cluster's most frequent proposed
name (with the card's collision rule, `mira_hf.discover.naming`), described by its most central
definition, and anchored by its most central example (score and rationale). The result reads back with
[`mira_hf.load_rubric`][mira_hf.rubric.load_rubric] unchanged.

Example:
    >>> from mira_hf.testing.judge_server import planted_proposals
    >>> found = cluster_dimensions(planted_proposals(300, k=3), k=3)
    >>> sorted(found.rubric.names)
    ['Error Recovery', 'Goal Achievement', 'Test Verification']
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mira_hf.discover.embed import Embedder, get_embedder, normalize_rows
from mira_hf.discover.naming import count_names, name_slots
from mira_hf.errors import ConfigurationError
from mira_hf.rubric import Anchor, Dimension, Rubric

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

REQUIRED = ("dimension", "definition", "score", "rationale")
#: KMeans restarts; fixed so a run is reproducible from its seed.
N_INIT = 10
#: Proposals the silhouette is estimated on (it is quadratic in the count).
SILHOUETTE_SAMPLE = 2000
#: Central examples per slot kept for the report (the first is the calibration anchor).
N_EXAMPLES = 3
EXAMPLE_FIELDS = ("record_id", "source", "dimension", "excerpt", "score", "rationale")


def _rows(proposals: Any) -> list[dict[str, Any]]:
    """Proposals as a list of dicts, checked for the fields clustering needs."""
    if hasattr(proposals, "to_list") and hasattr(proposals, "column_names"):
        rows = proposals.to_list()
    else:
        rows = [dict(p) for p in proposals]
    if not rows:
        raise ConfigurationError("no proposals to cluster; judge some records first (mira_hf.discover.judge)")
    missing = [f for f in REQUIRED if f not in rows[0]]
    if missing:
        raise ConfigurationError(
            f"proposals lack the field(s) {missing}; each needs {list(REQUIRED)} "
            "(and optionally source, record_id, excerpt)"
        )
    return rows


@dataclass
class Discovery:
    """The discovered rubric, each proposal's slot, and what the report and plot need."""

    rubric: Rubric
    assignments: list[str]
    proposals: list[dict[str, Any]]
    silhouette: float | None
    timings: dict[str, float] = field(default_factory=dict)
    #: Per slot, its most central proposals (record_id, source, excerpt, score, rationale), the anchor first.
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _embeddings: np.ndarray | None = field(default=None, repr=False)

    def save(self, path: str | Path) -> Path:
        """Write the rubric as a ``*_dim_anchors.jsonl`` (what ``load_rubric`` and ``Scorer(rubric=)`` read)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.rubric.to_jsonl(), encoding="utf-8")
        return path

    def report(self, top_names: int = 5) -> dict[str, Any]:
        """Cluster sizes, the proposed names in each cluster, its anchor example, and the silhouette."""
        by_slot: dict[str, list[dict[str, Any]]] = {}
        for slot, p in zip(self.assignments, self.proposals):
            by_slot.setdefault(slot, []).append(p)
        slots = []
        for dim in self.rubric:
            members = by_slot.get(dim.slot, [])
            names = count_names([p["dimension"] for p in members]).most_common(top_names)
            slots.append(
                {
                    "slot": dim.slot,
                    "dimension": dim.dimension,
                    "size": dim.cluster_size,
                    "sources": dict(Counter(str(p.get("source", "")) for p in members).most_common()),
                    "names": [{"name": n, "count": c} for n, c in names],
                    "description": dim.description,
                    "anchor": dim.anchor.model_dump(),
                    "examples": self.examples.get(dim.slot, []),
                }
            )
        return {
            "proposals": len(self.proposals),
            "k": len(self.rubric),
            "silhouette": self.silhouette,
            "timings_s": self.timings,
            "slots": slots,
        }

    def save_report(self, path: str | Path) -> Path:
        """The report as JSON (``.json``) or a small HTML page (``.html``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        report = self.report()
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        elif path.suffix.lower() in (".html", ".htm"):
            path.write_text(_html(report), encoding="utf-8")
        else:
            raise ConfigurationError(f"cannot write a discovery report as {path.name!r}; use .json or .html")
        return path

    def plot(self, path: str | Path | None = None) -> Figure | Path:
        """A 2-D map (PCA of the embeddings) of the proposals, coloured by slot; a PNG/SVG/PDF when ``path``."""
        from sklearn.decomposition import PCA

        from mira_hf._util.figures import new_figure, save_figure

        emb = self._embeddings if self._embeddings is not None else np.zeros((len(self.proposals), 2))
        xy = PCA(n_components=2, random_state=0).fit_transform(emb) if emb.shape[1] > 2 else emb
        fig = new_figure(7.5, 6.0)
        ax = fig.add_subplot()
        slot_index = {s: i for i, s in enumerate(self.rubric.slots)}
        codes = np.array([slot_index[s] for s in self.assignments])
        cmap = "tab20" if len(self.rubric) <= 20 else "viridis"
        ax.scatter(xy[:, 0], xy[:, 1], c=codes, cmap=cmap, s=6, alpha=0.7, linewidths=0)
        for dim in self.rubric.calibration(len(self.rubric)):
            pts = xy[codes == dim.index]
            if len(pts):
                cx, cy = pts.mean(axis=0)
                ax.annotate(f"{dim.slot} {dim.dimension}"[:40], (cx, cy), fontsize=7, ha="center")
        sil = f", silhouette {self.silhouette:.2f}" if self.silhouette is not None else ""
        ax.set_title(f"{len(self.proposals):,} proposed dimensions in {len(self.rubric)} slots{sil}")
        ax.set_xticks([])
        ax.set_yticks([])
        return save_figure(fig, path) if path is not None else fig


def _names_text(names: list[dict[str, Any]]) -> str:
    return ", ".join(f"{n['name']} ({n['count']})" for n in names)


def _excerpt(slot: dict[str, Any]) -> str:
    examples = slot.get("examples") or [{}]
    return str(examples[0].get("excerpt") or "")


def _html(report: dict[str, Any]) -> str:
    from html import escape

    rows = "".join(
        f"<tr><td>{s['slot']}</td><td>{escape(s['dimension'])}</td><td>{s['size']:,}</td>"
        f"<td>{escape(_names_text(s['names']))}</td>"
        f"<td>{escape(s['description'])}</td><td>{s['anchor']['score']:g}: {escape(s['anchor']['reason'])}"
        f"<br><small>{escape(_excerpt(s))}</small></td></tr>"
        for s in report["slots"]
    )
    sil = "n/a" if report["silhouette"] is None else f"{report['silhouette']:.3f}"
    return (
        "<!doctype html><meta charset='utf-8'><title>Discovered dimensions</title>"
        f"<h1>Discovered dimensions</h1><p>{report['proposals']:,} proposals, k={report['k']}, "
        f"silhouette {sil}</p><table border='1' cellpadding='4'><tr><th>slot</th><th>dimension</th>"
        f"<th>size</th><th>proposed names</th><th>description</th><th>anchor</th></tr>{rows}</table>"
    )


def _most_central(rows: list[dict[str, Any]], members: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """``members`` by closeness to their centre; equal closeness (proposals with the same text share one
    embedding) goes by the proposal's own content, so neither the row order nor the last bits of a BLAS dot
    product pick the anchor."""
    close = np.round(similarity, 9)
    key = [
        json.dumps(
            [rows[int(j)].get(f) for f in ("record_id", "source", "score", "rationale", "excerpt")],
            sort_keys=True,
            default=str,
        )
        for j in members
    ]
    return members[sorted(range(len(members)), key=lambda i: (-close[i], key[i]))]


def cluster_dimensions(
    proposals: Any, k: int = 15, embedder: str | Embedder = "tfidf", seed: int = 0, *, name: str = "discovered"
) -> Discovery:
    """Cluster proposed dimensions into ``k`` anchored slots; see the module docstring.

    Example:
        >>> from mira_hf.testing.judge_server import planted_proposals
        >>> found = cluster_dimensions(planted_proposals(200, k=2), k=2)
        >>> found.rubric.slots, len(found.assignments)
        (['A1', 'A2'], 200)
    """
    import time

    from sklearn.cluster import KMeans

    rows = _rows(proposals)
    if not 1 <= k <= len(rows):
        raise ConfigurationError(f"k={k} must be between 1 and the number of proposals ({len(rows)})")
    t0 = time.perf_counter()
    texts = [f"{' '.join(str(r['dimension']).split())}: {r['definition']}" for r in rows]
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)  # names repeat a lot
    emb = normalize_rows(get_embedder(embedder, seed=seed)([str(t) for t in unique]))[inverse.reshape(-1)]
    t1 = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(emb)
    t2 = time.perf_counter()
    labels = km.labels_
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], c))  # slot i holds cluster order[i]
    slot_of = {c: i for i, c in enumerate(order)}
    counts = [count_names([rows[j]["dimension"] for j in np.flatnonzero(labels == c)]) for c in order]
    names = name_slots(counts)
    dims = []
    examples: dict[str, list[dict[str, Any]]] = {}
    for i, c in enumerate(order):
        members = np.flatnonzero(labels == c)
        centre = normalize_rows(km.cluster_centers_[c][None, :])[0]
        central = _most_central(rows, members, emb[members] @ centre)
        examples[f"A{i + 1}"] = [{f: rows[int(j)].get(f) for f in EXAMPLE_FIELDS} for j in central[:N_EXAMPLES]]
        dims.append(_anchored(f"A{i + 1}", names[i], int(sizes[c]), rows[int(central[0])]))
    silhouette = _silhouette(emb, labels, k, seed)
    t3 = time.perf_counter()
    rubric = Rubric(name=name, dimensions=tuple(dims))
    assignments = [f"A{slot_of[int(c)] + 1}" for c in labels]
    timings = {"embed": t1 - t0, "kmeans": t2 - t1, "name_and_anchor": t3 - t2, "total": t3 - t0}
    return Discovery(
        rubric=rubric,
        assignments=assignments,
        proposals=rows,
        silhouette=silhouette,
        timings=timings,
        examples=examples,
        _embeddings=emb,
    )


def _anchored(slot: str, name: str, size: int, best: dict[str, Any]) -> Dimension:
    """The slot's dimension, described and anchored by its most central proposal ``best``."""
    description = str(best["definition"]).strip() or str(best["dimension"])
    reason = " ".join(str(best.get("rationale") or "").split()) or "(no rationale given)"
    score = float(min(max(float(best["score"]), 0.0), 10.0))
    return Dimension(
        slot=slot, dimension=name, cluster_size=size, description=description, anchor=Anchor(score=score, reason=reason)
    )


def _silhouette(emb: np.ndarray, labels: np.ndarray, k: int, seed: int) -> float | None:
    """The cosine silhouette of the clustering on a sample (``None`` when ``k`` is 1 or every row is a cluster)."""
    if not 1 < k < len(emb):
        return None
    from sklearn.metrics import silhouette_score

    sample = min(len(emb), SILHOUETTE_SAMPLE)
    return float(silhouette_score(emb, labels, metric="cosine", sample_size=sample, random_state=seed))


def adjusted_rand(truth: Sequence[Any], found: Sequence[Any]) -> float:
    """Adjusted Rand index of two labellings (1.0: the same partition), for known-answer checks.

    Example:
        >>> adjusted_rand([0, 0, 1, 1], ["A2", "A2", "A1", "A1"])
        1.0
    """
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(list(truth), list(found)))
