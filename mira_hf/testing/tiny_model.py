"""Build a tiny random-weight model, shaped like the scorer, that the real vLLM engine can load on CPU.

Its scores mean nothing: it exists so that tests and ``make demo`` run the real engine end to end on a
machine without a GPU or the Hub. The tokenizer is a real one (Mistral's tekken, shipped inside
``mistral_common``) given a ChatML chat template, like the Qwen family the scorer descends from.

Example:
    >>> path = build_tiny_model("/tmp/mira-tiny")   # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

#: Bumped whenever the architecture or weights recipe changes, so cached builds are refreshed.
TINY_MODEL_VERSION = "1"


def _tekken_file() -> Path:
    import mistral_common

    data = Path(mistral_common.__file__).parent / "data"
    files = sorted(data.glob("tekken_*.json"))
    if not files:
        raise FileNotFoundError(f"no tekken_*.json tokenizer found in {data}")
    return files[-1]


def tekken_tokenizer():
    """Mistral's tekken tokenizer (shipped in ``mistral_common``) as a Hugging Face tokenizer with ChatML."""
    from transformers.integrations.mistral import convert_tekken_tokenizer

    tokenizer = convert_tekken_tokenizer(str(_tekken_file()), chat_template=CHATML_TEMPLATE)
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(path: str | Path, *, seed: int = 0, moe: bool = True, num_layers: int = 2) -> Path:
    """Write a random-weight Qwen3-MoE (or dense Qwen3) checkpoint with a real tokenizer to ``path``; returns it.

    The model `mira-hf demo`, `mira-hf run --cpu` and `mira-hf score --cpu` score with on a machine without a
    GPU (vLLM's CPU build loads it in seconds): two layers of width 64, Mistral's tekken tokenizer with a ChatML
    template. Its weights are random, so its scores are meaningless; it checks that a pipeline runs end to end.
    Idempotent: an existing build of the same version and shape is reused.

    Args:
        path: the folder to write (created if missing); pass it as a `Scorer`'s ``model``.
        seed: the seed of the random weights.
        moe: a mixture-of-experts model like the scorer's (``False``: a dense Qwen3).
        num_layers: decoder layers.

    Example:
        >>> import mira_hf
        >>> from mira_hf.demo import CPU_SETTINGS
        >>> path = build_tiny_model("tiny-model")                                        # doctest: +SKIP
        >>> scorer = mira_hf.Scorer(model=str(path), **CPU_SETTINGS)                    # doctest: +SKIP
    """
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM

    path = Path(path)
    stamp = path / "mira_tiny.json"
    recipe = {"version": TINY_MODEL_VERSION, "seed": seed, "moe": moe, "num_layers": num_layers}
    if stamp.is_file() and json.loads(stamp.read_text()) == recipe:
        return path
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = tekken_tokenizer()
    tokenizer.save_pretrained(path)

    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=131072,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="bfloat16",
    )
    torch.manual_seed(seed)
    config: Any
    model: Any
    if moe:
        config = Qwen3MoeConfig(
            **common,
            moe_intermediate_size=64,
            num_experts=8,
            num_experts_per_tok=2,
            decoder_sparse_step=1,
            norm_topk_prob=True,
        )
        model = Qwen3MoeForCausalLM(config)
    else:
        config = Qwen3Config(**common)
        model = Qwen3ForCausalLM(config)
    model = model.to(torch.bfloat16)
    model.save_pretrained(path)
    (path / "generation_config.json").unlink(missing_ok=True)
    stamp.write_text(json.dumps(recipe))
    return path
