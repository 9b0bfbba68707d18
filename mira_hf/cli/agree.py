"""``mira-hf agree``: teacher–student agreement per source × dimension and the reliability mask
(`agreement`, saved as a `Reliability`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf.cli._shared import TableSplitOption
from mira_hf.io import load_any


def agree(
    data: str = typer.Argument(..., help="Dataset with student and teacher score columns."),
    student_column: str = typer.Option("mira_scores", help="Student scores (list per row)."),
    teacher_column: str = typer.Option("teacher_scores", help="Teacher scores (list per row)."),
    source_column: Optional[str] = typer.Option("source", help="Source column ('' for one mask for all)."),
    split: TableSplitOption = "train",
    mae_max: Optional[float] = typer.Option(None, help="A cell is reliable when MAE ≤ this."),
    spearman_min: Optional[float] = typer.Option(None, help="…and Spearman ρ ≥ this."),
    min_support: Optional[int] = typer.Option(None, help="…with at least this many rows."),
    bootstrap: int = typer.Option(0, help="Bootstrap resamples for MAE and ρ intervals per cell (0 = none)."),
    confidence: float = typer.Option(0.95, help="Level of the bootstrap intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    mask_by: str = typer.Option(
        "point",
        help="point | bound: judge cells by the estimates or the interval's pessimistic bound (needs --bootstrap).",
    ),
    status_column: Optional[str] = typer.Option(
        "mira_status", help="Student parse status per row, for the parse failures per cell ('' to skip)."
    ),
    output: Path = typer.Option(Path("reliability.json"), "--output", "-o", help="Where to write the mask JSON."),
    heatmap: Optional[Path] = typer.Option(None, help="Also save the reliability heatmap (PNG or SVG)."),
) -> None:
    """Teacher–student agreement per source × dimension, and the reliability mask."""
    from mira_hf._util.arrow import rows_column
    from mira_hf.reliability import Reliability
    from mira_hf.reliability import agreement as compute

    ds = load_any(data, split)
    _check(ds, student_column, teacher_column, source_column, min_support)
    thresholds: dict[str, Any] = {
        k: v
        for k, v in dict(mae_max=mae_max, spearman_min=spearman_min, min_support=min_support).items()
        if v is not None
    }
    statuses = rows_column(ds, status_column) if status_column and status_column in ds.column_names else None
    result = compute(
        rows_column(ds, student_column),
        rows_column(ds, teacher_column),
        sources=rows_column(ds, source_column) if source_column else None,
        statuses=statuses,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        mask_by=mask_by,  # type: ignore[arg-type]
        **thresholds,
    )
    Reliability.from_result(result).save(output)
    if heatmap:
        from mira_hf.report.heatmap import plot_reliability

        plot_reliability(result, path=heatmap)
    _print_agreement(result)
    typer.echo(f"wrote the mask to {output}")


def _check(
    ds: Any, student_column: str, teacher_column: str, source_column: Optional[str], min_support: Optional[int]
) -> None:
    """Before any statistic: every named column exists (one ``error:`` line naming the closest column), and a
    warning when ``min_support`` is more than the rows of the sources (their cells would all be masked)."""
    import logging

    from mira_hf._util.problems import joined, missing_column
    from mira_hf.errors import ColumnNotFoundError
    from mira_hf.reliability.checks import source_counts, support_warning
    from mira_hf.reliability.constants import DEFAULT_MIN_SUPPORT

    named = {"student_column": student_column, "teacher_column": teacher_column, "source_column": source_column}
    problems = [p for key, col in named.items() if col and (p := missing_column(col, ds.column_names, key))]
    if problems:  # a library error: MiraGroup writes `student_column=` as --student-column
        raise ColumnNotFoundError(joined(problems))
    counts = source_counts(ds, source_column) if source_column else {"(all rows)": len(ds)}
    threshold = DEFAULT_MIN_SUPPORT if min_support is None else min_support
    warning = support_warning(counts, threshold, fix="pass --min-support {n} (or less)")
    if warning is not None:
        logging.getLogger(__name__).warning(warning)


def _print_agreement(result: dict[str, Any]) -> None:
    """The mask as a table on stderr: ✓ or · per source × dimension, with MAE / ρ (and their interval bounds)."""
    from rich.console import Console
    from rich.table import Table

    bound = f" (bounds of the {result['confidence']:.0%} intervals)" if result.get("bootstrap") else ""
    table = Table(title=f"reliable dimensions per source (✓) — MAE / ρ{bound}")
    table.add_column("dimension")
    sources = list(result["mask"])
    for s in sources:
        table.add_column(s, justify="center")
    for j, name in enumerate(result["dimensions"]):
        cells = []
        for s in sources:
            stats = result["by_source"].get(s, result) if s != "*" else result
            mae, rho = stats["mae"][j], stats["spearman"][j]
            mark = "✓" if result["mask"][s][j] else "·"
            text = f"{mark} {mae:.2f} / {rho:.2f}" if mae is not None and rho is not None else f"{mark} n/a"
            if stats.get("mae_high") and stats["mae_high"][j] is not None and stats["spearman_low"][j] is not None:
                text += f" (≤{stats['mae_high'][j]:.2f} / ≥{stats['spearman_low'][j]:.2f})"
            cells.append(text)
        table.add_row(name, *cells)
    Console(stderr=True).print(table)
