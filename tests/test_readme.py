"""README.md and every page of docs/ are executed, block by block, the way a reader would run them.

Conventions (README.md and the docs pages are written to them):

* Every fenced ```` ```python ```` block of a page runs, in document order, in ONE namespace per page (``exec``,
  with ``__name__ == "__main__"``), so a block can use what an earlier block of the same page defined. Each page
  starts afresh; README.md first, then the docs pages in the order of the ``nav`` of ``mkdocs.yml``.
* Every ```` ```bash ```` (or ``sh``/``shell``) block runs with ``bash -e``, in the same order, in the same working
  directory, with the virtualenv's ``bin`` first on ``PATH`` (so ``mira-hf`` and ``python`` are the project's).
* The working directory is a fresh temporary folder per page in which ``examples/`` is the repository's
  ``examples/`` (a symlink), so ``examples/data/trajectories.jsonl`` reads as in a checkout and outputs land in
  the temp folder.
* The default ``mira_hf.score`` is configured by ``MIRA_*`` variables to score with the real vLLM CPU engine on the
  tiny random-weight test model (see ``README_ENV``); no other ``MIRA_*`` variable is set, and the Hub is offline.
* **Shown output is checked.** A fence whose info string is ``output``, placed right after a python or bash block
  (nothing between them but blank lines), is what that block prints: a python block's ``sys.stdout``, a bash
  block's standard output (add ``2>&1`` to show standard error too). After trailing whitespace is removed from
  every line and blank lines from both ends, the printed text must equal the shown text, except that ``...``
  inside a line matches any text on that line, and a line holding only ``...`` matches any number of lines
  (use them for timings, paths, hashes and a random model's scores; nowhere else). An ``output`` fence anywhere
  else is an error. Output shown after a block that is not run (below) is not checked.
* A block whose fence is immediately preceded by ``<!-- no-test: <reason> -->`` is not run; the reason must say
  why a test cannot run it: it needs a GPU, the Hub, the network or a cluster, it runs the test suite itself,
  or it names the test file that covers it (``covered by tests/cli/test_demo.py``; the file must exist).
* Blocks in any other language (``yaml``, ``json``, ``text``, none, ...) are data and are not run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import os
import re
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import mira_hf
from mira_hf.config import ENV_VARS
from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
MKDOCS_YML = REPO / "mkdocs.yml"
#: The longest README a newcomer reads in ten minutes (issue 14); the detail lives in docs/.
README_MAX_LINES = 250
OUTPUT_LANG = "output"
VENV_BIN = Path(sys.executable).parent
PYTHON_LANGS = {"python", "py", "python3"}
BASH_LANGS = {"bash", "sh", "shell"}
NO_TEST = re.compile(r"^\s*<!--\s*no-test:\s*(?P<reason>.*?)\s*-->\s*$", re.S)
#: A reason a block cannot run in the tests (any test file it names must exist).
GOOD_REASON = re.compile(r"\bGPUs?\b|\bHub\b|\btest suite\b|\bnetwork\b|\bcluster\b|tests/(?:\w+/)?test_\w+\.py", re.I)
#: Topics the README and the docs pages must cover, each under a heading of its own somewhere (issue 7, point 4;
#: since issue 14 the README is a front page and the detail is in docs/): (what, pattern over the headings).
REQUIRED_SECTIONS = [
    ("set-up: make demo and make test", r"quick ?start|set[- ]?up|getting started|install"),
    ("the three one-liners of the plugin", r"one-liner|three lines|usage|plugin"),
    ("serving the real scorer on GPU", r"\bserv(e|ing)\b|\bgpu"),
    ("scaling out (endpoint pool, Ray Data, sharding)", r"scal(e|ing)"),
    ("the rubric file schema", r"rubric"),
    ("the output columns", r"column"),
    ("agreement", r"agreement"),
    ("masking", r"mask|reliab"),
    ("selection", r"select|retention"),
    ("pushing to the Hub", r"\bhub\b"),
    ("troubleshooting", r"troubleshoot|common errors|faq"),
    ("the examples", r"example"),
]
#: Text the README and the docs must contain somewhere (the scaling-out tools they name).
REQUIRED_TEXT = ["make demo", "make test", "Ray Data", "--num-shards", "vllm serve whw06/MIRA-Agent-Group4"]
#: Text the README itself must contain (the set-up commands a newcomer starts with).
README_TEXT = ["make demo", "make test", "make docs", 'evaluate.load("mira_agreement")', "push_to_hub="]


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, code, 1-based line of the opening fence and skip reason."""

    lang: str
    code: str
    line: int
    skip: str | None = None
    #: The ``output`` fence right after this block: what it must print (``None``: not checked).
    expect: str | None = None

    @property
    def kind(self) -> str | None:
        """``"python"``, ``"bash"`` or ``None`` (data)."""
        if self.lang in PYTHON_LANGS:
            return "python"
        if self.lang in BASH_LANGS:
            return "bash"
        return None


