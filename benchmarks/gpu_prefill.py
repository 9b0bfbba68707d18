"""Prefill and output throughput, MFU and prefix-cache reuse of the scorer's shape on one GPU.

Builds a random-weight Qwen3-MoE with the scorer's width (Qwen3.5-35B-A3B: hidden 2048, 256 experts, 8 active
per token, expert FFN 512, 16 query / 2 KV heads of 256) and fewer layers, with a real tokenizer (Mistral's
tekken from ``mistral_common``, ChatML template), writes it to a temporary folder, and scores synthetic
8K / 32K / 60K-token trajectories through the plugin's in-process engine: ``ds.map(mira_hf.Scorer(...),
batched=True)``. Nothing is downloaded: by default only the config and tokenizer are written and vLLM fills
the weights with random values on the device (``load_format="dummy"``); ``--weights file`` writes real
random safetensors first (slower).

Per record size, two passes on different records (so only the shared system prompt can come from the cache):

1. prefill: the same Scorer with ``max_tokens=1`` → prefill tokens/s and MFU;
2. score: the full answer template (structured decoding) → output tokens/s, records/s.

Then one end-to-end pass as a real run goes: ``--e2e-records`` records of ``--e2e-size`` tokens (8K) with answers of
``--e2e-output`` tokens (1.5K; random weights rarely stop early, unconstrained) through ``mira_hf.score_dataset``
(streaming, as ``mira-hf score`` runs) → records/s. ``--save`` writes that figure where ``mira-hf score --estimate``
reads it (``~/.cache/mira-hf/gpu_throughput.json`` or ``$MIRA_THROUGHPUT_FILE``).

MFU = FLOPs / wall time / peak (790 TFLOP/s bf16 dense on an H200). FLOPs of a prompt of L tokens::

    2 · N_active · (L − P)  +  2 · layers · heads · head_dim · (L² − P²)  +  2 · hidden · vocab

N_active: the matrix parameters one token uses (attention projections, router, the 8 chosen experts);
the second term is causal attention (QKᵀ and PV, half the L×L square); the third is the logits row vLLM
computes for the last prompt token only; P is the prefix served from the cache (not recomputed). Prefill
tokens/s counts every prompt token, cached or not. Output tokens/s are completion tokens over the score pass's wall
time less its estimated prefill time (its prompt tokens at pass 1's rate).

The prefix-cache hit rate comes from vLLM's own counters (``LLM.get_metrics()``: ``vllm:prefix_cache_hits``
over ``vllm:prefix_cache_queries``); the system-prompt hit rate divides the hits by what a perfect cache
would serve: every request's shared prefix (system message and the user message's head), in whole blocks.

    python benchmarks/gpu_prefill.py                 # one H200; sized to finish within 8 minutes
    python benchmarks/gpu_prefill.py --dry-run       # same code on the CPU engine, tiny model, tiny records

Needs ``vllm`` and ``mistral_common`` besides mira-hf.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

#: bf16 dense peak of one H200 (SXM), the MFU denominator.
H200_BF16_TFLOPS = 790.0


@dataclass(frozen=True)
class MoeShape:
    """The sizes that decide a Qwen3-MoE's parameters and FLOPs (every layer sparse, no shared expert)."""

    hidden_size: int
    num_layers: int
    num_experts: int
    experts_per_token: int
    moe_intermediate_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    tie_embeddings: bool = False

    def _attention_params(self) -> int:
        q = self.hidden_size * self.num_heads * self.head_dim
        kv = 2 * self.hidden_size * self.num_kv_heads * self.head_dim
        return q + kv + self.num_heads * self.head_dim * self.hidden_size  # q, k, v, o projections

    def _expert_params(self) -> int:
        return 3 * self.hidden_size * self.moe_intermediate_size  # gate, up, down

    def _norm_params(self) -> int:
        return 2 * self.hidden_size + 2 * self.head_dim  # input / post-attention norms, q / k norms

    def params(self) -> tuple[int, int]:
        """``(total, active)`` parameters, embeddings and LM head included (as model cards count them).

        Example:
            >>> total, active = QWEN3_30B_A3B.params()
            >>> round(total / 1e9, 1), round(active / 1e9, 1)
            (30.5, 3.3)
        """
        per_layer_shared = self._attention_params() + self.hidden_size * self.num_experts + self._norm_params()
        embeddings = self.vocab_size * self.hidden_size * (1 if self.tie_embeddings else 2) + self.hidden_size
        total = self.num_layers * (per_layer_shared + self.num_experts * self._expert_params()) + embeddings
        active = self.num_layers * (per_layer_shared + self.experts_per_token * self._expert_params()) + embeddings
        return total, active

    def matmul_params_per_token(self) -> int:
        """N_active of the FLOP formula: the weights one token multiplies with in the layers (no embedding)."""
        return self.num_layers * (
            self._attention_params()
            + self.hidden_size * self.num_experts
            + self.experts_per_token * self._expert_params()
        )

    def prefill_flops(self, prompt_tokens: float, cached: float = 0.0) -> float:
        """FLOPs to prefill one prompt of ``prompt_tokens`` tokens whose first ``cached`` come from the prefix
        cache (not recomputed; the new tokens still attend to them). See the module docstring.

        Example:
            >>> s = replace(SCORER_SHAPE, num_layers=1)
            >>> s.prefill_flops(2) - s.prefill_flops(1) > 2 * s.matmul_params_per_token()
            True
        """
        L, P = float(prompt_tokens), float(cached)
        return (
            2.0 * self.matmul_params_per_token() * (L - P)
            + 2.0 * self.num_layers * self.num_heads * self.head_dim * (L * L - P * P)
            + 2.0 * self.hidden_size * self.vocab_size
        )

    def hf_config(self, tokenizer: Any, max_position_embeddings: int = 131_072) -> Any:
        """The ``transformers.Qwen3MoeConfig`` of this shape, with the tokenizer's special tokens."""
        from transformers import Qwen3MoeConfig

        return Qwen3MoeConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=4 * self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            num_key_value_heads=self.num_kv_heads,
            head_dim=self.head_dim,
            moe_intermediate_size=self.moe_intermediate_size,
            num_experts=self.num_experts,
            num_experts_per_tok=self.experts_per_token,
            decoder_sparse_step=1,
            mlp_only_layers=[],
            norm_topk_prob=True,
            max_position_embeddings=max_position_embeddings,
            tie_word_embeddings=self.tie_embeddings,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            torch_dtype="bfloat16",
            architectures=["Qwen3MoeForCausalLM"],
        )


