"""The documentation site as a reader sees it (issue 22, point 6): ``mkdocs build --strict`` once, then the built
pages show no raw Sphinx role, no code line wider than the page, and the command-line page has a section and a
complete options table per command.

The fast tests check the sources (docstrings, README.md and docs/*.md, docs/cli.md against ``mira_hf.cli.app``);
the ``slow`` ones read the one build of the site (``site_dir`` fixture).
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import REPO

DOCS = REPO / "docs"
VENV_BIN = Path(sys.executable).parent
#: Code in the docs fits 88 columns: what the content column shows beside both sidebars (docs/css/extra.css).
CODE_COLUMNS = 88
#: A Sphinx role as it would reach the page unrendered (``:class:`~mira_hf.config.ScorerConfig```).
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const):`")
#: A ``<pre>`` block of a built page, and the language class pymdownx.highlight gives it.
PRE = re.compile(r'<div class="(?:language-(?P<lang>[\w-]+) )?highlight"><pre[^>]*>(?P<body>.*?)</pre>', re.S)
#: A heading of docs/cli.md that names a command: ``## `mira-hf discover judge```.
COMMAND_HEADING = re.compile(r"^`?mira-hf (?P<command>[a-z][\w -]*?)`?$")


def _load_cli_hook():
    spec = importlib.util.spec_from_file_location("cli_options", DOCS / "_ext" / "cli_options.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_options = _load_cli_hook()


def code_lines_too_wide(page: str, text: str) -> list[str]:
    """``page:line: N columns`` for every line of a fenced block wider than the page allows."""
    out = []
    for tok in MarkdownIt("commonmark").parse(text):
        if tok.type != "fence":
            continue
        limit = CODE_COLUMNS  # what a command prints too: its tables are drawn for 88 columns
        for n, line in enumerate(tok.content.splitlines(), start=tok.map[0] + 2):
            if len(line) > limit:
                out.append(f"{page}:{n}: {len(line)} columns (at most {limit}): {line[:60]}…")
    return out


def built_code_lines_too_wide(site: Path) -> list[str]:
    """The same, read from the built HTML (docstring examples of the API reference included)."""
    out = []
    for page in sorted(site.rglob("*.html")):
        for block in PRE.finditer(page.read_text(encoding="utf-8")):
            limit = CODE_COLUMNS
            text = html.unescape(re.sub(r"<[^>]+>", "", block["body"]))
            out += [
                f"{page.relative_to(site)}: {len(line)} columns (at most {limit}): {line[:60]}…"
                for line in text.splitlines()
                if len(line) > limit
            ]
    return out


def cli_sections(text: str) -> dict[str, list[str]]:
    """docs/cli.md's command headings → the ``cli-options`` markers in each section."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    tokens = MarkdownIt("commonmark").parse(text)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            match = COMMAND_HEADING.match(tokens[i + 1].content)
            current = match["command"] if match else None
            if current is not None:
                sections[current] = []
        elif tok.type == "html_block" and current is not None:
            sections[current] += [m["command"] for m in cli_options.MARKER.finditer(tok.content)]
    return sections


# ---------------------------------------------------------------------------------------------- the sources


def test_the_package_sources_hold_no_sphinx_role():
    """Docstrings cross-reference with Markdown autorefs ``[Name][mira_hf.x.Name]``: mkdocstrings shows a Sphinx
    role as raw text, and ``help()`` shows it as noise."""
    found = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()[:100]}"
        for path in sorted((REPO / "mira_hf").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SPHINX_ROLE.search(line)
    ]
    assert not found, "Sphinx roles (write [`Name`][mira_hf.module.Name] or `Name`):\n" + "\n".join(found)


def test_code_blocks_of_the_readme_and_the_pages_fit_the_page():
    pages = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
    wide = [line for page in pages for line in code_lines_too_wide(page.name, page.read_text(encoding="utf-8"))]
    assert not wide, "code lines that would scroll sideways (break them, or move the comment up):\n" + "\n".join(wide)


def test_the_width_check_sees_fences_and_output_blocks():
    text = "```python\n" + "x" * 89 + "\n```\n```output\n" + "y" * 100 + "\n```\n~~~bash\n" + "z" * 106 + "\n~~~\n"
    wide = code_lines_too_wide("page.md", text)
    assert [w.split(":")[1] for w in wide] == ["2", "5", "8"], wide


def test_every_command_has_a_section_with_its_options_table_in_cli_md():
    """One heading per command (``mira-hf score`` … ``mira-hf discover cluster``), each with the marker the build
    turns into that command's options table, so the contents list every command."""
    commands = list(cli_options.commands())
    assert {"score", "inspect", "merge", "agree", "select", "report", "run", "demo", "distill"} <= set(commands)
    assert any(c.startswith("discover ") for c in commands), commands
    sections = cli_sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    assert [c for c in commands if c not in sections] == [], f"commands with no section in docs/cli.md: {commands}"
    assert [c for c in sections if c not in commands] == [], "docs/cli.md has sections for commands that do not exist"
    wrong = {c: markers for c, markers in sections.items() if markers != [c]}
    assert not wrong, f"each section needs exactly its own <!-- cli-options: COMMAND --> marker: {wrong}"


