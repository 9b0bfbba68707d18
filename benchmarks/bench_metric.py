"""Benchmark: the agreement metric and aggregation at the model card's corpus size (231,762 records × 15 dims).

Times are ratios against a bare numpy pass over the same matrices (per-column MAE with NaN), measured in the
same process; peak memory is what numpy/Python allocate during the step (tracemalloc).

    python benchmarks/bench_metric.py            # 231,762 rows, best of 3
    python benchmarks/bench_metric.py --rows 50000 --repeat 1
    python benchmarks/bench_metric.py --scale 10000000   # agreement alone on 10 M × 15: time and peak RSS
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

CARD_ROWS = 231_762
DIMS = 15
SOURCES = ("agent_openhands", "davinc_dev", "swe_qa")
METRIC_DIR = Path(__file__).resolve().parents[1] / "metrics" / "mira_agreement"


def make_data(rows: int, seed: int = 0) -> dict[str, Any]:
    """Teacher/student scores like the scorer writes (float32, whole points, ~3 % missing) and a source per row."""
    rng = np.random.default_rng(seed)
    teacher = rng.integers(0, 11, (rows, DIMS)).astype(np.float32)
    noise = np.round(rng.normal(0, np.linspace(0.3, 2.5, DIMS), (rows, DIMS)))
    student = np.clip(teacher + noise, 0, 10).astype(np.float32)
    student[rng.random(student.shape) < 0.03] = np.nan
    sources = rng.choice(SOURCES, rows, p=[0.45, 0.45, 0.10])
    return {"student": student, "teacher": teacher, "sources": sources}


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(best wall seconds over ``repeat`` runs, peak MiB traced during one run)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(times), peak


def scale(rows: int, bootstrap: int) -> dict[str, Any]:
    """``agreement`` alone on ``rows`` × 15 float32 scores (built in chunks): seconds and the process's peak RSS.

    Run it in a fresh process: ``ru_maxrss`` is the peak of the whole process, so the inputs (2 × rows × 15 × 4
    bytes) are measured first and the agreement's own share is the difference.
    """
    import pyarrow as pa

    from mira_hf.reliability import agreement

    rng = np.random.default_rng(0)
    student = np.empty((rows, DIMS), dtype=np.float32)
    teacher = np.empty((rows, DIMS), dtype=np.float32)
    codes = rng.choice(len(SOURCES), rows, p=[0.45, 0.45, 0.10]).astype(np.int32)
    for start in range(0, rows, 1_000_000):  # chunked, so making the data does not set the peak
        stop = min(rows, start + 1_000_000)
        part = make_data(stop - start, seed=start)
        student[start:stop], teacher[start:stop] = part["student"], part["teacher"]
    sources = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(SOURCES)))

    def rss() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    before = rss()
    start = time.perf_counter()
    result = agreement(student, teacher, sources=sources, bootstrap=bootstrap)
    seconds = time.perf_counter() - start
    peak = rss()
    print(
        f"agreement on {rows:,} × {DIMS} (float32 arrays, {len(SOURCES)} sources, bootstrap={bootstrap}): "
        f"{seconds:.1f} s; process peak RSS {peak / 1024:.2f} GiB (inputs and setup {before / 1024:.2f} GiB, "
        f"agreement adds {(peak - before) / 1024:.2f} GiB); macro MAE {result['macro_mae']:.3f}"
    )
    return {
        "rows": rows,
        "bootstrap": bootstrap,
        "seconds": seconds,
        "peak_gib": peak / 1024,
        "inputs_gib": before / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=CARD_ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=None, help="only time agreement on this many rows")
    parser.add_argument("--bootstrap", type=int, default=0, help="with --scale: bootstrap resamples")
    _results.add_option(parser)
    args = parser.parse_args()
    if args.scale is not None:
        f = scale(args.scale, args.bootstrap)
        cells = [
            [f"{args.bootstrap:,}", f"{f['seconds']:.1f}", f"{f['peak_gib']:.2f} GiB", f"{f['inputs_gib']:.2f} GiB"]
        ]
        head = ["bootstrap", "seconds", "peak RSS", "of which the inputs"]
        _results.save(
            args.results_dir,
            f"metric_scale_{args.scale}_b{args.bootstrap}",
            {"table": _results.table(head, "rrrr", cells)},
            f,
        )
        return

    import datasets
    import evaluate
    from datasets import Dataset, Features, List, Value, load_from_disk

    datasets.disable_progress_bars()

    from mira_hf.reliability import Reliability, aggregate, agreement

    data = make_data(args.rows)
    student, teacher, sources = data["student"], data["teacher"], data["sources"]
    student_rows = [[None if v != v else v for v in row] for row in student.tolist()]
    teacher_rows = teacher.tolist()
    source_list = sources.tolist()
    metric = evaluate.load(str(METRIC_DIR))

    def baseline() -> Any:  # one vectorised pass: per-column MAE over rows where both sides have a value
        diff = np.abs(student.astype(np.float64) - teacher)
        return np.nanmean(diff, axis=0)

    def evaluate_round_trip() -> Any:  # evaluate's generic path: encode rows, write Arrow, read back lists
        metric.add_batch(predictions=student_rows, references=teacher_rows)
        return metric.compute(sources=source_list)

    result = agreement(student, teacher, sources=sources)
    rel = Reliability.from_result(result)
    with tempfile.TemporaryDirectory() as tmp:
        features = Features({"mira_scores": List(Value("float32")), "source": Value("string")})
        Dataset.from_dict({"mira_scores": student_rows, "source": source_list}, features=features).save_to_disk(
            f"{tmp}/ds"
        )
        on_disk = load_from_disk(f"{tmp}/ds")  # memory-mapped, like a real scored corpus

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("baseline: numpy MAE pass", baseline),
            ("agreement(numpy float32)", lambda: agreement(student, teacher, sources=sources)),
            (
                "agreement(Arrow columns)",
                lambda: agreement(on_disk.data.column("mira_scores"), teacher, sources=on_disk.data.column("source")),
            ),
            ("agreement(Python lists)", lambda: agreement(student_rows, teacher_rows, sources=source_list)),
            (
                "metric.compute(lists)",
                lambda: metric.compute(predictions=student_rows, references=teacher_rows, sources=source_list),
            ),
            ("evaluate add_batch+compute", evaluate_round_trip),
            ("aggregate(trimmed_mean, mmap)", lambda: aggregate(on_disk, rel)),
            ("aggregate(weighted, mmap)", lambda: aggregate(on_disk, rel, method="weighted")),
        ]
        rows = []
        for name, fn in steps:
            repeat = 1 if name.startswith("evaluate") else args.repeat
            seconds, peak = measure(fn, repeat)
            rows.append((name, seconds, peak))

    base = rows[0][1]
    print(
        f"\nmira_agreement on {args.rows:,} records × {DIMS} dims, {len(SOURCES)} sources "
        f"(best of {args.repeat}; evaluate round trip: 1 run)"
    )
    print(f"{'step':<32}{'seconds':>10}{'× baseline':>12}{'peak MiB':>10}")
    for name, seconds, peak in rows:
        print(f"{name:<32}{seconds:>10.3f}{seconds / base:>12.1f}{peak:>10.0f}")
    direct = {n: s for n, s, _ in rows}
    overhead = direct["evaluate add_batch+compute"] - direct["agreement(Python lists)"]
    print(
        f"\nevaluate's own Arrow round trip adds {overhead:.2f} s over mira_hf.agreement on the same lists; "
        f"metric.compute(...) in one call skips it."
    )
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    figures = [{"step": n, "seconds": sec, "ratio": sec / base, "peak_mib": peak} for n, sec, peak in rows]
    cells = [
        [
            STEP_LABELS[f["step"]],
            f"**{f['seconds']:.3f}**" if f["step"].startswith("agreement(numpy") else f"{f['seconds']:.3f}",
        ]
        + [f"{f['ratio']:.1f}", f"{f['peak_mib']:.0f}"]
        for f in figures
    ]
    head = ["step", "seconds", "× numpy MAE pass", "peak MiB (traced)"]
    _results.save(
        args.results_dir,
        "metric",
        {"table": _results.table(head, "lrrr", cells)},
        {"rows": args.rows, "repeat": args.repeat, "steps": figures},
    )


#: How the page writes each step.
STEP_LABELS = {
    "baseline: numpy MAE pass": "baseline: one numpy MAE pass",
    "agreement(numpy float32)": "`agreement` on numpy float32",
    "agreement(Arrow columns)": "`agreement` on Arrow columns",
    "agreement(Python lists)": "`agreement` on Python lists",
    "metric.compute(lists)": "`metric.compute(...)` on lists",
    "evaluate add_batch+compute": "`evaluate` `add_batch` + `compute`",
    "aggregate(trimmed_mean, mmap)": "`aggregate` (trimmed mean, memory-mapped)",
    "aggregate(weighted, mmap)": "`aggregate` (weighted, memory-mapped)",
}


if __name__ == "__main__":
    main()
