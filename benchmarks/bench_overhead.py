"""What the plugin costs on top of the engine.

1. ``--stages`` (default): the plugin's own time per record with a zero-latency engine, split by stage
   (render, budget/truncation, prompt assembly, parse, Arrow columns), on records of 1K–60K tokens, and
   proof that records fitting the byte budget never reach the tokenizer. The last column times the ``Scorer``'s
   own per-batch path as ``ds.map`` calls it (batched budgeting, resume keys, store lookup and write, column
   conversion) through a zero-latency engine.
2. ``--formats``: rendering cost per record shape (every fixture of ``tests/fixtures/records``), in ms per 1K-token
   record (a record's time × 1,000 / its tokens, a record under 1K tokens counting whole), as Python objects
   and as JSON strings, against ``json.loads`` of the same record in the same process (the baseline: a
   JSON-string corpus pays it anyway).
3. ``--tokenize``: prompt tokenization of the plugin and the engine together, text path (the budget measures a
   long record, vLLM's ``LLM.chat`` tokenizes the whole prompt again) against token ids (each prompt tokenized
   once, sent as ``TokensPrompt``): ms per record and their ratio, same records, same process.
4. ``--vllm``: the same prompts through ``ds.map(Scorer(...), batched=True)`` and straight through
   ``vllm.LLM.chat`` in the same process, on the real CPU engine with the tiny model: wall-time ratio,
   records/s and tokens/s. The two sides alternate in order per repeat and the prefix cache is emptied before
   each side, so neither reads prompts the other computed (tokens/s counts no cached prompt twice).

    python benchmarks/bench_overhead.py            # stage split, zero-latency engine
    python benchmarks/bench_overhead.py --formats  # rendering cost per record shape
    python benchmarks/bench_overhead.py --tokenize # tokenized once vs twice
    python benchmarks/bench_overhead.py --vllm     # overhead ratio on the real engine
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _synthetic_records(n: int, tokens: int, seed: int = 0) -> list[str]:
    """OpenAI-chat trajectories of about ``tokens`` tokens (≈4 bytes each), as JSON strings."""
    rnd = random.Random(seed)
    words = ["def", "return", "self", "pytest", "assert", "import", "patch", "error", "file", "line", "fix", "test"]
    out = []
    for i in range(n):
        body = " ".join(rnd.choice(words) for _ in range(tokens * 4 // 5))
        msgs = [
            {"role": "user", "content": f"Issue {i}: the parser fails on empty input."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "bash", "arguments": json.dumps({"command": "pytest -x"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "name": "bash", "content": body},
            {"role": "assistant", "content": "Fixed the empty-input branch; tests pass."},
        ]
        out.append(json.dumps(msgs))
    return out


def bench_stages(n: int, tokens_list: list[int]) -> tuple[dict, dict]:
    from transformers import AutoTokenizer

    from mira_hf.answer.format import format_output
    from mira_hf.answer.parse import parse_output
    from mira_hf.prompting.prompt import Budget, messages_for
    from mira_hf.records import render_record
    from mira_hf.rubric import load_rubric
    from mira_hf.schema.columns import typed_batch
    from mira_hf.scoring.scorer import _row_from_card
    from mira_hf.testing.fake_engine import card_for
    from mira_hf.testing.tiny_model import build_tiny_model

    rubric = load_rubric()
    tok_dir = Path(tempfile.gettempdir()) / "mira-bench-tiny"
    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(tok_dir))
    calls = {"n": 0}

    class CountingTokenizer:
        chat_template = tokenizer.chat_template

        def apply_chat_template(self, *a, **k):
            return tokenizer.apply_chat_template(*a, **k)

        def encode(self, text, add_special_tokens=False):
            calls["n"] += 1
            return tokenizer.encode(text, add_special_tokens=add_special_tokens)

        def decode(self, ids):
            return tokenizer.decode(ids)

    budget = Budget(rubric, max_model_len=65_536, max_tokens=2048, tokenizer=CountingTokenizer())
    answer = format_output(card_for("x"), rubric)
    for _ in range(3):  # warm-up: regex compilation, first Arrow conversion
        typed_batch([_row_from_card(parse_output(answer, rubric), rubric)])
    from mira_hf.engines.base import Completion
    from mira_hf.scoring.scorer import Scorer

    class ZeroLatency:
        """Answers every conversation at once with a valid answer."""

        def generate(self, conversations, sampling):
            return [Completion(text=answer, prompt_tokens=1, completion_tokens=1) for _ in conversations]

    def scorer_path(records: list[str]) -> float:
        """ms per record of one ``Scorer.__call__`` on the whole batch, with an empty resume store."""
        with tempfile.TemporaryDirectory() as cache:
            scorer = Scorer(
                engine=ZeroLatency(), tokenizer=tokenizer, max_model_len=65_536, cache_dir=cache, progress=False
            )
            scorer({"messages": records[:2]})  # warm-up: runtime, store
            t0 = time.perf_counter()
            scorer({"messages": records})
            return (time.perf_counter() - t0) * 1000 / len(records)

    print(
        f"{'tokens/record':>14} {'render':>9} {'budget':>9} {'messages':>9} {'parse':>9} {'arrow':>9} "
        f"{'total ms/rec':>13} {'excl. tokenizer':>16} {'tokenized':>10} {'batch fit+render':>17} "
        f"{'Scorer ms/rec':>14}"
    )
    figures = []
    for tokens in tokens_list:
        records = _synthetic_records(n, tokens)
        calls["n"] = 0
        t = {"render": 0.0, "budget": 0.0, "messages": 0.0, "parse": 0.0, "arrow": 0.0}
        tok_time = 0.0
        rows = []
        t0 = time.perf_counter()
        budget.fit_many([render_record(r) for r in records])
        batched = time.perf_counter() - t0
        calls["n"] = 0
        for rec in records:
            t0 = time.perf_counter()
            text = render_record(rec)
            t1 = time.perf_counter()
            before = calls["n"]
            fitted, truncated, _ = budget.fit(text)
            t2 = time.perf_counter()
            if calls["n"] != before:
                tok_time += t2 - t1
            messages_for(fitted, rubric)
            t3 = time.perf_counter()
            rows.append(_row_from_card(parse_output(answer, rubric), rubric))
            t4 = time.perf_counter()
            t["render"] += t1 - t0
            t["budget"] += t2 - t1
            t["messages"] += t3 - t2
            t["parse"] += t4 - t3
        t0 = time.perf_counter()
        typed_batch(rows)
        t["arrow"] += time.perf_counter() - t0
        total = sum(t.values()) * 1000 / n
        excl = (sum(t.values()) - tok_time) * 1000 / n
        scorer_ms = scorer_path(records)
        print(
            f"{tokens:>14,} "
            + " ".join(f"{v * 1000 / n:>9.3f}" for v in t.values())
            + f" {total:>13.3f} {excl:>16.3f} {calls['n']:>6}/{n} {batched * 1000 / n:>13.3f}"
            + f" {scorer_ms:>14.3f}"
        )
        per = {k: v * 1000 / n for k, v in t.items()}
        figures.append(dict(tokens=tokens, **per, total=total, excl_tokenizer=excl, tokenized=calls["n"], records=n))
        figures[-1].update(batch_fit_render=batched * 1000 / n, scorer=scorer_ms)
    cells = [
        [f"{f['tokens']:,}"]
        + [_ms(f[k]) for k in ("render", "budget", "messages", "parse", "arrow", "total")]
        + [f"**{_ms(f['excl_tokenizer'])}**", f"{f['tokenized']}/{n}", _ms(f["scorer"])]
        for f in figures
    ]
    head = ["tokens / record", "render", "budget", "messages", "parse", "Arrow", "total", "excl. tokenizer"]
    head += ["tokenized", "`Scorer` ms/rec"]
    return {"table": _results.table(head, "r" * len(head), cells)}, {"records": n, "lengths": figures}


def _ms(v: float) -> str:
    """Milliseconds as the page writes them: three decimals below 10, one above.

    Example:
        >>> _ms(0.0243), _ms(46.81)
        ('0.024', '46.8')
    """
    return f"{v:.3f}" if v < 10 else f"{v:,.1f}"


def _fixture_records() -> dict[str, list]:
    """Each fixture file's records (what the scorer reads), keyed by file name."""
    folder = REPO / "tests" / "fixtures" / "records"
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".jsonl":
            recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            out[path.name] = [r["trajectory"] if path.name.startswith("nebius") else r for r in recs]
        else:
            out[path.name] = [json.loads(path.read_text())]
    return out


