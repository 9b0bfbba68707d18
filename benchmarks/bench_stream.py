"""Share of a server's capacity that scoring uses: ``ds.map`` batch by batch vs streaming (``score_dataset``).

A loopback OpenAI-compatible server (its own process) works on at most ``--slots`` requests at once (64, as one
``vllm serve`` batch) and holds each for a service time drawn from a lognormal distribution with mean
``--mean`` seconds and shape ``σ`` (0.5 and 1.0: generation lengths vary by a factor of ~3 and ~7 between the
10th and 90th percentiles, as answers of a few hundred to 2,048 tokens do). The seed is fixed, so both paths see
the same draws. The server logs when each request started and ended; its *share* is the slot-seconds it spent
serving over ``slots × seconds`` from the first request to the last answer (*whole run*), and up to the last
request sent (*while rows remained*: without the drain at the very end, which no client can avoid).

The client is ``Scorer(engine="openai", max_in_flight=--in-flight)``: ``ds.map`` at each ``--batch-sizes``, then
``mira_hf.score_dataset`` (all rows streamed with ``--in-flight`` requests in flight over the whole dataset).

``--cpu-engine`` measures the other cost on the real in-process engine (vLLM's CPU build, the tiny random-weight
model): the seconds during which the engine had no request while rows remained, per 1,000 records, for ``ds.map``
(the time between one batch's ``generate`` and the next: prompts built, rows written) and for streaming
(nothing in flight before the last request was sent).

``--mixture`` measures a plan with two endpoint groups instead: one such server per group (``--slots`` each), the
rows sorted by source (half per group), the client ``max_in_flight=--in-flight`` per group; ``ds.map(MixtureScorer)``
at each ``--batch-sizes`` against ``mira_hf.score_dataset(ds, MixtureScorer)`` (every group streaming at once, as
``mira-hf run`` does). The share is over both servers: slot-seconds served over ``2 × slots`` × the window.

Run: ``python benchmarks/bench_stream.py`` (``--help`` for the knobs); ``--quick`` for a few-second smoke run;
``python benchmarks/bench_stream.py --cpu-engine --rows 60`` for the in-process engine;
``python benchmarks/bench_stream.py --mixture --rows 720 --slots 8 --in-flight 8 --mean 0.2 --batch-sizes 256``
for the mixture.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import socket
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402


def serve(port: int, slots: int, mean: float, sigma: float, seed: int, ready) -> None:
    """A chat-completions server: ``slots`` at once, lognormal service times; ``GET /stats`` returns the log."""
    import asyncio
    import random

    from aiohttp import web

    mu = math.log(mean) - sigma**2 / 2  # so that the mean service time is ``mean``
    answer = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "model": "bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "overall: 70\ntraining_recommendation: keep"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 4000, "completion_tokens": 400},
        }
    ).encode()

    async def main() -> None:
        sem = asyncio.Semaphore(slots)
        state = {"rng": random.Random(seed), "log": []}

        async def chat(request: web.Request) -> web.Response:
            await request.read()
            arrived = time.monotonic()
            async with sem:
                begun = time.monotonic()
                await asyncio.sleep(state["rng"].lognormvariate(mu, sigma))
                state["log"].append((arrived, begun, time.monotonic()))
            return web.Response(body=answer, content_type="application/json")

        async def stats(request: web.Request) -> web.Response:
            log, state["log"], state["rng"] = state["log"], [], random.Random(seed)
            return web.json_response(log)

        async def models(request: web.Request) -> web.Response:
            return web.json_response({"data": [{"id": "bench", "max_model_len": 65536}]})

        app = web.Application(client_max_size=2**30)
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=8192).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


class Server:
    def __init__(self, slots: int, mean: float, sigma: float, seed: int = 0):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        self.slots = slots
        self.proc = ctx.Process(target=serve, args=(self.port, slots, mean, sigma, seed, ready), daemon=True)
        self.proc.start()
        if not ready.wait(60):
            raise RuntimeError("the benchmark server did not start")
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> list[tuple[float, float, float]]:
        """(arrived, service began, answered) of every request since the last call; resets the draws."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats") as r:
            return [tuple(x) for x in json.load(r)]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.join()