#: The scorer's base (Qwen3.5-35B-A3B, model card and its config): 40 layers, hidden 2048, 256 experts with
#: 8 routed per token (plus one shared expert), expert FFN 512, full attention 16 query / 2 KV heads of 256,
#: vocabulary 248,320. Qwen3-MoE has no shared expert and no linear-attention layers, so this is its
#: closest Qwen3-MoE: same width, experts and routing, attention in every layer.
SCORER_SHAPE = MoeShape(
    hidden_size=2048,
    num_layers=40,
    num_experts=256,
    experts_per_token=8,
    moe_intermediate_size=512,
    num_heads=16,
    num_kv_heads=2,
    head_dim=256,
    vocab_size=248_320,
)
#: Qwen3-30B-A3B (the previous generation, a pure Qwen3-MoE): the published 30.5B total / 3.3B active check
#: the parameter arithmetic.
QWEN3_30B_A3B = MoeShape(
    hidden_size=2048,
    num_layers=48,
    num_experts=128,
    experts_per_token=8,
    moe_intermediate_size=768,
    num_heads=32,
    num_kv_heads=4,
    head_dim=128,
    vocab_size=151_936,
)
#: The ``--dry-run`` model: the same architecture, small enough for the CPU engine (head_dim 64 is supported).
DRY_RUN_SHAPE = MoeShape(
    hidden_size=64,
    num_layers=2,
    num_experts=8,
    experts_per_token=2,
    moe_intermediate_size=64,
    num_heads=2,
    num_kv_heads=1,
    head_dim=64,
    vocab_size=0,
    tie_embeddings=True,
)