def bench_formats(repeats: int, target: float = 0.1) -> None:
    """Rendering time per 1K-token record for every record shape, best of ``repeats`` runs of 200 renders each."""
    from mira_hf.records import render

    print(
        f"{'fixture':<32} {'format':<15} {'tok/rec':>8} {'objects':>9} {'json str':>9} {'json.loads':>11} "
        f"{'ratio':>6}   (ms per 1K-token record, best of {repeats})"
    )
    worst = 0.0
    for name, records in _fixture_records().items():
        strings = [json.dumps(r) for r in records]
        fmt = render(records[0]).format
        tokens = sum(len(render(r).text.encode()) for r in records) / 4 / len(records)
        loops = max(1, 200 // len(records))

        def best(fn, items):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(loops):
                    for item in items:
                        fn(item)
                times.append(time.perf_counter() - t0)
            return min(times) * 1000 / (loops * len(items)) / max(tokens / 1000, 1.0)

        objects, strs, base = best(render, records), best(render, strings), best(json.loads, strings)
        worst = max(worst, objects)
        print(f"{name:<32} {fmt:<15} {tokens:>8,.0f} {objects:>9.4f} {strs:>9.4f} {base:>11.4f} {strs / base:>6.2f}")
    verdict = "within" if worst <= target else "OVER"
    print(f"slowest shape: {worst:.4f} ms per 1K-token record rendered from objects ({verdict} the {target} ms target)")


def bench_vllm(n: int, repeats: int) -> tuple[dict, dict]:
    import datasets
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    from mira_hf.prompting.prompt import build_prompt
    from mira_hf.scoring.scorer import Scorer
    from mira_hf.testing.tiny_model import build_tiny_model

    model = build_tiny_model(Path(tempfile.gettempdir()) / "mira-bench-tiny")
    ds = datasets.load_dataset("json", data_files=str(REPO / "examples/data/trajectories.jsonl"), split="train")
    ds = ds.select(range(min(n, len(ds))))
    scorer = Scorer(
        model=str(model),
        text_column="trajectory",
        max_model_len=8192,
        max_num_batched_tokens=8192,
        gpu_memory_utilization=0.15,
        max_tokens=1024,
        max_rationale_chars=24,
    )
    engine = scorer.engine
    llm = engine.llm
    sampling = scorer.sampling
    params = SamplingParams(
        n=1,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        seed=sampling.seed,
        structured_outputs=StructuredOutputsParams(regex=sampling.regex),
    )
    budget = scorer._ensure_runtime().budget
    prompts = [build_prompt(r, scorer.rubric, budget=budget).messages for r in ds["trajectory"]]
    llm.chat(prompts[:2], params, use_tqdm=False)  # warm-up (compile, prefix cache of the system prompt)

    results = {"vllm.LLM.chat": [], "ds.map(Scorer)": []}
    tokens = {}

    def direct() -> int:
        outs = llm.chat(prompts, params, use_tqdm=False)
        return sum(len(o.prompt_token_ids) + len(o.outputs[0].token_ids) for o in outs)

    def mapped() -> int:
        out = ds.map(scorer, batched=True, batch_size=len(ds), load_from_cache_file=False, keep_in_memory=True)
        return sum(out["mira_prompt_tokens"]) + sum(out["mira_completion_tokens"])

    sides = [("vllm.LLM.chat", direct), ("ds.map(Scorer)", mapped)]
    for repeat in range(repeats):
        # fair: the order alternates per repeat, and neither side reads prompts the other left in the prefix cache
        for name, run in sides if repeat % 2 == 0 else sides[::-1]:
            llm.reset_prefix_cache()
            t0 = time.perf_counter()
            tokens[name] = run()
            results[name].append(time.perf_counter() - t0)
    base = min(results["vllm.LLM.chat"])
    print(f"{len(ds)} records, best of {repeats}")
    print(f"{'path':<18} {'wall s':>8} {'records/s':>10} {'tokens/s':>10} {'ratio':>7}  every run (s)")
    for name, times in results.items():
        best = min(times)
        runs = " ".join(f"{t:.2f}" for t in times)
        print(
            f"{name:<18} {best:>8.2f} {len(ds) / best:>10.2f} {tokens[name] / best:>10.0f} {best / base:>7.3f}  {runs}"
        )
    figures = [
        dict(path=name, seconds=min(times), runs=times, tokens=tokens[name], ratio=min(times) / base)
        for name, times in results.items()
    ]
    cells = [
        [f"`{f['path']}`", f"{f['seconds']:.2f}", f"{len(ds) / f['seconds']:.2f}", f"{f['tokens'] / f['seconds']:,.0f}"]
        + [f"{f['ratio']:.3f}"]
        for f in figures
    ]
    head = ["path (real CPU engine, tiny model)", "wall s", "records/s", "tokens/s", "ratio"]
    return {"table": _results.table(head, "lrrrr", cells)}, {"records": len(ds), "repeats": repeats, "paths": figures}


def bench_tokenize(n: int, tokens_list: list[int], repeats: int) -> tuple[dict, dict]:
    """Prompt tokenization, plugin and engine together: the text path (the budget measures a long record, then
    vLLM's ``LLM.chat`` renders and tokenizes the whole prompt again) against token ids (the budget tokenizes each
    whole prompt once and vLLM takes the ids), on the same records in the same process, sides alternating."""
    from transformers import AutoTokenizer

    from mira_hf.prompting.prompt import Budget, build_prompts, chat_token_ids
    from mira_hf.rubric import load_rubric
    from mira_hf.testing.tiny_model import build_tiny_model

    rubric = load_rubric()
    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(Path(tempfile.gettempdir()) / "mira-bench-tiny"))
    text = Budget(rubric, max_model_len=65_536, max_tokens=2048, tokenizer=tokenizer)
    ids = Budget(rubric, max_model_len=65_536, max_tokens=2048, tokenizer=tokenizer, token_ids=True)

    def text_path(records: list[str]) -> int:
        prompts = build_prompts(records, rubric, text)
        return sum(map(len, chat_token_ids(tokenizer, [p.messages for p in prompts])))  # what LLM.chat does

    def ids_path(records: list[str]) -> int:
        prompts = build_prompts(records, rubric, ids)
        unmeasured = [p.messages for p in prompts if p.token_ids is None]  # within the byte budget: as the scorer
        filled = ids.prompt_token_ids(unmeasured) if unmeasured else []  # does for the prompts it sends
        return sum(len(p.token_ids) for p in prompts if p.token_ids is not None) + sum(map(len, filled))

    print(f"{n} records per length, best of {repeats}; ms per record")
    print(f"{'tokens/record':>14} {'text + LLM.chat':>16} {'token ids':>10} {'ratio':>7} {'prompt tokens/rec':>18}")
    figures = []
    for tokens in tokens_list:
        records = _synthetic_records(n, tokens)
        best = {"text": float("inf"), "ids": float("inf")}
        counts = {}
        sides = [("text", text_path), ("ids", ids_path)]
        for repeat in range(repeats):
            for name, run in sides if repeat % 2 == 0 else sides[::-1]:
                t0 = time.perf_counter()
                counts[name] = run(records)
                best[name] = min(best[name], time.perf_counter() - t0)
        assert counts["text"] == counts["ids"], counts  # the same prompts, the same tokens
        print(
            f"{tokens:>14,} {best['text'] * 1000 / n:>16.2f} {best['ids'] * 1000 / n:>10.2f} "
            f"{best['ids'] / best['text']:>7.3f} {counts['ids'] // n:>18,}"
        )
        figures.append(
            dict(
                tokens=tokens,
                text_ms=best["text"] * 1000 / n,
                ids_ms=best["ids"] * 1000 / n,
                prompt_tokens=counts["ids"] // n,
            )
        )
    cells = [
        [f"{f['tokens']:,}", f"{f['text_ms']:.2f}", f"{f['ids_ms']:.2f}", f"{f['ids_ms'] / f['text_ms']:.2f}"]
        + [f"{f['prompt_tokens']:,}"]
        for f in figures
    ]
    head = ["tokens / record", "text + `LLM.chat`", "token ids", "ratio", "prompt tokens / record"]
    return {"table": _results.table(head, "rrrrr", cells)}, {"records": n, "repeats": repeats, "lengths": figures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vllm", action="store_true", help="measure the overhead on the real CPU vLLM engine")
    ap.add_argument("--formats", action="store_true", help="rendering cost per record shape")
    ap.add_argument(
        "--tokenize",
        action="store_true",
        help="prompt tokenization: text path + LLM.chat against token ids (tokenized once)",
    )
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tokens", type=int, nargs="*", default=[1_000, 8_000, 30_000, 60_000, 120_000])
    _results.add_option(ap)
    args = ap.parse_args()
    if args.formats:
        bench_formats(max(args.repeats, 5))
        return
    if args.vllm:
        name, (tables, figures) = "overhead_vllm", bench_vllm(args.records, args.repeats)
    elif args.tokenize:
        name, (tables, figures) = "overhead_tokenize", bench_tokenize(args.records, args.tokens, max(args.repeats, 3))
    else:
        name, (tables, figures) = "overhead", bench_stages(args.records, args.tokens)
    _results.save(args.results_dir, name, tables, figures)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(REPO))
    main()
