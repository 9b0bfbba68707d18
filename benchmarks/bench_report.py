"""Benchmark: ``mira_hf.report.data.summarize`` and ``build_report`` against a bare Arrow pass over the scores.

Writes N synthetic scored rows (6 sources, 15 scores per row with ~3 % nulls, ``mira_quality``, statuses,
truncation flags) to an Arrow file, memory-maps it with ``Dataset.from_file`` (as a scored corpus on disk
is), then times in the same process: the baseline (``pyarrow.compute.list_flatten`` of ``mira_scores`` read
into numpy, nulls as NaN: the least any per-dimension statistic has to do), ``summarize``, and
``build_report`` without and with the agreement result and the selection (every section: plots, tables,
parameters). Each figure is the best of ``--repeat`` runs; the ratio is against the baseline at the same size.

    python benchmarks/bench_report.py                       # 30,000 and 300,000 rows
    python benchmarks/bench_report.py --rows 3000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

SOURCES = ["agent_openhands", "davinc_dev", "swe_qa", "swe_gym", "nemotron_agent", "toolace"]
DIMS = 15
STATUSES = ["ok", "partial", "parse_error", "invalid_input", "engine_error"]


def write_scored(path: Path, rows: int, seed: int = 0) -> None:
    """A scored dataset as an Arrow stream file (the format ``datasets`` memory-maps)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, len(SOURCES), rows)
    scores = np.clip(np.rint(rng.normal(6.0, 2.0, (rows, DIMS)) + codes[:, None] * 0.2), 0, 10).astype(np.float32)
    missing = rng.random((rows, DIMS)) < 0.03
    flat = pa.array(scores.ravel(), mask=missing.ravel())
    offsets = pa.array(np.arange(0, rows * DIMS + 1, DIMS, dtype=np.int32))
    quality = scores.mean(axis=1)
    table = pa.table(
        {
            "source": pc.take(pa.array(SOURCES), pa.array(codes)),
            "mira_scores": pa.ListArray.from_arrays(offsets, flat),
            "mira_quality": pa.array(quality, mask=rng.random(rows) < 0.02),
            "mira_status": pc.take(pa.array(STATUSES), pa.array(rng.choice(5, rows, p=[0.9, 0.05, 0.03, 0.01, 0.01]))),
            "mira_truncated": pa.array(rng.random(rows) < 0.04),
        }
    )
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=100_000)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time over ``repeat`` runs and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[30_000, 300_000])
    ap.add_argument("--repeat", type=int, default=3)
    _results.add_option(ap)
    args = ap.parse_args(argv)

    import datasets
    import matplotlib

    matplotlib.use("Agg")
    import mira_hf
    from mira_hf.reliability import score_matrix
    from mira_hf.report import build_report
    from mira_hf.report.data import summarize

    datasets.disable_progress_bars()
    print(f"best of {args.repeat}; memory-mapped Arrow input, {len(SOURCES)} sources × {DIMS} dimensions")
    head = f"{'rows':>9}  {'step':<40} {'ms':>9} {'× baseline':>11} {'HTML KB':>8}"
    print(head)
    print("-" * len(head))
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mira-bench-report-") as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"scored-{rows}.arrow"
            write_scored(path, rows)
            ds = datasets.Dataset.from_file(str(path))
            column = ds.data.column("mira_scores")
            scores = score_matrix(column, DIMS)
            teacher = np.clip(scores + np.random.default_rng(1).integers(-1, 2, scores.shape), 0, 10)
            result = mira_hf.agreement(scores, teacher, sources=ds.data.column("source"))
            _, selection = mira_hf.filter_by_retention(ds, 0.5)
            # fonts, matplotlib caches; the records section is timed by bench_records.py (samples=0 here)
            build_report(ds.select(range(min(rows, 500))), path=Path(tmp) / "warm.html", samples=0)

            steps: list[tuple[str, Callable[[], Any]]] = [
                ("baseline: list_flatten → numpy", lambda: pc.list_flatten(column).to_numpy(zero_copy_only=False)),
                ("summarize", lambda: summarize(ds)),
                ("build_report (scores only)", lambda: build_report(ds, path=Path(tmp) / "plain.html", samples=0)),
                (
                    "build_report (+ agreement, selection)",
                    lambda: build_report(
                        ds, agreement=result, selection=selection, path=Path(tmp) / "full.html", samples=0
                    ),
                ),
            ]
            base = None
            for name, fn in steps:
                seconds, out = best(fn, args.repeat)
                base = base or seconds
                size = f"{Path(out).stat().st_size / 1024:,.0f}" if isinstance(out, Path) else ""
                print(f"{rows:>9,}  {name:<40} {seconds * 1e3:>9.1f} {seconds / base:>10,.0f}× {size:>8}", flush=True)
                figures.append(
                    {"rows": rows, "step": name, "seconds": seconds, "ratio": seconds / base, "html_kb": size}
                )
    _results.save(
        args.results_dir,
        "report",
        {"table": _results.table(["rows", "step", "ms", "× baseline", "HTML KB"], "rlrrr", _cells(figures))},
        {"repeat": args.repeat, "steps": figures},
    )


#: How the page writes each step.
STEP_LABELS = {
    "baseline: list_flatten → numpy": "baseline: `list_flatten` → numpy",
    "summarize": "`summarize`",
    "build_report (scores only)": "`build_report` (scores only)",
    "build_report (+ agreement, selection)": "`build_report` (+ agreement, selection)",
}


def _cells(figures: list[dict[str, Any]]) -> list[list[str]]:
    """The page's rows: milliseconds with one decimal under 1 s, whole ones above."""
    out = []
    for f in figures:
        ms = f["seconds"] * 1e3
        out.append(
            [f"{f['rows']:,}", STEP_LABELS[f["step"]], f"{ms:.1f}" if ms < 1000 else f"{ms:,.0f}"]
            + [f"{f['ratio']:,.0f}", f["html_kb"]]
        )
    return out


if __name__ == "__main__":
    main()
