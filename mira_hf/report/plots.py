"""The report's plots: score histograms, dimension grids, retention curves and status bars.

Each function takes numbers already summarised (counts, means, quantiles, curves — never rows) and returns a
``matplotlib.figure.Figure`` built without ``pyplot``, so drawing never touches the user's global backend and
works headless (Agg). `figure_png` turns a figure into PNG bytes for embedding.

Example:
    >>> import numpy as np
    >>> fig = plot_score_histograms({"swe_qa": np.array([1, 3, 2])}, np.array([0.0, 2.0, 4.0, 6.0]), xlabel="score")
    >>> figure_png(fig)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

#: One colour per ``mira_status``; unknown statuses get grey.
STATUS_COLORS: dict[str, str] = {
    "ok": "#2e7d32",
    "partial": "#f9a825",
    "parse_error": "#c62828",
    "invalid_input": "#6a1b9a",
    "engine_error": "#424242",
}
_OTHER_STATUS = "#9e9e9e"
#: Colour-blind-safe cycle (Okabe–Ito) for sources.
SOURCE_COLORS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
_DPI = 100


def source_color(i: int) -> str:
    """The colour of the ``i``-th source (cycles after eight)."""
    return SOURCE_COLORS[i % len(SOURCE_COLORS)]


def figure_png(fig: Figure, dpi: int = _DPI) -> bytes:
    """Render ``fig`` to PNG bytes (Agg), trimmed to its content."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    cols = max(1, min(max_cols, n))
    return math.ceil(n / cols), cols


def plot_score_histograms(
    counts: Mapping[str, np.ndarray],
    edges: np.ndarray,
    *,
    xlabel: str,
    cut_scores: Mapping[str, float] | None = None,
    max_cols: int = 3,
) -> Figure:
    """One histogram panel per source (shared x axis) from precomputed bin ``counts`` over ``edges``.

    ``cut_scores`` draws each source's selection cut as a dashed line.
    """
    names = list(counts)
    rows, cols = _grid(len(names), max_cols)
    fig = Figure(figsize=(4.2 * cols, 2.6 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).ravel()
    for i, name in enumerate(names):
        ax = axes[i]
        c = np.asarray(counts[name])
        ax.stairs(c, edges, fill=True, color=source_color(i), alpha=0.75)
        ax.set_title(f"{name}  (n={int(c.sum()):,})", fontsize=10)
        ax.set_ylabel("rows", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        cut = (cut_scores or {}).get(name)
        if cut is not None and np.isfinite(cut):
            ax.axvline(cut, color="black", linestyle="--", linewidth=1.2, label=f"cut {cut:.2f}")
            ax.legend(fontsize=8, loc="upper left")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(names) - cols) : len(names)]:
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(labelbottom=True)
    return fig


def dimension_labels(slots: Sequence[str], names: Sequence[str], width: int = 60) -> list[str]:
    """``"A1 · Plan Quality …"`` labels, shortened to ``width`` characters."""
    return [textwrap.shorten(f"{s} · {n}", width=width, placeholder="…") for s, n in zip(slots, names)]


