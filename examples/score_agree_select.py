"""Score → agree → mask → aggregate → select → push: the MIRA pipeline on the bundled example, end to end.

Run it from the repository root:

    python examples/score_agree_select.py --engine fake --local-hub       # seconds: no model, no GPU, no network
    python examples/score_agree_select.py --engine cpu-tiny --local-hub   # minutes: the real vLLM engine on the CPU
    python examples/score_agree_select.py --repo-id my-org/agent-mix-selected   # GPUs: the card's scorer → Hub

What it does, with the public API only:

1. loads ``examples/data/trajectories.jsonl`` (36 agent trajectories from 3 sources, with teacher labels);
2. scores every record with ``mira_hf.Scorer`` (the ``mira_*`` columns);
3. measures teacher–student agreement with ``evaluate.load("mira_agreement")`` → the reliability mask;
4. ``mira_hf.aggregate`` → ``mira_quality``, the trimmed mean of each row's reliable dimensions;
5. ``mira_hf.filter_by_retention`` keeps the best share of each source (``--retention``, default half) and
   pushes it to the Hub with its dataset card, ``selection_report.json`` and ``reliability.json``;
6. reads the pushed repo back with ``datasets.load_dataset`` and checks it holds the selected rows.

It also writes ``<out>/selected`` (``datasets.load_from_disk``), ``<out>/reliability.json``,
``<out>/selection_report.json`` and ``<out>/report.html``.

Engines (``--engine``):

* ``vllm`` (default): the card's scorer ``whw06/MIRA-Agent-Group4`` in this process (needs GPUs).
* ``openai``: OpenAI-compatible servers (``vllm serve``) at ``--base-url`` (repeat it for a pool).
* ``cpu-tiny``: the real vLLM CPU engine on a tiny random-weight model built locally. Every stage runs for
  real, but its scores are NOT meaningful, so the reliability thresholds are relaxed as in ``mira-hf demo``.
* ``fake``: no model. A stand-in engine (any object with ``generate(conversations, sampling)`` is an engine)
  answers each prompt with the teacher's labels for that record plus noise, and scrambles two kinds of cells on
  purpose (A15 for every source, A2 for ``swe_qa``) so that the mask has something to catch.

Where the selection goes:

* default: the Hub (log in first with ``hf auth login`` or set ``HF_TOKEN``; ``--repo-id`` is required);
* ``--hub-endpoint http://127.0.0.1:PORT``: any Hub-compatible server, e.g. ``mira_hf.testing.hub_server``;
* ``--local-hub``: starts that in-memory test server on 127.0.0.1 for the length of the run;
* ``--no-push``: only the local files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data" / "trajectories.jsonl"
LOCAL_REPO_ID = "mira-user/agent-mix-selected"
#: The bundled set has 12 records per source; the metric's default support (30) would judge no cell.
EXAMPLE_MIN_SUPPORT = 10
#: Cells the fake engine scrambles: (source or "*", slot index). The mask should mark them unreliable.
SCRAMBLED = (("*", 14), ("swe_qa", 1))
#: Context for the fake engine: no record of the example is shortened, so prompts match build_messages.
FAKE_MAX_MODEL_LEN = 262_144


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The module docstring and the README's Examples section describe the engines and the Hub options.",
    )
    p.add_argument(
        "--engine",
        choices=["vllm", "openai", "cpu-tiny", "fake"],
        default="vllm",
        help="how to score (default: vllm, the card's scorer on GPUs)",
    )
    p.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="JSONL with trajectory, source, id and teacher_* columns"
    )
    p.add_argument("--out", type=Path, default=Path("mira-example"), help="folder for the local outputs")
    p.add_argument("--model", default=None, help="scorer model for --engine vllm/openai (default: the card's)")
    p.add_argument("--base-url", action="append", default=None, help="OpenAI-compatible endpoint (repeatable)")
    p.add_argument("--tensor-parallel-size", type=int, default=None, help="GPUs per engine for --engine vllm")
    p.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="where --engine cpu-tiny builds (or finds) the tiny model (default: <out>/tiny-model)",
    )
    p.add_argument("--noise", type=float, default=0.4, help="--engine fake: std. dev. of the score jitter")
    p.add_argument("--seed", type=int, default=0, help="--engine fake: noise seed")
    p.add_argument(
        "--retention",
        default="0.5",
        help='fraction per source, or JSON such as \'{"agent_openhands": 0.5, "swe_qa": {"min_score": 6}}\'',
    )
    p.add_argument("--mae-max", type=float, default=1.0, help="a cell is reliable when MAE ≤ this …")
    p.add_argument("--spearman-min", type=float, default=0.4, help="… and Spearman ρ ≥ this …")
    p.add_argument("--min-support", type=int, default=EXAMPLE_MIN_SUPPORT, help="… with at least this many rows")
    p.add_argument(
        "--repo-id", default=None, help=f"Hub dataset repo to push to (default with a test server: {LOCAL_REPO_ID})"
    )
    p.add_argument("--private", action="store_true", help="create the Hub repo private")
    hub = p.add_mutually_exclusive_group()
    hub.add_argument("--hub-endpoint", default=None, help="push to this Hub-compatible server instead of the Hub")
    hub.add_argument("--local-hub", action="store_true", help="start an in-memory Hub-compatible server and push there")
    hub.add_argument("--no-push", action="store_true", help="write the local outputs only")
    args = p.parse_args(argv)
    if args.engine == "openai" and not args.base_url:
        p.error("--engine openai needs --base-url, e.g. --base-url http://localhost:8000/v1")
    if not args.no_push and args.repo_id is None:
        if args.hub_endpoint is None and not args.local_hub:
            p.error("pushing to the Hub needs --repo-id your-name/agent-mix-selected (or --local-hub / --no-push)")
        args.repo_id = LOCAL_REPO_ID
    try:
        args.retention = json.loads(args.retention)
    except json.JSONDecodeError:
        p.error(f"--retention {args.retention!r} is neither a number nor JSON")
    return args


def point_at_hub(args: argparse.Namespace) -> Any:
    """Aim ``huggingface_hub`` and ``datasets`` at the chosen server. They read ``HF_ENDPOINT`` when imported,
    so this runs before either is imported. Returns the local server to stop, if one was started."""
    server = None
    if args.local_hub:
        from mira_hf.testing.hub_server import HubServer

        server = HubServer().start()
        args.hub_endpoint = server.endpoint
    if args.hub_endpoint:
        os.environ.update(
            {"HF_ENDPOINT": args.hub_endpoint.rstrip("/"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"}
        )
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # a test server stores files through the LFS API
    return server


# ----------------------------------------------------------------------------------------------- fake engine
def prompt_key(user_message: str) -> str:
    return hashlib.sha256(user_message.encode("utf-8")).hexdigest()


class NoisyTeacherEngine:
    """A stand-in engine: answers each prompt with the teacher's labels for that record, jittered.

    It implements the engine protocol (``generate(conversations, sampling) -> [Completion]``), so the
    ``Scorer`` runs exactly as with vLLM: prompt building, parsing, typed columns. Prompts are matched to
    records by the user message ``mira_hf.build_messages`` builds for the same record.
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        rubric: Any,
        *,
        noise: float,
        seed: int,
        max_model_len: int = FAKE_MAX_MODEL_LEN,
    ):
        import mira_hf

        self.noise, self.seed = noise, seed
        self.answers = {
            prompt_key(
                mira_hf.build_messages(row["trajectory"], rubric, max_model_len=max_model_len)[1]["content"]
            ): noisy_answer(row, i, rubric, noise=noise, seed=seed)
            for i, row in enumerate(rows)
        }

    def generate(self, conversations: list[list[dict[str, Any]]], sampling: Any) -> list[Any]:
        from mira_hf import Completion

        out = []
        for conversation in conversations:
            prompt = conversation[-1]["content"]
            text = self.answers.get(prompt_key(prompt))
            if text is None:
                out.append(Completion(error="the fake engine has no teacher answer for this record"))
            else:
                out.append(
                    Completion(
                        text=text, prompt_tokens=len(prompt.encode()) // 4, completion_tokens=len(text.encode()) // 4
                    )
                )
        return out

    def identity(self) -> dict[str, Any]:
        """Folded into the Scorer's fingerprint: another seed or noise level is another scoring run."""
        return {"engine": "noisy-teacher", "noise": self.noise, "seed": self.seed}


