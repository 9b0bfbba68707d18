"""``mira-hf``: the pipeline from the command line — score, merge, agree, select, report, demo.

Every command is a thin layer over the Python API; errors print one line with the fix and exit non-zero.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="MIRA data selection for Hugging Face datasets: score, agree, select, report.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mira-hf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit."),
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_any(data: str, split: str = "train", data_files: Optional[list[str]] = None):
    """A dataset from a ``save_to_disk`` folder, data files (json/jsonl/parquet/csv), or a Hub name."""
    import datasets

    path = Path(data)
    if data_files:
        return datasets.load_dataset(data, data_files=data_files, split=split)
    if path.is_dir() and (path / "dataset_info.json").exists() or (path / "state.json").exists():
        loaded = datasets.load_from_disk(str(path))
        return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
    if path.is_file():
        kind = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}.get(path.suffix)
        if kind is None:
            raise typer.BadParameter(f"cannot tell the format of {data}: use .jsonl, .json, .parquet or .csv")
        return datasets.load_dataset(kind, data_files=str(path), split=split)
    if path.is_dir():
        from mira_hf.sharding import merge_shards

        return merge_shards(path)
    return datasets.load_dataset(data, split=split)


def _print_statuses(ds) -> None:
    from rich.console import Console
    from rich.table import Table

    import pyarrow.compute as pc

    counts = pc.value_counts(ds.data.column("mira_status")).to_pylist()
    table = Table(title=f"mira_status over {len(ds):,} rows")
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for item in sorted(counts, key=lambda c: -c["counts"]):
        table.add_row(str(item["values"]), f"{item['counts']:,}", f"{item['counts'] / max(len(ds), 1):.1%}")
    Console(stderr=True).print(table)


@app.command()
def score(
    data: str = typer.Argument(..., help="Hub dataset name, local data file, or save_to_disk folder."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the scored dataset (save_to_disk)."),
    split: str = typer.Option("train", help="Split to score."),
    text_column: Optional[str] = typer.Option(None, help="Record column (detected when omitted)."),
    source_column: Optional[str] = typer.Option(None, help="Source column, checked to exist."),
    id_column: Optional[str] = typer.Option(None, help="Id column, checked to exist."),
    model: Optional[str] = typer.Option(None, help="Scorer model (default: the card's, or MIRA_MODEL)."),
    engine: str = typer.Option("vllm", help="'vllm' (in-process) or 'openai' (servers at --base-url)."),
    base_url: Optional[list[str]] = typer.Option(None, help="OpenAI-compatible endpoint(s); repeat for a pool."),
    tensor_parallel_size: Optional[int] = typer.Option(None, help="GPUs per engine (default: card's 8, or visible)."),
    max_model_len: int = typer.Option(65536, help="Context length (card: 65,536)."),
    max_tokens: int = typer.Option(2048, help="Answer budget (card: 2,048)."),
    temperature: float = typer.Option(0.7, help="Sampling temperature (card: 0.7)."),
    seed: int = typer.Option(0, help="Sampling seed."),
    n: int = typer.Option(1, help="Samples per record (self-consistency)."),
    batch_size: int = typer.Option(512, help="Rows per engine call."),
    cache_dir: Optional[Path] = typer.Option(None, help="Per-row resume store (default: <output>.cache)."),
    shard: Optional[int] = typer.Option(None, help="This job's shard index (with --num-shards)."),
    num_shards: Optional[int] = typer.Option(None, help="Number of shards in the job array."),
) -> None:
    """Score every record with the MIRA scorer; rerun the same command to resume after a crash."""
    from mira_hf.errors import MiraError
    from mira_hf.scorer import Scorer

    try:
        ds = load_any(data, split)
        if (shard is None) != (num_shards is None):
            _fail("--shard and --num-shards go together, e.g. --shard 3 --num-shards 16")
        out_path = output
        if shard is not None:
            from mira_hf.sharding import shard as take_shard, shard_path

            ds = take_shard(ds, shard, num_shards)
            out_path = shard_path(output, shard, num_shards)
        kwargs: dict[str, Any] = dict(engine=engine, base_url=base_url or None, text_column=text_column,
                                      source_column=source_column, id_column=id_column,
                                      max_model_len=max_model_len, max_tokens=max_tokens, temperature=temperature,
                                      seed=seed, n=n, tensor_parallel_size=tensor_parallel_size,
                                      cache_dir=str(cache_dir or Path(str(output) + ".cache")))
        scorer = Scorer(model, **kwargs)
        scored = ds.map(scorer, batched=True, batch_size=batch_size, desc="Scoring")
        scored.save_to_disk(str(out_path))
    except MiraError as e:
        _fail(str(e))
    _print_statuses(scored)
    typer.echo(f"wrote {len(scored):,} rows to {out_path}")


@app.command()
def merge(folder: Path = typer.Argument(..., help="The --output folder of a sharded score run."),
          output: Path = typer.Option(..., "--output", "-o", help="Where to save the merged dataset.")) -> None:
    """Join the shards of a job array back into one dataset, in the original order."""
    from mira_hf.errors import MiraError
    from mira_hf.sharding import merge_shards

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
