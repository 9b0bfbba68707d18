"""Benchmark: rubric discovery (``mira_hf.discover.cluster_dimensions``) on planted proposals.

Proposals are drawn from the 15 planted families of ``mira_hf.testing.judge_server`` (name and definition
variants, known family labels). Per size: wall time of the whole discovery and its parts (embedding, KMeans,
naming + anchors + silhouette), the KMeans share, and the quality of the recovered clusters against the planted
families (adjusted Rand index, purity). The baseline, run in the same process, is a bare scikit-learn
``KMeans`` over the same embeddings (``n_init=1``): the ratio says what discovery costs over one clustering.

    python benchmarks/bench_discover.py                      # 10 K proposals, k=15 (the figure in the docs)
    python benchmarks/bench_discover.py --unique             # every proposal's text distinct (embedding cost)
    python benchmarks/bench_discover.py --sizes 1000 --repeat 1   # seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402


def purity(truth: list[int], found: list[str]) -> float:
    """Share of proposals in their cluster's majority family."""
    by: dict[str, Counter[int]] = {}
    for t, f in zip(truth, found):
        by.setdefault(f, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in by.values()) / len(truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--unique",
        action="store_true",
        help="make every definition distinct (a record-specific clause), as a real teacher's are",
    )
    _results.add_option(ap)
    args = ap.parse_args()

    from sklearn.cluster import KMeans

    from mira_hf.discover.clustering import adjusted_rand, cluster_dimensions
    from mira_hf.testing.judge_server import planted_proposals

    cluster_dimensions(planted_proposals(200, k=3), k=3)  # warm-up: imports
    header = (
        f"{'proposals':>10} {'total s':>8} {'embed s':>8} {'KMeans s':>9} {'KMeans %':>9} "
        f"{'× baseline':>11} {'ARI':>6} {'purity':>7} {'silhouette':>10}"
    )
    print(header)
    print("-" * len(header))
    figures, cells = [], []
    for n in args.sizes:
        rows = planted_proposals(n, k=args.k, seed=1)
        if args.unique:
            rows = [
                {**r, "definition": f"{r['definition']} Here: case {r['record_id']} step {i % 97}."}
                for i, r in enumerate(rows)
            ]
        truth = [r["family"] for r in rows]
        best = None
        for _ in range(args.repeat):
            found = cluster_dimensions(rows, k=args.k, seed=0)
            if best is None or found.timings["total"] < best.timings["total"]:
                best = found
        emb = best._embeddings  # the proposals' vectors as discovery clustered them
        base = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            KMeans(n_clusters=args.k, n_init=1, random_state=0).fit(emb)
            base.append(time.perf_counter() - t0)
        t = best.timings
        print(
            f"{n:>10,} {t['total']:>8.2f} {t['embed']:>8.2f} {t['kmeans']:>9.2f} "
            f"{100 * t['kmeans'] / t['total']:>8.0f}% {t['total'] / min(base):>10.1f}x "
            f"{adjusted_rand(truth, best.assignments):>6.3f} {purity(truth, best.assignments):>7.3f} "
            f"{best.silhouette:>10.3f}"
        )
        distinct = len({r["definition"] for r in rows})
        f = dict(proposals=n, distinct_texts=distinct, total_s=t["total"], embed_s=t["embed"], kmeans_s=t["kmeans"])
        f.update(baseline_s=min(base), ari=adjusted_rand(truth, best.assignments))
        f.update(purity=purity(truth, best.assignments), silhouette=best.silhouette)
        figures.append(f)
        cells.append(
            [f"{n:,}", "all distinct" if distinct == n else f"{distinct:,} distinct", f"{t['total']:.2f}"]
            + [f"{t['embed']:.2f}", f"{t['kmeans']:.2f}", f"{100 * t['kmeans'] / t['total']:.0f} %"]
            + [f"{t['total'] / min(base):.1f}×", f"{f['ari']:.3f}", f"{f['purity']:.3f}", f"{best.silhouette:.3f}"]
        )
    head = ["proposals", "texts", "total s", "embed s", "KMeans s", "KMeans share", "× baseline", "ARI", "purity"]
    _results.save(
        args.results_dir,
        "discover_unique" if args.unique else "discover",
        {"table": _results.table([*head, "silhouette"], "rlrrrrrrrr", cells)},
        {"k": args.k, "repeat": args.repeat, "unique": args.unique, "sizes": figures},
    )
    print(
        f"\nbaseline: one bare KMeans(n_init=1) over the same TF-IDF embeddings; discovery runs KMeans with "
        f"n_init=10, embeds unique texts, names, anchors and estimates the silhouette. ({np.__name__} "
        f"{np.__version__})"
    )


if __name__ == "__main__":
    main()
