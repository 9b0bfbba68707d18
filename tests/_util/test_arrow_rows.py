"""The one way package code reads a dataset's rows in bulk: ``mira_hf._util.arrow.rows_table``.

``Dataset.data`` is the whole underlying table, not the rows of a ``select``/``shuffle``/``filter``/``sort``/
``shard``/``train_test_split`` view; these tests pin the helper to the dataset's rows and fail when package code
reads ``.data`` / ``._data`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import datasets
import pyarrow as pa
import pytest

from mira_hf._util.arrow import estimated_nbytes, rows_column, rows_table

ROOT = Path(__file__).resolve().parents[2]
#: The helper itself is the one module that may touch the underlying table.
ALLOWED_FILES = {ROOT / "mira_hf" / "_util" / "arrow.py"}
#: ``plan.data`` is the plan file's data path, not a dataset's table.
ALLOWED_RECEIVERS = {"plan"}


def _base() -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"id": [f"r{i}" for i in range(40)], "x": list(range(40)), "src": ["a", "b", "c", "d"] * 10}
    )


VIEWS = {
    "select": lambda ds: ds.select([5, 3, 30, 7]),
    "shuffle": lambda ds: ds.shuffle(seed=3),
    "filter": lambda ds: ds.filter(lambda r: r["x"] % 3 == 0),
    "sort": lambda ds: ds.sort("src"),
    "shard": lambda ds: ds.shard(num_shards=3, index=1),
    "train_test_split": lambda ds: ds.train_test_split(test_size=0.25, seed=1)["test"],
    "shuffle_select_filter": lambda ds: ds.shuffle(seed=0).select(range(20)).filter(lambda r: r["src"] != "b"),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_rows_table_is_the_datasets_rows_in_order(view):
    ds = VIEWS[view](_base())
    table = rows_table(ds)
    assert table.num_rows == len(ds)
    assert table.column("id").to_pylist() == ds["id"]
    assert rows_column(ds, "x").to_pylist() == ds["x"]
    assert rows_table(ds, ["x", "id"]).column_names == ["x", "id"]
    if view in ("select", "shuffle", "sort"):
        assert ds.data.num_rows != table.num_rows or ds.data.column("id").to_pylist() != ds["id"]


def test_rows_table_copies_nothing_without_an_indices_mapping():
    ds = _base()
    col = rows_column(ds, "x")
    underlying = ds.with_format(None)._data.column("x")  # the test may look: it checks the helper copies nothing
    assert col.chunk(0).buffers()[1].address == underlying.chunk(0).buffers()[1].address


def test_rows_table_says_what_it_takes():
    ds = _base()
    with pytest.raises(KeyError, match="not in the dataset"):
        rows_table(ds, ["nope"])
    with pytest.raises(TypeError, match="IterableDataset"):
        rows_table(ds.to_iterable_dataset())
    assert rows_table(pa.table({"a": [1]}), ["a"]).num_rows == 1
    assert 0 < estimated_nbytes(ds.select([0])) < estimated_nbytes(ds)


def _direct_reads(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("data", "_data"):
            receiver = ast.unparse(node.value)
            if receiver not in ALLOWED_RECEIVERS:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in ("data", "_data")
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_package_code_never_reads_a_datasets_underlying_table():
    files = [p for folder in ("mira_hf", "metrics") for p in (ROOT / folder).rglob("*.py") if p not in ALLOWED_FILES]
    assert files
    found = [hit for p in files for hit in _direct_reads(p)]
    assert not found, (
        "read a dataset's rows with mira_hf._util.arrow.rows_table / rows_column, not .data/._data "
        "(the whole underlying table after select/shuffle/filter/sort/shard):\n" + "\n".join(found)
    )


def test_the_scan_finds_a_direct_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(ds):\n    return ds.data.column('x'), getattr(ds, '_data'), plan.data\n")
    hits = sorted(h.split(": ", 1)[1] for h in _direct_reads(bad, tmp_path))
    assert hits == ["ds.data", "getattr(ds, '_data')"]
