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
) -> None:
    """Write one self-contained HTML report with the plots."""
    from mira_hf.report import build_report

    ds = load_any(data, split)
    reliability = None
    if mask is not None:
        from mira_hf.reliability import Reliability

        reliability = Reliability.load(mask)
    if selection is not None and not selection.is_file():
        fail(f"--selection {selection} does not exist; pass the selection_report.json `mira-hf select` wrote")
    sel = json.loads(selection.read_text()) if selection else None
    path = build_report(ds, reliability=reliability, selection=sel, path=output, source_column=source_column)
    typer.echo(f"wrote {path}")