def shares(log: list[tuple[float, float, float]], slots: int) -> tuple[float, float]:
    """(whole run, while rows remained): slot-seconds served over ``slots`` × the window.

    Example:
        >>> shares([(0, 0, 1), (0, 0, 2)], slots=2)   # one slot idles for the last second
        (0.75, 1.0)
    """
    start = min(a for a, _, _ in log)
    end = max(e for _, _, e in log)
    last_sent = max(a for a, _, _ in log)

    def served(until: float) -> float:
        return sum(max(0.0, min(e, until) - b) for _, b, e in log)

    whole = served(end) / (slots * (end - start))
    fed = served(last_sent) / (slots * (last_sent - start)) if last_sent > start else whole
    return whole, fed


def run(server: Server, ds, in_flight: int, batch_size: int | None) -> tuple[float, float, float]:
    """Score ``ds`` once (``batch_size=None``: streaming); (seconds, share whole run, share while rows remained)."""
    import mira_hf

    with tempfile.TemporaryDirectory() as cache:
        scorer = mira_hf.Scorer(
            model="bench",
            engine="openai",
            base_url=server.url,
            api_key="bench",
            structured=False,
            max_in_flight=in_flight,
            progress=False,
            cache_dir=cache,
        )
        _ = scorer.engine  # connect before the clock starts
        server.log()
        t = time.perf_counter()
        if batch_size is None:
            mira_hf.score_dataset(ds, scorer, batch_size=1000, load_from_cache_file=False)
        else:
            ds.map(scorer, batched=True, batch_size=batch_size, load_from_cache_file=False)
        dt = time.perf_counter() - t
        scorer.engine.close()
    whole, fed = shares(server.log(), server.slots)
    return dt, whole, fed


def mixture(
    rows: int, slots: int, mean: float, sigmas: list[float], in_flight: int, batch_sizes: list[int]
) -> list[dict]:
    """Two endpoint groups, one server each: ``ds.map(MixtureScorer)`` at each batch size vs streaming every group."""
    import datasets

    import mira_hf
    from mira_hf.mixture import Plan

    datasets.disable_progress_bars()
    filler = "$ pytest -x tests/\nE   AssertionError: expected 3, got 4\n" * 40
    half = rows // 2
    ds = datasets.Dataset.from_dict(
        {
            "source": ["agents"] * half + ["qa"] * (rows - half),
            "text": [f"trajectory {i}\n{filler}" for i in range(rows)],
        }
    )
    print(
        f"{rows:,} rows sorted by source, two endpoint groups; each server: {slots} slots, lognormal service times "
        f"with mean {mean:g} s; client: {in_flight} in flight per group"
    )
    head = f"{'σ':>4} | {'path':>32} | {'seconds':>7} | {'share, whole run':>16} | {'share, rows remained':>20}"
    print(head)
    print("-" * len(head))
    figures = []
    for sigma in sigmas:
        with Server(slots, mean, sigma, seed=0) as a, Server(slots, mean, sigma, seed=1) as b:
            groups = {
                name: {
                    "sources": [name],
                    "scorer": {
                        "model": "bench",
                        "engine": "openai",
                        "base_urls": [server.url],
                        "max_in_flight": in_flight,
                        "structured": False,
                    },
                }
                for name, server in (("agents", a), ("qa", b))
            }
            plan = Plan.model_validate({"data": "unused.jsonl", "text_column": "text", "groups": groups})
            for bs in [*batch_sizes, None]:
                with tempfile.TemporaryDirectory() as cache:
                    scorer = mira_hf.MixtureScorer(plan, cache_dir=cache)
                    for group in scorer.scorers.values():
                        _ = group.engine  # connect before the clock starts
                    a.log(), b.log()
                    t = time.perf_counter()
                    if bs is None:
                        mira_hf.score_dataset(ds, scorer, batch_size=256, load_from_cache_file=False)
                    else:
                        ds.map(scorer, batched=True, batch_size=bs, load_from_cache_file=False)
                    dt = time.perf_counter() - t
                    for group in scorer.scorers.values():
                        group.engine.close()
                whole, fed = shares(a.log() + b.log(), 2 * slots)
                path = "streaming, every group" if bs is None else f"ds.map(MixtureScorer), batch {bs}"
                print(f"{sigma:>4g} | {path:>32} | {dt:>7.1f} | {whole:>16.1%} | {fed:>20.1%}", flush=True)
                figures.append(dict(sigma=sigma, batch_size=bs, seconds=dt, share_whole=whole, share_fed=fed))
    return figures


