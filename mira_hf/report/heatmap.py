"""Figures for the README and the report, drawn with matplotlib's object API on the Agg canvas (no display needed).

``plot_reliability`` draws the source × dimension heatmap of teacher–student agreement with masked cells marked.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mira_hf._util.figures import new_figure, save_figure
from mira_hf.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mira_hf.reliability import Reliability

_MASKED_HATCH = "////"
_MISSING_COLOR = "#d9d9d9"


def _text_color(rgba: Any) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _panel(
    ax: Axes,
    values: np.ndarray,
    mask: np.ndarray,
    support: np.ndarray | None,
    *,
    cmap: str,
    vmin: float,
    vmax: float,
    label: str,
    min_support: int,
    texts: list[list[str]] | None = None,
) -> Any:
    """One heatmap panel: colour = value, text = value, hatched grey = not reliable, grey = undefined."""
    import matplotlib

    colormap = matplotlib.colormaps[cmap].with_extremes(bad=_MISSING_COLOR)
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=colormap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    norm = image.norm
    n_rows, n_cols = values.shape
    for i in range(n_rows):
        for j in range(n_cols):
            v = values[i, j]
            if not mask[i, j]:
                ax.add_patch(
                    matplotlib.patches.Rectangle(
                        (j - 0.5, i - 0.5),
                        1,
                        1,
                        facecolor=(1, 1, 1, 0.45),
                        edgecolor="#6b6b6b",
                        hatch=_MASKED_HATCH,
                        linewidth=0,
                    )
                )
            text = texts[i][j] if texts is not None else "n/a" if np.isnan(v) else f"{v:.2f}"
            if support is not None and support[i, j] < min_support:
                text += f"\nn={int(support[i, j])}"
            color = "black" if np.isnan(v) or not mask[i, j] else _text_color(colormap(norm(v)))
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_yticks(range(n_rows))
    ax.set_xticks(range(n_cols))
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title(label, loc="left", fontsize=10)
    return image


def plot_reliability(
    result_or_reliability: dict[str, Any] | Reliability | str | Path,
    path: str | Path | None = None,
    metric: Literal["mae", "spearman", "both"] = "both",
) -> Figure:
    """Heatmap of teacher–student agreement per source × dimension; cells the mask drops are hatched grey.

    Takes what ``evaluate.load("mira_agreement").compute`` returns, a [`Reliability`][mira_hf.reliability.Reliability]
    or a saved Reliability JSON. ``metric="both"`` stacks an MAE panel over a Spearman ρ panel; ``path`` (``.png``,
    ``.svg``, ``.pdf``) also saves it.

    Example:
        >>> from mira_hf import Reliability
        >>> rel = Reliability(dimensions=["a", "b"], mask={"swe_qa": [True, False]})
        >>> plot_reliability(rel).axes[0].get_title(loc="left")
        'reliability mask'
    """
    from mira_hf.reliability import as_reliability

    if metric not in ("mae", "spearman", "both"):
        raise ConfigurationError(f"metric must be 'mae', 'spearman' or 'both'; got {metric!r}.")
    rel = as_reliability(result_or_reliability)
    sources = rel.sources
    if not sources:
        raise ConfigurationError("the reliability mask has no source to plot.")
    mask = np.array([rel.mask[s] for s in sources], dtype=bool)
    n_rows, n_cols = mask.shape
    has_stats = all(s in rel.stats for s in sources)
    panels: list[str] = ["mae", "spearman"] if metric == "both" else [metric]
    if not has_stats:
        panels = ["mask"]
    width = max(8.0, 0.95 * n_cols + 3.0)
    height = sum(0.55 * n_rows + 0.9 for _ in panels) + 2.2
    fig = new_figure(width, height)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    y_labels = [_source_label(rel, s) for s in sources]
    for ax, panel in zip(axes, panels):
        _draw_panel(fig, ax, panel, rel, sources, mask)
        ax.set_yticklabels(y_labels, fontsize=9)
    x_labels = [textwrap.fill(f"A{j + 1} {name}", 24) for j, name in enumerate(rel.dimensions)]
    axes[-1].set_xticklabels(x_labels, rotation=40, ha="right", rotation_mode="anchor", fontsize=8)
    reliable = int(mask.sum())
    rule = f" (MAE ≤ {rel.mae_max:g}, ρ ≥ {rel.spearman_min:g}, n ≥ {rel.min_support})" if has_stats else ""
    fig.suptitle(
        f"Teacher–student agreement: {reliable} of {mask.size} cells reliable{rule}; hatched grey = masked", fontsize=11
    )
    if path is not None:
        save_figure(fig, path)
    return fig


def _source_label(rel: Reliability, source: str) -> str:
    """A row label: the source (``*`` reads "all sources") and its record count when the mask has statistics."""
    name = "all sources" if source == "*" else source
    stats = rel.stats.get(source)
    return f"{name}\n(n={stats.n_records:,})" if stats is not None else name


def _draw_panel(fig: Figure, ax: Axes, panel: str, rel: Reliability, sources: list[str], mask: np.ndarray) -> None:
    """One panel of the heatmap: MAE or Spearman ρ per cell with a colour bar, or the bare mask (✓/✗)."""
    if panel == "mask":
        _panel(
            ax,
            np.where(mask, 1.0, 0.0),
            mask,
            None,
            cmap="RdYlGn",
            vmin=0.0,
            vmax=1.0,
            min_support=0,
            label="reliability mask",
            texts=[["✓" if ok else "✗" for ok in row] for row in mask],
        )
        return
    support = np.array([rel.stats[s].support for s in sources], dtype=float)
    values = np.array(
        [[np.nan if v is None else v for v in getattr(rel.stats[s], panel)] for s in sources], dtype=float
    )
    if panel == "mae":
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
        vmax, cmap, label = max(2.0 * rel.mae_max, top, 1e-9), "RdYlGn_r", "MAE"
        title = f"MAE (teacher vs student; reliable ≤ {rel.mae_max:g})"
    else:
        vmax, cmap, label = 1.0, "RdYlGn", "ρ"
        title = f"Spearman ρ (reliable ≥ {rel.spearman_min:g})"
    image = _panel(
        ax,
        values,
        mask,
        support,
        cmap=cmap,
        vmin=0.0 if panel == "mae" else -0.2,
        vmax=vmax,
        min_support=rel.min_support,
        label=title,
    )
    fig.colorbar(image, ax=ax, shrink=0.9, label=label)
