"""The CLI of stage 1: ``mira-hf group-sources``, ``mira-hf discover judge`` and ``mira-hf discover cluster``.

Thin layers over `group_sources`, `judge` and
`cluster_dimensions`; errors print one line and exit non-zero
(`MiraGroup`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf._util.logs import quiet_datasets
from mira_hf.cli._shared import DataArgument, MiraGroup, SplitOption, TextColumnOption, fail
from mira_hf.io import load_any

discover_app = typer.Typer(
    cls=MiraGroup,  # records the subcommand run, whose flags name the fix of an error
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Discover a rubric for a new group: judge freely, then cluster into dimensions.",
)


def group_sources_cmd(
    data: DataArgument,
    k: int = typer.Option(..., "--k", help="How many groups."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the groups (JSON)."),
    split: SplitOption = "train",
    source_column: str = typer.Option("source", help="Source column."),
    text_column: TextColumnOption = None,
    embedder: str = typer.Option("tfidf", help="'tfidf', an OpenAI-compatible /v1 URL, or a model folder."),
    sample_per_source: int = typer.Option(200, help="Records embedded per source (0: all)."),
    seed: int = typer.Option(0, help="Seed of the sample and of KMeans."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw the similarity heatmap (.png/.svg/.pdf)."),
) -> None:
    """Group the sources of a corpus by their records (KMeans over embeddings) for per-group rubrics."""
    from rich.console import Console
    from rich.table import Table

    from mira_hf.discover.grouping import group_sources

    quiet_datasets()  # datasets' bars and warnings only with -v
    ds = load_any(data, split)
    groups = group_sources(
        ds,
        k,
        source_column=source_column,
        text_column=text_column,
        embedder=embedder,
        sample_per_source=sample_per_source or None,
        seed=seed,
    )
    groups.save(output)
    if plot is not None:
        groups.plot(plot)
    table = Table(title=f"{len(groups.sources)} sources in {k} groups")
    for col in ("group", "sources", "records", "intra_cosine", "members"):
        table.add_column(col)
    for row in groups.similarity:
        table.add_row(*(str(row[c]) for c in ("group", "sources", "records", "intra_cosine", "members")))
    Console().print(table)
    typer.echo(f"wrote {output}" + (f" and {plot}" if plot is not None else ""), err=True)


@discover_app.command("judge")
def judge_cmd(
    data: DataArgument,
    model: str = typer.Option(..., "--model", envvar="MIRA_TEACHER_MODEL", help="The teacher model's name."),
    base_url: list[str] = typer.Option(
        ...,
        "--base-url",
        envvar="MIRA_TEACHER_BASE_URL",
        help="OpenAI-compatible endpoint(s) of the teacher; repeat for a pool.",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the records and proposals (save_to_disk)."),
    split: SplitOption = "train",
    text_column: TextColumnOption = None,
    source_column: str = typer.Option("source", help="Source column."),
    id_column: str = typer.Option("id", help="Id column (row numbers when absent)."),
    api_key: Optional[str] = typer.Option(
        None, envvar="MIRA_API_KEY", show_default=False, help="Key for the teacher's servers (never logged)."
    ),
    structured: bool = typer.Option(
        True, "--structured/--free-text", help="Send the JSON schema as structured outputs, or parse free text."
    ),
    sample_per_source: int = typer.Option(0, help="Records judged per source (0: all)."),
    seed: int = typer.Option(0, help="Seed of the sample and of sampling."),
    max_in_flight: int = typer.Option(64, help="Requests in flight across the endpoints."),
    max_tokens: int = typer.Option(2048, help="Most tokens the teacher may answer with per record."),
    cache_dir: Optional[Path] = typer.Option(
        None, "--cache-dir", help="Per-row resume store: a rerun sends only unfinished rows."
    ),
) -> None:
    """Ask a teacher to propose its own dimensions (name, definition, 0-10 score, rationale) per record."""
    from mira_hf.discover.judging import judge

    quiet_datasets()  # datasets' bars and warnings only with -v
    ds = load_any(data, split)
    out = judge(
        ds,
        model=model,
        base_url=base_url,
        text_column=text_column,
        source_column=source_column,
        id_column=id_column,
        api_key=api_key,
        structured=structured,
        store=str(cache_dir) if cache_dir else None,
        sample_per_source=sample_per_source or None,
        seed=seed,
        max_in_flight=max_in_flight,
        max_tokens=max_tokens,
        progress=True,
    )
    out.save_to_disk(str(output))
    statuses = out["records"].to_pandas()["status"].value_counts().to_dict()
    typer.echo(
        f"judged {len(out['records']):,} records ({', '.join(f'{k} {v:,}' for k, v in statuses.items())}): "
        f"{len(out['proposals']):,} proposals in {output}"
    )


def load_proposals(path: Path) -> Any:
    """Proposals from a ``discover judge`` folder, a saved Dataset, or a JSON Lines file."""
    import datasets

    quiet_datasets()
    if path.is_file():
        if path.suffix.lower() not in (".jsonl", ".json"):
            fail(f"{path}: proposals are a `mira-hf discover judge` folder or a .jsonl file")
        return datasets.load_dataset("json", data_files=str(path), split="train")
    if not path.is_dir():
        fail(f"{path} does not exist; pass the --output folder of `mira-hf discover judge`")
    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        if "proposals" not in loaded:
            fail(f"{path} has no 'proposals' split; its splits are {list(loaded)}")
        return loaded["proposals"]
    return loaded


@discover_app.command("cluster")
def cluster_cmd(
    proposals: Path = typer.Argument(..., help="The --output folder of `discover judge` (or a .jsonl file)."),
    k: int = typer.Option(15, "--k", help="How many dimensions (slots A1..Ak)."),
    output: Path = typer.Option(..., "--output", "-o", help="The rubric to write (*_dim_anchors.jsonl)."),
    embedder: str = typer.Option("tfidf", help="'tfidf', an OpenAI-compatible /v1 URL, or a model folder."),
    seed: int = typer.Option(0, help="Seed of the embedding and of KMeans."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write the discovery report (.json/.html)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw the 2-D map of proposals (.png/.svg/.pdf)."),
) -> None:
    """Cluster proposed dimensions into k anchored slots; writes a rubric load_rubric reads."""
    from rich.console import Console
    from rich.table import Table

    from mira_hf.discover.clustering import cluster_dimensions

    rows = load_proposals(proposals)
    found = cluster_dimensions(rows, k=k, embedder=embedder, seed=seed)
    found.save(output)
    if report is not None:
        found.save_report(report)
    if plot is not None:
        found.plot(plot)
    table = Table(
        title=f"{len(rows):,} proposals in {k} dimensions (silhouette "
        f"{'n/a' if found.silhouette is None else f'{found.silhouette:.2f}'})"
    )
    for col in ("slot", "dimension", "size", "anchor"):
        table.add_column(col)
    for d in found.rubric:
        table.add_row(d.slot, d.dimension, f"{d.cluster_size:,}", f"{d.anchor.score:g}")
    Console().print(table)
    typer.echo(f"wrote {output}", err=True)
