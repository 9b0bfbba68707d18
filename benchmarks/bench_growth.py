"""Benchmark: how time and peak memory grow with the corpus and with the record.

* selection — ``mira_hf.filter_by_retention(ds, 0.5)`` on a memory-mapped dataset (``mira_quality`` float32
  with 3 % nulls, a ``source`` column of ``--sources`` sources), from 10 K to ``--max-rows`` rows;
* metric — ``mira_hf.agreement`` on rows × 15 float32 scores with 3 % NaN, over the same rows;
* prompt — ``Budget.fit_many`` and ``build_prompts`` with the tiny test model's real tokenizer on records of
  1 K to 60 K tokens (the card's 65,536 context: long records are tokenized, none is cut), and
  ``fit_many`` truncating the same records to an 8,192 context.

Every point runs in a fresh subprocess, so an earlier point's high-water mark never hides a later one.
Inputs are written by this process beforehand and loaded whole (metric) or memory-mapped (selection), and
each stage is warmed up on a small input, so the child's max RSS before the call is the inputs alone. Per
point: best wall time of ``--repeat`` runs; ``RSS Δ``, the growth of the child's max RSS
(``resource.getrusage``) over its RSS just before the first run (what the process needs on top of its
inputs; a memory-mapped column's pages count when read); ``traced``, the peak of Python-side allocations
(``tracemalloc``, numpy included) in one more run. A point whose memory, extrapolated from the previous
one, would not fit in the memory available now is skipped with a note.

Prints a table and saves ``growth.png`` (log-log, one line per stage) and ``growth.json`` in ``--out``.

    python benchmarks/bench_growth.py                          # rows up to 1 M, records up to 60 K tokens
    python benchmarks/bench_growth.py --max-rows 10000000      # adds 3 M and 10 M rows
    python benchmarks/bench_growth.py --quick                  # seconds: small sizes only
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results"
DIMS = 15
SOURCE_NAMES = [
    "agent_openhands",
    "davinc_dev",
    "swe_qa",
    "swe_gym",
    "nemotron_agent",
    "toolace",
    "sweb_verified",
    "codeact",
    "agenttuning",
    "nebius_swe",
    "r2e_gym",
    "openhands_sft",
]
#: 1-3-10 steps from 10 K rows.
ROW_STEPS = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]
TOKEN_STEPS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]
MARK = "@@POINT "

#: stage → (size unit, what one point runs)
STAGES = {
    "selection": "rows",
    "metric": "rows",
    "fit_many 65,536 ctx": "tokens",
    "build_prompts 65,536 ctx": "tokens",
    "fit_many 8,192 ctx (cuts)": "tokens",
}


# --------------------------------------------------------------------------------------------------- inputs
def write_selection_input(path: Path, rows: int, n_sources: int, seed: int = 0) -> None:
    """``id``, ``source`` and ``mira_quality`` (float32, 3 % null) as an Arrow stream file, batch by batch."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    names = pa.array(SOURCE_NAMES[:n_sources])
    weights = np.linspace(2.0, 1.0, n_sources)
    weights /= weights.sum()
    schema = pa.schema([("id", pa.int64()), ("source", pa.string()), ("mira_quality", pa.float32())])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            source = pc.take(names, pa.array(rng.choice(n_sources, n, p=weights).astype(np.int32)))
            score = np.round(rng.normal(6.0, 1.8, n).clip(0, 10), 2).astype(np.float32)
            writer.write_batch(
                pa.record_batch(
                    [pa.array(np.arange(start, start + n)), source, pa.array(score, mask=rng.random(n) < 0.03)],
                    schema=schema,
                )
            )


