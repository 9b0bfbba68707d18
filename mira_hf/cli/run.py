"""``mira-hf run``: a whole mixture from its plan file (:func:`~mira_hf.mixture.run_plan`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def run(
    plan: Path = typer.Argument(
        ..., help="The mixture plan (YAML): groups of sources, their scorers, rubrics, masks and retention."
    ),
    output: Path = typer.Option(Path("mixture-out"), "--output", "-o", help="Folder for every step's output."),
    force: Optional[list[str]] = typer.Option(
        None,
        help="Run this step and the later ones again (repeatable): score, masks, aggregate, select, report, or all.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the plan and the sources; say which steps would run; score nothing."
    ),
    batch_size: Optional[int] = typer.Option(
        None,
        help="Rows per batch when the scored rows are read back from "
        "the stores; scoring streams (default: the plan's).",
    ),
) -> None:
    """Run a whole mixture: score → masks → aggregate → select → report; a rerun skips unchanged steps."""
    from mira_hf.mixture.run import run_plan

    result = run_plan(
        plan, output, force=force, dry_run=dry_run, batch_size=batch_size, say=lambda m: typer.echo(m, err=True)
    )
    for step, state in result.steps.items():
        typer.echo(f"{step:<10} {state}")
    if not dry_run:
        typer.echo(f"selected: {result.selected_path}  report: {result.report_path}")