# ------------------------------------------------------------------------------------------------- the model
def load_tokenizer() -> Any:
    """The real tekken tokenizer shipped in ``mistral_common``, with the ChatML template (as the test model)."""
    from mira_hf.testing.tiny_model import tekken_tokenizer

    return tekken_tokenizer()


def write_model(path: Path, shape: MoeShape, tokenizer: Any, *, weights: str = "dummy") -> MoeShape:
    """Write config and tokenizer (and, with ``weights="file"``, random bf16 safetensors) to ``path``.

    Returns the shape with the tokenizer's vocabulary size. With ``weights="dummy"`` the engine must be
    started with ``load_format="dummy"``: vLLM then draws the random weights itself, on the device.
    """
    shape = replace(shape, vocab_size=len(tokenizer))
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    config = shape.hf_config(tokenizer)
    if weights == "file":
        import torch
        from transformers import Qwen3MoeForCausalLM

        torch.manual_seed(0)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)  # never materialise fp32 weights of a 10B model
        try:
            Qwen3MoeForCausalLM(config).save_pretrained(path)
        finally:
            torch.set_default_dtype(previous)
        (path / "generation_config.json").unlink(missing_ok=True)
    else:
        config.save_pretrained(path)
    return shape


# ----------------------------------------------------------------------------------------------- the records
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
    "+    head = tokens[0]",
    '$ grep -rn "def parse" src/ | head -20',
    "src/pkg/config.py:77:    def parse_section(self, name: str) -> dict[str, Any]:",
    "$ git diff --stat",
    " src/pkg/parser.py | 4 +++-",
    "==================== 212 passed, 3 skipped in 14.82s ====================",
    "Traceback (most recent call last):",
    '  File "/repo/src/pkg/cli.py", line 203, in main',
    "KeyError: 'timeout'",
    "class TokenStream:",
    "    def __init__(self, text: str, *, strict: bool = False) -> None:",
    "        self._pos = 0",
    "        self._buf = list(self._lex(text))",
    "I will reproduce the failure first, then read the parser around line 118.",
    "The fix is minimal: guard the empty case before indexing and keep the strict path unchanged.",
    "$ sed -n 100,140p src/pkg/parser.py",
    "    for i, tok in enumerate(tokens[1:], start=1):",
    "        if tok.kind is Kind.EOF:",
    '            raise ParseError(f"unexpected token {tok!r} at {i}")',
]


def tokens_per_char(tokenizer: Any) -> float:
    """How many tokens one character of the synthetic trajectories costs (measured once on a sample)."""
    sample = "\n".join(_LINES * 20)
    return len(tokenizer.encode(sample, add_special_tokens=False)) / len(sample)


def make_records(n: int, tokens: int, ratio: float, *, first_id: int = 0, seed: int = 0) -> list[str]:
    """``n`` OpenAI-chat trajectories (JSON strings) of about ``tokens`` tokens, each starting with its own id."""
    rnd = random.Random(seed * 1_000_003 + tokens)
    chars = int(tokens / ratio)
    out = []
    for i in range(first_id, first_id + n):
        lines, size = [], 0
        while size < chars:
            line = rnd.choice(_LINES)
            lines.append(line)
            size += len(line) + 1
        body = "\n".join(lines)[:chars]
        msgs = [
            {"role": "user", "content": f"#{i}-{rnd.getrandbits(32):08x} Fix: parse('') raises ValueError."},
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
            {"role": "tool", "tool_call_id": "c1", "name": "bash", "content": body},
            {"role": "assistant", "content": "Guarded the empty input in parse(); the suite passes."},
        ]
        out.append(json.dumps(msgs))
    return out