def write_metric_input(folder: Path, rows: int, n_sources: int, seed: int = 0) -> None:
    """Teacher and student scores (rows × 15 float32, whole points, 3 % NaN) and source codes as ``.npy``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    teacher = np.lib.format.open_memmap(folder / "teacher.npy", "w+", np.float32, (rows, DIMS))
    student = np.lib.format.open_memmap(folder / "student.npy", "w+", np.float32, (rows, DIMS))
    codes = np.lib.format.open_memmap(folder / "codes.npy", "w+", np.int8, (rows,))
    noise_sd = np.linspace(0.3, 2.5, DIMS, dtype=np.float32)
    for start in range(0, rows, 500_000):
        n = min(500_000, rows - start)
        t = rng.integers(0, 11, (n, DIMS)).astype(np.float32)
        s = np.clip(t + np.round(rng.normal(0, 1, (n, DIMS)).astype(np.float32) * noise_sd), 0, 10)
        s[rng.random((n, DIMS)) < 0.03] = np.nan
        teacher[start : start + n], student[start : start + n] = t, s
        codes[start : start + n] = rng.integers(0, n_sources, n)
    for arr in (teacher, student, codes):
        arr.flush()


_LINES = [
    "$ python -m pytest tests/test_parser.py -x -q",
    "E       AssertionError: assert parse('') == []",
    "tests/test_parser.py:41: in test_empty_input",
    "    result = parse(tokens, strict=self.strict)",
    "src/pkg/parser.py:118: ValueError: unexpected end of input at offset 0",
    "--- a/src/pkg/parser.py",
    "+++ b/src/pkg/parser.py",
    "@@ -112,7 +112,9 @@ def parse(tokens, strict=False):",
    "-    head = tokens[0]",
    "+    if not tokens:",
    "+        return []",
    '$ grep -rn "def parse" src/ | head -20',
    "==================== 212 passed, 3 skipped in 14.82s ====================",
    "Traceback (most recent call last):",
    '  File "/repo/src/pkg/cli.py", line 203, in main',
    "KeyError: 'timeout'",
    "class TokenStream:",
    "    def __init__(self, text: str, *, strict: bool = False) -> None:",
    "I will reproduce the failure first, then read the parser around line 118.",
    "The fix is minimal: guard the empty case before indexing and keep the strict path unchanged.",
]


def make_records(n: int, tokens: int, tokens_per_char: float, seed: int = 0) -> list[str]:
    """``n`` OpenAI-chat trajectories (JSON strings) of about ``tokens`` tokens each."""
    rnd = random.Random(seed * 7919 + tokens)
    chars = int(tokens / tokens_per_char)
    out = []
    for i in range(n):
        lines, size = [], 0
        while size < chars:
            lines.append(rnd.choice(_LINES))
            size += len(lines[-1]) + 1
        msgs = [
            {"role": "user", "content": f"Issue {i}: parse('') raises ValueError."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "bash", "arguments": json.dumps({"command": "python -m pytest -x -q"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "name": "bash", "content": "\n".join(lines)[:chars]},
            {"role": "assistant", "content": "Guarded the empty input; the suite passes."},
        ]
        out.append(json.dumps(msgs))
    return out


def tiny_model_dir() -> Path:
    """The tiny test model (for its real tokenizer), built once in the temporary folder and reused."""
    from mira_hf.testing.tiny_model import build_tiny_model

    return build_tiny_model(Path(tempfile.gettempdir()) / "mira-bench-tiny")


# ------------------------------------------------------------------------------------------ one point (child)
def _rss_mib() -> float:
    """Current resident memory of this process, MiB (Linux ``/proc``; elsewhere the high-water mark)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _maxrss_mib()


def _maxrss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _reset_peak() -> None:
    """Lower the max-RSS high-water mark to the current RSS (Linux ≥ 4.0), so set-up peaks never mask the call."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # elsewhere a set-up peak above the call's shows as "≤" (an upper bound)
        pass


def measure(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Time (best of ``repeat``), max-RSS growth over the RSS before the first run, tracemalloc peak."""
    gc.collect()
    _reset_peak()
    before_peak, before = _maxrss_mib(), _rss_mib()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    after_peak = _maxrss_mib()
    gc.collect()
    tracemalloc.start()
    fn()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "seconds": min(times),
        "rss_delta_mib": max(after_peak - before, 0.0),
        "rss_masked": after_peak <= before_peak and before_peak - before > 1.0,
        "traced_mib": traced,
        "max_rss_mib": after_peak,
    }


