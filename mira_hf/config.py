"""``ScorerConfig``: every setting of a Scorer, validated at the boundary, readable from ``MIRA_*`` env vars."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mira_hf.defaults import (
    CARD_DTYPE,
    CARD_MAX_MODEL_LEN,
    CARD_MAX_NUM_BATCHED_TOKENS,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
)
from mira_hf.errors import ConfigurationError

#: The scorer of the model card.
# env var → config field (values are parsed by pydantic)
ENV_VARS: dict[str, str] = {
    "MIRA_MODEL": "model",
    "MIRA_REVISION": "revision",
    "MIRA_ENGINE": "engine",
    "MIRA_BASE_URL": "base_url",
    "MIRA_RUBRIC": "rubric",
    "MIRA_PROMPT": "prompt",
    "MIRA_TEXT_COLUMN": "text_column",
    "MIRA_RECORD_FORMAT": "record_format",
    "MIRA_SOURCE_COLUMN": "source_column",
    "MIRA_ID_COLUMN": "id_column",
    "MIRA_TEMPERATURE": "temperature",
    "MIRA_TOP_P": "top_p",
    "MIRA_MAX_TOKENS": "max_tokens",
    "MIRA_SEED": "seed",
    "MIRA_N": "n",
    "MIRA_STRUCTURED": "structured",
    "MIRA_MAX_RATIONALE_CHARS": "max_rationale_chars",
    "MIRA_TENSOR_PARALLEL_SIZE": "tensor_parallel_size",
    "MIRA_DTYPE": "dtype",
    "MIRA_MAX_MODEL_LEN": "max_model_len",
    "MIRA_MAX_NUM_BATCHED_TOKENS": "max_num_batched_tokens",
    "MIRA_GPU_MEMORY_UTILIZATION": "gpu_memory_utilization",
    "MIRA_MAX_IN_FLIGHT": "max_in_flight",
    "MIRA_CACHE_DIR": "cache_dir",
    "MIRA_TRUST_REMOTE_CODE": "trust_remote_code",
}


class ScorerConfig(BaseModel):
    """Settings of a [`Scorer`][mira_hf.scoring.scorer.Scorer]; everything here but ``cache_dir`` and ``progress`` is
    fingerprinted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = DEFAULT_MODEL
    revision: str | None = None
    engine: Literal["vllm", "openai", "custom"] = "vllm"
    base_url: tuple[str, ...] = ()
    rubric: str = "agent-group4"
    #: A Jinja2 prompt template file; ``None`` is the built-in one. Its content hash (not its path) is fingerprinted.
    prompt: str | None = None
    text_column: str | None = None
    #: Read every record as this shape (one of ``mira_hf.records.FORMATS``); ``None`` detects it per record.
    record_format: str | None = None
    source_column: str | None = None
    id_column: str | None = None
    # sampling
    temperature: float = Field(default=DEFAULT_TEMPERATURE, ge=0)
    top_p: float = Field(default=DEFAULT_TOP_P, gt=0, le=1)
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, ge=1)
    seed: int | None = DEFAULT_SEED
    n: int = Field(default=1, ge=1)
    structured: bool = True
    #: Bound on each free text of the answer (justification, tag, brief) in the structured-decoding regex;
    #: ``None`` leaves them to ``max_tokens``. Tests and the CPU demo bound them so a random model terminates.
    max_rationale_chars: int | None = Field(default=None, ge=1)
    # engine
    tensor_parallel_size: int | None = Field(default=None, ge=1)
    dtype: str = CARD_DTYPE
    max_model_len: int = Field(default=CARD_MAX_MODEL_LEN, ge=256)
    max_num_batched_tokens: int | None = Field(default=CARD_MAX_NUM_BATCHED_TOKENS, ge=256)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    max_in_flight: int = Field(default=256, ge=1)
    engine_kwargs: tuple[tuple[str, Any], ...] = ()
    #: Run Python code from the model's repository when loading it (in-process engine). Off unless asked; on for
    #: the card's own scorer. See [`remote_code_trusted`][mira_hf.config.remote_code_trusted].
    trust_remote_code: bool = False
    # run-time only (not part of the fingerprint)
    cache_dir: str | None = None
    progress: bool = True

    @field_validator("base_url", mode="before")
    @classmethod
    def _split_urls(cls, v: Any) -> Any:
        if v is None:
            return ()
        if isinstance(v, str):
            return tuple(u.strip() for u in v.split(",") if u.strip())
        return tuple(v)

    @field_validator("record_format")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        from mira_hf.records import FORMATS

        if v is not None and v not in FORMATS:
            raise ValueError(f"unknown record format; expected one of {', '.join(FORMATS)}")
        return v

    @field_validator("engine_kwargs", mode="before")
    @classmethod
    def _freeze_kwargs(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return tuple(sorted(v.items()))
        return () if v is None else v

    def fingerprint_fields(self) -> dict[str, Any]:
        """What decides the output: hashed into the ``datasets`` fingerprint and the resume keys.

        Where requests go (``base_url``) and how they are retried never change an answer, so a job restarted
        against another node keeps its cache; nor do the columns only checked to exist (``id_column``,
        ``source_column``), so naming one re-sends nothing.
        """
        # The prompt template and a rubric file are fingerprinted by their content hashes (``Scorer.identity``),
        # never by their paths: a copied folder keeps its cache.
        ignored = {
            "cache_dir",
            "progress",
            "max_in_flight",
            "base_url",
            "prompt",
            "id_column",
            "source_column",
            "rubric",
            "trust_remote_code",  # whether code may run decides whether the model loads, never what it answers
        }
        fields = self.model_dump(mode="json", exclude=ignored)
        fields["engine_kwargs"] = [kv for kv in fields["engine_kwargs"] if kv[0] not in TRANSPORT_KWARGS]
        return fields


#: Endpoint-pool settings that change how requests travel, never what comes back.
TRANSPORT_KWARGS = frozenset({"timeout", "max_retries", "backoff_base", "backoff_max", "eject_after", "probe_interval"})


def build_config(**kwargs: Any) -> ScorerConfig:
    """Validate ``kwargs`` into a `ScorerConfig`, turning pydantic errors into one clear line."""
    try:
        return ScorerConfig(**kwargs)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigurationError(f"Scorer: invalid {field}={err.get('input')!r}: {err['msg']}") from None


def env_settings(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, str]:
    """The ``MIRA_*`` variables that are set, as config keyword arguments."""
    env = os.environ if environ is None else environ
    return {field: env[var] for var, field in ENV_VARS.items() if env.get(var, "") != ""}


def remote_code_trusted(config: ScorerConfig, environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether the in-process engine may run the Python code of ``config.model``'s repository.

    Only when asked: ``trust_remote_code=True`` (``--trust-remote-code``, a plan's ``trust_remote_code: true``) or
    ``MIRA_TRUST_REMOTE_CODE=1``; and for the model card's own scorer, which the card names. Any other model a
    user names loads without running its code.

    Example:
        >>> remote_code_trusted(ScorerConfig(model="someone/model"), environ={})
        False
        >>> remote_code_trusted(ScorerConfig(model="someone/model", trust_remote_code=True), environ={})
        True
        >>> remote_code_trusted(ScorerConfig(model="someone/model"), environ={"MIRA_TRUST_REMOTE_CODE": "1"})
        True
        >>> remote_code_trusted(ScorerConfig(), environ={})   # the card's scorer
        True
    """
    env = os.environ if environ is None else environ
    flag = env.get("MIRA_TRUST_REMOTE_CODE", "").strip().lower() in {"1", "true", "yes", "on"}
    return config.trust_remote_code or flag or config.model == DEFAULT_MODEL
