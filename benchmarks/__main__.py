"""Run every benchmark's quick mode in turn, each in its own process, and print each table.

python -m benchmarks                   # quick mode of each CPU benchmark (a few minutes on 2 cores)
python -m benchmarks parse report      # only these
python -m benchmarks --full            # each with its own defaults; results JSON in benchmarks/results/
python -m benchmarks --gpu             # also benchmarks/gpu_prefill.py (needs a CUDA GPU and vLLM)
python -m benchmarks --list

Quick runs write their results JSON under a temporary folder (``--results-dir`` to choose one); full runs write
``benchmarks/results/``, which ``python -m benchmarks.tables`` turns into the tables of docs/performance.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Where quick runs put their results JSON, so that they never overwrite benchmarks/results/.
QUICK_RESULTS = Path(tempfile.gettempdir()) / "mira-bench-quick-results"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script and the flags of its quick mode."""

    name: str
    script: str
    quick: tuple[str, ...]
    what: str
    gpu: bool = False

    def command(self, full: bool = False, results_dir: Path | None = None) -> list[str]:
        """The command line: the quick flags unless ``full``; results JSON under ``results_dir`` (default:
        benchmarks/results/ for a full run, a temporary folder for a quick one)."""
        where = results_dir or (HERE / "results" if full else QUICK_RESULTS)
        return [sys.executable, str(HERE / self.script), *(() if full else self.quick), "--results-dir", str(where)]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "overhead",
        "bench_overhead.py",
        ("--records", "20", "--tokens", "1000", "30000"),
        "plugin time per record by stage, zero-latency engine",
    ),
    Benchmark(
        "client",
        "bench_client.py",
        (
            "--latency",
            "0.2",
            "--in-flight",
            "16",
            "64",
            "--rounds",
            "3",
            "--prompt-bytes",
            "2000",
            "--resume-rows",
            "200",
        ),
        "endpoint client throughput as a share of server capacity",
    ),
    Benchmark(
        "selection",
        "bench_selection.py",
        ("--rows", "100000", "--repeat", "1"),
        "filter_by_retention vs a pyarrow sort",
    ),
    Benchmark(
        "metric", "bench_metric.py", ("--rows", "20000", "--repeat", "1"), "agreement metric vs a numpy MAE pass"
    ),
    Benchmark(
        "growth",
        "bench_growth.py",
        ("--quick",),
        "time and memory from 10 K rows / 1 K tokens up (plot in benchmarks/results/)",
    ),
    Benchmark(
        "parse",
        "bench_parse.py",
        ("--answers", "200", "--repeat", "1"),
        "parse_output vs re.findall on realistic answers",
    ),
    Benchmark(
        "report", "bench_report.py", ("--rows", "3000", "--repeat", "1"), "summarize / build_report vs pc.list_flatten"
    ),
    Benchmark(
        "records",
        "bench_records.py",
        ("--rows", "3000", "--repeat", "1"),
        "build_report with the records section vs without",
    ),
    Benchmark(
        "discover",
        "bench_discover.py",
        ("--sizes", "2000", "--repeat", "1"),
        "cluster_dimensions on planted proposals: time, KMeans share, ARI",
    ),
    Benchmark(
        "stream",
        "bench_stream.py",
        ("--quick",),
        "share of a loopback server's capacity: ds.map batch by batch vs streaming",
    ),
    Benchmark("gpu", "gpu_prefill.py", (), "prefill / output tokens/s, MFU, prefix cache on one GPU", gpu=True),
)


def select(names: list[str], gpu: bool) -> list[Benchmark]:
    """The benchmarks to run: ``names`` in the table's order (all when empty); the GPU one only with ``gpu``.

    Example:
        >>> [b.name for b in select(["report", "parse"], gpu=False)]
        ['parse', 'report']
    """
    unknown = set(names) - {b.name for b in BENCHMARKS}
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {[b.name for b in BENCHMARKS]}")
    return [b for b in BENCHMARKS if (b.name in names if names else True) and (gpu or not b.gpu or b.name in names)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all but gpu)")
    ap.add_argument("--full", action="store_true", help="run each with its own defaults instead of its quick mode")
    ap.add_argument("--gpu", action="store_true", help="include gpu_prefill.py")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and their quick flags")
    ap.add_argument("--results-dir", type=Path, help="where the results JSON go (default: see above)")
    args = ap.parse_args(argv)
    chosen = select(args.names, args.gpu)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<10} {b.script:<20} {' '.join(b.quick) or '(defaults)':<70} {b.what}")
        return 0

    results = []
    for b in chosen:
        cmd = b.command(full=args.full, results_dir=args.results_dir)
        print(f"\n=== {b.name}: {b.what}\n$ python {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=HERE.parent).returncode
        results.append((b.name, rc, time.perf_counter() - t0))
    print(f"\n{'benchmark':<10} {'exit':>4} {'seconds':>8}")
    for name, rc, seconds in results:
        print(f"{name:<10} {rc:>4} {seconds:>8.1f}")
    failed = [name for name, rc, _ in results if rc != 0]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
