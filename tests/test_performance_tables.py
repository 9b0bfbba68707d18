"""docs/performance.md's tables are made from benchmarks/results/: a table that differs from its file fails here.

Fix a failure with ``python -m benchmarks.tables`` (after rerunning the benchmark the table names), never by
editing the table by hand.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import tables  # noqa: E402

PAGE = (REPO / "docs" / "performance.md").read_text()
REFS = [m.group("ref") for m in tables.BLOCK.finditer(PAGE)]


def test_every_table_of_the_page_is_generated():
    """No hand-written table left: every Markdown table sits between markers that name its results file."""
    outside = tables.BLOCK.sub("", PAGE)
    hand_written = [line for line in outside.splitlines() if line.startswith("|")]
    assert not hand_written, f"tables without a results file: {hand_written[:3]}"
    opened, closed = re.findall(r"^<!-- table: ", PAGE, re.M), re.findall(r"^<!-- /table -->", PAGE, re.M)
    assert len(REFS) >= 15 and len(opened) == len(closed) == len(REFS)


@pytest.mark.parametrize("ref", REFS)
def test_table_matches_its_results_file(ref):
    rendered = tables.block(ref)
    body = next(m.group("body") for m in tables.BLOCK.finditer(PAGE) if m.group("ref") == ref)
    assert body == rendered, f"table {ref!r} drifted from benchmarks/results/: run `python -m benchmarks.tables`"


def test_check_exits_nonzero_on_drift_and_the_script_repairs_it(tmp_path):
    """``--check`` names the drifted table; a plain run rewrites it from the file."""
    page = tmp_path / "performance.md"
    page.write_text(PAGE)
    assert tables.main(["--check", "--page", str(page)]) == 0
    ref = REFS[0]
    first = tables.block(ref).splitlines()[2]  # the table's first row
    page.write_text(PAGE.replace(first, first.replace("|", "| 9", 2), 1))
    assert tables.main(["--check", "--page", str(page)]) == 1
    assert tables.main(["--page", str(page)]) == 0
    assert page.read_text() == PAGE


def test_every_results_file_says_what_it_was_measured_on():
    """A measured file names its machine, commit, command and date; a file without them says why in its note."""
    for path in sorted((REPO / "benchmarks" / "results").glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["command"].startswith("python benchmarks/"), path.name
        if doc["date"] is None:
            assert doc["note"] and doc["machine"] is None, f"{path.name}: unmeasured, and no note says why"
            continue
        assert doc["figures"] and doc["commit"], path.name
        assert {"cpu", "cores", "memory_gib", "python", "versions"} <= set(doc["machine"]), path.name


def test_the_gpu_table_says_it_was_never_run_on_a_gpu():
    doc = json.loads((REPO / "benchmarks" / "results" / "gpu_prefill.json").read_text())
    assert doc["figures"] is None and "Never run on a GPU" in doc["note"]
    assert all("not yet run on a GPU" in row[1] for row in doc["tables"]["table"]["rows"])