def run_point(stage: str, size: int, data: str, repeat: int, records: int, ratio: float) -> dict[str, Any]:
    """Measure one stage at one size in this (fresh) process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    extra: dict[str, Any] = {}
    if stage == "selection":
        import datasets

        import mira_hf

        datasets.disable_progress_bars()
        ds = datasets.Dataset.from_file(data)  # memory-mapped
        mira_hf.filter_by_retention(datasets.Dataset.from_dict(ds[:1000]), 0.5)  # imports, pydantic models
        fn = lambda: mira_hf.filter_by_retention(ds, 0.5)  # noqa: E731
    elif stage == "metric":
        import pyarrow as pa

        import mira_hf

        folder = Path(data)
        student, teacher = np.load(folder / "student.npy"), np.load(folder / "teacher.npy")
        n_sources = int(json.loads((folder / "meta.json").read_text())["sources"])
        sources = pa.DictionaryArray.from_arrays(np.load(folder / "codes.npy"), pa.array(SOURCE_NAMES[:n_sources]))
        mira_hf.agreement(student[:1000], teacher[:1000], sources=sources[:1000])
        fn = lambda: mira_hf.agreement(student, teacher, sources=sources)  # noqa: E731
    else:
        from transformers import AutoTokenizer

        from mira_hf.prompting.prompt import Budget, build_prompts
        from mira_hf.records import render_record
        from mira_hf.rubric import load_rubric

        rubric = load_rubric("agent-group4")
        tokenizer = AutoTokenizer.from_pretrained(data)
        recs = make_records(records, size, ratio)
        texts = [render_record(r) for r in recs]
        context = 8_192 if "8,192" in stage else 65_536
        budget = Budget(
            rubric, max_model_len=context, max_tokens=2_048 if context > 8_192 else 1_024, tokenizer=tokenizer
        )
        # Warm-up on small inputs (a large one would raise the high-water mark before the measurement):
        # the rubric's prompt parts, the renderer, the fast tokenizer's batch path and decode.
        build_prompts(make_records(2, 1_000, ratio, seed=1), rubric, budget)
        tokenizer(["def f():\n    return 1\n" * 200] * 2, add_special_tokens=False)
        tokenizer.decode(tokenizer.encode("warm up", add_special_tokens=False))
        if stage.startswith("build_prompts"):
            fn = lambda: build_prompts(recs, rubric, budget)  # noqa: E731
        else:
            fn = lambda: budget.fit_many(list(texts))  # noqa: E731
    result = measure(fn, repeat)
    if stage == "selection":
        extra["kept"] = len(fn()[0])
    elif STAGES[stage] == "tokens":  # after the measurement: what the records and the stage really were
        fitted = budget.fit_many(list(texts))
        extra["tokens_per_record"] = float(np.mean([len(tokenizer.encode(t, add_special_tokens=False)) for t in texts]))
        extra["truncated"] = sum(f[1] for f in fitted)
        extra["records"] = len(texts)
    return {**result, **extra}


# ------------------------------------------------------------------------------------------ driver (parent)
def _available_mib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _child(stage: str, size: int, data: str, args: argparse.Namespace, ratio: float) -> dict[str, Any]:
    spec = json.dumps(
        {"stage": stage, "size": size, "data": data, "repeat": args.repeat, "records": args.records, "ratio": ratio}
    )
    # Through /bin/sh, which forks the child: a child forked or exec'd straight from this process would start
    # with this process's max RSS as its own (Linux keeps the high-water mark across fork and exec).
    proc = subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, __file__, "--point", spec],
        capture_output=True,
        text=True,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "true"},
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(f"{stage} at {size:,} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _fits(points: list[dict[str, Any]], stage: str, size: int) -> str | None:
    """``None`` when the point should fit in memory, else why it is skipped."""
    done = [p for p in points if p["stage"] == stage]
    available = _available_mib()
    if not done or available is None:
        return None
    last = done[-1]
    need = (last["max_rss_mib"]) * size / last["size"]
    if need > 0.7 * available:
        return f"skipped: needs about {need / 1024:.1f} GiB, {available / 1024:.1f} GiB available"
    return None


def _print_row(p: dict[str, Any]) -> None:
    unit = STAGES[p["stage"]]
    if "skipped" in p:
        print(f"{p['stage']:<27} {p['size']:>11,} {unit:<7} {p['skipped']}", flush=True)
        return
    per = (
        f"{p['seconds'] / p['size'] * 1e9:>9.1f} ns/row"
        if unit == "rows"
        else f"{p['seconds'] / p['records'] * 1e3:>9.2f} ms/rec"
    )
    rss = ("≤" if p["rss_masked"] else " ") + f"{p['rss_delta_mib']:,.0f}"
    note = ""
    if unit == "tokens":
        note = f"{p['tokens_per_record']:,.0f} tok/rec, {p['truncated']}/{p['records']} cut"
    elif "kept" in p:
        note = f"{p['kept']:,} kept"
    print(
        f"{p['stage']:<27} {p['size']:>11,} {unit:<7} {p['seconds']:>9.3f} {per:>16} {p['traced_mib']:>9,.0f} "
        f"{rss:>9} {p['max_rss_mib']:>9,.0f}  {note}",
        flush=True,
    )


def _rows_table(points: list[dict[str, Any]]) -> tuple[list[str], str, list[list[str]]]:
    """The page's table of the row stages: per size, selection then metric (seconds, ns/row, RSS Δ, traced)."""
    head = ["rows"]
    for stage in ("selection", "metric"):
        head += [f"{stage} s", "ns/row", "RSS Δ MiB", "traced MiB"]
    by = {(p["stage"], p["size"]): p for p in points}
    sizes = sorted({p["size"] for p in points if STAGES[p["stage"]] == "rows"})
    rows = []
    for size in sizes:
        cells = [f"{size:,}"]
        for stage in ("selection", "metric"):
            p = by.get((stage, size))
            if p is None or "skipped" in p:
                cells += [p["skipped"] if p else "not run", "", "", ""]
                continue
            seconds = p["seconds"]
            cells += [f"{seconds:.3f}" if seconds < 10 else f"{seconds:.2f}", f"{seconds / size * 1e9:,.0f}"]
            cells += [f"{p['rss_delta_mib']:,.0f}", f"{p['traced_mib']:,.0f}"]
        rows.append(cells)
    return head, "r" * len(head), rows


