"""The benchmarks: every quick mode runs and prints its table; the GPU script's model and FLOP arithmetic is right.

The smoke tests assert what a reader of each table checks (the rows are there, the parser read every slot,
the plot is a PNG), never a timing. ``gpu_prefill.py --dry-run`` starts the CPU engine and takes several
minutes on two shared cores, so its parts are tested directly instead: the parameter arithmetic against the
published Qwen3-30B-A3B figures and against the transformers model itself, the FLOP formula, the model it
writes, the records and the shared prefix it measures, and the vLLM counters it reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import gpu_prefill as gp  # noqa: E402
from benchmarks.__main__ import BENCHMARKS, select  # noqa: E402


def _run(cmd: list[str], timeout: int = 600) -> str:
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"},
    )
    where = f"{' '.join(cmd)} exited {proc.returncode}:\n"
    assert proc.returncode == 0, where + proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]
    return proc.stdout


def _quick(name: str) -> list[str]:
    bench = next(b for b in BENCHMARKS if b.name == name)
    return bench.command()


# ---------------------------------------------------------------------------------------- the registry
def test_every_benchmark_script_is_registered_with_a_quick_mode():
    scripts = {p.name for p in (REPO / "benchmarks").glob("*.py") if p.name.startswith(("bench_", "gpu_"))}
    assert scripts == {b.script for b in BENCHMARKS}
    assert all(b.quick for b in BENCHMARKS if not b.gpu)
    assert [b.name for b in select([], gpu=False)] == [b.name for b in BENCHMARKS if not b.gpu]
    assert "gpu" in [b.name for b in select([], gpu=True)]


def test_python_m_benchmarks_runs_the_named_quick_mode_and_sums_up(tmp_path):
    out = _run([sys.executable, "-m", "benchmarks", "parse", "--results-dir", str(tmp_path)])
    assert "=== parse" in out and "re.findall" in out
    assert re.search(r"^parse\s+0\s+[\d.]+$", out, re.M), out[-800:]
    results = json.loads((tmp_path / "parse.json").read_text())  # the figures, and what they were measured on
    assert {"figures", "tables", "machine", "commit", "command", "date"} <= set(results)
    assert results["command"].startswith("python benchmarks/bench_parse.py --answers 200")
    assert results["machine"]["cores"] and results["machine"]["versions"]["datasets"]
    assert len(results["tables"]["table"]["rows"]) == len(results["figures"]["kinds"]) == 4


def test_quick_modes_never_write_the_results_the_docs_are_made_from():
    for bench in BENCHMARKS:
        command = bench.command()
        where = Path(command[command.index("--results-dir") + 1])
        assert where != REPO / "benchmarks" / "results"
        assert Path(bench.command(full=True)[-1]) == REPO / "benchmarks" / "results"


# ------------------------------------------------------------------------------------ quick modes (smoke)
@pytest.mark.slow
def test_parse_bench_reads_every_slot_right_where_findall_misses_or_misreads():
    out = _run(_quick("parse"))
    rows = {}
    for kind in ("exact template", "drifted", "by name only", "<think> + CRLF"):
        line = next(row for row in out.splitlines() if row.startswith(kind))
        rows[kind] = re.findall(r"([\d.]+)%", line)
    assert all(r[0] == "100.0" for r in rows.values()), rows  # parser: every slot, every kind
    assert all(r[2] == "100.0" for r in rows.values()), rows  # and status ok
    assert rows["exact template"][1] == "100.0" and rows["by name only"][1] == "0.0"  # the bare regex
    assert float(rows["<think> + CRLF"][1]) < 100  # reads the drafts inside <think>


@pytest.mark.slow
def test_report_bench_prints_each_step_at_each_size():
    out = _run(_quick("report"))
    for step in (
        "baseline: list_flatten → numpy",
        "summarize",
        "build_report (scores only)",
        "build_report (+ agreement, selection)",
    ):
        assert re.search(rf"^\s+3,000\s+{re.escape(step)}", out, re.M), out
    sizes = [int(m.replace(",", "")) for m in re.findall(r"build_report.*?\s([\d,]+)$", out, re.M)]
    assert len(sizes) == 2 and all(s > 50 for s in sizes)  # an HTML file of real size came out


@pytest.mark.slow
def test_records_bench_times_the_report_with_and_without_the_section(tmp_path):
    out = _run(_quick("records")[:-1] + [str(tmp_path)])
    runs = json.loads((tmp_path / "records.json").read_text())["figures"]["runs"]
    assert [r["samples"] for r in runs] == [0, 3] and "with (--samples 3)" in out
    assert runs[1]["mb"] > runs[0]["mb"] > 0.1  # the section adds to a report of real size


@pytest.mark.slow
def test_growth_bench_prints_every_point_and_saves_the_plot(tmp_path):
    out = _run([sys.executable, str(REPO / "benchmarks" / "bench_growth.py"), "--quick", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "growth.json").read_text())["figures"]
    points = {(p["stage"], p["size"]): p for p in data["points"]}
    for stage in ("selection", "metric"):
        assert {s for st, s in points if st == stage} == {10_000, 30_000}
    for stage in ("fit_many 65,536 ctx", "build_prompts 65,536 ctx", "fit_many 8,192 ctx (cuts)"):
        assert {s for st, s in points if st == stage} == {8_000}
    assert points[("selection", 30_000)]["kept"] == 15_002  # half of each of 6 sources, rounded up
    assert all(p["seconds"] > 0 and p["max_rss_mib"] > 0 for p in points.values())
    assert 7_500 < points[("fit_many 65,536 ctx", 8_000)]["tokens_per_record"] < 8_500  # as long as asked
    assert points[("fit_many 65,536 ctx", 8_000)]["truncated"] == 0  # fits the card's context
    assert points[("fit_many 8,192 ctx (cuts)", 8_000)]["truncated"] == 4  # cut to fit 8,192
    assert (tmp_path / "growth.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "growth exponent" in out and "selection" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, markers",
    [
        ("overhead", ["excl. tokenizer", "1,000", "30,000", "Scorer ms/rec"]),
        ("stream", ["ds.map, batch 64", "streaming", "share, rows remained"]),
        ("client", ["in flight K", "mira share", "resume"]),
        ("selection", ["× baseline", "MIRA-Source", "MIRA-Global"]),
        ("metric", ["× baseline", "agreement(numpy float32)", "aggregate"]),
        ("discover", ["KMeans %", "ARI", "2,000"]),
    ],
)
def test_other_quick_modes_print_their_table(name, markers):
    out = _run(_quick(name))
    for marker in markers:
        assert marker in out, f"{name}: {marker!r} not in\n{out[-2000:]}"


@pytest.mark.slow
def test_tokenize_bench_counts_the_same_prompt_tokens_on_both_paths(tmp_path):
    """Token ids (tokenized once) against text + LLM.chat: the same prompts, so the same token counts per row."""
    out = _run(
        [
            sys.executable,
            "benchmarks/bench_overhead.py",
            "--tokenize",
            "--records",
            "4",
            "--tokens",
            "1000",
            "30000",
            "--repeats",
            "1",
            "--results-dir",
            str(tmp_path),
        ]
    )
    rows = re.findall(r"^\s*([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)$", out, re.M)
    assert [r[0] for r in rows] == ["1,000", "30,000"], out
    assert all(int(r[4].replace(",", "")) > 1_000 for r in rows)  # the whole prompt, system message included


# -------------------------------------------------------------------------- gpu_prefill: arithmetic
def test_parameter_arithmetic_matches_the_published_qwen3_30b_a3b():
    total, active = gp.QWEN3_30B_A3B.params()
    assert total == pytest.approx(30.5e9, rel=0.01)  # "30.5B in total and 3.3B activated"
    assert active == pytest.approx(3.3e9, rel=0.02)
    non_embedding = total - 2 * gp.QWEN3_30B_A3B.vocab_size * gp.QWEN3_30B_A3B.hidden_size
    assert non_embedding == pytest.approx(29.9e9, rel=0.01)  # "Non-Embedding: 29.9B"


def test_scorer_shape_is_a_35b_a3b():
    total, active = gp.SCORER_SHAPE.params()
    assert 33e9 < total < 36e9 and 2.5e9 < active < 3.3e9


@pytest.mark.parametrize(
    "shape", [replace(gp.DRY_RUN_SHAPE, vocab_size=1_000), replace(gp.SCORER_SHAPE, num_layers=2, vocab_size=4_096)]
)
def test_parameter_count_equals_the_transformers_model(shape):
    import torch
    from transformers import Qwen3MoeForCausalLM

    tok = SimpleNamespace(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    with torch.device("meta"):
        model = Qwen3MoeForCausalLM(shape.hf_config(tok))
    assert sum(p.numel() for p in model.parameters()) == shape.params()[0]


def test_prefill_flops_formula():
    s = replace(gp.SCORER_SHAPE, num_layers=12, vocab_size=131_072)
    n = s.matmul_params_per_token()
    assert n == 12 * (2048 * 16 * 256 * 2 + 2 * 2048 * 2 * 256 + 2048 * 256 + 8 * 3 * 2048 * 512)
    logits = 2 * 2048 * 131_072
    for L in (8_000, 60_000):
        assert s.prefill_flops(L) == pytest.approx(2 * n * L + 2 * 12 * 16 * 256 * L * L + logits)
    assert s.prefill_flops(8_000, cached=8_000) == pytest.approx(logits)  # all cached: only the last logits row
    assert s.prefill_flops(8_000, cached=1_000) < s.prefill_flops(8_000)


# -------------------------------------------------------------------------- gpu_prefill: code path on CPU
def test_arguments_default_to_the_gpu_run_and_dry_run_to_cpu_sizes():
    gpu = gp.parse_args([])
    assert (gpu.layers, gpu.sizes, gpu.records, gpu.max_model_len) == (12, [8_000, 32_000, 60_000], [64, 16, 8], 65_536)
    dry = gp.parse_args(["--dry-run"])
    assert dry.max_model_len == 8_192 and max(dry.sizes) < 8_192 and dry.gpu_memory_utilization < 0.5
    assert gp.parse_args(["--dry-run", "--records", "3"]).records == [3] * len(dry.sizes)
    assert (gpu.e2e_size, gpu.e2e_output, dry.e2e_size + dry.e2e_output < dry.max_model_len) == (8_000, 1_500, True)
    with pytest.raises(SystemExit):
        gp.parse_args(["--sizes", "60000", "--max-model-len", "32768"])
    settings = gp._settings(gpu)
    assert dict(settings["engine_kwargs"]) == {"disable_log_stats": False, "load_format": "dummy"}
    assert settings["tensor_parallel_size"] == 1 and settings["max_model_len"] == 65_536


@pytest.fixture(scope="module")
def tokenizer():
    return gp.load_tokenizer()


def test_written_model_loads_and_runs_in_transformers(tmp_path, tokenizer):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    shape = gp.write_model(tmp_path / "dummy", gp.DRY_RUN_SHAPE, tokenizer, weights="dummy")
    config = AutoConfig.from_pretrained(tmp_path / "dummy")
    assert (config.model_type, config.num_experts, config.num_experts_per_tok, config.head_dim) == (
        "qwen3_moe",
        8,
        2,
        64,
    )
    assert not list((tmp_path / "dummy").glob("*.safetensors"))  # vLLM draws the weights (load_format="dummy")

    gp.write_model(tmp_path / "file", gp.DRY_RUN_SHAPE, tokenizer, weights="file")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "file")
    assert sum(p.numel() for p in model.parameters()) == shape.params()[0]
    tok = AutoTokenizer.from_pretrained(tmp_path / "file")
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "Fix the test."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tokenizer))


def test_records_are_as_long_as_asked_and_share_only_the_prompt_prefix(tokenizer):
    from mira_hf.prompting.prompt import build_prompt
    from mira_hf.records import render_record
    from mira_hf.rubric import load_rubric

    ratio = gp.tokens_per_char(tokenizer)
    records = gp.make_records(3, 8_000, ratio)
    assert len(set(records)) == 3
    for rec in records:
        assert abs(len(tokenizer.encode(render_record(rec), add_special_tokens=False)) - 8_000) < 400
    rubric = load_rubric("agent-group4")
    shared = gp.shared_prefix_tokens(tokenizer, rubric, records)
    system = tokenizer.apply_chat_template(build_prompt(records[0], rubric).messages[:1], tokenize=True)
    system = system["input_ids"] if hasattr(system, "keys") else system
    assert len(system) <= shared < len(system) + 40  # the system message and the user message's head, no more


def test_prefix_cache_counters_read_vllms_metrics():
    import inspect

    from vllm.v1.metrics import loggers
    from vllm.v1.metrics.reader import Counter, Gauge

    source = inspect.getsource(loggers)
    assert '"vllm:prefix_cache_hits"' in source and '"vllm:prefix_cache_queries"' in source
    llm = SimpleNamespace(
        get_metrics=lambda: [
            Counter(name="vllm:prefix_cache_hits", labels={"engine": "0"}, value=1_152),
            Counter(name="vllm:prefix_cache_queries", labels={"engine": "0"}, value=4_000),
            Counter(name="vllm:prefix_cache_hits", labels={"engine": "1"}, value=128),
            Gauge(name="vllm:kv_cache_usage_perc", labels={}, value=0.5),
        ]
    )
    assert gp.prefix_cache_counters(llm) == (1_280.0, 4_000.0)