def noisy_answer(row: dict[str, Any], index: int, rubric: Any, *, noise: float, seed: int) -> str:
    """The teacher's answer for ``row`` with every score jittered (and the SCRAMBLED cells replaced by chance)."""
    import numpy as np

    import mira_hf

    rng = np.random.default_rng([seed, index])
    card = mira_hf.parse_output(row["teacher_raw"], rubric)
    teacher = np.array(row["teacher_scores"], dtype=float)
    scores = teacher + rng.normal(0.0, noise, teacher.shape)
    for source, slot in SCRAMBLED:
        if source in ("*", row["source"]):
            scores[slot] = rng.uniform(0, 10)
    scores = np.clip(np.round(scores * 2) / 2, 0, 10)
    overall = float(np.clip(round(row["teacher_overall"] + rng.normal(0.0, 10 * noise)), 0, 100))
    card = card.model_copy(update={"scores": scores.tolist(), "overall": overall})
    return mira_hf.format_output(card, rubric)


# ----------------------------------------------------------------------------------------------- the pipeline
def make_scorer(args: argparse.Namespace, rows: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """The Scorer for ``--engine``, and the agreement thresholds that suit it."""
    import mira_hf

    columns = dict(text_column="trajectory", source_column="source", id_column="id")
    thresholds = dict(mae_max=args.mae_max, spearman_min=args.spearman_min, min_support=args.min_support)
    if args.engine == "fake":
        engine = NoisyTeacherEngine(rows, mira_hf.load_rubric("agent-group4"), noise=args.noise, seed=args.seed)
        return mira_hf.Scorer(engine=engine, max_model_len=FAKE_MAX_MODEL_LEN, **columns), thresholds
    if args.engine == "cpu-tiny":
        from mira_hf.demo import CPU_SETTINGS, CPU_THRESHOLDS
        from mira_hf.testing.tiny_model import build_tiny_model

        print(
            "Scoring with the real vLLM engine on the CPU and a tiny random-weight model: its scores are NOT "
            f"meaningful, so the reliability thresholds are relaxed to {CPU_THRESHOLDS}.",
            file=sys.stderr,
        )
        model = build_tiny_model(args.model_dir or args.out / "tiny-model")
        return mira_hf.Scorer(model=str(model), **columns, **CPU_SETTINGS), dict(CPU_THRESHOLDS)
    if args.engine == "openai":
        return mira_hf.Scorer(args.model, engine="openai", base_url=args.base_url, **columns), thresholds
    return mira_hf.Scorer(args.model, tensor_parallel_size=args.tensor_parallel_size, **columns), thresholds


def run(args: argparse.Namespace) -> int:
    import datasets
    import evaluate

    import mira_hf

    args.out.mkdir(parents=True, exist_ok=True)
    ds = datasets.load_dataset("json", data_files=str(args.data), split="train")
    scorer, thresholds = make_scorer(args, ds.to_list() if args.engine == "fake" else [])

    # 2. score: one row out per row in, in order; bad rows get a status, never an exception
    scored = ds.map(scorer, batched=True, batch_size=64, desc="Scoring")
    statuses = {s: scored["mira_status"].count(s) for s in sorted(set(scored["mira_status"]))}
    print(f"scored {len(scored)} records: {statuses}")

    # 3. agreement with the teacher labels → the reliability mask
    metric = evaluate.load("mira_agreement")
    result = metric.compute(
        predictions=scored["mira_scores"],
        references=scored["teacher_scores"],
        sources=scored["source"],
        prediction_recommendations=scored["mira_recommendation"],
        reference_recommendations=scored["teacher_recommendation"],
        **thresholds,
    )
    reliability = mira_hf.Reliability.from_result(result)
    reliability.save(args.out / "reliability.json")
    print(
        f"agreement: macro MAE {result['macro_mae']:.2f}, {result['reliable_cells']} of "
        f"{result['total_cells']} (source × dimension) cells reliable"
    )
    for source, row in reliability.mask.items():
        masked = [f"A{j + 1}" for j, ok in enumerate(row) if not ok]
        print(f"  {source}: masked {', '.join(masked) if masked else 'nothing'}")

    # 4. aggregate the reliable dimensions → mira_quality; 5. keep the best share of each source, push it
    aggregated = mira_hf.aggregate(scored, mask=reliability)
    kept, report = mira_hf.filter_by_retention(
        aggregated,
        retention=args.retention,
        scorer=scorer,
        reliability=reliability,
        rubric=scorer.rubric,
        push_to_hub=None if args.no_push else args.repo_id,
        private=args.private or None,
    )
    kept.save_to_disk(str(args.out / "selected"))
    report.save(args.out / "selection_report.json")
    mira_hf.build_report(
        aggregated,
        agreement=result,
        reliability=reliability,
        selection=report,
        path=args.out / "report.html",
        parameters=scorer.identity(),
    )
    print(report)
    print(f"wrote {args.out}/: selected/, reliability.json, selection_report.json, report.html")

    # 6. read the pushed selection back
    if not args.no_push:
        back = datasets.load_dataset(args.repo_id, split="train")
        if list(back["id"]) != list(kept["id"]):
            print(
                f"error: {args.repo_id} reads back {len(back)} rows that differ from the {len(kept)} selected; "
                "check what else writes to that repo",
                file=sys.stderr,
            )
            return 1
        print(f"pushed {len(kept)} rows to {args.repo_id} ({report.push.commit_url})")
        print("datasets.load_dataset reads them back")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = point_at_hub(args)
    from mira_hf.errors import MiraError

    try:
        return run(args)
    except MiraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":  # vLLM starts its workers with spawn: keep the work under this guard
    sys.exit(main())
