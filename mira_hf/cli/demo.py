"""``mira-hf demo`` (the whole pipeline on the bundled example, `run_demo`) and
``mira-hf install-metric`` (the ``mira_agreement`` metric where ``evaluate.load`` finds it offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from mira_hf.selection import SelectionReport


def demo(
    out: Path = typer.Option(Path("mira-demo"), "--out", help="Output folder."),
    data: Optional[Path] = typer.Option(None, help="Example dataset (default: examples/data/trajectories.jsonl)."),
    cpu: Optional[bool] = typer.Option(None, "--cpu/--gpu", help="Force the CPU stand-in or the real scorer."),
) -> None:
    """Run the whole pipeline on the bundled example: score → agree → mask → select → report."""
    from rich.console import Console

    from mira_hf.demo import run_demo
    from mira_hf.scoring.job import status_table

    console = Console(stderr=True)
    result = run_demo(out, data=data, cpu=cpu, say=lambda m: console.print(f"[yellow]{m}[/yellow]", soft_wrap=True))
    console.print(status_table(result.scored))
    console.print(_selection_table(result.report))
    typer.echo(f"selected dataset: {result.selected_path}  (datasets.load_from_disk)")
    typer.echo(f"report:           {result.report_path}")


def _selection_table(report: SelectionReport) -> Table:
    """Rows, kept rows and the cut score of each source."""
    from rich.table import Table

    table = Table(title="selection per source")
    for col in ("source", "rows", "kept", "cut score"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for name, stats in report.sources.items():
        cut = report.cuts.get(name)
        cut_score = getattr(cut, "cut_score", None) if cut is not None else None
        table.add_row(name, f"{stats.rows:,}", f"{stats.kept:,}", "—" if cut_score is None else f"{cut_score:.2f}")
    return table


def install_metric() -> None:
    """Install the `mira_agreement` metric where evaluate.load finds it offline."""
    from mira_hf._util.metric_install import install_metric as install

    typer.echo(f"installed mira_agreement at {install()}")