def shared_prefix_tokens(tokenizer: Any, rubric: Any, records: list[str]) -> int:
    """Tokens every prompt shares (system message, chat framing, the user message's head)."""
    from mira_hf.prompting.prompt import build_prompt

    ids = [
        tokenizer.apply_chat_template(build_prompt(r, rubric).messages, tokenize=True, add_generation_prompt=True)
        for r in records[:2]
    ]
    ids = [x["input_ids"] if hasattr(x, "keys") else x for x in ids]
    n = 0
    for a, b in zip(*ids):
        if a != b:
            break
        n += 1
    return n


# ------------------------------------------------------------------------------------------------ the engine
def prefix_cache_counters(llm: Any) -> tuple[float, float]:
    """``(hits, queries)`` in tokens, summed over engines, from vLLM's Prometheus counters."""
    hits = queries = 0.0
    for metric in llm.get_metrics():
        name = metric.name.removesuffix("_total")
        if name == "vllm:prefix_cache_hits":
            hits += float(getattr(metric, "value", 0))
        elif name == "vllm:prefix_cache_queries":
            queries += float(getattr(metric, "value", 0))
    return hits, queries


@dataclass
class PassResult:
    """One ``ds.map`` pass: wall time, tokens, statuses and the prefix-cache counters it moved."""

    seconds: float
    records: int
    prompt_tokens: int
    completion_tokens: int
    cache_hits: float
    cache_queries: float
    statuses: dict[str, int]
    truncated: int


def run_pass(scorer: Any, records: list[str]) -> PassResult:
    """Score ``records`` in one batch with ``ds.map(scorer, batched=True)`` and read back what happened."""
    import datasets

    ds = datasets.Dataset.from_dict({"trajectory": records})
    llm = scorer.engine.llm
    hits0, queries0 = prefix_cache_counters(llm)
    t0 = time.perf_counter()
    out = ds.map(scorer, batched=True, batch_size=len(ds), keep_in_memory=True, load_from_cache_file=False)
    seconds = time.perf_counter() - t0
    hits1, queries1 = prefix_cache_counters(llm)
    statuses: dict[str, int] = {}
    for s in out["mira_status"]:
        statuses[s] = statuses.get(s, 0) + 1
    return PassResult(
        seconds=seconds,
        records=len(ds),
        prompt_tokens=int(sum(out["mira_prompt_tokens"])),
        completion_tokens=int(sum(out["mira_completion_tokens"])),
        cache_hits=hits1 - hits0,
        cache_queries=queries1 - queries0,
        statuses=statuses,
        truncated=int(sum(out["mira_truncated"])),
    )


def end_to_end(model: str, settings: dict[str, Any], records: list[str], output_tokens: int) -> dict[str, Any]:
    """Score ``records`` as ``mira-hf score`` does (streaming, answers of up to ``output_tokens``); records/s."""
    import datasets

    import mira_hf

    ds = datasets.Dataset.from_dict({"trajectory": records})
    scorer = mira_hf.Scorer(model=model, max_tokens=output_tokens, structured=False, **settings)
    t0 = time.perf_counter()
    out = mira_hf.score_dataset(ds, scorer, batch_size=len(ds), keep_in_memory=True, load_from_cache_file=False)
    seconds = time.perf_counter() - t0
    return dict(
        records=len(ds),
        size=int(sum(out["mira_prompt_tokens"]) / len(ds)),
        seconds=seconds,
        completion_tokens=sum(out["mira_completion_tokens"]) / len(ds),
        records_per_s=len(ds) / seconds,
        answered=sum(s != "engine_error" for s in out["mira_status"]),
    )


def _device_name() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "the CPU engine"
    except ImportError:
        return "the CPU engine"


