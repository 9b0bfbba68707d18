"""Endpoint client throughput, as a share of what the server can do, and the cost of a resume.

A loopback OpenAI-compatible server (in its own process) answers every request after a fixed latency
and works on at most ``C`` requests at a time, so its capacity is ``C / latency`` requests per second.
For each in-flight level ``K`` the server gets ``C = K`` and the client must keep ``K`` requests in
flight to reach it: the table shows the achieved share of capacity for mira-hf's ``OpenAIEngine`` and,
as the baseline in the same process, the ``openai`` package's ``AsyncOpenAI`` with an
``asyncio.Semaphore(K)`` (when installed). The second table scores a dataset through ``Scorer`` with a
resume store: a fresh run, then a rerun with 90 % of the rows already in the store (as after a job
killed at 90 %).

Run: ``python benchmarks/bench_client.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402


# ----------------------------------------------------------------- the server
def serve(port: int, latency: float, concurrency: int, ready) -> None:
    """A chat-completions server: at most ``concurrency`` requests at once, each taking ``latency`` s."""
    from aiohttp import web

    async def main() -> None:
        slots = asyncio.Semaphore(concurrency)
        answer = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "model": "bench",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "[A1] ok: 7/10 — fine\noverall: 70\ntraining_recommendation: keep",
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 4000, "completion_tokens": 400, "total_tokens": 4400},
            }
        ).encode()

        async def chat(request: web.Request) -> web.Response:
            await request.read()
            async with slots:
                await asyncio.sleep(latency)
            return web.Response(body=answer, content_type="application/json")

        async def models(request: web.Request) -> web.Response:
            return web.json_response({"data": [{"id": "bench", "max_model_len": 65536}]})

        app = web.Application(client_max_size=2**30)
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=8192).start()
        ready.set()
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


class Server:
    def __init__(self, latency: float, concurrency: int):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        self.proc = ctx.Process(target=serve, args=(self.port, latency, concurrency, ready), daemon=True)
        self.proc.start()
        if not ready.wait(60):
            raise RuntimeError("the benchmark server did not start")
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.join()


# ------------------------------------------------------------------ clients
def conversations(n: int, prompt_bytes: int) -> list[list[dict]]:
    filler = ("$ pytest -x tests/\nE   AssertionError: expected 3, got 4\n" * (prompt_bytes // 48 + 1))[:prompt_bytes]
    return [
        [{"role": "system", "content": "Grade this trajectory."}, {"role": "user", "content": f"{i}\n{filler}"}]
        for i in range(n)
    ]


def run_mira(url: str, convs: list[list[dict]], in_flight: int) -> tuple[float, int]:
    from mira_hf.engines.base import Sampling
    from mira_hf.engines.openai import OpenAIEngine

    with OpenAIEngine("bench", url, max_in_flight=in_flight, api_key="bench") as engine:
        engine.generate(convs[:1], Sampling())  # connect and warm up
        t = time.perf_counter()
        out = engine.generate(convs, Sampling())
        dt = time.perf_counter() - t
    return dt, sum(c.error is not None for c in out)


def run_openai(url: str, convs: list[list[dict]], in_flight: int) -> tuple[float, int]:
    import httpx
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    async def main() -> tuple[float, int]:
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        client = AsyncOpenAI(
            base_url=url,
            api_key="bench",
            max_retries=6,
            http_client=DefaultAsyncHttpxClient(limits=limits, timeout=600),
        )
        sem = asyncio.Semaphore(in_flight)
        errors = 0

        async def one(conv: list[dict]) -> None:
            nonlocal errors
            async with sem:
                try:
                    await client.chat.completions.create(
                        model="bench", messages=conv, temperature=0.7, top_p=0.95, max_tokens=2048, seed=0
                    )
                except Exception:
                    errors += 1

        await one(convs[0])
        t = time.perf_counter()
        await asyncio.gather(*(one(c) for c in convs))
        dt = time.perf_counter() - t
        await client.close()
        return dt, errors

    return asyncio.run(main())


# ------------------------------------------------------------------- resume
def resume_figures(url: str, n_rows: int, prompt_bytes: int) -> tuple[float, float]:
    import datasets

    import mira_hf

    filler = "$ pytest -x tests/\nE   AssertionError: expected 3, got 4\n" * (prompt_bytes // 48 + 1)
    ds = datasets.Dataset.from_dict({"text": [f"trajectory {i}\n{filler}" for i in range(n_rows)]})
    settings = dict(engine="openai", base_url=url, api_key="bench", structured=False, max_in_flight=256, progress=False)
    with (
        tempfile.TemporaryDirectory() as fresh_dir,
        tempfile.TemporaryDirectory() as resume_dir,
        tempfile.TemporaryDirectory() as warm_dir,
    ):
        # warm up (imports, first engine, first map) so both timed runs start from the same state
        ds.select(range(8)).map(mira_hf.Scorer(model="bench", cache_dir=warm_dir, **settings), batched=True)
        t = time.perf_counter()
        ds.map(mira_hf.Scorer(model="bench", cache_dir=fresh_dir, **settings), batched=True, batch_size=256)
        fresh = time.perf_counter() - t
        done = int(n_rows * 0.9)
        ds.select(range(done)).map(
            mira_hf.Scorer(model="bench", cache_dir=resume_dir, **settings), batched=True, batch_size=256
        )
        t = time.perf_counter()
        ds.map(mira_hf.Scorer(model="bench", cache_dir=resume_dir, **settings), batched=True, batch_size=256)
        resumed = time.perf_counter() - t
    return fresh, resumed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the server takes per request")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--rounds", type=int, default=6, help="requests per level = rounds x in-flight")
    parser.add_argument("--prompt-bytes", type=int, default=16_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the openai AsyncOpenAI baseline")
    parser.add_argument("--resume-rows", type=int, default=2000, help="rows for the resume table (0: skip)")
    _results.add_option(parser)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import openai  # noqa: F401

        baseline = not args.no_baseline
    except ImportError:
        baseline = False

    print(
        f"server latency {args.latency:g} s, {args.rounds} rounds of K requests, prompts of "
        f"{args.prompt_bytes:,} bytes; share = achieved / (K / latency)"
    )
    head = f"{'in flight K':>11} | {'capacity/s':>10} | {'mira req/s':>10} | {'mira share':>10}"
    if baseline:
        head += f" | {'openai req/s':>12} | {'openai share':>12}"
    print(head)
    print("-" * len(head))
    figures: list[dict] = []
    for k in args.in_flight:
        convs = conversations(k * args.rounds, args.prompt_bytes)
        capacity = k / args.latency
        with Server(args.latency, k) as server:
            dt, err = run_mira(server.url, convs, k)
            line = f"{k:>11} | {capacity:>10.1f} | {len(convs) / dt:>10.1f} | {len(convs) / dt / capacity:>9.1%}"
            line += f"{'' if not err else f' ({err} errors)'}"
            if baseline:
                dt_b, err_b = run_openai(server.url, convs, k)
                line += f" | {len(convs) / dt_b:>12.1f} | {len(convs) / dt_b / capacity:>11.1%}"
                line += f"{'' if not err_b else f' ({err_b} errors)'}"
        print(line, flush=True)
        figures.append({"in_flight": k, "capacity": capacity, "mira_share": len(convs) / dt / capacity, "errors": err})
        if baseline:
            figures[-1].update(openai_share=len(convs) / dt_b / capacity, openai_errors=err_b)
    cells = [
        [f"{f['in_flight']}", f"{f['mira_share']:.1%}".replace("%", " %")]
        + ([f"{f['openai_share']:.1%}".replace("%", " %")] if baseline else [])
        for f in figures
    ]
    head_md = ["in flight", "mira-hf share of capacity"] + (["`openai.AsyncOpenAI` share"] if baseline else [])
    results = {"latency": args.latency, "rounds": args.rounds, "prompt_bytes": args.prompt_bytes, "levels": figures}

    if args.resume_rows:
        with Server(args.latency / 10, 256) as server:
            fresh, resumed = resume_figures(server.url, args.resume_rows, args.prompt_bytes)
        print(f"\nresume ({args.resume_rows:,} rows, server latency {args.latency / 10:g} s, 256 in flight)")
        print(f"{'fresh run':>24} | {fresh:>7.2f} s")
        print(f"{'rerun with 90 % stored':>24} | {resumed:>7.2f} s | {resumed / fresh:.1%} of a fresh run")
        results["resume"] = {"rows": args.resume_rows, "fresh_s": fresh, "resumed_s": resumed}
    name = "client" if len(args.in_flight) > 1 else f"client_{args.in_flight[0]}_{args.rounds}rounds"
    _results.save(args.results_dir, name, {"table": _results.table(head_md, "r" * len(head_md), cells)}, results)


if __name__ == "__main__":
    sys.exit(main())
