"""MIRA for a new group of sources, end to end: grouping → discovery → teacher labels → SFT set → agreement →
mask → select.

Run it from the repository root (seconds; no model, no GPU, no network):

    python examples/new_group.py --out new-group/

Every teacher here is a loopback server on 127.0.0.1 whose answers depend on the record, so the stages have
structure to find: ``JudgeServer`` proposes free-form dimensions from the words of each record, and
``TeacherServer`` grades a record on the discovered rubric by how much testing and fixing it shows. With real
endpoints, pass their URLs instead (``--judge-url``, ``--teacher-url``, ``--student-url``; any OpenAI-compatible
server such as ``vllm serve``).

1. ``mira_hf.group_sources`` clusters the sources by their records' embeddings (TF-IDF, no model);
2. ``mira_hf.discover.judge`` asks the teacher for free-form dimensions and ``cluster_dimensions`` clusters them into
   an anchored rubric (``<out>/new_group_dim_anchors.jsonl``);
3. the ordinary ``Scorer`` with the teacher's endpoint and that rubric gives the anchored teacher labels;
4. ``mira_hf.distill.sft_dataset`` builds the student's SFT set, split per source (``<out>/sft``). Training the
   student is TRL's ``SFTTrainer`` on ``sft["train"]`` (see docs/distillation.md); here a second loopback server,
   which disagrees with the teacher on one dimension on purpose, plays the trained student;
5. the student scores the held-out split and ``mira_hf.agreement`` measures it against the teacher → the mask;
6. the student scores every record, ``mira_hf.aggregate`` averages the reliable dimensions, and
   ``filter_by_retention(by="group")`` keeps the best half of each source group (``<out>/selected``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from mira_hf.errors import MiraError

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data" / "trajectories.jsonl"
#: The student disagrees with the teacher on this slot (0-based), so the mask has a cell to catch.
NOISY_SLOT = 1
#: The example holds few rows per source: the metric's default support (30) would judge no cell.
MIN_SUPPORT = 3


def student_card(text: str, n_slots: int):
    """The stand-in student: the teacher's answer, except one dimension answered at random (by record hash)."""
    import hashlib

    from mira_hf.testing.teacher import teacher_card

    card = teacher_card(text, n_slots)
    scores = list(card.scores)
    scores[NOISY_SLOT] = float(hashlib.sha256(text.encode()).digest()[0] % 11)
    return card.model_copy(update={"scores": scores})


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="JSONL with id, source and trajectory columns.")
    parser.add_argument("--out", default=None, help="Output folder (default: a new temporary folder).")
    parser.add_argument("--groups", type=int, default=2, help="Source groups (KMeans k).")
    parser.add_argument("--dimensions", type=int, default=6, help="Anchored dimensions to discover (KMeans k).")
    parser.add_argument("--judge-url", default=None, help="Free-form teacher endpoint (default: loopback).")
    parser.add_argument("--teacher-url", default=None, help="Anchored teacher endpoint (default: loopback).")
    parser.add_argument("--student-url", default=None, help="Trained student endpoint (default: loopback).")
    parser.add_argument("--model", default="loopback-teacher", help="Teacher model name at the endpoints.")
    args = parser.parse_args(argv)
    if not Path(args.data).is_file():
        return _error(f"--data {args.data} does not exist; pass a JSONL file with id, source and trajectory columns")
    for flag, value in (("--groups", args.groups), ("--dimensions", args.dimensions)):
        if value < 1:
            return _error(f"{flag} {value} must be ≥ 1; e.g. {flag} 2")
    try:
        return _run(args)
    except MiraError as e:  # the library's words: this script passes its flags straight to it
        return _error(f"{e} [{e.code}]")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own: the usage, then "new_group.py: error: ..."
        raise SystemExit(_error(f"{message}; see python examples/new_group.py --help"))