# ---------------------------------------------------------------------------------------------------- driver
def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Engine and scorer settings shared by both passes (so both use one engine)."""
    extra: dict[str, Any] = {"disable_log_stats": False}  # LLM() turns stats off; the cache counters need them
    if args.weights == "dummy":
        extra["load_format"] = "dummy"
    if args.enforce_eager:
        extra["enforce_eager"] = True
    return dict(
        text_column="trajectory",
        max_model_len=args.max_model_len,
        tensor_parallel_size=1,
        max_num_batched_tokens=args.max_num_batched_tokens,
        gpu_memory_utilization=args.gpu_memory_utilization,
        engine_kwargs=extra,
        progress=False,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--dry-run`` swaps in CPU-sized defaults for every option left unset."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dry-run",
        action="store_true",
        help="tiny model, tiny records, CPU engine: checks the code path, measures nothing useful",
    )
    ap.add_argument("--layers", type=int, help="decoder layers (default 12; the scorer has 40)")
    ap.add_argument("--sizes", type=int, nargs="+", help="tokens per record (default 8000 32000 60000)")
    ap.add_argument("--records", type=int, nargs="+", help="records per size and pass (default 64 16 8)")
    ap.add_argument("--max-model-len", type=int)
    ap.add_argument("--max-num-batched-tokens", type=int)
    ap.add_argument("--gpu-memory-utilization", type=float)
    ap.add_argument("--rationale-chars", type=int, help="bound on each free text of the answer (default 32)")
    ap.add_argument(
        "--weights",
        choices=("dummy", "file"),
        default="dummy",
        help="dummy: vLLM draws random weights on the device; file: write random safetensors first",
    )
    ap.add_argument("--enforce-eager", action="store_true", help="skip torch.compile and CUDA graphs (faster start)")
    ap.add_argument("--peak-tflops", type=float, default=H200_BF16_TFLOPS, help="MFU denominator, bf16 dense")
    ap.add_argument("--model-dir", type=Path, help="write the model here (kept) instead of a temporary folder")
    ap.add_argument("--e2e-records", type=int, help="records of the end-to-end pass (default 256; 0 skips it)")
    ap.add_argument("--e2e-size", type=int, help="tokens per record of the end-to-end pass (default 8000)")
    ap.add_argument("--e2e-output", type=int, help="answer tokens of the end-to-end pass (default 1500)")
    ap.add_argument("--save", action="store_true", help="save the end-to-end records/s for `mira-hf score --estimate`")
    _results.add_option(ap)
    args = ap.parse_args(argv)
    gpu = dict(
        layers=12,
        sizes=[8_000, 32_000, 60_000],
        records=[64, 16, 8],
        max_model_len=65_536,
        max_num_batched_tokens=131_072,
        gpu_memory_utilization=0.9,
        rationale_chars=32,
        e2e_records=256,
        e2e_size=8_000,
        e2e_output=1_500,
    )
    cpu = dict(
        layers=DRY_RUN_SHAPE.num_layers,
        sizes=[256, 1_024],
        records=[2, 2],
        max_model_len=8_192,
        max_num_batched_tokens=8_192,
        gpu_memory_utilization=0.15,
        rationale_chars=8,
        e2e_records=3,
        e2e_size=256,
        e2e_output=16,
    )
    for key, value in (cpu if args.dry_run else gpu).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if len(args.records) == 1:
        args.records = args.records * len(args.sizes)
    if len(args.records) != len(args.sizes):
        ap.error(f"--records needs one count per size ({len(args.sizes)}) or a single count; got {args.records}")
    if max(args.sizes) + 4_096 > args.max_model_len:
        ap.error(
            f"records of {max(args.sizes):,} tokens do not fit --max-model-len {args.max_model_len:,} with the "
            "prompt and the answer; raise --max-model-len or lower --sizes"
        )
    return args


def _check_device(dry_run: bool) -> None:
    if dry_run:
        return
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        sys.exit("gpu_prefill.py needs a CUDA GPU; run it with --dry-run to check the code path on the CPU engine.")


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "—"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _check_device(args.dry_run)
    import datasets

    import mira_hf

    datasets.disable_progress_bars()
    started = time.perf_counter()
    tokenizer = load_tokenizer()
    base = DRY_RUN_SHAPE if args.dry_run else SCORER_SHAPE
    with tempfile.TemporaryDirectory(prefix="mira-gpu-prefill-") as tmp:
        model_dir = args.model_dir or Path(tmp) / "model"
        shape = write_model(model_dir, replace(base, num_layers=args.layers), tokenizer, weights=args.weights)
        total, active = shape.params()
        print(
            f"model: Qwen3-MoE, {shape.num_layers} layers, hidden {shape.hidden_size}, {shape.num_experts} experts "
            f"({shape.experts_per_token} per token, FFN {shape.moe_intermediate_size}), {shape.num_heads}/"
            f"{shape.num_kv_heads} heads × {shape.head_dim}, vocab {shape.vocab_size:,}; {total / 1e9:.2f}B "
            f"parameters, {active / 1e9:.2f}B active; weights: {args.weights}"
        )
        print(
            f"FLOPs per prompt of L tokens = 2·{shape.matmul_params_per_token() / 1e9:.3f}e9·L + "
            f"2·{shape.num_layers}·{shape.num_heads}·{shape.head_dim}·L² + 2·{shape.hidden_size}·"
            f"{shape.vocab_size}; peak {args.peak_tflops:g} TFLOP/s"
        )

        settings = _settings(args)
        scorer = mira_hf.Scorer(model=str(model_dir), max_rationale_chars=args.rationale_chars, **settings)
        prefill = mira_hf.Scorer(model=str(model_dir), max_tokens=1, structured=False, **settings)
        ratio = tokens_per_char(tokenizer)
        shared = shared_prefix_tokens(tokenizer, scorer.rubric, make_records(2, 64, ratio, first_id=10**6))

        t0 = time.perf_counter()
        warm = make_records(2, 128, ratio, first_id=2 * 10**6)
        run_pass(prefill, warm[:1])  # starts the engine, computes and caches the shared prefix
        run_pass(scorer, warm)  # compiles the answer grammar, warms CUDA graphs
        llm = scorer.engine.llm
        cache = llm.llm_engine.vllm_config.cache_config
        block = int(getattr(cache, "prefix_match_unit", None) or cache.block_size or 16)  # hits land on these
        print(
            f"engine start and warm-up: {time.perf_counter() - t0:.1f} s; shared prompt prefix {shared:,} tokens "
            f"({shared // block} blocks of {block})\n"
        )

        rows = []
        for size, n in zip(args.sizes, args.records):
            a = run_pass(prefill, make_records(n, size, ratio, first_id=0, seed=1))
            b = run_pass(scorer, make_records(n, size, ratio, first_id=n, seed=2))
            flops = a.records * shape.prefill_flops(a.prompt_tokens / a.records, a.cache_hits / a.records)
            prefill_rate = a.prompt_tokens / a.seconds
            decode_seconds = b.seconds - b.prompt_tokens / prefill_rate
            output_rate = b.completion_tokens / decode_seconds if decode_seconds > 0 else float("nan")
            ideal = (a.records + b.records) * (shared // block) * block
            rows.append(
                dict(
                    size=size,
                    records=n,
                    prompt_tokens=a.prompt_tokens / a.records,
                    prefill_tok_s=prefill_rate,
                    mfu=flops / a.seconds / (args.peak_tflops * 1e12),
                    output_tok_s=output_rate,
                    score_s=b.seconds,
                    records_s=b.records / b.seconds,
                    completion_tokens=b.completion_tokens / b.records,
                    hit_rate=(a.cache_hits + b.cache_hits) / max(a.cache_queries + b.cache_queries, 1),
                    system_hit_rate=(a.cache_hits + b.cache_hits) / ideal if ideal else float("nan"),
                    ok=b.statuses.get("ok", 0),
                    truncated=a.truncated + b.truncated,
                )
            )
        e2e = (
            end_to_end(
                str(model_dir),
                settings,
                make_records(args.e2e_records, args.e2e_size, ratio, first_id=3 * 10**6, seed=3),
                args.e2e_output,
            )
            if args.e2e_records
            else None
        )
        if e2e is not None:
            e2e["device"] = _device_name()

    head = (
        f"{'tokens/rec':>10} {'recs':>5} {'prompt tok':>10} {'prefill tok/s':>14} {'MFU':>6} "
        f"{'output tok/s':>13} {'out tok/rec':>11} {'score s':>8} {'recs/s':>7} {'cache hit':>9} "
        f"{'sys-prompt hit':>14} {'ok':>7} {'trunc':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['size']:>10,} {r['records']:>5} {r['prompt_tokens']:>10,.0f} {_fmt_rate(r['prefill_tok_s']):>14} "
            f"{r['mfu']:>6.1%} {_fmt_rate(r['output_tok_s']):>13} {r['completion_tokens']:>11,.0f} "
            f"{r['score_s']:>8.2f} {r['records_s']:>7.2f} {r['hit_rate']:>9.1%} {r['system_hit_rate']:>14.1%} "
            f"{str(r['ok']) + '/' + str(r['records']):>7} {r['truncated']:>5}"
        )
    if e2e is not None:
        print(
            f"\nend to end (streaming): {e2e['records']} prompts of {e2e['size']:,} tokens, answers of "
            f"{e2e['completion_tokens']:,.0f} tokens: {e2e['records_per_s']:.2f} records/s "
            f"({e2e['seconds']:.1f} s, {e2e['answered']} answered)"
        )
        if args.save and not args.dry_run:
            from mira_hf.scoring.estimate import throughput_file

            path = throughput_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(e2e))
            print(f"saved to {path} (read by `mira-hf score --estimate`)")
    print(
        f"\ntotal wall time {time.perf_counter() - started:.0f} s"
        + (" (dry run on the CPU engine: the figures say nothing about a GPU)" if args.dry_run else "")
    )
    print("RESULT " + json.dumps({"shape": asdict(shape), "rows": rows, "e2e": e2e}))
    figures = {"shape": asdict(shape), "rows": rows, "e2e": e2e, "dry_run": args.dry_run}
    name = "gpu_prefill_dry_run" if args.dry_run else "gpu_prefill"
    note = "dry run on the CPU engine: the figures say nothing about a GPU" if args.dry_run else ""
    _results.save(args.results_dir, name, {"table": results_table(rows, e2e)}, figures, note)
    return 0


GPU_HEAD = ["tokens / record", "prefill tok/s", "MFU", "output tok/s", "records/s", "system-prompt hit rate"]


def results_table(rows: list[dict[str, Any]], e2e: dict[str, Any] | None) -> dict[str, Any]:
    """The page's table: one line per record size, then the end-to-end streaming pass."""
    cells = [
        [f"{r['size']:,}", _fmt_rate(r["prefill_tok_s"]), f"{r['mfu']:.1%}", _fmt_rate(r["output_tok_s"])]
        + [f"{r['records_s']:.2f}", f"{r['system_hit_rate']:.1%}"]
        for r in rows
    ]
    if e2e is not None:
        label = f"end to end: {e2e['size']:,} in, {e2e['completion_tokens']:,.0f} out, streaming"
        cells.append([label, "", "", "", f"{e2e['records_per_s']:.2f}", ""])
    return _results.table(GPU_HEAD, "rrrrrr", cells)


if __name__ == "__main__":
    sys.exit(main())
