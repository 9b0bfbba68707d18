"""README.md is executed, block by block, the way a reader would run it.

Conventions (the README is written to them):

* Every fenced ```` ```python ```` block runs, in document order, in ONE namespace (``exec``, with
  ``__name__ == "__main__"``), so a block can use what an earlier one defined.
* Every ```` ```bash ```` (or ``sh``/``shell``) block runs with ``bash -e``, in the same order, in the same working
  directory, with the virtualenv's ``bin`` first on ``PATH`` (so ``mira-hf`` and ``python`` are the project's).
* The working directory is a fresh temporary folder in which ``examples/`` is the repository's ``examples/``
  (a symlink), so ``examples/data/trajectories.jsonl`` reads as in a checkout and outputs land in the temp folder.
* The default ``mira_hf.score`` is configured by ``MIRA_*`` variables to score with the real vLLM CPU engine on the
  tiny random-weight test model (see ``README_ENV``); no other ``MIRA_*`` variable is set, and the Hub is offline.
* A block whose fence is immediately preceded by ``<!-- no-test: <reason> -->`` is not run; the reason must say
  why a test cannot run it: it needs a GPU, the Hub, the network or a cluster, it runs the test suite itself,
  or it names the test file that covers it (``covered by tests/test_demo.py``; the file must exist).
* Blocks in any other language (``yaml``, ``json``, ``text``, none, ...) are data and are not run.
"""

from __future__ import annotations

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
VENV_BIN = Path(sys.executable).parent
PYTHON_LANGS = {"python", "py", "python3"}
BASH_LANGS = {"bash", "sh", "shell"}
NO_TEST = re.compile(r"^\s*<!--\s*no-test:\s*(?P<reason>.*?)\s*-->\s*$", re.S)
#: A reason a block cannot run in the tests (any test file it names must exist).
GOOD_REASON = re.compile(r"\bGPUs?\b|\bHub\b|\btest suite\b|\bnetwork\b|\bcluster\b|tests/test_\w+\.py", re.I)
#: Sections the README must have (issue 7, point 4): (what, pattern over the headings).
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
#: Text the README must contain somewhere (the set-up commands and the scaling-out tools it names).
REQUIRED_TEXT = ["make demo", "make test", "Ray Data", "--num-shards", "vllm serve whw06/MIRA-Agent-Group4"]


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, code, 1-based line of the opening fence and skip reason."""

    lang: str
    code: str
    line: int
    skip: str | None = None

    @property
    def kind(self) -> str | None:
        """``"python"``, ``"bash"`` or ``None`` (data)."""
        if self.lang in PYTHON_LANGS:
            return "python"
        if self.lang in BASH_LANGS:
            return "bash"
        return None


def parse_markdown(text: str) -> tuple[list[Block], list[str], list[str]]:
    """The fenced blocks, the headings, and the problems (a no-test comment with no block after it).

    Parsed with markdown-it (CommonMark), so fences inside lists, ``~~~`` fences and longer fences count.
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
            blocks.append(Block(lang=lang, code=tok.content, line=tok.map[0] + 1,
                                skip=match["reason"] if match else None))
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
            out.append(f"line {b.line}: no-test reason {b.skip!r} does not say it needs a GPU, the Hub, the network "
                       "or a cluster, runs the test suite, or which tests/test_*.py covers it")
        for named in re.findall(r"tests/test_\w+\.py", b.skip):
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
                (here.add(node.id) if isinstance(node.ctx, (ast.Store, ast.Del)) else loads.append((node.lineno, node.id)))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                here.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                here.add(node.name)
            elif isinstance(node, ast.arg):
                here.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                here.add(node.name)
        defined |= here
        out += [f"line {b.line + n}: {name!r} is not defined by an earlier block that runs"
                for n, name in loads if name not in defined]
    return out


