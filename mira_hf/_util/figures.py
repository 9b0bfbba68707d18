"""Matplotlib figures without pyplot: a Figure on the Agg canvas, and saving it by file suffix.

Shared by the reliability heatmap and stage 1's similarity plots, so no figure touches pyplot's global state
or needs a display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mira_hf.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FIGURE_SUFFIXES", "new_figure", "save_figure"]

#: File types ``save_figure`` writes (the suffix of ``path`` picks one).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def new_figure(width: float, height: float) -> Figure:
    """A Figure of ``width`` × ``height`` inches with constrained layout, bound to the Agg canvas.

    Example:
        >>> new_figure(4, 3).get_size_inches().tolist()
        [4.0, 3.0]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save as PNG, SVG or PDF according to the suffix of ``path``; creates the parent folder.

    Example:
        >>> save_figure(new_figure(2, 2), "plots/empty.svg").name
        'empty.svg'
    """
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ConfigurationError(
            f"cannot save a figure as {path.name!r}; use a name ending in {', '.join(FIGURE_SUFFIXES)}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