def _error(message: str) -> int:
    """One ``error:`` line on stderr and exit status 2, as the ``mira-hf`` command line does."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    import datasets

    import mira_hf
    from mira_hf.discover import cluster_dimensions, judge
    from mira_hf.distill import sft_dataset_and_summary
    from mira_hf.testing.judge_server import JudgeServer
    from mira_hf.testing.teacher import TeacherServer

    out = Path(args.out or tempfile.mkdtemp(prefix="mira-new-group-"))
    out.mkdir(parents=True, exist_ok=True)
    datasets.disable_progress_bars()
    ds = datasets.load_dataset("json", data_files=args.data, split="train", cache_dir=str(out / "hf-cache"))
    common = dict(text_column="trajectory", source_column="source", id_column="id")

    # 1. grouping
    sources = len(set(ds["source"]))
    if args.groups > sources:
        return _error(f"--groups {args.groups} is more than the {sources} sources in {args.data}; e.g. --groups 2")
    groups = mira_hf.group_sources(ds, args.groups, source_column="source", text_column="trajectory", seed=0)
    groups.save(out / "groups.json")
    print(f"1. groups: {groups.groups}")

    with contextlib.ExitStack() as stack:
        # 2. discovery: free-form judging, then clustering into an anchored rubric
        judge_url = args.judge_url or stack.enter_context(JudgeServer(model=args.model)).url
        judged = judge(
            ds, model=args.model, base_url=judge_url, store=str(out / "judge-cache"), progress=False, **common
        )
        discovery = cluster_dimensions(judged["proposals"], k=args.dimensions, seed=0, name="new_group")
        rubric_path = discovery.save(out / "new_group_dim_anchors.jsonl")
        rubric = mira_hf.load_rubric(rubric_path)
        print(f"2. {len(judged['proposals'])} proposals → rubric {rubric.name}: {', '.join(rubric.names)}")

        # 3. anchored teacher labels: the ordinary Scorer, the teacher's endpoint, the discovered rubric
        teacher_url = args.teacher_url or stack.enter_context(TeacherServer(rubric, model=args.model)).url
        budget = dict(max_model_len=65_536, max_tokens=2048)
        labeller = mira_hf.Scorer(
            args.model, engine="openai", base_url=teacher_url, rubric=rubric, progress=False, **common, **budget
        )
        labelled = ds.map(labeller, batched=True, batch_size=64)
        print(f"3. teacher labels: {labelled['mira_status'].count('ok')} of {len(labelled)} ok")

        # 4. the distillation set (train the student on sft["train"] with TRL's SFTTrainer)
        sft, summary = sft_dataset_and_summary(labelled, rubric=rubric, held_out=0.25, seed=0, **budget)
        sft.save_to_disk(str(out / "sft"))
        print(f"4. SFT set: train {summary.train}, held_out {summary.held_out}, left out {summary.left_out or 0}")

        # 5. the student on the held-out split → agreement → mask
        student_url = (
            args.student_url or stack.enter_context(TeacherServer(rubric, model=args.model, card=student_card)).url
        )
        student = dict(engine="openai", base_url=student_url, rubric=rubric, progress=False, **budget)
        held_out = sft["held_out"].map(
            mira_hf.Scorer(args.model, text_column="record", record_format="text", **student), batched=True
        )
        result = mira_hf.agreement(
            held_out["mira_scores"],
            held_out["teacher_scores"],
            sources=held_out["source"],
            rubric=rubric,
            min_support=MIN_SUPPORT,
        )
        (out / "reliability.json").write_text(json.dumps(result["mask"], indent=2) + "\n", encoding="utf-8")
        unreliable = sorted({rubric.slots[i] for row in result["mask"].values() for i, ok in enumerate(row) if not ok})
        print(
            f"5. agreement: {result['reliable_cells']} of {result['total_cells']} cells reliable; "
            f"unreliable slots: {unreliable}"
        )

        # 6. the student scores everything; mask → quality → keep the best half of each group
        scored = ds.map(mira_hf.Scorer(args.model, **common, **student), batched=True, batch_size=64)
    quality = mira_hf.aggregate(scored, result["mask"], rubric=rubric)
    kept, report = mira_hf.filter_by_retention(
        quality, 0.5, by="group", groups=groups.groups, rubric=rubric, save_to=out / "selected"
    )
    per_group = {key: cut.kept for key, cut in report.cuts.items()}
    print(f"6. selected {len(kept)} of {len(ds)} rows, per group {per_group} → {out / 'selected'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
