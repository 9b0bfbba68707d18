"""The ``mira-hf`` command line: one module per command group over the library; nothing in the package imports it.

Each command parses its options and calls the library; library errors (`MiraError`)
become one ``error:`` line on stderr and exit code 2 in one place, `MiraGroup`: in the command's words (its
``--flag`` for the library's ``name=``) and with the error's code (docs/troubleshooting.md). Usage mistakes (a
missing option, a bad value, an unknown option) are one ``error:`` line there too.

=================  ==================================================================
module             commands
=================  ==================================================================
``_shared``        the options several commands share, ``fail()``, the error mapping
``score``          ``score``, ``inspect``, ``merge``
``agree``          ``agree``
``select``         ``select`` (and ``select --preview``)
``report``         ``report``
``demo``           ``install-metric``, ``demo``
``run``            ``run`` (a mixture plan)
``discover``       ``group-sources``, ``discover judge``, ``discover cluster``
``distill``        ``distill``
=================  ==================================================================
"""

from __future__ import annotations

import sys

import typer

from mira_hf._version import __version__
from mira_hf.cli import agree, demo, discover, distill, report, run, score, select
from mira_hf.cli._shared import MiraGroup

__all__ = ["app", "main"]

app = typer.Typer(
    cls=MiraGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="MIRA data selection for Hugging Face datasets: score, agree, select, report.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mira-hf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log progress details, and every vLLM line (without it: warnings)."
    ),
) -> None:
    from mira_hf._util.logs import set_verbosity

    set_verbosity(verbose)  # before any engine starts: vLLM's workers inherit the level


# The order here is the order of `mira-hf --help`.
app.command("score")(score.score)
app.command("inspect")(score.inspect)
app.command("merge")(score.merge)
app.command("agree")(agree.agree)
app.command("select")(select.select)
app.command("report")(report.report)
app.command("install-metric")(demo.install_metric)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.command("group-sources")(discover.group_sources_cmd)
app.add_typer(discover.discover_app, name="discover")
app.command("distill")(distill.distill)


def main() -> None:
    """Console-script entry point (``mira-hf``)."""
    try:
        app()
    except KeyboardInterrupt:
        typer.secho("interrupted: rerun the same command to resume", err=True)
        sys.exit(130)
