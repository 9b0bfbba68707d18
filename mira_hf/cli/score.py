"""``mira-hf score``, ``inspect`` and ``merge``: scoring a dataset, looking at what the scorer reads, joining shards.

``score`` parses its options into a `ScoreJob` and runs it
(`run_score_job`); ``inspect`` calls `inspect`;
``merge`` calls `merge_shards`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mira_hf.cli._shared import (
    SCORER_SETTINGS,
    AnswerBudgetOption,
    ApiKeyOption,
    BaseUrlOption,
    CpuOption,
    DataArgument,
    DtypeOption,
    EngineKwargOption,
    EngineOption,
    GpuMemoryUtilizationOption,
    MaxInFlightOption,
    MaxModelLenOption,
    MaxNumBatchedTokensOption,
    MaxRationaleCharsOption,
    MaxTokensOption,
    ModelOption,
    NOption,
    PromptOption,
    RecordFormatOption,
    RevisionOption,
    RubricOption,
    SeedOption,
    SplitOption,
    StructuredOption,
    TemperatureOption,
    TensorParallelSizeOption,
    TextColumnOption,
    TopPOption,
    TrustRemoteCodeOption,
    fail,
    key_values,
)
from mira_hf.config import ScorerConfig
from mira_hf.io import check_source, load_any


def score(
    data: DataArgument,
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder to write the scored dataset (save_to_disk); not with --estimate."
    ),
    split: str = typer.Option("train", help="Split to score."),
    text_column: TextColumnOption = None,
    record_format: RecordFormatOption = None,
    source_column: Optional[str] = typer.Option(
        None, envvar="MIRA_SOURCE_COLUMN", help="Source column, checked to exist."
    ),
    id_column: Optional[str] = typer.Option(None, envvar="MIRA_ID_COLUMN", help="Id column, checked to exist."),
    model: ModelOption = None,
    revision: RevisionOption = None,
    rubric: RubricOption = None,
    prompt: PromptOption = None,
    engine: EngineOption = "vllm",
    base_url: BaseUrlOption = None,
    api_key: ApiKeyOption = None,
    tensor_parallel_size: TensorParallelSizeOption = None,
    dtype: DtypeOption = None,
    max_model_len: MaxModelLenOption = None,
    max_num_batched_tokens: MaxNumBatchedTokensOption = None,
    gpu_memory_utilization: GpuMemoryUtilizationOption = None,
    max_in_flight: MaxInFlightOption = None,
    max_tokens: MaxTokensOption = None,
    temperature: TemperatureOption = None,
    top_p: TopPOption = None,
    seed: SeedOption = None,
    n: NOption = None,
    structured: StructuredOption = None,
    max_rationale_chars: MaxRationaleCharsOption = None,
    engine_kwarg: EngineKwargOption = None,
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
    cpu: CpuOption = False,
    trust_remote_code: TrustRemoteCodeOption = False,
) -> None:
    """Score every record with the MIRA scorer; rerun the same command to resume after a crash.

    Engine and sampling options default to the model card's settings; each also reads its MIRA_* variable.
    """
    from rich.console import Console

    from mira_hf.scoring.job import ScoreJob, estimate_job, run_score_job, status_table

    given = dict(locals())
    if (shard is None) != (num_shards is None):
        fail("--shard and --num-shards go together, e.g. --shard 3 --num-shards 16")
    if output is None and not estimate:
        fail("give --output/-o FOLDER for the scored dataset (or --estimate to only print what scoring would take)")
    from mira_hf._util.logs import quiet_datasets

    quiet_datasets()
    ds = load_any(data, split)
    settings = {k: given[k] for k in SCORER_SETTINGS if given[k] is not None}
    urls = [u for item in base_url or [] for u in item.replace(",", " ").split()]  # MIRA_BASE_URL: a,b
    settings.update(engine=engine, base_url=urls or None, api_key=api_key)
    if engine_kwarg:
        settings["engine_kwargs"] = key_values(engine_kwarg, "--engine-kwarg")
    if trust_remote_code:
        settings["trust_remote_code"] = True
    if cpu:  # the demo's tiny model and engine settings, built beside the output; says its scores mean nothing
        from mira_hf.demo import CPU_WARNING, cpu_score_settings

        typer.secho(CPU_WARNING, fg=typer.colors.YELLOW, err=True)
        settings.update(cpu_score_settings(Path(f"{output if output is not None else 'estimate'}.tiny-model")))
        model = settings.pop("model")
    job = ScoreJob(
        output if output is not None else Path("estimate"),  # --estimate writes nothing, there or anywhere
        model=model,
        settings=settings,
        cache_dir=cache_dir,
        batch_size=batch_size,
        stream=stream,
        shard=None if shard is None or num_shards is None else (shard, num_shards),
    )
    if estimate:
        for line in estimate_job(ds, job, records_per_s=records_per_s, gpus=gpus):
            typer.echo(line)
        return
    result = run_score_job(ds, job, say=lambda line: typer.echo(line, err=True))
    Console(stderr=True).print(status_table(result.scored))
    typer.echo(f"wrote {len(result.scored):,} rows to {result.out_path}")


def inspect(
    data: str = typer.Argument(..., help="Hub dataset name, data file, save_to_disk folder, or .traj file(s)."),
    split: SplitOption = "train",
    text_column: TextColumnOption = None,
    record_format: RecordFormatOption = None,
    id_column: Optional[str] = typer.Option(None, help="Column shown beside listed rows (default: id / instance_id)."),
    n: int = typer.Option(0, "--n", help="Rendered samples to print (none by default)."),
    sample: Optional[int] = typer.Option(None, help="Inspect this many random rows (seeded) instead of all."),
    model: ModelOption = None,
    revision: RevisionOption = None,
    tokenizer: Optional[str] = typer.Option(
        None,
        help="Tokenizer (name or folder) to count prompt tokens exactly (default: the model's, when it is on this "
        "machine or the Hub answers); without one, lengths are estimated at 4 bytes per token, as --estimate does.",
    ),
    max_model_len: int = typer.Option(
        ScorerConfig().max_model_len, envvar="MIRA_MAX_MODEL_LEN", help="Context length of the scorer."
    ),
    max_tokens: AnswerBudgetOption = ScorerConfig().max_tokens,
    rubric: str = typer.Option("agent-group4", envvar="MIRA_RUBRIC", help="Rubric name or *_dim_anchors.jsonl path."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the numbers as JSON."),
    prompt: Optional[str] = typer.Option(None, envvar="MIRA_PROMPT", help="Prompt template (default: built-in)."),
) -> None:
    """What the scorer will read, without an engine: formats, rejected rows, coverage, prompt lengths, samples."""
    from rich.console import Console

    from mira_hf._util.logs import quiet_datasets
    from mira_hf.prompting.inspection import check_record_format
    from mira_hf.prompting.inspection import inspect as run_inspect

    check_record_format(record_format)  # one error before the data is read, not one rejected row per record
    check_source(data)  # a mistyped name fails at once, before datasets is even imported
    quiet_datasets()

    result = run_inspect(
        load_any(data, split),
        text_column=text_column,
        record_format=record_format,
        id_column=id_column,
        n=n,
        sample=sample,
        tokenizer=tokenizer,
        model=model or ScorerConfig().model,  # the tokenizer `score --estimate` counts with
        revision=revision,
        max_model_len=max_model_len,
        max_tokens=max_tokens,
        rubric=rubric,
        prompt=prompt,
    )
    Console().print(result)  # the summary comes last, where the terminal stops
    if json_out is not None:
        result.save(json_out)
        typer.echo(f"wrote {json_out}", err=True)


def merge(
    folder: Path = typer.Argument(..., help="The --output folder of a sharded score run."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to save the merged dataset."),
) -> None:
    """Join the shards of a job array back into one dataset, in the original order."""
    from mira_hf.scoring.sharding import merge_shards

    merged = merge_shards(folder)
    merged.save_to_disk(str(output))
    typer.echo(f"merged {len(merged):,} rows into {output}")
