"""Write the tables of docs/performance.md from the results files under ``benchmarks/results/``.

Each generated table sits between markers that name its file (and its key, when the file holds several)::

    <!-- table: parse -->              benchmarks/results/parse.json, its only table
    <!-- table: growth/rows -->        benchmarks/results/growth.json, the table under "rows"
    <!-- table: discover + discover_unique -->   the rows of both files, one table
    ...
    <!-- /table -->

python -m benchmarks.tables            # rewrite the tables in docs/performance.md
python -m benchmarks.tables --check    # exit 1, naming each table, when the page differs from its file
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PAGE = REPO / "docs" / "performance.md"

BLOCK = re.compile(r"(<!-- table: (?P<ref>[\w./ +-]+?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


def render(spec: dict[str, Any]) -> str:
    """A Markdown table from a results file's table: header, alignment row, one line per row.

    Example:
        >>> print(render({"columns": ["a", "b"], "align": "lr", "rows": [["x", "1"]]}), end="")
        | a | b |
        | --- | ---: |
        | x | 1 |
    """
    lines = ["| " + " | ".join(spec["columns"]) + " |"]
    lines.append("| " + " | ".join("---:" if a == "r" else "---" for a in spec["align"]) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in spec["rows"]]
    return "\n".join(lines) + "\n"


def provenance(doc: dict[str, Any], name: str) -> str:
    """One line under a table: the file, the command, and when, where and at which commit it ran.

    Example:
        >>> doc = {"command": "python benchmarks/bench_parse.py", "date": "2026-12-07T10:20:00+00:00",
        ...        "commit": "8a72f70c0ffee+dirty", "note": "",
        ...        "machine": {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.5, "gpu": None, "load_average": [1.5]}}
        >>> print(provenance(doc, "parse").replace(", ", ",\\n"))
        `python benchmarks/bench_parse.py` → `benchmarks/results/parse.json`: 2026-12-07,
        commit 8a72f70 (with uncommitted changes),
        AMD EPYC,
        2 cores,
        23.5 GiB,
        load average 1.5 at the end.
    """
    where = f"`{doc['command']}` → `benchmarks/results/{name}.json`"
    if not doc.get("date"):
        return f"{where}: {doc['note']}"
    m = doc["machine"]
    commit = doc.get("commit") or "unknown"
    commit = commit[:7] + (" (with uncommitted changes)" if commit.endswith("+dirty") else "")
    parts = [doc["date"][:10], f"commit {commit}", m["cpu"], f"{m['cores']} cores", f"{m['memory_gib']} GiB"]
    if m.get("gpu"):
        parts.append(m["gpu"])
    if m.get("load_average"):
        parts.append(f"load average {m['load_average'][0]:g} at the end")
    note = f" {doc['note']}" if doc.get("note") else ""
    return f"{where}: {', '.join(parts)}.{note}"


def _load(name: str, results: Path) -> dict[str, Any]:
    path = results / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results file {path}")
    return dict(json.loads(path.read_text()))


def lookup(ref: str, results: Path = RESULTS) -> dict[str, Any]:
    """The table ``ref`` names: ``file`` (its only table) or ``file/key``."""
    name, _, key = ref.partition("/")
    tables = _load(name, results)["tables"]
    if not key:
        if len(tables) != 1:
            raise KeyError(f"table {ref!r}: {name}.json holds {sorted(tables)}; name one as {name}/<key>")
        return dict(next(iter(tables.values())))
    if key not in tables:
        raise KeyError(f"table {ref!r}: {name}.json holds {sorted(tables)}")
    return dict(tables[key])


def block(refs: str, results: Path = RESULTS) -> str:
    """What goes between the markers: the table (the rows of every ``a + b`` file in turn, same columns), then
    one provenance line per file.

    Example:
        >>> block("parse").startswith("| answer kind |")   # doctest: +SKIP
        True
    """
    names = [r.strip() for r in refs.split("+")]
    specs = [lookup(r, results) for r in names]
    if any((s["columns"], s["align"]) != (specs[0]["columns"], specs[0]["align"]) for s in specs):
        raise ValueError(f"table {refs!r}: the files' tables have different columns")
    table = render({**specs[0], "rows": [row for s in specs for row in s["rows"]]})
    files = dict.fromkeys(r.partition("/")[0] for r in names)
    lines = [provenance(_load(name, results), name) for name in files]
    return table + "\n" + "<br>\n".join(f"<sub>{line}</sub>" for line in lines) + "\n"


def generate(page: str, results: Path = RESULTS) -> str:
    """The page with every marked table replaced by what its results file renders."""
    return BLOCK.sub(lambda m: m.group(1) + block(m.group("ref"), results) + m.group(4), page)


def drift(page: str, results: Path = RESULTS) -> list[str]:
    """The references of the marked tables that differ from their results files (empty: none drifted)."""
    return [m.group("ref") for m in BLOCK.finditer(page) if m.group("body") != block(m.group("ref"), results)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.tables", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a table differs from its file")
    ap.add_argument("--page", type=Path, default=PAGE)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    page = args.page.read_text()
    if args.check:
        stale = drift(page, args.results)
        for ref in stale:
            print(f"{args.page}: table {ref!r} differs from what {args.results} renders for it")
        return 1 if stale else 0
    new = generate(page, args.results)
    if new != page:
        args.page.write_text(new)
        print(f"rewrote {len(drift(page, args.results))} table(s) in {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
