"""The distillation set: the student's exact prompts with the teacher's anchored answers, split per source.

Example:
    >>> from mira_hf import distill  # distill.sft_dataset(teacher_scored, rubric="group_D")
"""

from mira_hf.distill.dataset import SFT_COLUMNS, DistillSummary, sft_dataset, sft_dataset_and_summary, split_per_source

__all__ = ["SFT_COLUMNS", "DistillSummary", "sft_dataset", "sft_dataset_and_summary", "split_per_source"]
