"""Benchmark: ``filter_by_retention`` on a memory-mapped Arrow dataset against a bare pyarrow sort of the scores.

Writes N synthetic scored rows (sources, float32 scores with nulls, token counts, a text column) to an Arrow
file in a temporary folder, memory-maps it with ``Dataset.from_file``, then times, in the same process:
the baseline (``pyarrow.compute.sort_indices`` of the score column, descending) and each retention kind.
Prints a small table: median seconds, ratio to the baseline (target ≤ 3×), peak memory above the start.

    python benchmarks/bench_selection.py                 # 1,000,000 rows
    python benchmarks/bench_selection.py --rows 10000000
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
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
GROUPS = {
    "swe_repair": ["agent_openhands", "davinc_dev", "swe_gym"],
    "qa": ["swe_qa"],
    "tools": ["nemotron_agent", "toolace"],
}


def write_dataset(path: Path, rows: int, batch: int = 1_000_000, seed: int = 0) -> None:
    """Scored rows as an Arrow stream file (the format datasets memory-maps), written batch by batch."""
    rng = np.random.default_rng(seed)
    names = pa.array(SOURCES)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("source", pa.string()),
            ("mira_quality", pa.float32()),
            ("mira_prompt_tokens", pa.int32()),
            ("text", pa.string()),
        ]
    )
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            codes = rng.integers(0, len(SOURCES), n, dtype=np.int32)
            source = pc.take(names, pa.array(codes))
            score = np.round(rng.normal(6.0, 1.8, n).clip(0, 10), 2).astype(np.float32)
            quality = pa.array(score, mask=rng.random(n) < 0.03)  # 3 % unscored
            tokens = rng.lognormal(9.0, 1.0, n).clip(200, 60_000).astype(np.int32)
            text = pc.binary_join_element_wise(
                "trajectory ", pc.cast(pa.array(np.arange(start, start + n)), pa.string()), ""
            )
            columns = [pa.array(np.arange(start, start + n)), source, quality, pa.array(tokens), text]
            columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
            writer.write_batch(pa.record_batch(columns, schema=schema))


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every few milliseconds."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:  # pragma: no cover
            raise SystemExit("this benchmark measures memory with psutil: pip install psutil") from None

        self._proc = psutil.Process()
        self.peak = 0

    def __enter__(self) -> PeakMemory:
        self._start = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.003):
            self.peak = max(self.peak, self._proc.memory_info().rss - self._start)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss - self._start)


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, int, Any]:
    """Median wall time over ``repeat`` runs, the largest peak memory, and the last result."""
    times, peaks, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        peaks.append(mem.peak)
    return statistics.median(times), max(peaks), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    _results.add_option(parser)
    args = parser.parse_args()

    import datasets

    import mira_hf

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="mira-bench-") as tmp:
        path = Path(tmp) / "scored.arrow"
        t0 = time.perf_counter()
        write_dataset(path, args.rows)
        ds = datasets.Dataset.from_file(str(path))  # memory-mapped
        print(
            f"{args.rows:,} rows written and memory-mapped in {time.perf_counter() - t0:.1f} s "
            f"({path.stat().st_size / 2**20:,.0f} MiB on disk)"
        )

        budget = int(pc.sum(ds.data.column("mira_prompt_tokens")).as_py() // 2 // len(SOURCES))
        for name in ("mira_quality", "source"):  # warm the page cache so no case pays for the first read
            pc.count(ds.data.column(name))
            pc.max(pc.binary_length(ds.data.column(name)) if name == "source" else ds.data.column(name))
        cases: list[tuple[str, Callable[[], Any]]] = [
            (
                "pyarrow sort of the scores (baseline)",
                lambda: pc.array_sort_indices(ds.data.column("mira_quality"), order="descending"),
            ),
            ("MIRA-Source, fraction 0.5", lambda: mira_hf.filter_by_retention(ds, 0.5)),
            ("MIRA-Source, min_score 6.5", lambda: mira_hf.filter_by_retention(ds, {"min_score": 6.5})),
            (
                "MIRA-Source, token budget",
                lambda: mira_hf.filter_by_retention(ds, {"tokens": budget}, token_column="mira_prompt_tokens"),
            ),
            ("MIRA-Group, fraction 0.5", lambda: mira_hf.filter_by_retention(ds, 0.5, by="group", groups=GROUPS)),
            ("MIRA-Global, fraction 0.5", lambda: mira_hf.filter_by_retention(ds, 0.5, by="global")),
            (
                "global token budget, split by shares",
                lambda: mira_hf.filter_by_retention(
                    ds, budget_tokens=budget * len(SOURCES), token_column="mira_prompt_tokens"
                ),
            ),
            (
                "Gumbel sampling τ=1, fraction 0.5",
                lambda: mira_hf.filter_by_retention(ds, 0.5, sampling="gumbel", temperature=1.0),
            ),
            (
                "Gumbel τ=1, fraction 0.5, string ids",
                lambda: mira_hf.filter_by_retention(ds, 0.5, sampling="gumbel", temperature=1.0, id_column="text"),
            ),
            (
                "Gumbel sampling τ=1, global budget",
                lambda: mira_hf.filter_by_retention(
                    ds,
                    budget_tokens=budget * len(SOURCES),
                    token_column="mira_prompt_tokens",
                    sampling="gumbel",
                    temperature=1.0,
                ),
            ),
        ]
        rows = []
        baseline = None
        for name, fn in cases:
            seconds, peak, result = measure(fn, args.repeat)
            baseline = baseline or seconds
            kept = len(result[0]) if isinstance(result, tuple) else None
            rows.append((name, seconds, seconds / baseline, peak, kept))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"filter_by_retention on {args.rows:,} memory-mapped rows (median of {args.repeat})")
    for col in ("case", "seconds", "× baseline", "peak memory (MiB)", "rows kept"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for name, seconds, ratio, peak, kept in rows:
        table.add_row(
            name, f"{seconds:.3f}", f"{ratio:.2f}", f"{peak / 2**20:,.0f}", "—" if kept is None else f"{kept:,}"
        )
    Console(width=110).print(table)
    worst = max(r[2] for r in rows[1:])
    print(f"worst ratio {worst:.2f}× (target ≤ 3×): {'OK' if worst <= 3 else 'ABOVE TARGET'}")
    figures = [dict(case=n, seconds=sec, ratio=r, peak_mib=peak / 2**20, kept=kept) for n, sec, r, peak, kept in rows]
    cells = [[f"{args.rows:,}", f["case"], f"{f['ratio']:.2f}", f"{f['peak_mib']:,.0f}"] for f in figures[1:]]
    _results.save(
        args.results_dir,
        "selection" if args.rows == 1_000_000 else f"selection_{args.rows}",
        {"table": _results.table(["rows", "case", "× sort", "peak MiB"], "rlrr", cells)},
        {"rows": args.rows, "repeat": args.repeat, "baseline_s": rows[0][1], "cases": figures},
    )


if __name__ == "__main__":
    main()
