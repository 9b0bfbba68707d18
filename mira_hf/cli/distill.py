"""``mira-hf distill``: the student's SFT set from a teacher-scored dataset
(`sft_dataset_and_summary`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mira_hf.cli._shared import AnswerBudgetOption, SplitOption
from mira_hf.config import ScorerConfig
from mira_hf.io import load_any


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
    split: SplitOption = "train",
    text_column: Optional[str] = typer.Option(
        None, envvar="MIRA_TEXT_COLUMN", help="Record column (detected as the scorer does when not given)."
    ),
    source_column: str = typer.Option("source", help="Source column ('' for one source)."),
    id_column: str = typer.Option("id", help="Id column ('' for row numbers)."),
    teacher_column: str = typer.Option("mira_raw", help="The teacher's answer text."),
    max_model_len: int = typer.Option(
        ScorerConfig().max_model_len,
        envvar="MIRA_MAX_MODEL_LEN",
        help="The student's context length (the prompt budget).",
    ),
    max_tokens: AnswerBudgetOption = ScorerConfig().max_tokens,
    tokenizer: Optional[str] = typer.Option(
        None, help="The student's tokenizer (name or folder) for an exact token budget; UTF-8 bytes without it."
    ),
) -> None:
    """Build the distillation set: the student's prompts with the teacher's answers, split per source."""
    from mira_hf.distill import sft_dataset_and_summary

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
    sft.save_to_disk(str(output))
    (output / "distill_summary.json").write_text(json.dumps(summary.model_dump(), indent=2) + "\n", encoding="utf-8")
    left = ", ".join(f"{k} {v}" for k, v in sorted(summary.left_out.items())) or "none"
    typer.echo(
        f"{summary.kept:,} of {summary.rows:,} rows kept (left out: {left}); "
        f"train {summary.train:,}, held_out {summary.held_out:,}, truncated {summary.truncated:,}"
    )
    typer.echo(f"wrote {output}  (datasets.load_from_disk; SFTTrainer(train_dataset=...['train']))")