def test_an_options_table_lists_exactly_the_options_of_its_command():
    for name, command in cli_options.commands().items():
        table = cli_options.options_table(command)
        listed = re.findall(r"`([-\w]+)`", "\n".join(row.split(" | ")[0] for row in table.splitlines()[2:]))
        expected = [n for p in command.params for n in cli_options.option_names(p) if not getattr(p, "hidden", False)]
        assert listed == expected, f"{name}: the table lists {listed}, the command has {expected}"


def test_the_build_fails_on_a_marker_for_no_command_and_on_a_command_without_one():
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="name no command"):
        cli_options.render("<!-- cli-options: no-such-command -->\n", require_all=False)
    with pytest.raises(PluginError, match="commands with no marker: .*'score'"):
        cli_options.render("<!-- cli-options: merge -->\n", require_all=True)


# ------------------------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    """``mkdocs build --strict``, once for this module: every page renders, every link, anchor and autoref
    resolves, every API reference loads."""
    site = tmp_path_factory.mktemp("docs-site") / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return site


@pytest.mark.slow
def test_mkdocs_builds_the_site_strictly(site_dir):
    assert (site_dir / "index.html").is_file() and (site_dir / "api" / "index.html").is_file()


@pytest.mark.slow
def test_built_pages_show_no_raw_sphinx_role(site_dir):
    found = [
        f"{page.relative_to(site_dir)}: …{m.string[max(0, m.start() - 40) : m.end() + 40]}…"
        for page in sorted(site_dir.rglob("*.html"))
        for m in SPHINX_ROLE.finditer(html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))))
    ]
    assert not found, "raw Sphinx roles on the built pages:\n" + "\n".join(found)


@pytest.mark.slow
def test_no_code_line_of_the_built_pages_scrolls_sideways(site_dir):
    wide = built_code_lines_too_wide(site_dir)
    assert not wide, "code lines wider than the page (docs pages or rendered docstring examples):\n" + "\n".join(wide)


@pytest.mark.slow
def test_the_scorer_parameter_table_shows_every_parameter_and_the_settings_optional(site_dir):
    """``Scorer``'s keyword settings (``**settings``) show their real defaults, not *required*; the parameters of
    its signature are all listed."""
    page = (site_dir / "api" / "index.html").read_text(encoding="utf-8")
    start = page.index('id="mira_hf.scoring.scorer.Scorer"')
    table = page[page.index("<table>", start) : page.index("</table>", start)]
    rows = {}
    for row in re.findall(r'<tr class="doc-section-item">(.*?)</tr>', table, re.S):
        cells = [
            " ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows[cells[0]] = cells[3]
    from mira_hf.config import ScorerConfig

    for name in ("model", "engine", "rubric", "base_url", "api_key", "tokenizer", "prompt"):
        assert name in rows, f"Scorer's table leaves out {name}: {sorted(rows)}"
    required = [name for name, default in rows.items() if default == "required"]
    assert required == [], f"Scorer's table marks optional settings required: {required}"
    for name in ("temperature", "top_p", "max_tokens", "seed", "n", "structured"):
        assert rows[name] == repr(ScorerConfig.model_fields[name].default), (name, rows[name])
    assert rows["model"] == repr(ScorerConfig.model_fields["model"].default)


@pytest.mark.slow
def test_the_cli_page_has_each_commands_options_table(site_dir):
    page = (site_dir / "cli" / "index.html").read_text(encoding="utf-8")
    for name, command in cli_options.commands().items():
        anchor = re.search(rf"<h2 id=\"([^\"]+)\">(?:<code>)?mira-hf {re.escape(name)}(?:</code>)?", page)
        assert anchor, f"no section for mira-hf {name} on the built page"
        section = page[anchor.end() : page.find("<h2", anchor.end())]
        options = [n for p in command.params for n in cli_options.option_names(p) if not getattr(p, "hidden", False)]
        if options:
            table = section[section.index("<tbody>") : section.index("</tbody>")]
            rows = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
            params = [p for p in command.params if not getattr(p, "hidden", False)]
            assert len(rows) == len(params) and all(len(cells) == 3 for cells in rows), (
                f"mira-hf {name}: the table has {len(rows)} rows for {len(params)} options, or a broken row "
                "(a block right after the marker is read as a table row)"
            )
            listed = [n for cells in rows for n in re.findall(r"<code>([^<]+)</code>", cells[0])]
            assert listed == options, f"mira-hf {name}: the table lists {listed}, the command has {options}"


def test_the_examples_page_describes_every_script_and_the_new_group_page_links_its_own():
    scripts = sorted(p.name for p in (REPO / "examples").glob("*.py"))
    text = (DOCS / "examples.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.*)$", text, re.M)
    missing = [s for s in scripts if not any(f"examples/{s}" in h for h in headings)]
    assert not missing, f"docs/examples.md has no section for {missing}"
    count = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five"}.get(len(scripts), str(len(scripts)))
    assert f"{count} runnable scripts" in text, f"docs/examples.md should say how many scripts there are ({count})"
    assert re.search(r"\[`?examples/new_group\.py`?\]\(examples\.md#", (DOCS / "new-group.md").read_text("utf-8"))


def test_a_marker_becomes_the_table_and_keeps_the_blank_line_after_it():
    text = "Intro.\n\n<!-- cli-options: merge -->\n\n```bash\nmira-hf merge scored/ -o merged/\n```\n"
    out = cli_options.render(text, require_all=False)
    assert "| `FOLDER` | required |" in out and "| `--output`, `-o` | required |" in out, out
    assert out.endswith("|\n\n```bash\nmira-hf merge scored/ -o merged/\n```\n"), out
