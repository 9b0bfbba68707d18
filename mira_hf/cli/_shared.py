"""What every command shares: the options declared once, ``fail()``, and the one place library errors become exits.

A command module declares its own options and reuses these where the flag, its variable and its help are the same
(``text_column: TextColumnOption = None``); :class:`MiraGroup` runs every command and turns a
:class:`~mira_hf.errors.MiraError` into one ``error: ...`` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperGroup

from mira_hf.config import ScorerConfig
from mira_hf.defaults import CARD_GPU_MEMORY_UTILIZATION, CARD_TENSOR_PARALLEL_SIZE
from mira_hf.errors import MiraError

#: The exit code of every error a user can fix (a bad flag, missing data, a library error).
USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code``; the message says what to do instead."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


class MiraGroup(TyperGroup):
    """The ``mira-hf`` group: a :class:`~mira_hf.errors.MiraError` from any command is one line, not a traceback.

    Every subcommand (``discover judge`` too) runs inside :meth:`invoke`, in ``CliRunner.invoke(app, ...)`` and in
    the console script alike.
    """

    def invoke(self, ctx: Any) -> Any:  # typer.Context (its base is typer's own click)
        try:
            return super().invoke(ctx)
        except MiraError as e:
            fail(str(e))


def key_values(items: list[str], flag: str) -> dict[str, Any]:
    """``["timeout=600", "enforce_eager=true"]`` → ``{"timeout": 600, "enforce_eager": True}`` (JSON values,
    else the text); an item without ``=`` is one ``error:`` line."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{flag} {item!r} is not KEY=VALUE; e.g. {flag} timeout=600")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


_D = ScorerConfig()  # the defaults shown in --help are the ones the Scorer uses
ENGINE_PANEL = "Engine (defaults: the model card's)"
SAMPLING_PANEL = "Sampling"
RECORD_FORMAT_HELP = (
    "Read every record as this shape instead of detecting it: openai, nebius, sharegpt, openhands, "
    "openhands_v1, swe_agent, mini_swe_agent, generic, text."
)

# ----------------------------------------------------------------------------------------- data options
DataArgument = Annotated[str, typer.Argument(help="Hub dataset name, local data file, or save_to_disk folder.")]
SplitOption = Annotated[str, typer.Option(help="Split to read.")]
TableSplitOption = Annotated[str, typer.Option(help="Split to read (for a Hub dataset or a DatasetDict folder).")]
TextColumnOption = Annotated[
    Optional[str], typer.Option(envvar="MIRA_TEXT_COLUMN", help="Record column (detected when omitted).")
]
RecordFormatOption = Annotated[Optional[str], typer.Option(envvar="MIRA_RECORD_FORMAT", help=RECORD_FORMAT_HELP)]
SourceColumnOption = Annotated[str, typer.Option(help="Column naming each row's source.")]
AnswerBudgetOption = Annotated[int, typer.Option(envvar="MIRA_MAX_TOKENS", help="Answer budget.")]