def parse_markdown(text: str) -> tuple[list[Block], list[str], list[str]]:
    """The fenced blocks, the headings, and the problems (a no-test comment with no block after it, an output
    fence that follows no python or bash block).

    Parsed with markdown-it (CommonMark), so fences inside lists, ``~~~`` fences and longer fences count. An
    ``output`` fence is attached to the block before it (``Block.expect``) and also listed as a data block.
    """
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[Block] = []
    headings: list[str] = []
    problems: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            headings.append(tokens[i + 1].content)
        elif tok.type == "fence":
            prev = tokens[i - 1] if i else None
            match = NO_TEST.match(prev.content) if prev is not None and prev.type == "html_block" else None
            lang = tok.info.split()[0].lower() if tok.info.strip() else ""
            if lang == OUTPUT_LANG:
                if prev is not None and prev.type == "fence" and blocks and blocks[-1].kind is not None:
                    blocks[-1] = dataclasses.replace(blocks[-1], expect=tok.content)
                else:
                    problems.append(
                        f"line {tok.map[0] + 1}: an output block must come right after a python or bash block"
                    )
            blocks.append(
                Block(lang=lang, code=tok.content, line=tok.map[0] + 1, skip=match["reason"] if match else None)
            )
        elif tok.type == "html_block" and NO_TEST.match(tok.content):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is None or nxt.type != "fence":
                problems.append(f"line {tok.map[0] + 1}: a no-test comment must come right before a fenced block")
    return blocks, headings, problems


def bad_reasons(blocks: list[Block], repo: Path = REPO) -> list[str]:
    """Skipped blocks whose reason does not say why a test cannot run them."""
    out = []
    for b in blocks:
        if b.skip is None:
            continue
        if GOOD_REASON.search(b.skip) is None:
            out.append(
                f"line {b.line}: no-test reason {b.skip!r} does not say it needs a GPU, the Hub, the network "
                "or a cluster, runs the test suite, or which tests/**/test_*.py covers it"
            )
        for named in re.findall(r"tests/(?:\w+/)?test_\w+\.py", b.skip):
            if not (repo / named).is_file():
                out.append(f"line {b.line}: no-test reason names {named}, which does not exist")
    return out


