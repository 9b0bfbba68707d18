"""Benchmark: ``build_report`` with the records section (``samples=3``) against without it (``samples=0``).

Writes N synthetic scored rows as a scoring run leaves them (6 sources, an id, the record text — most a few
hundred characters, one in 50 some 30,000 — the 15 scores and rationales, overall, recommendation, domain tag,
brief, status and error, ``mira_quality``, teacher scores on a 2 % validation slice) to an Arrow file,
memory-maps it with ``Dataset.from_file``, measures agreement on the slice and selects half of each source,
then times ``build_report`` with both, once without the records and once with them: seconds (best of
``--repeat``) and the HTML file's size.

    python benchmarks/bench_records.py                     # 231,762 rows (the size of the issue)
    python benchmarks/bench_records.py --rows 3000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402
from benchmarks.bench_report import DIMS, SOURCES, STATUSES  # noqa: E402  (the same corpus shape)

CHUNK = 20_000


def _chunk(start: int, rows: int, rng: np.random.Generator) -> pa.Table:
    """Rows ``start .. start + rows`` of the synthetic scored dataset."""
    codes = rng.integers(0, len(SOURCES), rows)
    status = rng.choice(len(STATUSES), rows, p=[0.9, 0.05, 0.03, 0.01, 0.01])
    failed = status >= 2
    scores = np.clip(np.rint(rng.normal(6.0, 2.0, (rows, DIMS)) + codes[:, None] * 0.2), 0, 10).astype(np.float32)
    missing = (rng.random((rows, DIMS)) < 0.03) | failed[:, None]
    offsets = pa.array(np.arange(0, rows * DIMS + 1, DIMS, dtype=np.int32))
    ids = np.arange(start, start + rows)
    lengths = np.where(rng.random(rows) < 0.02, 30_000, rng.integers(200, 900, rows))
    body = "ran pytest -x; 3 failed, fixed the import in utils.py and reran. " * 500
    text = [f"### user\nTask {i}: the tests fail.\n\n### assistant\n{body[:n]}" for i, n in zip(ids, lengths)]
    rationale = pa.array([f"slot {d + 1}: the agent read the failing test before editing it." for d in range(DIMS)])
    rationales = pa.ListArray.from_arrays(offsets, pc.take(rationale, pa.array(np.tile(np.arange(DIMS), rows))))
    teacher = np.clip(scores + rng.integers(-1, 2, scores.shape), 0, 10).astype(np.float32)
    validation = rng.random(rows) < 0.02
    flat_teacher = pa.array(teacher.ravel(), mask=np.repeat(~validation, DIMS) | missing.ravel())
    quality = np.where(failed, np.nan, scores.mean(axis=1))
    return pa.table(
        {
            "id": pa.array([f"traj-{i:07d}" for i in ids]),
            "source": pc.take(pa.array(SOURCES), pa.array(codes)),
            "text": pa.array(text),
            "mira_scores": pa.ListArray.from_arrays(offsets, pa.array(scores.ravel(), mask=missing.ravel())),
            "mira_rationales": rationales,
            "mira_overall": pa.array(quality * 10, mask=failed),
            "mira_recommendation": pa.array(np.where(quality > 6, "keep", "drop").tolist(), mask=failed),
            "mira_domain_tag": pa.array(["swe"] * rows, mask=failed),
            "mira_brief": pa.array(["Fixed the failing import after reading the test."] * rows, mask=failed),
            "mira_status": pc.take(pa.array(STATUSES), pa.array(status)),
            "mira_error": pa.array([f"{STATUSES[s]}: row failed" for s in status], mask=~failed),
            "mira_truncated": pa.array(lengths > 20_000),
            "mira_quality": pa.array(quality, mask=failed),
            "teacher_scores": pa.ListArray.from_arrays(offsets, flat_teacher, mask=pa.array(~validation)),
        }
    )


def write_scored(path: Path, rows: int, seed: int = 0) -> None:
    """The synthetic scored dataset as an Arrow stream file, written ``CHUNK`` rows at a time."""
    rng = np.random.default_rng(seed)
    writer = None
    with pa.OSFile(str(path), "wb") as sink:
        for start in range(0, rows, CHUNK):
            table = _chunk(start, min(CHUNK, rows - start), rng)
            writer = writer or pa.ipc.new_stream(sink, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=231_762)
    ap.add_argument("--repeat", type=int, default=2)
    _results.add_option(ap)
    args = ap.parse_args(argv)

    import datasets
    import matplotlib

    matplotlib.use("Agg")
    import mira_hf
    from mira_hf.report import build_report

    datasets.disable_progress_bars()
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mira-bench-records-") as tmp:
        path = Path(tmp) / "scored.arrow"
        write_scored(path, args.rows)
        ds = datasets.Dataset.from_file(str(path))
        val = ds.filter(lambda t: [v is not None for v in t], input_columns="teacher_scores", batched=True)
        result = mira_hf.agreement(val["mira_scores"], val["teacher_scores"], sources=val["source"], min_support=20)
        _, selection = mira_hf.filter_by_retention(ds, 0.5)
        build_report(ds.select(range(min(args.rows, 500))), path=Path(tmp) / "warm.html")  # fonts, caches
        print(f"{args.rows:,} rows, best of {args.repeat}; {path.stat().st_size / 2**20:,.0f} MB Arrow input")
        print(f"{'records section':<28} {'seconds':>8} {'report MB':>10}")
        for samples, label in ((0, "without (--samples 0)"), (3, "with (--samples 3)")):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = build_report(
                    ds, agreement=result, selection=selection, samples=samples, path=Path(tmp) / f"r{samples}.html"
                )
                times.append(time.perf_counter() - t0)
            size = out.stat().st_size / 2**20
            print(f"{label:<28} {min(times):>8.2f} {size:>10.2f}", flush=True)
            figures.append({"rows": args.rows, "samples": samples, "seconds": min(times), "mb": size})
    rows = [[f"{f['rows']:,}", str(f["samples"]), f"{f['seconds']:.2f}", f"{f['mb']:.2f}"] for f in figures]
    _results.save(
        args.results_dir,
        "records",
        {"table": _results.table(["rows", "--samples", "seconds", "report MB"], "rrrr", rows)},
        {"repeat": args.repeat, "runs": figures},
    )


if __name__ == "__main__":
    main()
