"""``mira-hf report``: one self-contained HTML report (`build_report`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mira_hf.cli._shared import SourceColumnOption, TableSplitOption, fail
from mira_hf.io import load_any


def report(
    data: str = typer.Argument(..., help="Scored (and optionally aggregated) dataset."),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="Where to write the HTML file."),
    mask: Optional[Path] = typer.Option(None, help="Reliability JSON from `mira-hf agree`."),
    selection: Optional[Path] = typer.Option(None, help="selection_report.json from `mira-hf select`."),
    source_column: SourceColumnOption = "source",
    split: TableSplitOption = "train",
    samples: int = typer.Option(
        3, help="Records shown per source and kind (top, around the cut, bottom, random); 0 leaves them out."
    ),
    teacher_column: Optional[str] = typer.Option(
        None, help="Teacher scores beside the student's (default: teacher_scores when present)."
    ),
    seed: int = typer.Option(0, help="Seed of the records sample."),
) -> None:
    """Write one self-contained HTML report with the plots."""
    from mira_hf.report import build_report

    if samples < 0:
        fail(f"--samples {samples} is negative; pass 0 to leave the records out, or a count per kind such as 3")
    ds = load_any(data, split)
    reliability = None
    if mask is not None:
        from mira_hf.reliability import Reliability

        reliability = Reliability.load(mask)
    if selection is not None and not selection.is_file():
        fail(f"--selection {selection} does not exist; pass the selection_report.json `mira-hf select` wrote")
    sel = json.loads(selection.read_text()) if selection else None
    path = build_report(
        ds,
        reliability=reliability,
        selection=sel,
        path=output,
        source_column=source_column,
        samples=samples,
        teacher_column=teacher_column,
        seed=seed,
    )
    typer.echo(f"wrote {path}")
