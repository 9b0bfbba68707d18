"""``mira-hf run``: a whole mixture from its plan file (`run_plan`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf.cli._shared import CpuOption, TrustRemoteCodeOption


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
    cpu: CpuOption = False,
    trust_remote_code: TrustRemoteCodeOption = False,
) -> None:
    """Run a whole mixture: score → masks → aggregate → select → report; a rerun skips unchanged steps."""
    from mira_hf._util.logs import quiet_datasets
    from mira_hf.mixture.run import run_plan

    quiet_datasets()
    result = run_plan(
        _adjusted_plan(plan, output, cpu=cpu, trust_remote_code=trust_remote_code),
        output,
        force=force,
        dry_run=dry_run,
        batch_size=batch_size,
        say=lambda m: typer.echo(m, err=True),
    )
    for step, state in result.steps.items():
        typer.echo(f"{step:<10} {state}")
    if not dry_run:
        typer.echo(f"selected: {result.selected_path}  report: {result.report_path}")


def _adjusted_plan(plan: Path, output: Path, *, cpu: bool, trust_remote_code: bool) -> Any:
    """The plan file as it is, or read and changed by ``--trust-remote-code`` and ``--cpu`` (which says loudly that
    its scores mean nothing)."""
    if not (cpu or trust_remote_code):
        return plan
    from mira_hf.mixture.plan import Plan, load_plan

    loaded = load_plan(plan)
    if trust_remote_code:
        loaded = Plan.model_validate({**loaded.model_dump(), "trust_remote_code": True})
    if cpu:
        from mira_hf.demo import CPU_WARNING, cpu_plan

        typer.secho(CPU_WARNING, fg=typer.colors.YELLOW, err=True)
        loaded = cpu_plan(loaded, output / "tiny-model")
    return loaded
