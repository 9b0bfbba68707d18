"""The package's shape: no import circle, no stage reaching into another's private names, short functions, and the
public API where the docs say it is. ``lint-imports`` (run by ``make test``) checks the layers themselves."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "mira_hf"
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module a dotted import lands in (``mira_hf.records.render`` → ``mira_hf.records``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_checking: bool = False) -> Iterator[tuple[str, str, int]]:
    """(module, imported name, line) of every ``mira_hf`` import, at any depth; those under ``if TYPE_CHECKING:``
    only with ``type_checking``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node) and not type_checking:
            orelse = ast.Module(body=node.orelse, type_ignores=[])
            yield from _imports(orelse)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mira_hf"):
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mira_hf"):
                    yield alias.name, "", node.lineno
        yield from _imports(node, type_checking)


def _graph() -> dict[str, set[str]]:
    """Module → the modules it imports, type-checking imports included (a circle there is a circle too)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for target, name, _ in _imports(ast.parse(path.read_text(encoding="utf-8")), type_checking=True):
            landed = _resolve(f"{target}.{name}" if name else target)
            if landed and landed != module:
                edges[module].add(landed)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle_even_through_function_level_or_type_checking_imports():
    edges = _graph()
    assert sum(map(len, edges.values())) > 100  # the graph was read
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _package_of(module: str) -> str:
    """``mira_hf.records.chat`` → ``mira_hf.records``; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_stage_imports_another_stages_private_names():
    reached = []
    for module, path in MODULES.items():
        for target, name, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name.startswith("_") and not name.startswith("__") and _package_of(target) != _package_of(module):
                reached.append(f"{path.relative_to(REPO)}:{line} imports {target}.{name}")
    assert reached == []


def _long_functions() -> list[str]:
    """Functions whose body (docstring excluded) runs over ``MAX_FUNCTION_LINES`` lines; a command's option list is
    its signature, so it does not count."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                body = body[1:]
            if not body:
                continue
            lines = body[-1].end_lineno - body[0].lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    return long


def test_no_function_runs_over_sixty_lines():
    assert _long_functions() == []


PUBLIC = {
    "mira_hf.rubric": ["load_rubric", "parse_rubric", "Rubric", "Dimension", "Anchor"],
    "mira_hf.report": ["build_report"],
    "mira_hf.cli": ["main", "app"],
    "mira_hf.records": ["render", "render_record", "detect_format", "coverage", "FORMATS"],
    "mira_hf.selection": ["filter_by_retention", "SelectionReport", "preview"],
    "mira_hf.reliability": ["Reliability", "agreement", "aggregate"],
    "mira_hf.mixture": ["MixtureScorer", "load_plan", "run_plan", "Plan"],
    "mira_hf.distill": ["sft_dataset", "sft_dataset_and_summary", "split_per_source"],
    "mira_hf.discover": ["group_sources", "judge", "cluster_dimensions"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_documented_public_names_are_where_the_docs_say(module):
    imported = importlib.import_module(module)
    assert [n for n in PUBLIC[module] if not hasattr(imported, n)] == []


def test_every_top_level_public_name_resolves():
    import mira_hf

    assert len(mira_hf.__all__) > 40
    missing = [n for n in mira_hf.__all__ if getattr(mira_hf, n, None) is None]
    assert missing == []


def test_the_console_script_is_the_cli_main():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["mira-hf"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_every_package_folder_is_shipped():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")}
    assert folders - listed == set()


def test_the_development_map_lists_the_layers_of_the_import_contract_in_order():
    """docs/development.md's map is the contract `lint-imports` checks, layer by layer (it cannot drift)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    contract = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    layers = [sorted(part.strip() for part in layer.split("|")) for layer in contract["layers"]]
    page = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    table = page[page.index("| layer (high → low) |") :].split("\n\n")[0].splitlines()[2:]
    documented = [
        sorted(name.strip().strip("`").removesuffix("/").removesuffix(".py") for name in row.split("|")[1].split("·"))
        for row in table
    ]
    assert documented == layers
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} | {p.stem for p in PACKAGE.glob("*.py")}
    assert folders - {"__init__"} - {n for layer in layers for n in layer} == set()  # every part has a layer
