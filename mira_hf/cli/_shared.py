"""What every command shares: the options declared once, ``fail()``, and the one place library errors become exits.

A command module declares its own options and reuses these where the flag, its variable and its help are the same
(``text_column: TextColumnOption = None``); `MiraGroup` runs every command and turns a
`MiraError` into one ``error: ...`` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer._click.exceptions import MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup, TyperOption

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
    """The ``mira-hf`` group: a `MiraError` from any command is one line, not a traceback.

    Every subcommand (``discover judge`` too) runs inside `invoke`, in ``CliRunner.invoke(app, ...)`` and in
    the console script alike. The line is in the words of the command run (`cli_words`) and ends with the error's
    code; a usage mistake (missing option, bad value, unknown option or command) is one ``error:`` line too,
    exit 2, instead of click's usage panel (`usage_fail`).
    """

    def make_context(self, info_name: Optional[str], args: list[str], parent: Any = None, **extra: Any) -> Any:
        """The group's own options: a usage mistake (``mira-hf --bogus``) is one ``error:`` line too."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as e:
            usage_fail(e)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Remember the command being run (the innermost one, for ``discover judge``): its flags name the fix."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            ctx.meta[_COMMAND] = command
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:  # typer.Context (its base is typer's own click)
        words = _WarningsInCliWords(ctx)
        for handler in logging.getLogger().handlers:
            handler.addFilter(words)
        try:
            return super().invoke(ctx)
        except MiraError as e:
            fail(library_error_line(e, ctx.meta.get(_COMMAND)))
        except UsageError as e:  # a subcommand's missing option, bad value or unknown option
            usage_fail(e)
        finally:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(words)


class _WarningsInCliWords(logging.Filter):
    """The library's warnings in the words of the command run, like its errors (``min_support=`` →
    ``--min-support``)."""

    def __init__(self, ctx: Any):
        super().__init__()
        self.ctx = ctx

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("mira_hf") and record.levelno >= logging.WARNING:
            record.msg, record.args = cli_words(record.getMessage(), self.ctx.meta.get(_COMMAND)), None
        return True


_COMMAND = "mira_hf.command"
#: ``name=`` or ``name=value`` in a library message (not ``a==b``, ``x.y=``, ``?q=`` nor a quoted ``'k=v'``).
_PYTHON_PARAMETER = re.compile(r"(?<![\w.\-'\"?&/=])([a-z_][a-z0-9_]*)=(?!=)('[^']*'|\"[^\"]*\"|[\w.+\-]+)?")


def command_flags(command: Any) -> dict[str, TyperOption]:
    """The options of ``command`` by their Python name (``token_column`` → its ``--token-column`` option)."""
    params = command.params if command is not None else []
    return {p.name: p for p in params if isinstance(p, TyperOption) and p.name and _long(p.opts)}


def _long(opts: list[str]) -> Optional[str]:
    return next((o for o in opts if o.startswith("--")), None)


def cli_words(message: str, command: Any) -> str:
    """A library message in the words of ``command``: each ``name=`` of one of its options becomes the flag.

    ``pass bootstrap= (e.g. bootstrap=1000)`` → ``pass --bootstrap (e.g. --bootstrap 1000)``; ``mask_by='bound'``
    → ``--mask-by bound``; ``structured=False`` → ``--no-structured``; ``name=None`` → ``--name ''``. A name the
    command has no option for is left as it is.
    """
    flags = command_flags(command)

    def swap(match: re.Match[str]) -> str:
        option = flags.get(match.group(1))
        if option is None:
            return match.group(0)
        flag, value = _long(option.opts), match.group(2)
        if value is None:
            return f"{flag}"
        if value in ("True", "False") and option.is_flag:
            off = _long(option.secondary_opts)
            return f"{flag}" if value == "True" or off is None else off
        if value == "None":
            value = "''"
        elif re.fullmatch(r"\d[\d_]*(\.\d+)?", value):  # 25_000_000 is Python's; the flags read 25000000
            value = value.replace("_", "")
        elif value[0] in "'\"":
            value = value[1:-1] if " " not in value else value
        return f"{flag} {value}"

    return _PYTHON_PARAMETER.sub(swap, message)


def library_error_line(e: MiraError, command: Any) -> str:
    """The ``error:`` line of a library error: its CLI words (``e.cli``, else the message with flags for
    ``name=``) and its code, e.g. ``… pass --bootstrap (e.g. --bootstrap 1000) [MIRA-E201]``."""
    text = "; ".join(line.strip() for line in (e.cli if e.cli is not None else str(e)).splitlines() if line.strip())
    return f"{cli_words(text, command)} [{e.code}]"  # one line, whatever the message holds


def usage_fail(e: UsageError) -> NoReturn:
    """A click usage mistake (missing option, bad value, unknown option) as one ``error:`` line, exit 2."""
    if isinstance(e, NoArgsIsHelpError):  # `mira-hf` alone: the help, not an error
        raise e
    message = " ".join(e.format_message().split()).rstrip(".")
    what = getattr(e.param, "help", None) if isinstance(e, MissingParameter) else None
    if what:
        message += f": {what.rstrip('.')}"
    path = e.ctx.command_path if e.ctx is not None else "mira-hf"
    fail(f"{message}; see '{path} --help'")


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
CpuOption = Annotated[
    bool,
    typer.Option(
        "--cpu",
        rich_help_panel=ENGINE_PANEL,
        help="No GPU: score with the demo's tiny random-weight model on the CPU (the pipeline runs for real; "
        "the scores are meaningless).",
    ),
]
TrustRemoteCodeOption = Annotated[
    bool,
    typer.Option(
        "--trust-remote-code",
        rich_help_panel=ENGINE_PANEL,
        help="Run Python code from the model's repository when loading it (off unless asked, or "
        "MIRA_TRUST_REMOTE_CODE=1; on for the card's scorer). Read that code first.",
    ),
]

#: The engine and sampling options passed to `Scorer` as they are (when given).
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
