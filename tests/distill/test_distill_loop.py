"""The loop closes: teacher labels → distillation set → a student fine-tuned with TRL → vLLM scores → agreement.

The student is the tiny random-weight model trained for two steps, so its numbers mean nothing; what is tested
is that every stage reads what the previous one wrote and that the student sees exactly the SFT prompts.
"""

from __future__ import annotations

import math

import datasets
import pytest

import mira_hf
from mira_hf.distill import sft_dataset
from mira_hf.engines import vllm as vllm_engine
from mira_hf.rubric import load_rubric, parse_rubric
from mira_hf.testing.teacher import TeacherServer

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

# A second model means a second engine: kept small (a 3-slot rubric gives short prompts) and closed after.
STUDENT_ENGINE = dict(
    max_model_len=2048, max_num_batched_tokens=2048, gpu_memory_utilization=0.15, engine_kwargs=dict(enforce_eager=True)
)
BUDGET = dict(max_model_len=2048, max_tokens=512)


def test_a_student_trained_on_the_set_scores_the_held_out_split(tiny_model_path, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    card = load_rubric()
    rubric = parse_rubric("".join(card.to_jsonl().splitlines(keepends=True)[:3]), name="new-group")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    records = datasets.Dataset.from_list(
        [
            {
                "id": f"{s}-{i}",
                "source": s,
                "trajectory": f"Task {i} of {s}. " + " ".join(["ran pytest", "fixed it", "verified"][: i % 3 + 1]),
            }
            for s in ("repair", "swe_qa")
            for i in range(4)
        ]
    )

    with TeacherServer(rubric) as teacher:  # anchored teacher labels: the ordinary Scorer with the group's rubric
        labeller = mira_hf.Scorer(
            "teacher",
            engine="openai",
            base_url=teacher.url,
            rubric=rubric,
            tokenizer=tokenizer,
            progress=False,
            **BUDGET,
        )
        labelled = records.map(labeller, batched=True)
    sft = sft_dataset(labelled, rubric=rubric, tokenizer=tokenizer, held_out=0.25, **BUDGET)
    assert (len(sft["train"]), len(sft["held_out"])) == (6, 2)

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    args = SFTConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=2,
        per_device_train_batch_size=1,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        max_length=BUDGET["max_model_len"],
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=sft["train"].select_columns(["messages"]), processing_class=tokenizer
    )
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    student = tmp_path / "student"
    trainer.save_model(str(student))
    tokenizer.save_pretrained(str(student))

    seen: list = []
    real = vllm_engine.VLLMEngine.generate
    monkeypatch.setattr(
        vllm_engine.VLLMEngine,
        "generate",
        lambda self, convs, sampling, **kw: (seen.extend(convs), real(self, convs, sampling, **kw))[1],
    )
    scorer = mira_hf.Scorer(
        model=str(student),
        rubric=rubric,
        text_column="record",
        record_format="text",
        source_column="source",
        id_column="id",
        max_tokens=BUDGET["max_tokens"],
        max_rationale_chars=24,
        **STUDENT_ENGINE,
    )
    try:
        scored = sft["held_out"].map(scorer, batched=True)
    finally:
        scorer.engine.close()
    assert seen == [row[:2] for row in sft["held_out"]["messages"]]  # the student sees exactly its SFT prompts
    assert set(scored["mira_status"]) == {"ok"}, scored["mira_error"]

    result = mira_hf.agreement(
        scored["mira_scores"], scored["teacher_scores"], sources=scored["source"], rubric=rubric, min_support=1
    )
    assert set(result["mask"]) == {"repair", "swe_qa"} and all(len(m) == 3 for m in result["mask"].values())
    assert result["support"] == [2, 2, 2]