def _tokens_table(points: list[dict[str, Any]]) -> tuple[list[str], str, list[list[str]]]:
    """The page's table of the token stages: ms per record (RSS Δ MiB) of each, and the records cut at 8,192."""
    stages = [s for s, unit in STAGES.items() if unit == "tokens"]
    head = ["tokens / record", "`fit_many`, 65,536 ctx: ms/rec (RSS Δ MiB)", "`build_prompts`, 65,536 ctx"]
    head += ["`fit_many`, 8,192 ctx", "cut at 8,192"]
    by = {(p["stage"], p["size"]): p for p in points}
    sizes = sorted({p["size"] for p in points if STAGES[p["stage"]] == "tokens"})
    rows = []
    for size in sizes:
        cells = [f"{size:,}"]
        for stage in stages:
            p = by.get((stage, size))
            if p is None or "skipped" in p:
                cells.append(p["skipped"] if p else "not run")
                continue
            ms = p["seconds"] / p["records"] * 1e3
            digits = 2 if ms < 10 else 1 if ms < 100 else 0
            cells.append(f"{ms:,.{digits}f} ({p['rss_delta_mib']:,.0f})")
        cut = by.get((stages[-1], size))
        cells.append(f"{cut['truncated']}/{cut['records']}" if cut and "skipped" not in cut else "")
        rows.append(cells)
    return head, "r" * len(head), rows


def growth_exponents(points: list[dict[str, Any]]) -> dict[str, float]:
    """Slope of log(time) over log(size) between each stage's two largest measured points (1.0 = linear).

    Example:
        >>> pts = [{"stage": "metric", "size": s, "seconds": s * 1e-6} for s in (1e4, 1e5, 1e6)]
        >>> round(growth_exponents(pts)["metric"], 2)
        1.0
    """
    out = {}
    for stage in STAGES:
        pts = [p for p in points if p["stage"] == stage and "seconds" in p][-2:]
        if len(pts) == 2 and pts[0]["seconds"] > 0:
            out[stage] = float(np.log(pts[1]["seconds"] / pts[0]["seconds"]) / np.log(pts[1]["size"] / pts[0]["size"]))
    return out


