"""Write a benchmark's results as JSON under ``benchmarks/results/``: the figures, the tables the docs show,
the machine, the commit, the exact command and the date, so that docs/performance.md is generated, never copied.

A results file holds ``tables``: ``{key: {"columns": [...], "align": "rl..", "rows": [[cell, ...], ...]}}``,
each cell already formatted as the page shows it; ``python -m benchmarks.tables`` writes them into the page.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def add_option(parser: argparse.ArgumentParser) -> None:
    """``--results-dir``: where the JSON goes (``benchmarks/results/`` by default; quick runs pass a temp folder)."""
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help="folder for the results JSON (default benchmarks/results/, which docs/performance.md is made from)",
    )


def table(columns: list[str], align: str, rows: list[list[Any]]) -> dict[str, Any]:
    """One table: header cells, one ``l``/``r`` per column, rows of cells (turned into strings).

    Example:
        >>> table(["a", "b"], "lr", [["x", 1]])
        {'columns': ['a', 'b'], 'align': 'lr', 'rows': [['x', '1']]}
    """
    if len(align) != len(columns) or any(len(r) != len(columns) for r in rows):
        raise ValueError("every row and the alignment need one entry per column")
    return {"columns": list(columns), "align": align, "rows": [[str(c) for c in r] for r in rows]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _gpu() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ("; ".join(out.stdout.strip().splitlines()) or None) if out.returncode == 0 else None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, GPU, load, and the versions that matter."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpu": _gpu(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {n: _version(n) for n in ("mira-hf", "vllm", "datasets", "pyarrow", "numpy", "torch")},
    }


def commit() -> str | None:
    """The git commit of the working tree, with ``+dirty`` when it has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=20)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def command() -> str:
    """The command that ran, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_name = str(script.relative_to(REPO))
    except ValueError:
        script_name = sys.argv[0]
    args = list(sys.argv[1:])
    if "--results-dir" in args[:-1]:  # the default folder says nothing: leave it out
        at = args.index("--results-dir")
        if Path(args[at + 1]).resolve() == RESULTS:
            del args[at : at + 2]
    return shlex.join(["python", script_name, *args])


def save(
    results_dir: Path | None,
    name: str,
    tables: dict[str, dict[str, Any]],
    figures: Any,
    note: str = "",
) -> Path | None:
    """Write ``results_dir/name.json`` (nothing when ``results_dir`` is None) and say where it went."""
    if results_dir is None:
        return None
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    doc = {
        "benchmark": name,
        "command": command(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "note": note,
        "figures": figures,
        "tables": tables,
    }
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"results: {path}", flush=True)
    return path