class BlockFailed(AssertionError):
    """A README block failed: names the source, the line of its fence and what went wrong."""


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
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except (Exception, SystemExit) as e:  # report which block failed, with its traceback
                raise BlockFailed(f"{where} failed:\n{block.code}\n{traceback.format_exc()}") from e
        else:
            script = workdir / f".block-{n:03d}.sh"
            script.write_text(block.code)
            env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
            proc = subprocess.run(["bash", "-e", str(script)], cwd=workdir, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            script.unlink()
            if proc.returncode != 0:
                raise BlockFailed(f"{where} exited with {proc.returncode}:\n{block.code}\n--- stdout\n"
                                  f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}")
    return namespace


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A fresh folder with ``examples/`` linked to the repository's; the current directory while blocks run."""
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def readme_env(tiny_model_path: Path) -> dict[str, str]:
    """What the default ``mira_hf.score`` needs to use the tiny CPU model (the same engine as the other tests)."""
    return {"MIRA_MODEL": str(tiny_model_path), "MIRA_MAX_MODEL_LEN": "8192", "MIRA_MAX_NUM_BATCHED_TOKENS": "8192",
            "MIRA_GPU_MEMORY_UTILIZATION": "0.15", "MIRA_MAX_TOKENS": "1024", "MIRA_MAX_RATIONALE_CHARS": "24",
            "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"}


def set_env(monkeypatch, env: dict[str, str]) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in ("MIRA_API_KEY", "MIRA_NO_METRIC_INSTALL"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def read_readme() -> str:
    if not README.is_file():
        pytest.fail("README.md is missing at the repository root: it is part of the project (issue 7) and every "
                    "code block in it is run by this test")
    return README.read_text(encoding="utf-8")


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
        ("python", "python", None), ("python", "python", "needs a GPU"), ("bash", "bash", None),
        ("yaml", None, None), ("python", "python", None), ("", None, None)]
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
    assert [b.skip for b in blocks] == ["slow", "covered by tests/test_nothing_here.py", "runs the test suite itself",
                                        "covered by tests/test_examples.py"]
    bad = bad_reasons(blocks)
    assert len(bad) == 2 and "line 2" in bad[0] and "test_nothing_here.py, which does not exist" in bad[1]
    assert problems == ["line 17: a no-test comment must come right before a fenced block"]


# ----------------------------------------------------------------------------------------------- README.md
def intro(text: str) -> str:
    """The prose before the first second-level heading, without HTML comments and code."""
    head = re.split(r"^## ", text, maxsplit=1, flags=re.M)[0]
    head = re.sub(r"<!--.*?-->", "", head, flags=re.S)
    return re.sub(r"^(```|~~~).*?^(```|~~~)", "", head, flags=re.S | re.M)


def test_readme_has_the_sections_users_need():
    text = read_readme()
    _, headings, _ = parse_markdown(text)
    assert "MIRA" in intro(text) and len(intro(text).split()) >= 40, "README.md opens without saying what MIRA is"
    missing = [what for what, pattern in REQUIRED_SECTIONS
               if not any(re.search(pattern, h, re.I) for h in headings)]
    assert not missing, f"README.md has no heading for: {missing}; its headings are {headings}"
    absent = [t for t in REQUIRED_TEXT if t not in text]
    assert not absent, f"README.md does not mention {absent}"


def test_readme_skips_only_blocks_a_test_cannot_run():
    blocks, _, problems = parse_markdown(read_readme())
    assert not problems, problems
    assert not bad_reasons(blocks), bad_reasons(blocks)
    assert any(b.kind == "python" and b.skip is None for b in blocks), "README.md has no python block that runs"
    assert not undefined_names(blocks), undefined_names(blocks)


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


@pytest.mark.slow
@pytest.mark.vllm
def test_readme_code_blocks_run_in_order(workdir, monkeypatch, tiny_model_path):
    text = read_readme()
    set_env(monkeypatch, readme_env(tiny_model_path))
    blocks, _, _ = parse_markdown(text)
    run_blocks(blocks, source="README.md", workdir=workdir)