def undefined_names(blocks: list[Block]) -> list[str]:
    """Names a runnable python block reads that no earlier runnable block (nor itself) defines.

    A static check over the blocks in order (the same shared namespace as ``run_blocks``), so a block that
    uses a variable from a skipped block is caught in the fast tests, not twenty minutes into the slow one.
    """
    import ast
    import builtins

    defined = set(dir(builtins)) | {"__name__", "__file__"}
    out = []
    for b in blocks:
        if b.kind != "python" or b.skip is not None:
            continue
        tree = ast.parse(b.code)
        here: set[str] = set()
        loads: list[tuple[int, str]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (
                    here.add(node.id)
                    if isinstance(node.ctx, (ast.Store, ast.Del))
                    else loads.append((node.lineno, node.id))
                )
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                here.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                here.add(node.name)
            elif isinstance(node, ast.arg):
                here.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                here.add(node.name)
        defined |= here
        out += [
            f"line {b.line + n}: {name!r} is not defined by an earlier block that runs"
            for n, name in loads
            if name not in defined
        ]
    return out


class BlockFailed(AssertionError):
    """A README or docs block failed: names the source, the line of its fence and what went wrong."""


def _normalized(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_matches(expected: str, printed: str) -> bool:
    """Whether ``printed`` is what ``expected`` shows: equal after trailing whitespace and blank end lines are
    removed, ``...`` inside a line matching any text on that line and a ``...`` line any number of lines."""
    pattern = ""
    for line in _normalized(expected):
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += "[^\n]*?".join(map(re.escape, line.split("..."))) + r"\n"
    actual = "".join(line + "\n" for line in _normalized(printed))
    return re.fullmatch(pattern, actual) is not None


def check_output(block: Block, printed: str, where: str) -> None:
    """Raise ``BlockFailed`` with a diff when ``block`` shows an output that differs from what it printed."""
    if block.expect is None or output_matches(block.expect, printed):
        return
    diff = "\n".join(
        difflib.unified_diff(
            _normalized(block.expect), _normalized(printed), "shown on the page", "printed by the block", lineterm=""
        )
    )
    raise BlockFailed(f"{where} printed something else than the output the page shows:\n{diff}")


def run_blocks(blocks: list[Block], *, source: str, workdir: Path, timeout: int = 900) -> dict:
    """Run the python and bash blocks in order (python in one namespace, in this process); returns the namespace.

    The caller sets the working directory and environment of this process (python blocks run here); bash blocks
    get the same directory and environment with the virtualenv's ``bin`` first on ``PATH``.
    """
    namespace: dict = {"__name__": "__main__"}
    for n, block in enumerate(blocks):
        if block.skip is not None or block.kind is None:
            continue
        where = f"{source}:{block.line} ({block.kind} block)"
        if block.kind == "python":
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    exec(compile(block.code, where, "exec"), namespace)
            except (Exception, SystemExit) as e:  # report which block failed, with its traceback
                raise BlockFailed(
                    f"{where} failed:\n{block.code}\n--- stdout\n{printed.getvalue()[-3000:]}\n{traceback.format_exc()}"
                ) from e
            sys.stdout.write(printed.getvalue())  # still shown by pytest on a failure
            check_output(block, printed.getvalue(), where)
        else:
            script = workdir / f".block-{n:03d}.sh"
            script.write_text(block.code)
            env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
            proc = subprocess.run(
                ["bash", "-e", str(script)], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
            )
            script.unlink()
            if proc.returncode != 0:
                raise BlockFailed(
                    f"{where} exited with {proc.returncode}:\n{block.code}\n--- stdout\n"
                    f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}"
                )
            sys.stdout.write(proc.stdout)
            check_output(block, proc.stdout, where)
    return namespace


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A fresh folder with ``examples/`` linked to the repository's; the current directory while blocks run."""
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def readme_env(tiny_model_path: Path) -> dict[str, str]:
    """What the default ``mira_hf.score`` needs to use the tiny CPU model (the same engine as the other tests)."""
    return {
        "MIRA_MODEL": str(tiny_model_path),
        "MIRA_MAX_MODEL_LEN": "8192",
        "MIRA_MAX_NUM_BATCHED_TOKENS": "8192",
        "MIRA_GPU_MEMORY_UTILIZATION": "0.15",
        "MIRA_MAX_TOKENS": "1024",
        "MIRA_MAX_RATIONALE_CHARS": "24",
        "MPLBACKEND": "Agg",
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
    }


def set_env(monkeypatch, env: dict[str, str]) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in ("MIRA_API_KEY", "MIRA_NO_METRIC_INSTALL"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def read_readme() -> str:
    if not README.is_file():
        pytest.fail(
            "README.md is missing at the repository root: it is part of the project (issue 7) and every "
            "code block in it is run by this test"
        )
    return README.read_text(encoding="utf-8")


def nav_pages() -> list[str]:
    """The docs pages in the order of the ``nav`` of ``mkdocs.yml`` (paths relative to docs/)."""
    import yaml

    def walk(item) -> list[str]:
        if isinstance(item, str):
            return [item] if item.endswith(".md") else []
        if isinstance(item, dict):
            return [page for value in item.values() for page in walk(value)]
        if isinstance(item, list):
            return [page for value in item for page in walk(value)]
        return []

    return walk(yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8")).get("nav", []))


def doc_pages() -> list[str]:
    """Every markdown page under docs/, in nav order (pages missing from the nav after them, alphabetically)."""
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    ordered = [page for page in nav_pages() if page in on_disk]
    return ordered + [page for page in on_disk if page not in ordered]


PAGES = ["README.md", *(f"docs/{page}" for page in doc_pages())]


def read_page(page: str) -> str:
    return read_readme() if page == "README.md" else (REPO / page).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------------- the harness
SAMPLE = textwrap.dedent("""\
    # Sample

    Intro paragraph.

    ```python
    from pathlib import Path
    x = 1
    Path("from_python.txt").write_text(str(x + 1))
    ```

    <!-- no-test: needs a GPU -->
    ```python
    raise RuntimeError("a skipped block must not run")
    ```

    ```bash
    test "$(cat from_python.txt)" = 2
    echo hi > from_bash.txt
    mira-hf --version > version.txt
    python -c "import sys; print(sys.prefix)" > prefix.txt
    ```

    ```yaml
    agent_openhands: 0.5
    ```

    1. A step in a list:

       ```python
       assert x == 1                                    # the same namespace as the first block
       assert Path("from_bash.txt").read_text() == "hi\\n"
       assert Path("examples/data/trajectories.jsonl").is_file()
       import os
       assert os.environ["MIRA_MAX_MODEL_LEN"] == "8192"
       seen_name = __name__
       ```

    ```
    plain text, not run
    ```
""")


def test_harness_parses_languages_lines_and_skip_reasons():
    blocks, headings, problems = parse_markdown(SAMPLE)
    assert headings == ["Sample"] and problems == []
    assert [(b.lang, b.kind, b.skip) for b in blocks] == [
        ("python", "python", None),
        ("python", "python", "needs a GPU"),
        ("bash", "bash", None),
        ("yaml", None, None),
        ("python", "python", None),
        ("", None, None),
    ]
    lines = SAMPLE.splitlines()
    assert all(lines[b.line - 1].lstrip().startswith("```") for b in blocks)
    assert blocks[4].code.startswith("assert x == 1")  # the list indentation is removed


def test_harness_runs_python_in_one_namespace_and_bash_in_the_same_folder(workdir, monkeypatch):
    set_env(monkeypatch, readme_env(workdir / "no-model-needed"))
    blocks, _, _ = parse_markdown(SAMPLE)
    namespace = run_blocks(blocks, source="SAMPLE", workdir=workdir)
    assert namespace["x"] == 1 and namespace["seen_name"] == "__main__"
    assert (workdir / "version.txt").read_text().strip() == f"mira-hf {mira_hf.__version__}"
    assert Path((workdir / "prefix.txt").read_text().strip()) == Path(sys.prefix)  # the venv's python


def test_harness_reports_the_failing_block_and_stops(workdir, monkeypatch):
    set_env(monkeypatch, readme_env(workdir / "no-model-needed"))
    text = "# T\n\n```python\ny = 1\n```\n\n```python\ny = y / 0\n```\n\n```bash\necho ran > after.txt\n```\n"
    with pytest.raises(BlockFailed, match=r"(?s)T\.md:7 \(python block\) failed.*ZeroDivisionError"):
        run_blocks(parse_markdown(text)[0], source="T.md", workdir=workdir)
    assert not (workdir / "after.txt").exists()

    text = "```bash\nfalse\necho ran > after.txt\n```\n"  # bash -e: the first failing command ends the block
    with pytest.raises(BlockFailed, match=r"T\.md:1 \(bash block\) exited with 1"):
        run_blocks(parse_markdown(text)[0], source="T.md", workdir=workdir)
    assert not (workdir / "after.txt").exists()


def test_harness_checks_skip_reasons_and_stray_comments():
    text = textwrap.dedent("""\
        <!-- no-test: slow -->
        ```python
        pass
        ```
        <!-- no-test: covered by tests/test_nothing_here.py -->
        ```bash
        make demo
        ```
        <!-- no-test: runs the test suite itself -->
        ```bash
        make test
        ```
        <!-- no-test: covered by tests/test_examples.py -->
        ```bash
        python examples/score_agree_select.py --engine fake --local-hub
        ```
        <!-- no-test: needs the Hub -->

        Some text, then no block.
    """)
    blocks, _, problems = parse_markdown(text)
    assert [b.skip for b in blocks] == [
        "slow",
        "covered by tests/test_nothing_here.py",
        "runs the test suite itself",
        "covered by tests/test_examples.py",
    ]
    bad = bad_reasons(blocks)
    assert len(bad) == 2 and "line 2" in bad[0] and "test_nothing_here.py, which does not exist" in bad[1]
    assert problems == ["line 17: a no-test comment must come right before a fenced block"]


def test_harness_checks_shown_output():
    text = textwrap.dedent("""\
        ```python
        print("scored 36 rows in 01:02")
        print("ok 36")
        ```

        ```output
        scored 36 rows in ...
        ok 36
        ```
        ```bash
        printf 'a\\nb\\nc\\nend   \\n'
        ```
        ```output
        a
        ...
        end
        ```
        ```output
        a stray output block
        ```
    """)
    blocks, _, problems = parse_markdown(text)
    assert blocks[0].expect == "scored 36 rows in ...\nok 36\n" and blocks[2].expect.startswith("a\n")
    assert [b.kind for b in blocks] == ["python", None, "bash", None, None]
    assert problems == ["line 18: an output block must come right after a python or bash block"]
    assert output_matches("\nx = ...\n...\nlast\n", "x = 1.25  \nmore\nlines\nlast\n\n")
    assert output_matches("a\n...\nb", "a\nb") and output_matches("...", "")
    assert not output_matches("x = 1", "x = 2")
    assert not output_matches("a\nb", "a\nb\nc")  # an extra line is a difference
    assert not output_matches("a ... b", "a\nb")  # ... inside a line never spans lines


def test_harness_fails_a_block_that_prints_something_else(workdir, monkeypatch):
    set_env(monkeypatch, readme_env(workdir / "no-model-needed"))
    good = "```python\nprint(2 + 2)\n```\n```output\n4\n```\n```bash\necho ok\n```\n```output\nok\n```\n"
    run_blocks(parse_markdown(good)[0], source="T.md", workdir=workdir)
    with pytest.raises(BlockFailed, match=r"(?s)T\.md:1 \(python block\) printed something else.*-5.*\+4"):
        run_blocks(
            parse_markdown(good.replace("4\n```\n```bash", "5\n```\n```bash"))[0], source="T.md", workdir=workdir
        )
    with pytest.raises(BlockFailed, match=r"T\.md:7 \(bash block\) printed something else"):
        run_blocks(parse_markdown(good.replace("\nok\n```\n", "\nko\n```\n"))[0], source="T.md", workdir=workdir)


def test_harness_finds_names_only_a_skipped_block_defines():
    text = textwrap.dedent("""\
        <!-- no-test: needs a GPU -->
        ```python
        scorer = object()
        ```
        ```python
        import os
        def f(x):
            return [y for y in x]
        print(f(os.sep), scorer)
        ```
    """)
    assert undefined_names(parse_markdown(text)[0]) == ["line 9: 'scorer' is not defined by an earlier block that runs"]


# ------------------------------------------------------------------------------------- README.md and docs/
def intro(text: str) -> str:
    """The prose before the first second-level heading, without HTML comments and code."""
    head = re.split(r"^## ", text, maxsplit=1, flags=re.M)[0]
    head = re.sub(r"<!--.*?-->", "", head, flags=re.S)
    return re.sub(r"^(```|~~~).*?^(```|~~~)", "", head, flags=re.S | re.M)


def relative_links(text: str) -> list[str]:
    """The targets of the markdown links and images that point into the repository (not URLs, not anchors)."""
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
    return [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z]+:|#", t)]


def test_readme_is_a_front_page_that_links_every_docs_page():
    text = read_readme()
    n_lines = len(text.splitlines())
    assert n_lines <= README_MAX_LINES, (
        f"README.md has {n_lines} lines; keep it a front page (≤ {README_MAX_LINES}) "
        "and move the detail to a docs/ page"
    )
    assert "MIRA" in intro(text) and len(intro(text).split()) >= 40, "README.md opens without saying what MIRA is"
    absent = [t for t in README_TEXT if t not in text]
    assert not absent, f"README.md does not mention {absent}"
    links = relative_links(text)
    broken = [t for t in links if not (REPO / t).exists()]
    assert not broken, f"README.md links to files that do not exist: {broken}"
    unlinked = [page for page in nav_pages() if page != "index.md" and f"docs/{page}" not in links]
    assert not unlinked, f"README.md does not link the docs pages {unlinked}"
    assert "docs/images/report.png" in links, "README.md does not show the screenshot of the report"
    shot = REPO / "docs" / "images" / "report.png"
    assert shot.stat().st_size < 300_000, f"{shot.name} is {shot.stat().st_size:,} bytes; keep it under 300 KB"


def test_docs_cover_the_topics_users_need():
    texts = {page: read_page(page) for page in PAGES}
    headings = [h for text in texts.values() for h in parse_markdown(text)[1]]
    missing = [what for what, pattern in REQUIRED_SECTIONS if not any(re.search(pattern, h, re.I) for h in headings)]
    assert not missing, f"no heading of README.md or docs/ covers: {missing}"
    absent = [t for t in REQUIRED_TEXT if not any(t in text for text in texts.values())]
    assert not absent, f"neither README.md nor docs/ mention {absent}"


def test_every_docs_page_is_in_the_nav():
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    nav = nav_pages()
    assert sorted(nav) == sorted(on_disk), (
        f"mkdocs.yml nav lists {sorted(set(nav) - on_disk)} that do not exist and misses {sorted(on_disk - set(nav))}"
    )
    assert len(nav) == len(set(nav)), "a page is listed twice in the nav"
    assert "records.md" in nav, "docs/records.md (records and what the scorer reads) must stay in the nav"


@pytest.mark.parametrize("page", PAGES)
def test_page_skips_only_blocks_a_test_cannot_run(page):
    blocks, _, problems = parse_markdown(read_page(page))
    assert not problems, problems
    assert not bad_reasons(blocks), bad_reasons(blocks)
    assert not undefined_names(blocks), undefined_names(blocks)
    if page == "README.md":
        assert any(b.kind == "python" and b.skip is None for b in blocks), "README.md has no python block that runs"


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.parametrize("page", PAGES)
def test_page_code_blocks_run_in_order_and_print_what_they_show(page, workdir, monkeypatch, tiny_model_path):
    set_env(monkeypatch, readme_env(tiny_model_path))
    blocks, _, _ = parse_markdown(read_page(page))
    run_blocks(blocks, source=page, workdir=workdir)


# The site build (mkdocs build --strict) and the checks of the built pages: tests/test_docs_site.py.
