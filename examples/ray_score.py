"""Score a dataset with Ray Data: ``map_batches(mira_hf.Scorer, ...)`` against OpenAI-compatible endpoints.

Each Ray actor builds one ``mira_hf.Scorer`` with ``engine="openai"``; every actor spreads its requests over
the whole endpoint pool (each request goes to the least busy server, failures are retried elsewhere), so
``--actors`` sets how many batches are in flight and ``--max-in-flight`` how many requests each actor keeps
open. The scored rows (input columns plus the ``mira_*`` columns) are written as Parquet.

Needs Ray Data (not a dependency of mira-hf):

    pip install "mira-hf[ray]"        # or: pip install "ray[data]>=2.9"

Serve the scorer (one line per GPU node; the model card's settings):

    vllm serve whw06/MIRA-Agent-Group4 --tensor-parallel-size 8 --dtype bfloat16 --max-model-len 65536 \\
        --max-num-batched-tokens 131072 --gpu-memory-utilization 0.9 --port 8000

then, from the repository root:

    python examples/ray_score.py --base-url http://node1:8000/v1 --base-url http://node2:8000/v1 \\
        --data examples/data/trajectories.jsonl --output scored-parquet

On a Ray cluster pass ``--address auto`` (or ``ray://head:10001``) and a shared path for ``--output``. A server
API key is read from ``MIRA_API_KEY`` (or ``OPENAI_API_KEY``) in each actor: a local Ray inherits it from this
shell; on a cluster, set it on every node.
Read the result back with ``datasets.load_dataset("parquet", data_dir="scored-parquet", split="train")``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTALL_HINT = 'Ray Data is not installed: pip install "mira-hf[ray]" (or pip install "ray[data]>=2.9")'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--base-url",
        action="append",
        required=True,
        help="an OpenAI-compatible endpoint, e.g. http://node1:8000/v1 (repeat it for a pool)",
    )
    p.add_argument(
        "--data",
        nargs="+",
        default=[str(HERE / "data" / "trajectories.jsonl")],
        help="JSONL file(s) or folder(s) to score (default: the bundled example)",
    )
    p.add_argument("--output", required=True, help="folder for the scored Parquet files")
    p.add_argument("--model", default="whw06/MIRA-Agent-Group4", help="the model name the servers serve")
    p.add_argument("--text-column", default=None, help="the record column (detected when omitted)")
    p.add_argument("--source-column", default="source", help="checked to exist ('' to skip)")
    p.add_argument("--actors", type=int, default=2, help="Scorer actors (batches in flight at once)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per batch sent to one actor")
    p.add_argument("--max-in-flight", type=int, default=64, help="requests each actor keeps open")
    p.add_argument("--max-model-len", type=int, default=65536, help="context length the servers were started with")
    p.add_argument("--max-tokens", type=int, default=2048, help="answer budget (card: 2,048)")
    p.add_argument(
        "--max-rationale-chars",
        type=int,
        default=None,
        help="bound each justification in structured decoding (small test models need it)",
    )
    p.add_argument("--address", default=None, help="Ray cluster address (default: start Ray locally)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs for a local Ray (default: all)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import ray
        import ray.data
    except ImportError:
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    import mira_hf
    from mira_hf.errors import MiraError

    scorer_kwargs = dict(
        model=args.model,
        engine="openai",
        base_url=args.base_url,
        text_column=args.text_column,
        source_column=args.source_column or None,
        max_model_len=args.max_model_len,
        max_tokens=args.max_tokens,
        max_in_flight=args.max_in_flight,
        progress=False,
    )
    if args.max_rationale_chars is not None:
        scorer_kwargs["max_rationale_chars"] = args.max_rationale_chars
    try:
        mira_hf.Scorer(**scorer_kwargs)  # check the settings here, before Ray starts anything
    except MiraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    try:
        ds = ray.data.read_json(args.data)
        scored = ds.map_batches(
            mira_hf.Scorer,  # a callable class: one Scorer (and one client pool) per actor
            fn_constructor_kwargs=scorer_kwargs,
            batch_size=args.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=args.actors),
            num_cpus=0.5,  # the actors mostly wait on the servers
            udf_modifying_row_count=False,  # one row out per row in
        )
        scored.write_parquet(args.output)
    finally:
        ray.shutdown()

    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    table = pads.dataset(args.output, format="parquet").to_table(columns=["mira_status"])
    counts = {c["values"]: c["counts"] for c in pc.value_counts(table.column("mira_status")).to_pylist()}
    print(f"scored {table.num_rows} rows into {args.output}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