def plot(points: list[dict[str, Any]], path: Path) -> None:
    """Log-log: time (top) and memory (bottom) against rows (left) and tokens per record (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=80)
    colors = dict(zip(STAGES, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for col, unit in enumerate(("rows", "tokens")):
        for stage in (s for s, u in STAGES.items() if u == unit):
            pts = [p for p in points if p["stage"] == stage and "seconds" in p]
            if not pts:
                continue
            x = [p["size"] for p in pts]
            y = [p["seconds"] if unit == "rows" else p["seconds"] / p["records"] * 1e3 for p in pts]
            axes[0, col].plot(x, y, "o-", color=colors[stage], label=stage)
            axes[1, col].plot(
                x, [max(p["rss_delta_mib"], 0.1) for p in pts], "o-", color=colors[stage], label=f"{stage}: RSS Δ"
            )
            axes[1, col].plot(
                x,
                [max(p["traced_mib"], 0.1) for p in pts],
                "o--",
                color=colors[stage],
                alpha=0.6,
                label=f"{stage}: traced",
            )
        axes[0, col].set_ylabel("seconds" if unit == "rows" else "ms per record")
        axes[1, col].set_ylabel("peak memory (MiB)")
        for row in (0, 1):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("rows" if unit == "rows" else "tokens per record")
            ax.grid(True, which="both", alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7)
    axes[0, 0].set_title("selection and metric vs rows")
    axes[0, 1].set_title("prompt building vs record length")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-rows", type=int, default=1_000_000, help="largest row count (1-3-10 steps from 10 K)")
    ap.add_argument("--tokens", type=int, nargs="+", default=TOKEN_STEPS, help="tokens per record")
    ap.add_argument("--records", type=int, default=16, help="records per prompt point")
    ap.add_argument("--sources", type=int, default=6, help="sources in the selection and metric data (3–12)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per point (best kept)")
    ap.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    ap.add_argument(
        "--out", "--results-dir", dest="out", type=Path, default=DEFAULT_OUT, help="where growth.png and growth.json go"
    )
    ap.add_argument("--quick", action="store_true", help="rows up to 30 K, 4 records of 8 K tokens")
    ap.add_argument("--point", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not 3 <= args.sources <= len(SOURCE_NAMES):
        ap.error(f"--sources must be between 3 and {len(SOURCE_NAMES)}")
    if args.quick:
        args.max_rows, args.tokens, args.records, args.repeat = 30_000, [8_000], 4, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.point:
        spec = json.loads(args.point)
        result = run_point(spec["stage"], spec["size"], spec["data"], spec["repeat"], spec["records"], spec["ratio"])
        print(MARK + json.dumps(result))
        return 0

    rows = [r for r in ROW_STEPS if r <= args.max_rows]
    if args.max_rows not in rows and args.max_rows >= 1_000:
        rows.append(args.max_rows)
    stages = [s for s in STAGES if s in args.stages]
    print(
        f"growth: rows {rows[0]:,}–{rows[-1]:,} ({args.sources} sources), records of "
        f"{min(args.tokens):,}–{max(args.tokens):,} tokens ({args.records} per point); best of {args.repeat}; "
        f"each point in a fresh process"
    )
    print(
        f"{'stage':<27} {'size':>11} {'unit':<7} {'seconds':>9} {'per item':>16} {'traced':>9} {'RSS Δ':>9} "
        f"{'max RSS':>9}  (MiB)"
    )
    points: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mira-bench-growth-") as tmp:
        if any(STAGES[s] == "tokens" for s in stages):
            from transformers import AutoTokenizer

            model = tiny_model_dir()
            tok = AutoTokenizer.from_pretrained(model)
            sample = "\n".join(_LINES * 50)
            ratio = len(tok.encode(sample, add_special_tokens=False)) / len(sample)
        else:
            model, ratio = Path(tmp), 0.25
        for stage in stages:
            sizes = rows if STAGES[stage] == "rows" else sorted(args.tokens)
            for size in sizes:
                point: dict[str, Any] = {"stage": stage, "size": size}
                why = _fits(points, stage, size)
                if why:
                    point["skipped"] = why
                else:
                    if stage == "selection":
                        data = Path(tmp) / f"sel-{size}.arrow"
                        write_selection_input(data, size, args.sources)
                    elif stage == "metric":
                        data = Path(tmp) / f"metric-{size}"
                        write_metric_input(data, size, args.sources)
                        (data / "meta.json").write_text(json.dumps({"sources": args.sources}))
                    else:
                        data = model
                    point.update(_child(stage, size, str(data), args, ratio))
                    if STAGES[stage] == "rows":  # inputs of 10 M rows take gigabytes of disk
                        shutil.rmtree(data) if data.is_dir() else data.unlink()
                points.append(point)
                _print_row(point)

    slopes = growth_exponents(points)
    print(
        "growth exponent (log-log slope of time between the two largest sizes; 1.0 = linear): "
        + ", ".join(f"{s} {k:.2f}" for s, k in slopes.items())
    )
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "growth.png"
    plot(points, png)
    tables = {"rows": _results.table(*_rows_table(points)), "tokens": _results.table(*_tokens_table(points))}
    _results.save(args.out, "growth", tables, {"points": points, "exponents": slopes})
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
