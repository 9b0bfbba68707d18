"""MkDocs hook: the options tables of docs/cli.md, generated from the command line itself at build time.

A line ``<!-- cli-options: score -->`` (or ``discover judge``) in a page becomes the table of that command's
arguments and options, read from ``mira_hf.cli.app`` (the same click objects ``--help`` prints), so the page cannot
drift from the code. The build fails when a marker names no command, or when a command of the app has no marker
in docs/cli.md (a new command needs its section). ``tests/test_docs_site.py`` checks the same without a build.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

#: ``<!-- cli-options: COMMAND -->`` on a line of its own.
MARKER = re.compile(r"^<!--[ \t]*cli-options:[ \t]*(?P<command>[\w -]+?)[ \t]*-->[ \t]*$", re.M)
#: The page whose markers must cover every command.
CLI_PAGE = "cli.md"


def commands() -> dict[str, Any]:
    """Every command of ``mira-hf`` by its full name (``"score"``, ``"discover judge"``), in ``--help`` order."""
    import typer

    from mira_hf.cli import app

    found: dict[str, Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors its own click, so no isinstance check)
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        elif not command.hidden:
            found[" ".join(path)] = command

    walk(typer.main.get_command(app), ())
    return found


def option_names(param: Any) -> list[str]:
    """What a reader types: ``["--output", "-o"]``, ``["--structured", "--no-structured"]`` or ``["DATA"]``."""
    if param.param_type_name == "argument":
        return [param.name.upper()]
    return [*param.opts, *param.secondary_opts]


def _cell(text: str) -> str:
    """Help text as one Markdown table cell: no HTML read from it, no column break."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def _default(param: Any) -> str:
    if param.required:
        return "required"
    default = param.default
    if param.param_type_name == "argument" or default is None or default == () or default == []:
        return ""
    if getattr(param, "is_flag", False) and param.secondary_opts:
        return f"`{param.opts[0] if default else param.secondary_opts[0]}`"
    if getattr(param, "is_flag", False):
        return "" if not default else "on"
    return f"`{_cell(os.fspath(default) if isinstance(default, os.PathLike) else str(default))}`"


def options_table(command: Any) -> str:
    """The Markdown table of one command's arguments and options (``--help`` itself is left out)."""
    rows = ["| argument / option | default | what it does |", "| --- | --- | --- |"]
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        names = ", ".join(f"`{n}`" for n in option_names(param))
        text = _cell(getattr(param, "help", None) or "")
        envvar = getattr(param, "envvar", None)
        if envvar:
            text += f" (`{envvar}`)"
        rows.append(f"| {names} | {_default(param)} | {text} |")
    if len(rows) == 2:
        return "No options."
    return "\n".join(rows)


def render(markdown: str, *, require_all: bool) -> str:
    """Replace every marker by its table; with ``require_all``, every command must have one."""
    known = commands()
    named = [m["command"] for m in MARKER.finditer(markdown)]
    unknown = sorted(set(named) - set(known))
    missing = [name for name in known if name not in named] if require_all else []
    if unknown or missing:
        from mkdocs.exceptions import PluginError

        raise PluginError(
            f"{CLI_PAGE}: cli-options markers name no command: {unknown}; commands with no marker: {missing}"
        )
    return MARKER.sub(lambda m: options_table(known[m["command"]]), markdown)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != CLI_PAGE and not MARKER.search(markdown):
        return markdown
    return render(markdown, require_all=page.file.src_uri == CLI_PAGE)