def _share_cells(figures: list[dict], label) -> list[list[str]]:
    """The page's rows: σ, the path (streaming in bold), seconds, both shares."""

    def pct(x: float) -> str:
        return f"{x:.1%}".replace("%", " %")

    return [
        [f"{f['sigma']:g}", label(f["batch_size"]), f"{f['seconds']:.1f}", pct(f["share_whole"]), pct(f["share_fed"])]
        for f in figures
    ]


SHARE_HEAD = ["σ", "path", "seconds", "share, whole run", "share, rows remained"]


def cpu_engine(rows: int, batch_size: int, results_dir=None) -> None:
    """Idle engine seconds per 1,000 records on the CPU engine: ``ds.map`` at ``batch_size`` vs streaming."""
    import datasets

    import mira_hf
    from mira_hf.engines import vllm as vllm_engine
    from mira_hf.testing.tiny_model import build_tiny_model

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = build_tiny_model(__import__("pathlib").Path(tempfile.gettempdir()) / "mira-bench-tiny")
    base = datasets.load_dataset(
        "json", data_files=os.path.join(repo, "examples/data/trajectories.jsonl"), split="train"
    )
    texts = [f"run {i}\n{base[i % len(base)]['trajectory']}" for i in range(rows)]
    ds = datasets.Dataset.from_dict({"trajectory": texts})
    settings = dict(
        model=str(model),
        text_column="trajectory",
        max_model_len=8192,
        max_num_batched_tokens=8192,
        gpu_memory_utilization=0.15,
        max_tokens=64,
        structured=False,
        progress=False,
    )
    busy: list[tuple[float, float]] = []
    real = vllm_engine.VLLMEngine.generate

    def timed(self, conversations, sampling, **kwargs):
        t = time.perf_counter()
        try:
            return real(self, conversations, sampling, **kwargs)
        finally:
            busy.append((t, time.perf_counter()))

    warm = mira_hf.Scorer(**settings)
    warm.engine.generate([[{"role": "user", "content": "warm up"}]], warm.sampling)  # start the engine first
    vllm_engine.VLLMEngine.generate = timed
    try:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            ds.map(
                mira_hf.Scorer(cache_dir=cache, **settings),
                batched=True,
                batch_size=batch_size,
                load_from_cache_file=False,
            )
            batch_wall = time.perf_counter() - t0
    finally:
        vllm_engine.VLLMEngine.generate = real
    last_start = busy[-1][0]
    batch_idle = (last_start - t0) - sum(e - b for b, e in busy[:-1])
    with tempfile.TemporaryDirectory() as cache:
        scorer = mira_hf.Scorer(cache_dir=cache, **settings)
        t0 = time.perf_counter()
        mira_hf.score_dataset(ds, scorer, batch_size=batch_size, depth=batch_size, load_from_cache_file=False)
        stream_wall = time.perf_counter() - t0
    stats = scorer.stream_stats
    print(f"CPU engine, tiny model: {rows} records, batch size / depth {batch_size}, answers of up to 64 tokens")
    print(f"{'path':>18} | {'seconds':>7} | {'engine idle s while rows remained':>33} | {'per 1,000 records':>17}")
    figures = []
    for name, wall, idle in (("ds.map", batch_wall, batch_idle), ("streaming", stream_wall, stats.idle_s)):
        print(f"{name:>18} | {wall:>7.1f} | {idle:>33.2f} | {idle * 1000 / rows:>17.1f}")
        figures.append({"path": name, "seconds": wall, "idle_s": idle, "idle_s_per_1000": idle * 1000 / rows})
    cells = [
        [f"`{f['path']}`" if f["path"] == "ds.map" else f"**{f['path']}**", f"{f['seconds']:.1f}"]
        + [f"{f['idle_s']:.2f}", f"{f['idle_s_per_1000']:.1f}"]
        for f in figures
    ]
    head = [f"path ({rows} records, batch size / depth {batch_size})", "seconds"]
    head += ["engine idle s while rows remained", "idle s per 1,000 records"]
    _results.save(
        results_dir,
        "stream_cpu_engine",
        {"table": _results.table(head, "lrrr", cells)},
        {"rows": rows, "batch_size": batch_size, "max_tokens": 64, "paths": figures},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=64, help="requests the server works on at once")
    parser.add_argument("--mean", type=float, default=1.0, help="mean service time, seconds")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.5, 1.0], help="lognormal shapes")
    parser.add_argument("--in-flight", type=int, default=256, help="the client's max_in_flight")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[64, 512, 2048])
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--cpu-engine", action="store_true", help="idle engine time on the CPU engine instead")
    parser.add_argument("--mixture", action="store_true", help="a plan with two endpoint groups instead")
    _results.add_option(parser)
    args = parser.parse_args()
    if args.cpu_engine:
        return cpu_engine(args.rows, args.batch_sizes[0] if args.batch_sizes else 16, args.results_dir)
    if args.quick:
        args.rows, args.mean, args.sigmas, args.batch_sizes = 200, 0.05, [0.5], [64]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    knobs = dict(rows=args.rows, slots=args.slots, mean=args.mean, in_flight=args.in_flight)
    if args.mixture:
        figures = mixture(args.rows, args.slots, args.mean, args.sigmas, args.in_flight, args.batch_sizes)
        rows = f"{args.rows:,} rows"

        def label(bs: int | None) -> str:
            return (
                f"**streaming, every group**, {rows}" if bs is None else f"`ds.map(MixtureScorer)`, batch {bs}, {rows}"
            )

        cells = _share_cells(figures, label)
        table = _results.table(SHARE_HEAD, "rlrrr", cells)
        name = f"stream_mixture_{args.rows}"
        _results.save(args.results_dir, name, {"table": table}, {**knobs, "runs": figures})
        return None
    import datasets

    datasets.disable_progress_bars()
    filler = "$ pytest -x tests/\nE   AssertionError: expected 3, got 4\n" * 40
    ds = datasets.Dataset.from_dict({"text": [f"trajectory {i}\n{filler}" for i in range(args.rows)]})
    print(
        f"{args.rows:,} rows, server: {args.slots} slots, lognormal service times with mean {args.mean:g} s; "
        f"client: {args.in_flight} in flight"
    )
    head = f"{'σ':>4} | {'path':>18} | {'seconds':>7} | {'share, whole run':>16} | {'share, rows remained':>20}"
    print(head)
    print("-" * len(head))
    figures = []
    for sigma in args.sigmas:
        with Server(args.slots, args.mean, sigma) as server:
            for bs in [*args.batch_sizes, None]:
                dt, whole, fed = run(server, ds, args.in_flight, bs)
                path = "streaming" if bs is None else f"ds.map, batch {bs}"
                print(f"{sigma:>4g} | {path:>18} | {dt:>7.1f} | {whole:>16.1%} | {fed:>20.1%}", flush=True)
                figures.append(dict(sigma=sigma, batch_size=bs, seconds=dt, share_whole=whole, share_fed=fed))

    def label(bs: int | None) -> str:
        one = " (one batch)" if bs is not None and bs >= args.rows else ""
        return "**streaming**" if bs is None else f"`ds.map`, batch {bs}{one}"

    table = _results.table(SHARE_HEAD, "rlrrr", _share_cells(figures, label))
    name = "stream" if (args.rows, args.mean) == (2000, 1.0) else f"stream_{args.rows}_mean{args.mean:g}"
    _results.save(args.results_dir, name, {"table": table}, {**knobs, "runs": figures})


if __name__ == "__main__":
    sys.exit(main())