# ----------------------------------------------------------------------------------------- engine options
ModelOption = Annotated[
    Optional[str],
    typer.Option(
        envvar="MIRA_MODEL",
        rich_help_panel=ENGINE_PANEL,
        help=f"Scorer model, a Hub name or local folder (default: {_D.model}).",
    ),
]
RevisionOption = Annotated[
    Optional[str],
    typer.Option(envvar="MIRA_REVISION", rich_help_panel=ENGINE_PANEL, help="Model revision (branch, tag or commit)."),
]
RubricOption = Annotated[
    Optional[str],
    typer.Option(
        envvar="MIRA_RUBRIC",
        rich_help_panel=ENGINE_PANEL,
        help=f"Rubric name or *_dim_anchors.jsonl path (default: {_D.rubric}).",
    ),
]
PromptOption = Annotated[
    Optional[str],
    typer.Option(
        envvar="MIRA_PROMPT",
        rich_help_panel=ENGINE_PANEL,
        help="Jinja2 prompt template file (system and user blocks; default: built-in).",
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        envvar="MIRA_ENGINE",
        rich_help_panel=ENGINE_PANEL,
        help="'vllm' (in-process) or 'openai' (servers at --base-url).",
    ),
]
BaseUrlOption = Annotated[
    Optional[list[str]],
    typer.Option(
        envvar="MIRA_BASE_URL",
        rich_help_panel=ENGINE_PANEL,
        help="OpenAI-compatible endpoint(s); repeat for a pool (the variable takes them comma-separated).",
    ),
]
ApiKeyOption = Annotated[
    Optional[str],
    typer.Option(
        envvar="MIRA_API_KEY",
        show_default=False,
        rich_help_panel=ENGINE_PANEL,
        help="Key for --base-url servers (never logged); also OPENAI_API_KEY.",
    ),
]
TensorParallelSizeOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_TENSOR_PARALLEL_SIZE",
        rich_help_panel=ENGINE_PANEL,
        help=f"GPUs per engine (default: {CARD_TENSOR_PARALLEL_SIZE}, or the visible GPUs).",
    ),
]
DtypeOption = Annotated[
    Optional[str],
    typer.Option(envvar="MIRA_DTYPE", rich_help_panel=ENGINE_PANEL, help=f"Weights dtype (default: {_D.dtype})."),
]
MaxModelLenOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_MAX_MODEL_LEN",
        rich_help_panel=ENGINE_PANEL,
        help=f"Context length; longer records are shortened (default: {_D.max_model_len}).",
    ),
]
MaxNumBatchedTokensOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_MAX_NUM_BATCHED_TOKENS",
        rich_help_panel=ENGINE_PANEL,
        help=f"Tokens per engine step (default: {_D.max_num_batched_tokens}).",
    ),
]
GpuMemoryUtilizationOption = Annotated[
    Optional[float],
    typer.Option(
        envvar="MIRA_GPU_MEMORY_UTILIZATION",
        rich_help_panel=ENGINE_PANEL,
        help=f"GPU memory share for the engine (default: {CARD_GPU_MEMORY_UTILIZATION}).",
    ),
]
MaxInFlightOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_MAX_IN_FLIGHT",
        rich_help_panel=ENGINE_PANEL,
        help=f"Requests in flight per --base-url server (default: {_D.max_in_flight}).",
    ),
]
EngineKwargOption = Annotated[
    Optional[list[str]],
    typer.Option(
        rich_help_panel=ENGINE_PANEL,
        metavar="KEY=VALUE",
        help="Extra engine setting, repeatable: for --base-url servers timeout, max_retries, backoff_base, "
        "backoff_max, eject_after, probe_interval; for vllm any vllm.LLM argument (e.g. enforce_eager=true).",
    ),
]

# ----------------------------------------------------------------------------------------- sampling options
MaxTokensOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_MAX_TOKENS", rich_help_panel=SAMPLING_PANEL, help=f"Answer budget (default: {_D.max_tokens})."
    ),
]
TemperatureOption = Annotated[
    Optional[float],
    typer.Option(
        envvar="MIRA_TEMPERATURE",
        rich_help_panel=SAMPLING_PANEL,
        help=f"Sampling temperature (default: {_D.temperature}).",
    ),
]
TopPOption = Annotated[
    Optional[float],
    typer.Option(envvar="MIRA_TOP_P", rich_help_panel=SAMPLING_PANEL, help=f"Nucleus sampling (default: {_D.top_p})."),
]
SeedOption = Annotated[
    Optional[int],
    typer.Option(envvar="MIRA_SEED", rich_help_panel=SAMPLING_PANEL, help=f"Sampling seed (default: {_D.seed})."),
]
NOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_N",
        rich_help_panel=SAMPLING_PANEL,
        help=f"Samples per record, averaged (self-consistency) (default: {_D.n}).",
    ),
]
StructuredOption = Annotated[
    Optional[bool],
    typer.Option(
        "--structured/--no-structured",
        envvar="MIRA_STRUCTURED",
        show_default=False,
        rich_help_panel=SAMPLING_PANEL,
        help="Constrain the answer to the output template (default: on).",
    ),
]
MaxRationaleCharsOption = Annotated[
    Optional[int],
    typer.Option(
        envvar="MIRA_MAX_RATIONALE_CHARS",
        rich_help_panel=SAMPLING_PANEL,
        help="Cap each rationale (structured output only).",
    ),
]

#: The engine and sampling options passed to :class:`~mira_hf.scoring.scorer.Scorer` as they are (when given).
SCORER_SETTINGS = (
    "revision",
    "rubric",
    "prompt",
    "text_column",
    "record_format",
    "source_column",
    "id_column",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "n",
    "structured",
    "max_rationale_chars",
    "tensor_parallel_size",
    "dtype",
    "max_model_len",
    "max_num_batched_tokens",
    "gpu_memory_utilization",
    "max_in_flight",
)
