"""``mira-hf``: the pipeline from the command line — score, merge, agree, select, report, demo.

Every command is a thin layer over the Python API; errors print one line with the fix and exit non-zero.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf._version import __version__
from mira_hf.config import ScorerConfig
from mira_hf.defaults import CARD_GPU_MEMORY_UTILIZATION, CARD_TENSOR_PARALLEL_SIZE
from mira_hf.io import load_any

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="MIRA data selection for Hugging Face datasets: score, agree, select, report.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mira-hf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log progress details, and every vLLM line (without it: warnings)."
    ),
) -> None:
    from mira_hf._util.logs import set_verbosity

    set_verbosity(verbose)  # before any engine starts: vLLM's workers inherit the level


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _print_statuses(ds) -> None:
    import pyarrow.compute as pc
    from rich.console import Console
    from rich.table import Table

    from mira_hf._util.arrow import rows_column

    counts = pc.value_counts(rows_column(ds, "mira_status")).to_pylist()
    table = Table(title=f"mira_status over {len(ds):,} rows")
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for item in sorted(counts, key=lambda c: -c["counts"]):
        table.add_row(str(item["values"]), f"{item['counts']:,}", f"{item['counts'] / max(len(ds), 1):.1%}")
    Console(stderr=True).print(table)


def _key_values(items: list[str], flag: str) -> dict[str, Any]:
    """``["timeout=600", "enforce_eager=true"]`` → ``{"timeout": 600, "enforce_eager": True}`` (JSON values,
    else the text)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"{flag} {item!r} is not KEY=VALUE; e.g. {flag} timeout=600")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