def plot_dimension_means(
    means: np.ndarray, sources: Sequence[str], labels: Sequence[str], *, vmin: float = 0.0, vmax: float = 10.0
) -> Figure:
    """Heatmap of the mean score per (dimension × source); ``means`` is ``(dimensions, sources)``, NaN blank."""
    means = np.asarray(means, dtype=np.float64)
    n_dims, n_src = means.shape
    fig = Figure(figsize=(3.2 + 1.25 * max(n_src, 2) + 3.0, 0.42 * n_dims + 1.6), layout="constrained")
    ax = fig.subplots()
    cmap = colormaps["viridis"].with_extremes(bad="#e0e0e0")
    im = ax.imshow(np.ma.masked_invalid(means), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(
        range(n_src), [textwrap.shorten(s, 24, placeholder="…") for s in sources], rotation=20, ha="right", fontsize=9
    )
    ax.set_yticks(range(n_dims), labels, fontsize=9)
    mid = (vmin + vmax) / 2
    for (d, s), v in np.ndenumerate(means):
        text = "—" if not np.isfinite(v) else f"{v:.1f}"
        color = "black" if not np.isfinite(v) or v > mid else "white"
        ax.text(s, d, text, ha="center", va="center", fontsize=8.5, color=color)
    fig.colorbar(im, ax=ax, label="mean score", shrink=0.8)
    ax.set_title("Mean score per dimension and source", fontsize=11)
    return fig


def plot_dimension_boxes(
    quantiles: np.ndarray,
    sources: Sequence[str],
    labels: Sequence[str],
    *,
    max_cols: int = 5,
    ylim: tuple[float, float] = (0.0, 10.0),
) -> Figure:
    """Small multiples, one panel per dimension, one box per source.

    ``quantiles`` is ``(dimensions, sources, 5)``: 5th, 25th, 50th, 75th, 95th percentiles (whiskers at 5/95,
    so no row-level data is needed); NaN where a cell has no score.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    n_dims, n_src, _ = q.shape
    rows, cols = _grid(n_dims, max_cols)
    fig = Figure(figsize=(3.0 * cols, 2.3 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    for d in range(n_dims):
        ax = axes[d]
        stats, positions, colors = [], [], []
        for s in range(n_src):
            lo, q1, med, q3, hi = q[d, s]
            if not np.isfinite(med):
                continue
            stats.append({"whislo": lo, "q1": q1, "med": med, "q3": q3, "whishi": hi, "label": ""})
            positions.append(s)
            colors.append(source_color(s))
        if stats:
            boxes = ax.bxp(
                stats,
                positions=positions,
                showfliers=False,
                patch_artist=True,
                widths=0.6,
                medianprops={"color": "black"},
            )
            for patch, color in zip(boxes["boxes"], colors):
                patch.set_facecolor(color)
                patch.set_alpha(0.8)
        ax.set_xticks([])
        ax.set_xlim(-0.6, n_src - 0.4)
        ax.set_ylim(*ylim)
        ax.grid(axis="y", alpha=0.3)
        ax.set_title(textwrap.fill(labels[d], 30), fontsize=8)
    for ax in axes[n_dims:]:
        ax.set_visible(False)
    handles = [_patch(source_color(s)) for s in range(n_src)]
    fig.legend(handles, list(sources), loc="outside lower center", ncols=min(n_src, 6), fontsize=9)
    return fig


def _patch(color: str):
    from matplotlib.patches import Patch

    return Patch(facecolor=color, alpha=0.8)


def plot_retention_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    xlabel: str,
    cuts: Mapping[str, tuple[float, float]] | None = None,
    global_cuts: Mapping[str, float] | None = None,
) -> Figure:
    """Kept share vs cut score, one line per source; ``cuts[source] = (cut, kept share)`` marks the selection.

    ``global_cuts`` draws vertical lines for cuts that apply to several sources (a group or a global cut).
    """
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for i, (name, (x, y)) in enumerate(curves.items()):
        ax.plot(x, y, color=source_color(i), linewidth=2, label=name)
        mark = (cuts or {}).get(name)
        if mark is not None and mark[0] is not None and np.isfinite(mark[0]):
            ax.plot(
                [mark[0]], [mark[1]], marker="o", markersize=9, color=source_color(i), markeredgecolor="black", zorder=5
            )
            ax.annotate(
                f"cut {mark[0]:.2f} → {mark[1]:.0%}",
                (mark[0], mark[1]),
                textcoords="offset points",
                xytext=(8, 6),
                fontsize=8.5,
            )
    for label, cut in (global_cuts or {}).items():
        ax.axvline(cut, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"{label}: cut {cut:.2f}", (cut, 1.0), textcoords="offset points", xytext=(4, -12), fontsize=8.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of the source's rows kept")
    ax.set_ylim(-0.02, 1.04)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower left")
    ax.set_title("Retention: rows kept if the cut were at this score (score ≥ cut)", fontsize=11)
    return fig


def plot_status_counts(
    counts: np.ndarray, sources: Sequence[str], statuses: Sequence[str], truncated_share: np.ndarray | None = None
) -> Figure:
    """Stacked bars of ``mira_status`` shares per source (``counts`` is ``(sources, statuses)``), and the
    share of truncated rows per source beside them when given."""
    counts = np.asarray(counts, dtype=np.float64)
    n_src = len(sources)
    panels = 2 if truncated_share is not None else 1
    fig = Figure(figsize=(5.5 * panels + 1.5, 0.55 * n_src + 1.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, panels, sharey=True, squeeze=False, width_ratios=[2, 1][:panels])).ravel()
    totals = counts.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, 0.0)
    y = np.arange(n_src)
    left = np.zeros(n_src)
    ax = axes[0]
    for j, status in enumerate(statuses):
        ax.barh(
            y,
            shares[:, j],
            left=left,
            color=STATUS_COLORS.get(status, _OTHER_STATUS),
            label=status,
            edgecolor="white",
            linewidth=0.5,
        )
        left += shares[:, j]
    ax.set_yticks(y, list(sources))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("mira_status per source", fontsize=11)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(len(statuses), 5), fontsize=8.5)
    if truncated_share is not None:
        tx = axes[1]
        ts = np.asarray(truncated_share, dtype=np.float64)
        tx.barh(y, ts, color="#5c6bc0")
        for yi, v in zip(y, ts):
            tx.annotate(f"{v:.1%}", (v, yi), textcoords="offset points", xytext=(3, -3), fontsize=8.5)
        tx.set_xlim(0, max(0.05, float(np.nanmax(ts)) * 1.3 if ts.size else 0.05))
        tx.xaxis.set_major_formatter(PercentFormatter(1.0))
        tx.set_title("truncated to fit the context", fontsize=11)
    return fig
