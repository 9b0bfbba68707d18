"""The model card's defaults, written once: the model, the engine settings and the sampling.

``vllm serve whw06/MIRA-Agent-Group4 --tensor-parallel-size 8 --dtype bfloat16 --max-model-len 65536
--max-num-batched-tokens 131072 --gpu-memory-utilization 0.9``; sampling ``temperature=0.7, top_p=0.95,
max_tokens=2048``. Explicit arguments always win; every other module reads these names from here.

Example:
    >>> from mira_hf import defaults
    >>> defaults.CARD_MAX_MODEL_LEN - defaults.DEFAULT_MAX_TOKENS   # what a prompt may use
    63488
"""

from __future__ import annotations

#: The distilled scorer the card describes.
DEFAULT_MODEL = "whw06/MIRA-Agent-Group4"

#: Engine settings from the card's ``vllm serve`` line.
CARD_TENSOR_PARALLEL_SIZE = 8
CARD_DTYPE = "bfloat16"
CARD_MAX_MODEL_LEN = 65_536
CARD_MAX_NUM_BATCHED_TOKENS = 131_072
CARD_GPU_MEMORY_UTILIZATION = 0.9

#: The card's sampling; the seed (not on the card) makes reruns reproducible.
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 0.95
DEFAULT_MAX_TOKENS = 2048
DEFAULT_SEED = 0