_SCORE_SETTINGS = (
    "revision",
    "rubric",
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
_SCORE_SETTINGS += ("prompt",)
_ENGINE = "Engine (defaults: the model card's)"
_RECORD_FORMAT_HELP = (
    "Read every record as this shape instead of detecting it: openai, nebius, sharegpt, openhands, "
    "openhands_v1, swe_agent, mini_swe_agent, generic, text."
)
_D = ScorerConfig()  # the defaults shown in --help are the ones the Scorer uses


@app.command()
def score(
    data: str = typer.Argument(..., help="Hub dataset name, local data file, or save_to_disk folder."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the scored dataset (save_to_disk)."),
    split: str = typer.Option("train", help="Split to score."),
    text_column: Optional[str] = typer.Option(
        None, envvar="MIRA_TEXT_COLUMN", help="Record column (detected when omitted)."
    ),
    record_format: Optional[str] = typer.Option(None, envvar="MIRA_RECORD_FORMAT", help=_RECORD_FORMAT_HELP),
    source_column: Optional[str] = typer.Option(
        None, envvar="MIRA_SOURCE_COLUMN", help="Source column, checked to exist."
    ),
    id_column: Optional[str] = typer.Option(None, envvar="MIRA_ID_COLUMN", help="Id column, checked to exist."),
    model: Optional[str] = typer.Option(
        None,
        envvar="MIRA_MODEL",
        rich_help_panel=_ENGINE,
        help=f"Scorer model, a Hub name or local folder (default: {_D.model}).",
    ),
    revision: Optional[str] = typer.Option(
        None, envvar="MIRA_REVISION", rich_help_panel=_ENGINE, help="Model revision (branch, tag or commit)."
    ),
    rubric: Optional[str] = typer.Option(
        None,
        envvar="MIRA_RUBRIC",
        rich_help_panel=_ENGINE,
        help=f"Rubric name or *_dim_anchors.jsonl path (default: {_D.rubric}).",
    ),
    prompt: Optional[str] = typer.Option(
        None,
        envvar="MIRA_PROMPT",
        rich_help_panel=_ENGINE,
        help="Jinja2 prompt template file (system and user blocks; default: built-in).",
    ),
    engine: str = typer.Option(
        "vllm",
        envvar="MIRA_ENGINE",
        rich_help_panel=_ENGINE,
        help="'vllm' (in-process) or 'openai' (servers at --base-url).",
    ),
    base_url: Optional[list[str]] = typer.Option(
        None,
        envvar="MIRA_BASE_URL",
        rich_help_panel=_ENGINE,
        help="OpenAI-compatible endpoint(s); repeat for a pool (the variable takes them comma-separated).",
    ),
    api_key: Optional[str] = typer.Option(
        None,
        envvar="MIRA_API_KEY",
        show_default=False,
        rich_help_panel=_ENGINE,
        help="Key for --base-url servers (never logged); also OPENAI_API_KEY.",
    ),
    tensor_parallel_size: Optional[int] = typer.Option(
        None,
        envvar="MIRA_TENSOR_PARALLEL_SIZE",
        rich_help_panel=_ENGINE,
        help=f"GPUs per engine (default: {CARD_TENSOR_PARALLEL_SIZE}, or the visible GPUs).",
    ),
    dtype: Optional[str] = typer.Option(
        None, envvar="MIRA_DTYPE", rich_help_panel=_ENGINE, help=f"Weights dtype (default: {_D.dtype})."
    ),
    max_model_len: Optional[int] = typer.Option(
        None,
        envvar="MIRA_MAX_MODEL_LEN",
        rich_help_panel=_ENGINE,
        help=f"Context length; longer records are shortened (default: {_D.max_model_len}).",
    ),
    max_num_batched_tokens: Optional[int] = typer.Option(
        None,
        envvar="MIRA_MAX_NUM_BATCHED_TOKENS",
        rich_help_panel=_ENGINE,
        help=f"Tokens per engine step (default: {_D.max_num_batched_tokens}).",
    ),
    gpu_memory_utilization: Optional[float] = typer.Option(
        None,
        envvar="MIRA_GPU_MEMORY_UTILIZATION",
        rich_help_panel=_ENGINE,
        help=f"GPU memory share for the engine (default: {CARD_GPU_MEMORY_UTILIZATION}).",
    ),
    max_in_flight: Optional[int] = typer.Option(
        None,
        envvar="MIRA_MAX_IN_FLIGHT",
        rich_help_panel=_ENGINE,
        help=f"Requests in flight per --base-url server (default: {_D.max_in_flight}).",
    ),
    max_tokens: Optional[int] = typer.Option(
        None, envvar="MIRA_MAX_TOKENS", rich_help_panel="Sampling", help=f"Answer budget (default: {_D.max_tokens})."
    ),
    temperature: Optional[float] = typer.Option(
        None,
        envvar="MIRA_TEMPERATURE",
        rich_help_panel="Sampling",
        help=f"Sampling temperature (default: {_D.temperature}).",
    ),
    top_p: Optional[float] = typer.Option(
        None, envvar="MIRA_TOP_P", rich_help_panel="Sampling", help=f"Nucleus sampling (default: {_D.top_p})."
    ),
    seed: Optional[int] = typer.Option(
        None, envvar="MIRA_SEED", rich_help_panel="Sampling", help=f"Sampling seed (default: {_D.seed})."
    ),
    n: Optional[int] = typer.Option(
        None,
        envvar="MIRA_N",
        rich_help_panel="Sampling",
        help=f"Samples per record, averaged (self-consistency) (default: {_D.n}).",
    ),
    structured: Optional[bool] = typer.Option(
        None,
        "--structured/--no-structured",
        envvar="MIRA_STRUCTURED",
        show_default=False,
        rich_help_panel="Sampling",
        help="Constrain the answer to the output template (default: on).",
    ),
    max_rationale_chars: Optional[int] = typer.Option(
        None,
        envvar="MIRA_MAX_RATIONALE_CHARS",
        rich_help_panel="Sampling",
        help="Cap each rationale (structured output only).",
    ),
    engine_kwarg: Optional[list[str]] = typer.Option(
        None,
        rich_help_panel=_ENGINE,
        metavar="KEY=VALUE",
        help="Extra engine setting, repeatable: for --base-url servers timeout, max_retries, backoff_base, "
        "backoff_max, eject_after, probe_interval; for vllm any vllm.LLM argument (e.g. enforce_eager=true).",
    ),
    batch_size: int = typer.Option(
        512, help="Rows per engine call with --no-stream; rows per read of the store when streaming."
    ),
    stream: bool = typer.Option(
        True,
        "--stream/--no-stream",
        envvar="MIRA_STREAM",
        help="Keep the engine fed across batches (streaming), or score batch by batch.",
    ),
    estimate: bool = typer.Option(
        False,
        "--estimate",
        help="Print the expected tokens, shortened rows and GPU-hours from a sample, and score nothing.",
    ),
    records_per_s: Optional[float] = typer.Option(
        None,
        help="Records/s per GPU for --estimate (default: a saved "
        "GPU benchmark run, else the published ~3 on one H200).",
    ),
    gpus: int = typer.Option(1, help="GPUs of the run, for --estimate's wall hours."),
    cache_dir: Optional[Path] = typer.Option(
        None, envvar="MIRA_CACHE_DIR", help="Per-row resume store (default: <output>.cache)."
    ),
    shard: Optional[int] = typer.Option(None, help="This job's shard index (with --num-shards)."),
    num_shards: Optional[int] = typer.Option(None, help="Number of shards in the job array."),
) -> None:
    """Score every record with the MIRA scorer; rerun the same command to resume after a crash.

    Engine and sampling options default to the model card's settings; each also reads its MIRA_* variable.
    """
    from mira_hf.errors import MiraError
    from mira_hf.scoring.scorer import Scorer

    if (shard is None) != (num_shards is None):
        _fail("--shard and --num-shards go together, e.g. --shard 3 --num-shards 16")
    given = dict(locals())
    try:
        ds = load_any(data, split)
        out_path = output
        if shard is not None:
            from mira_hf.scoring.sharding import shard as take_shard
            from mira_hf.scoring.sharding import shard_path

            ds = take_shard(ds, shard, num_shards)
            out_path = shard_path(output, shard, num_shards)
        kwargs: dict[str, Any] = {k: given[k] for k in _SCORE_SETTINGS if given[k] is not None}
        urls = [u for item in base_url or [] for u in item.replace(",", " ").split()]  # MIRA_BASE_URL: a,b
        kwargs.update(
            engine=engine,
            base_url=urls or None,
            api_key=api_key,
            cache_dir=str(cache_dir or Path(str(output) + ".cache")),
        )
        if engine_kwarg:
            kwargs["engine_kwargs"] = _key_values(engine_kwarg, "--engine-kwarg")
        scorer = Scorer(model, **kwargs)
        if estimate:
            for line in scorer.estimate(ds, records_per_s=records_per_s, gpus=gpus).lines():
                typer.echo(line)
            return
        import datasets

        from mira_hf._util.progress import ScoreProgress

        scorer.progress = ScoreProgress(total=len(ds), desc="scoring")  # rows, tokens/s, errors, ETA
        datasets.disable_progress_bars()  # our bar and summary, not one bar per datasets step
        try:
            try:  # the resume store, not datasets' cache file, decides what is scored again (and is counted)
                if stream:
                    from mira_hf.scoring.streaming import score_dataset

                    scored = score_dataset(ds, scorer, batch_size=batch_size, load_from_cache_file=False)
                else:
                    scored = ds.map(scorer, batched=True, batch_size=batch_size, load_from_cache_file=False)
            finally:
                scorer.progress.close()
            if shard is not None:
                from mira_hf.scoring.sharding import write_shard

                write_shard(scored, output, shard, num_shards)  # atomic: a killed task leaves no half file
            else:
                scored.save_to_disk(str(out_path))
        finally:
            datasets.enable_progress_bars()
        typer.echo(scorer.progress.summary_line(), err=True)
    except MiraError as e:
        _fail(str(e))
    _print_statuses(scored)
    typer.echo(f"wrote {len(scored):,} rows to {out_path}")


@app.command("inspect")
def inspect_cmd(
    data: str = typer.Argument(..., help="Hub dataset name, data file, save_to_disk folder, or .traj file(s)."),
    split: str = typer.Option("train", help="Split to read."),
    text_column: Optional[str] = typer.Option(
        None, envvar="MIRA_TEXT_COLUMN", help="Record column (detected when omitted)."
    ),
    record_format: Optional[str] = typer.Option(None, envvar="MIRA_RECORD_FORMAT", help=_RECORD_FORMAT_HELP),
    id_column: Optional[str] = typer.Option(None, help="Column shown beside listed rows (default: id / instance_id)."),
    n: int = typer.Option(5, "--n", help="Rendered samples to print."),
    sample: Optional[int] = typer.Option(None, help="Inspect this many random rows (seeded) instead of all."),
    tokenizer: Optional[str] = typer.Option(
        None,
        help="Tokenizer (name or folder) to count prompt tokens exactly; "
        "without it lengths are estimated at 4 bytes per token.",
    ),
    max_model_len: int = typer.Option(
        ScorerConfig().max_model_len, envvar="MIRA_MAX_MODEL_LEN", help="Context length of the scorer."
    ),
    max_tokens: int = typer.Option(ScorerConfig().max_tokens, envvar="MIRA_MAX_TOKENS", help="Answer budget."),
    rubric: str = typer.Option("agent-group4", envvar="MIRA_RUBRIC", help="Rubric name or *_dim_anchors.jsonl path."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the numbers as JSON."),
    prompt: Optional[str] = typer.Option(None, envvar="MIRA_PROMPT", help="Prompt template (default: built-in)."),
) -> None:
    """What the scorer will read, without an engine: formats, rejected rows, coverage, prompt lengths, samples."""
    from mira_hf.errors import MiraError
    from mira_hf.prompting.inspection import inspect as run_inspect

    try:
        ds = load_any(data, split)
        result = run_inspect(
            ds,
            text_column=text_column,
            record_format=record_format,
            id_column=id_column,
            n=n,
            sample=sample,
            tokenizer=tokenizer,
            max_model_len=max_model_len,
            max_tokens=max_tokens,
            rubric=rubric,
            prompt=prompt,
        )
    except MiraError as e:
        _fail(str(e))
    from rich.console import Console

    Console().print(result)
    if json_out is not None:
        result.save(json_out)
        typer.echo(f"wrote {json_out}", err=True)


@app.command()
def merge(
    folder: Path = typer.Argument(..., help="The --output folder of a sharded score run."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to save the merged dataset."),
) -> None:
    """Join the shards of a job array back into one dataset, in the original order."""
    from mira_hf.errors import MiraError
    from mira_hf.scoring.sharding import merge_shards

    try:
        merged = merge_shards(folder)
    except MiraError as e:
        _fail(str(e))
    merged.save_to_disk(str(output))
    typer.echo(f"merged {len(merged):,} rows into {output}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.secho("interrupted: rerun the same command to resume", err=True)
        sys.exit(130)


@app.command()
def agree(
    data: str = typer.Argument(..., help="Dataset with student and teacher score columns."),
    student_column: str = typer.Option("mira_scores", help="Student scores (list per row)."),
    teacher_column: str = typer.Option("teacher_scores", help="Teacher scores (list per row)."),
    source_column: Optional[str] = typer.Option("source", help="Source column ('' for one mask for all)."),
    split: str = typer.Option("train", help="Split to read (for a Hub dataset or a DatasetDict folder)."),
    mae_max: Optional[float] = typer.Option(None, help="A cell is reliable when MAE ≤ this."),
    spearman_min: Optional[float] = typer.Option(None, help="…and Spearman ρ ≥ this."),
    min_support: Optional[int] = typer.Option(None, help="…with at least this many rows."),
    bootstrap: int = typer.Option(0, help="Bootstrap resamples for MAE and ρ intervals per cell (0 = none)."),
    confidence: float = typer.Option(0.95, help="Level of the bootstrap intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    mask_by: str = typer.Option(
        "point",
        help="point | bound: judge cells by the estimates or the interval's pessimistic bound (needs --bootstrap).",
    ),
    status_column: Optional[str] = typer.Option(
        "mira_status", help="Student parse status per row, for the parse failures per cell ('' to skip)."
    ),
    output: Path = typer.Option(Path("reliability.json"), "--output", "-o", help="Where to write the mask JSON."),
    heatmap: Optional[Path] = typer.Option(None, help="Also save the reliability heatmap (PNG or SVG)."),
) -> None:
    """Teacher–student agreement per source × dimension, and the reliability mask."""
    from mira_hf.errors import MiraError
    from mira_hf.reliability import Reliability
    from mira_hf.reliability import agreement as compute

    try:
        ds = load_any(data, split)
        for col in (student_column, teacher_column, source_column):
            if col and col not in ds.column_names:
                _fail(f"column {col!r} is not in the dataset; its columns are {ds.column_names}")
        kwargs = {
            k: v
            for k, v in dict(mae_max=mae_max, spearman_min=spearman_min, min_support=min_support).items()
            if v is not None
        }
        from mira_hf._util.arrow import rows_column

        statuses = rows_column(ds, status_column) if status_column and status_column in ds.column_names else None
        result = compute(
            rows_column(ds, student_column),
            rows_column(ds, teacher_column),
            sources=rows_column(ds, source_column) if source_column else None,
            statuses=statuses,
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
            mask_by=mask_by,  # type: ignore[arg-type]
            **kwargs,
        )
        reliability = Reliability.from_result(result)
        reliability.save(output)
        if heatmap:
            from mira_hf.report.heatmap import plot_reliability

            plot_reliability(result, path=heatmap)
    except MiraError as e:
        _fail(str(e))
    _print_agreement(result)
    typer.echo(f"wrote the mask to {output}")


def _print_agreement(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    bound = f" (bounds of the {result['confidence']:.0%} intervals)" if result.get("bootstrap") else ""
    table = Table(title=f"reliable dimensions per source (✓) — MAE / ρ{bound}")
    table.add_column("dimension")
    sources = list(result["mask"])
    for s in sources:
        table.add_column(s, justify="center")
    for j, name in enumerate(result["dimensions"]):
        cells = []
        for s in sources:
            stats = result["by_source"].get(s, result) if s != "*" else result
            mae, rho = stats["mae"][j], stats["spearman"][j]
            mark = "✓" if result["mask"][s][j] else "·"
            text = f"{mark} {mae:.2f} / {rho:.2f}" if mae is not None and rho is not None else f"{mark} n/a"
            if stats.get("mae_high") and stats["mae_high"][j] is not None and stats["spearman_low"][j] is not None:
                text += f" (≤{stats['mae_high'][j]:.2f} / ≥{stats['spearman_low'][j]:.2f})"
            cells.append(text)
        table.add_row(name, *cells)
    Console(stderr=True).print(table)


def _retention_spec(retention: Optional[str], retention_file: Optional[Path]) -> Any:
    if retention_file is not None:
        import yaml

        if not retention_file.is_file():
            _fail(
                f"--retention-file {retention_file} does not exist; write a YAML/JSON file such as "
                "'agent_openhands: 0.5' (one line per source)"
            )
        try:
            return yaml.safe_load(retention_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            _fail(
                f"--retention-file {retention_file} is not valid YAML/JSON ({' '.join(str(e).split())}); "
                "write e.g. 'agent_openhands: 0.5' and 'swe_qa: {min_score: 6}', one line per source"
            )
    if retention is None:
        _fail(
            'give --retention (e.g. 0.5, or \'{"agent_openhands": 0.5, "swe_qa": {"min_score": 6}}\') '
            "or --retention-file spec.yaml"
        )
    return _number_or_json(retention, "--retention", "0.5")


def _number_or_json(text: str, flag: str, example: str) -> Any:
    """A flag's value read as JSON (a number is JSON); otherwise one error line with an example."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        _fail(f"{flag} {text!r} is neither a number nor JSON; e.g. {flag} {example}")


@app.command()
def select(
    data: str = typer.Argument(..., help="Scored dataset (save_to_disk folder or data file)."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder for the kept rows (save_to_disk); not with --preview."
    ),
    mask: Optional[Path] = typer.Option(None, help="Reliability JSON from `mira-hf agree` (adds mira_quality)."),
    retention: Optional[str] = typer.Option(None, help="Fraction, or JSON per source/group."),
    retention_file: Optional[Path] = typer.Option(None, help="YAML/JSON retention spec."),
    by: str = typer.Option("source", help="source | group | global"),
    source_column: str = typer.Option("source", help="Column naming each row's source."),
    score_column: str = typer.Option("mira_quality", help="Score to rank by (added by --mask)."),
    token_column: Optional[str] = typer.Option(None, help="Token counts, for token-budget retention."),
    id_column: Optional[str] = typer.Option(
        None,
        help="Ties at a cut and Gumbel noise follow a hash of this column "
        "(default: id, when there is one; '' for row order).",
    ),
    default: Optional[str] = typer.Option(
        None, help="Rule for sources the spec does not name: a fraction or JSON, e.g. 0.3 or '{\"min_score\": 6}'."
    ),
    drop_recommendation: Optional[list[str]] = typer.Option(
        None, help="Never keep rows whose mira_recommendation is this (repeatable), e.g. drop."
    ),
    split: str = typer.Option("train", help="Split to read (for a Hub dataset or a DatasetDict folder)."),
    sampling: str = typer.Option("cut", help="cut (keep the best) | gumbel (sample ∝ exp(score / temperature))."),
    temperature: str = typer.Option(
        "1.0", help="τ of --sampling gumbel (0 = the cut); with --preview a list, e.g. 0,0.5,1."
    ),
    seed: int = typer.Option(0, help="Seed of --sampling gumbel (same seed, same rows)."),
    budget_tokens: Optional[str] = typer.Option(
        None,
        help="One token budget for the whole dataset, split by the "
        "sources' token shares (needs --token-column); with "
        "--preview a list.",
    ),
    preview: bool = typer.Option(
        False,
        "--preview",
        help="Print kept rows and tokens per source for each value of "
        "the listed option (--retention 0.1,0.5 or --temperature "
        "0,1,2 or --budget-tokens …) and write nothing.",
    ),
    push_to_hub: Optional[str] = typer.Option(
        None, rich_help_panel="Hub", help="Also push the selection to this Hub repo (org/name)."
    ),
    push_by: Optional[str] = typer.Option(
        None, rich_help_panel="Hub", help="'split' or 'config': one per source (default: one split)."
    ),
    private: bool = typer.Option(False, rich_help_panel="Hub", help="Create the Hub repo private."),
    revision: Optional[str] = typer.Option(None, rich_help_panel="Hub", help="Branch to push to (created if needed)."),
    create_pr: bool = typer.Option(False, rich_help_panel="Hub", help="Push everything as one pull request."),
    token: Optional[str] = typer.Option(
        None,
        envvar="HF_TOKEN",
        show_default=False,
        show_envvar=True,
        rich_help_panel="Hub",
        help="Hub write token (default: your `hf auth login`).",
    ),
) -> None:
    """Keep the best share of each source and write (or push) it with its dataset card.

    The spec file holds the rules per source (or per group), or 'retention:', 'groups:' and 'default:' keys.
    """
    from mira_hf.errors import MiraError
    from mira_hf.selection import filter_by_retention

    if preview and (push_to_hub or output is not None):
        _fail("--preview writes nothing; drop --output/-o and --push-to-hub")
    if not preview and output is None:
        _fail("give --output/-o FOLDER for the kept rows (or --preview to only print what would be kept)")
    temperatures = _number_list(temperature, "--temperature", "0.5")
    budgets = None if budget_tokens is None else _number_list(budget_tokens, "--budget-tokens", "25000000")
    if preview:
        _select_preview(
            data,
            retention,
            retention_file,
            mask=mask,
            by=by,
            source_column=source_column,
            score_column=score_column,
            token_column=token_column,
            default=default,
            drop_recommendation=drop_recommendation,
            split=split,
            sampling=sampling,
            temperatures=temperatures,
            seed=seed,
            budgets=budgets,
            id_column=id_column,
        )
        return
    if len(temperatures) > 1 or (budgets is not None and len(budgets) > 1):
        _fail("a list of --temperature or --budget-tokens values is for --preview; give one value to select")
    spec = (
        None
        if budgets is not None and retention is None and retention_file is None
        else _retention_spec(retention, retention_file)
    )
    groups = None
    if isinstance(spec, dict) and "retention" in spec:
        groups = spec.get("groups")
        default = default if default is not None else spec.get("default")
        spec = spec["retention"]
    if isinstance(default, str):
        default = _number_or_json(default, "--default", "0.3")
    try:
        ds = load_any(data, split)
        reliability = None
        if mask is not None:
            from mira_hf.reliability import Reliability, aggregate

            reliability = Reliability.load(mask)
            ds = aggregate(ds, mask=reliability, source_column=source_column)
        elif score_column not in ds.column_names:
            _fail(
                f"{data} has no {score_column!r} column; pass --mask reliability.json (from `mira-hf agree`) to "
                "compute it from mira_scores, or --score-column with the column to rank by"
            )
        kept, report = filter_by_retention(
            ds,
            retention=spec,
            by=by,
            groups=groups,
            source_column=source_column,
            score_column=score_column,
            token_column=token_column,
            id_column=id_column,
            reliability=reliability,
            default=default,
            sampling=sampling,  # type: ignore[arg-type]
            temperature=temperatures[0],
            seed=seed,
            budget_tokens=None if budgets is None else int(budgets[0]),
            drop_recommendation=drop_recommendation or None,
            push_to_hub=push_to_hub,
            push_by=push_by,
            private=private or None,
            revision=revision,
            create_pr=create_pr,
            token=token,
        )
        assert output is not None  # checked above
        kept.save_to_disk(str(output))
        report.save(output / "selection_report.json")
    except MiraError as e:
        _fail(str(e))
    typer.echo(str(report))
    typer.echo(f"kept {len(kept):,} of {len(ds):,} rows → {output}")


def _number_list(text: str, flag: str, example: str) -> list[float]:
    """``0.5`` or ``0,0.5,1`` → a list of numbers (one ``error:`` line otherwise)."""
    try:
        values = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        values = None
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        _fail(f"{flag} {text!r} is not a number or a comma-separated list of numbers; e.g. {flag} {example}")
    return values


def _select_preview(
    data: str,
    retention: Optional[str],
    retention_file: Optional[Path],
    *,
    mask: Optional[Path],
    by: str,
    source_column: str,
    score_column: str,
    token_column: Optional[str],
    default: Any,
    drop_recommendation: Optional[list[str]],
    split: str,
    sampling: str,
    temperatures: list[float],
    seed: int,
    budgets: Optional[list[float]],
    id_column: Optional[str] = None,
) -> None:
    """``select --preview``: the table of kept rows and tokens per source for each listed value; writes nothing."""
    from mira_hf.errors import MiraError
    from mira_hf.selection import preview

    retentions: list[Any] | None = None
    groups = None
    if retention_file is not None or (retention is not None and budgets is None):
        spec = _retention_spec(retention, retention_file) if retention_file is not None else None
        if spec is None:
            try:
                retentions = json.loads(f"[{retention}]")  # 0.1,0.25 or one JSON rule / mapping
            except json.JSONDecodeError:
                _fail(f"--retention {retention!r} is neither numbers nor JSON; e.g. --retention 0.1,0.25,0.5")
        else:
            if isinstance(spec, dict) and "retention" in spec:
                groups, default, spec = spec.get("groups"), default or spec.get("default"), spec["retention"]
            retentions = [spec]
    elif budgets is None:
        _fail("--preview needs --retention (e.g. 0.1,0.25,0.5), --retention-file or --budget-tokens")
    if isinstance(default, str):
        default = _number_or_json(default, "--default", "0.3")
    lists = {"retention": retentions, "budget": budgets, "temperature": temperatures if sampling == "gumbel" else None}
    varied = [k for k, v in lists.items() if v is not None and len(v) > 1]
    if len(varied) > 1:
        _fail(f"--preview varies one option; {' and '.join(varied)} both have several values")
    if len(temperatures) > 1 and sampling != "gumbel":
        varied = ["temperature"]
        sampling = "gumbel"
    key = varied[0] if varied else ("temperature" if sampling == "gumbel" else "budget" if budgets else "retention")
    options: dict[str, Any] = dict(
        by=by,
        groups=groups,
        source_column=source_column,
        score_column=score_column,
        token_column=token_column,
        default=default,
        seed=seed,
        id_column=id_column,
        drop_recommendation=drop_recommendation or None,
    )
    if key != "retention" and retentions is not None:
        options["retention"] = retentions[0]
    if key != "budget" and budgets is not None:
        options["budget_tokens"] = int(budgets[0])
    if key != "temperature":
        options.update(sampling=sampling, temperature=temperatures[0])
    try:
        ds = load_any(data, split)
        if mask is not None:
            from mira_hf.reliability import Reliability, aggregate

            ds = aggregate(ds, mask=Reliability.load(mask), source_column=source_column)
        elif score_column not in ds.column_names:
            _fail(
                f"{data} has no {score_column!r} column; pass --mask reliability.json (from `mira-hf agree`) or "
                "--score-column with the column to rank by"
            )
        values = {"retention": retentions, "budget": [int(b) for b in budgets or []], "temperature": temperatures}
        table = preview(ds, **{f"{key}s": values[key]}, **options)
    except MiraError as e:
        _fail(str(e))
    typer.echo(str(table))


@app.command()
def report(
    data: str = typer.Argument(..., help="Scored (and optionally aggregated) dataset."),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="Where to write the HTML file."),
    mask: Optional[Path] = typer.Option(None, help="Reliability JSON from `mira-hf agree`."),
    selection: Optional[Path] = typer.Option(None, help="selection_report.json from `mira-hf select`."),
    source_column: str = typer.Option("source", help="Column naming each row's source."),
    split: str = typer.Option("train", help="Split to read (for a Hub dataset or a DatasetDict folder)."),
) -> None:
    """Write one self-contained HTML report with the plots."""
    from mira_hf.errors import MiraError
    from mira_hf.report import build_report

    try:
        ds = load_any(data, split)
        reliability = None
        if mask is not None:
            from mira_hf.reliability import Reliability

            reliability = Reliability.load(mask)
        if selection is not None and not selection.is_file():
            _fail(f"--selection {selection} does not exist; pass the selection_report.json `mira-hf select` wrote")
        sel = json.loads(selection.read_text()) if selection else None
        path = build_report(ds, reliability=reliability, selection=sel, path=output, source_column=source_column)
    except MiraError as e:
        _fail(str(e))
    typer.echo(f"wrote {path}")


@app.command("install-metric")
def install_metric() -> None:
    """Install the `mira_agreement` metric where evaluate.load finds it offline."""
    from mira_hf._util.metric_install import install_metric as install
    from mira_hf.errors import MiraError

    try:
        path = install()
    except MiraError as e:
        _fail(str(e))
    typer.echo(f"installed mira_agreement at {path}")


@app.command()
def demo(
    out: Path = typer.Option(Path("mira-demo"), "--out", help="Output folder."),
    data: Optional[Path] = typer.Option(None, help="Example dataset (default: examples/data/trajectories.jsonl)."),
    cpu: Optional[bool] = typer.Option(None, "--cpu/--gpu", help="Force the CPU stand-in or the real scorer."),
) -> None:
    """Run the whole pipeline on the bundled example: score → agree → mask → select → report."""
    from rich.console import Console
    from rich.table import Table

    from mira_hf.demo import run_demo
    from mira_hf.errors import MiraError

    console = Console(stderr=True)
    try:
        result = run_demo(out, data=data, cpu=cpu, say=lambda m: console.print(f"[yellow]{m}[/yellow]", soft_wrap=True))
    except MiraError as e:
        _fail(str(e))
    _print_statuses(result.scored)
    table = Table(title="selection per source")
    for col in ("source", "rows", "kept", "cut score"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for name, stats in result.report.sources.items():
        cut = result.report.cuts.get(name)
        cut_score = getattr(cut, "cut_score", None) if cut is not None else None
        table.add_row(name, f"{stats.rows:,}", f"{stats.kept:,}", "—" if cut_score is None else f"{cut_score:.2f}")
    console.print(table)
    typer.echo(f"selected dataset: {result.selected_path}  (datasets.load_from_disk)")
    typer.echo(f"report:           {result.report_path}")


@app.command("run")
def run_cmd(
    plan: Path = typer.Argument(
        ..., help="The mixture plan (YAML): groups of sources, their scorers, rubrics, masks and retention."
    ),
    output: Path = typer.Option(Path("mixture-out"), "--output", "-o", help="Folder for every step's output."),
    force: Optional[list[str]] = typer.Option(
        None,
        help="Run this step and the later ones again (repeatable): score, masks, aggregate, select, report, or all.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the plan and the sources; say which steps would run; score nothing."
    ),
    batch_size: Optional[int] = typer.Option(
        None,
        help="Rows per batch when the scored rows are read back from "
        "the stores; scoring streams (default: the plan's).",
    ),
) -> None:
    """Run a whole mixture: score → masks → aggregate → select → report; a rerun skips unchanged steps."""
    from mira_hf.errors import MiraError
    from mira_hf.mixture.run import run_plan

    try:
        result = run_plan(
            plan, output, force=force, dry_run=dry_run, batch_size=batch_size, say=lambda m: typer.echo(m, err=True)
        )
    except MiraError as e:
        _fail(str(e))
    for step, state in result.steps.items():
        typer.echo(f"{step:<10} {state}")
    if not dry_run:
        typer.echo(f"selected: {result.selected_path}  report: {result.report_path}")


def _register_discover() -> None:
    from mira_hf.cli.discover import register

    register(app)


_register_discover()


@app.command()
def distill(
    data: str = typer.Argument(
        ...,
        help="The teacher-scored dataset (the --output of `mira-hf score` with the "
        "teacher's endpoint and the group's rubric), a folder or a Hub id.",
    ),
    rubric: str = typer.Option(..., "--rubric", envvar="MIRA_RUBRIC", help="The rubric the teacher scored with."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the train / held_out DatasetDict."),
    prompt: Optional[str] = typer.Option(None, envvar="MIRA_PROMPT", help="Prompt template the student will see."),
    held_out: float = typer.Option(0.2, "--held-out", help="Share of each source held out for agreement."),
    seed: int = typer.Option(0, help="Seed of the per-source split."),
    split: str = typer.Option("train", help="Split to read."),
    text_column: Optional[str] = typer.Option(
        None, envvar="MIRA_TEXT_COLUMN", help="Record column (detected as the scorer does when not given)."
    ),
    source_column: str = typer.Option("source", help="Source column ('' for one source)."),
    id_column: str = typer.Option("id", help="Id column ('' for row numbers)."),
    teacher_column: str = typer.Option("mira_raw", help="The teacher's answer text."),
    max_model_len: int = typer.Option(
        _D.max_model_len, envvar="MIRA_MAX_MODEL_LEN", help="The student's context length (the prompt budget)."
    ),
    max_tokens: int = typer.Option(_D.max_tokens, envvar="MIRA_MAX_TOKENS", help="Answer budget."),
    tokenizer: Optional[str] = typer.Option(
        None, help="The student's tokenizer (name or folder) for an exact token budget; UTF-8 bytes without it."
    ),
) -> None:
    """Build the distillation set: the student's prompts with the teacher's answers, split per source."""
    import json

    from mira_hf.distill import sft_dataset_and_summary
    from mira_hf.errors import MiraError

    try:
        ds = load_any(data, split)
        tok = None
        if tokenizer:
            from mira_hf._util.offline import load_tokenizer

            tok = load_tokenizer(tokenizer)
        sft, summary = sft_dataset_and_summary(
            ds,
            rubric=rubric,
            prompt=prompt,
            text_column=text_column,
            source_column=source_column or None,
            id_column=id_column or None,
            teacher_column=teacher_column,
            held_out=held_out,
            seed=seed,
            max_model_len=max_model_len,
            max_tokens=max_tokens,
            tokenizer=tok,
        )
    except MiraError as e:
        _fail(str(e))
    sft.save_to_disk(str(output))
    (output / "distill_summary.json").write_text(json.dumps(summary.model_dump(), indent=2) + "\n", encoding="utf-8")
    left = ", ".join(f"{k} {v}" for k, v in sorted(summary.left_out.items())) or "none"
    typer.echo(
        f"{summary.kept:,} of {summary.rows:,} rows kept (left out: {left}); "
        f"train {summary.train:,}, held_out {summary.held_out:,}, truncated {summary.truncated:,}"
    )
    typer.echo(f"wrote {output}  (datasets.load_from_disk; SFTTrainer(train_dataset=...['train']))")
