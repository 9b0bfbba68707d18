"""A seeded messy corpus, built at test time: the data as it comes, not as the example data is.

Real corpora are shuffled, sharded, duplicated and dirty; ``examples/data/trajectories.jsonl`` is sorted by
source and tidy, so a stage that reads rows by position or assumes contiguous sources passes on it and fails on
a real corpus. `write_messy_corpus` writes, from one seed:

- **several files loaded together**: JSONL shards, Parquet shards and one ``.jsonl.gz``, read with
  ``datasets.load_dataset`` (the real code path), in memory-mapped Arrow as a user gets them;
- **sources interleaved at random**: every file holds rows of every source, in no order;
- **mixed record shapes inside one source**, as their projects publish them (the shapes of the record readers'
  fixtures): OpenHands V0 event lists (``action``/``args``, ``observation``/``content``/``cause``) and V1
  event lists (``kind``: ``SystemPromptEvent``, ``MessageEvent``, ``ActionEvent``, ``ObservationEvent``) in
  ``agent_openhands``; chat messages with ``tool_calls`` / ``tool`` results and mini-swe-agent trajectories
  (``info``, ``messages``, ``trajectory_format``) in ``davinc_dev``; ShareGPT ``conversations`` with
  ``function_call`` / ``observation`` turns and SWE-agent ``.traj`` files (``trajectory``, ``history``,
  ``info``) in ``swe_qa``. Each record is stored as JSON text in the ``trajectory`` string column;
- **duplicates**: the same id on different records (ids are not keys), and the same record under two ids;
- **a source whose every row is bad** (`MessyCorpus.bad_source`): empty, whitespace-only, null, or JSON
  with no trajectory in it, so it must be rejected row by row and never take a good row's place;
- **odd sizes and text**: one record of about 500 KB (it must be truncated, not dropped), unicode (CJK, emoji,
  combining marks, right-to-left text) and control characters (NUL, ESC, form feed) inside records;
- **dirty teacher labels** (``teacher_scores``, 15 slots): null rows, NaN slots (Parquet only: JSON has no NaN),
  and values out of the 0–10 range (``11``, ``-1``), as a teacher that ignored its instructions writes them;
  ``teacher_recommendation`` is sometimes null; ``num_tokens`` is an int per row.

(``id``, ``trajectory``) is unique per row, so a test can key rows by it; adding a row-number column before
making `views` works as well. `views` gives the same rows in the orders and layouts a dataset
reaches a stage in: sorted by source, shuffled, sharded then concatenated, behind an indices mapping
(``shuffle().select().filter()``), and flattened.

Example:
    >>> from mira_hf.testing.messy import views, write_messy_corpus
    >>> corpus = write_messy_corpus("messy-corpus", seed=0)
    >>> ds = corpus.load()
    >>> sorted(views(ds)), sorted(set(ds["source"])) == sorted(corpus.sources)
    (['flattened', 'indices', 'sharded', 'shuffled', 'sorted'], True)
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

N_SLOTS = 15
GOOD_SOURCES = ("agent_openhands", "davinc_dev", "swe_qa")
BAD_SOURCE = "scraped_dump"
#: Which record shapes each source mixes.
SHAPES = {
    "agent_openhands": ("openhands_v0", "openhands_v1"),
    "davinc_dev": ("chat", "mini_swe_agent"),
    "swe_qa": ("sharegpt", "swe_agent"),
}
#: Rows of the bad source: nothing a reader can score.
BAD_RECORDS: tuple[str | None, ...] = (
    "",
    "   \n\t  ",
    None,
    "{}",
    '{"metadata": {"instance_id": "x"}}',
    '[{"role": "user"}]',
    "\n\n",
    "\u3000 \u2003",
)
# Text that must survive every stage unchanged.
ODD_TEXT = (
    "naïve café — 修复 bug 🐛 in résumé.py; שלום; e\u0301; tab\there\x0cform-feed; esc \x1b[31mred\x1b[0m; "
    "nul \x00 byte"
)


@dataclass(frozen=True)
class _Task:
    repo: str
    issue: str
    path: str
    old: str
    new: str
    test: str


_TASKS = (
    _Task(
        "tsgrid/tsgrid",
        "TimeSeries.resample() drops the last bucket when the series ends mid-bucket.",
        "tsgrid/resample.py",
        "return int((end - start) // width)",
        "return math.ceil((end - start) / width)",
        "tests/test_resample.py",
    ),
    _Task(
        "inkwell/inkwell",
        "Markdown tables lose their alignment row when a cell contains a pipe.",
        "inkwell/tables.py",
        "cells = line.split('|')",
        "cells = split_unescaped(line, '|')",
        "tests/test_tables.py",
    ),
    _Task(
        "ledgerly/ledgerly",
        "Currency rounding uses float arithmetic and is off by one cent on 0.005.",
        "ledgerly/money.py",
        "return round(amount, 2)",
        "return amount.quantize(CENT, ROUND_HALF_UP)",
        "tests/test_money.py",
    ),
    _Task(
        "skyforge/skyforge",
        "The retry decorator retries on KeyboardInterrupt.",
        "skyforge/retry.py",
        "except BaseException:",
        "except Exception:",
        "tests/test_retry.py",
    ),
    _Task(
        "pathkit/pathkit",
        "glob('**') does not descend into symlinked directories.",
        "pathkit/walk.py",
        "follow_symlinks=False",
        "follow_symlinks=self.follow",
        "tests/test_walk.py",
    ),
    _Task(
        "cronparse/cronparse",
        "'*/15' in the minute field is parsed as 15 only.",
        "cronparse/fields.py",
        "return [int(step)]",
        "return list(range(lo, hi + 1, int(step)))",
        "tests/test_fields.py",
    ),
)


def _steps(task: _Task, rng: random.Random, odd: bool) -> list[tuple[str, str, str]]:
    """(thought, shell command, output) steps of one attempt at ``task``; their number and wording vary."""
    note = f" {ODD_TEXT}" if odd else ""
    steps = [
        (
            f"Let me find the code behind the issue.{note}",
            f"grep -rn '{task.old[:18]}' {task.path.split('/')[0]}",
            f"{task.path}:3:    {task.old}",
        ),
        (
            "Reproduce it first.",
            f"python -m pytest {task.test} -x -q",
            f"F\nE   AssertionError in {task.test}\n1 failed in 0.21s",
        ),
    ]
    for k in range(rng.randint(0, 3)):
        steps.append(
            (
                f"Look at the callers ({k}).",
                f"sed -n {10 * k + 1},{10 * k + 20}p {task.path}",
                "\n".join(f"{i}: ..." for i in range(10 * k + 1, 10 * k + 6)),
            )
        )
    steps.append(("Apply the fix.", f"sed -i 's/{task.old}/{task.new}/' {task.path}", ""))
    passed = rng.random() < 0.7
    steps.append(
        (
            "Run the tests again.",
            f"python -m pytest {task.test} -q",
            "9 passed in 0.30s" if passed else "1 failed, 8 passed in 0.31s",
        )
    )
    return steps


def _issue(task: _Task) -> str:
    return (
        f"<uploaded_files>\n/workspace/{task.repo.split('/')[1]}\n</uploaded_files>\nI've uploaded a python code "
        f"repository. Consider the following PR description:\n<pr_description>\n{task.issue}\n</pr_description>"
    )


def _openhands_v0(task: _Task, steps: list, rng: random.Random) -> list[dict]:
    """An OpenHands V0 event stream: ``action``/``args`` events and ``observation`` events with ``cause``."""
    ts = "2025-01-14T10:10:{:02d}.123456"
    events = _openhands_v0_head(task, ts)
    for thought, command, output in steps:
        events.extend(_openhands_v0_step(len(events), thought, command, output, ts))
    events.append(
        {
            "id": len(events),
            "timestamp": ts.format(59),
            "source": "agent",
            "action": "finish",
            "message": "All done",
            "args": {"final_thought": f"Fixed {task.path}.", "task_completed": "true", "outputs": {}, "thought": ""},
        }
    )
    return events


def _openhands_v0_head(task: _Task, ts: str) -> list[dict]:
    """The V0 stream's opening: initialize, the system prompt and the user's issue."""
    return [
        {
            "id": 0,
            "timestamp": ts.format(0),
            "source": "environment",
            "action": "initialize",
            "args": {"LLM_MODEL": "claude-3-5-sonnet-20241022", "AGENT": "CodeActAgent"},
        },
        {
            "id": 1,
            "timestamp": ts.format(1),
            "source": "agent",
            "message": "You are OpenHands agent",
            "action": "system",
            "args": {
                "content": "You are OpenHands agent, a helpful AI assistant that can interact with a computer to "
                "solve tasks.",
                "tools": [],
            },
        },
        {
            "id": 2,
            "timestamp": ts.format(2),
            "source": "user",
            "message": _issue(task),
            "action": "message",
            "args": {"content": _issue(task), "image_urls": None, "wait_for_response": False},
        },
    ]


def _openhands_v0_step(i: int, thought: str, command: str, output: str, ts: str) -> list[dict]:
    """One V0 step from event id ``i``: the ``run`` action and its observation."""
    return [
        {
            "id": i,
            "timestamp": ts.format(i % 60),
            "source": "agent",
            "message": f"Running command: {command}",
            "action": "run",
            "args": {
                "command": command,
                "is_input": False,
                "thought": thought,
                "blocking": False,
                "hidden": False,
                "confirmation_state": "confirmed",
            },
        },
        {
            "id": i + 1,
            "timestamp": ts.format((i + 1) % 60),
            "source": "agent",
            "message": f"Command `{command[:20]}` executed with exit code 0.",
            "cause": i,
            "observation": "run",
            "content": output,
            "extras": {"command": command, "metadata": {"exit_code": int("failed" in output)}},
        },
    ]


def _openhands_v1(task: _Task, steps: list, rng: random.Random) -> list[dict]:
    """An OpenHands V1 (software-agent-sdk) event list: ``kind``-tagged events with ``llm_message`` / ``action``."""
    ts = "2025-10-02T09:12:{:02d}.000000"
    events = _openhands_v1_head(task, ts)
    for k, (thought, command, output) in enumerate(steps):
        events.extend(_openhands_v1_step(k, thought, command, output, ts))
    events.append(_openhands_v1_finish(task, ts))
    return events


def _v1_text(t: str) -> list[dict]:
    """A V1 text content block."""
    return [{"cache_prompt": False, "type": "text", "text": t}]


def _openhands_v1_head(task: _Task, ts: str) -> list[dict]:
    """The V1 list's opening: the system prompt event and the user's issue."""
    return [
        {
            "kind": "SystemPromptEvent",
            "id": "sys-0",
            "timestamp": ts.format(0),
            "source": "agent",
            "system_prompt": {
                "cache_prompt": False,
                "type": "text",
                "text": "You are OpenHands agent, a helpful AI "
                "assistant that can interact with a computer to solve tasks.",
            },
            "tools": [],
        },
        {
            "kind": "MessageEvent",
            "id": "msg-1",
            "timestamp": ts.format(1),
            "source": "user",
            "llm_message": {
                "role": "user",
                "content": _v1_text(_issue(task)),
                "name": None,
                "tool_calls": None,
                "tool_call_id": None,
                "reasoning_content": None,
                "thinking_blocks": [],
            },
            "activated_microagents": [],
            "extended_content": [],
        },
    ]


def _openhands_v1_step(k: int, thought: str, command: str, output: str, ts: str) -> list[dict]:
    """The ``k``-th V1 step: the bash action event and its observation event."""
    call = f"toolu_{k:02d}"
    return [
        {
            "kind": "ActionEvent",
            "id": f"act-{k}",
            "timestamp": ts.format(2 * k + 2),
            "source": "agent",
            "thought": _v1_text(thought),
            "reasoning_content": None,
            "thinking_blocks": [],
            "action": {
                "kind": "ExecuteBashAction",
                "command": command,
                "is_input": False,
                "timeout": None,
                "reset": False,
            },
            "tool_name": "execute_bash",
            "tool_call_id": call,
            "tool_call": {
                "id": call,
                "name": "execute_bash",
                "arguments": json.dumps({"command": command}),
                "origin": "completion",
            },
            "llm_response_id": f"chatcmpl-{k}",
            "security_risk": "LOW",
        },
        {
            "kind": "ObservationEvent",
            "id": f"obs-{k}",
            "timestamp": ts.format(2 * k + 3),
            "source": "environment",
            "observation": {
                "kind": "ExecuteBashObservation",
                "content": _v1_text(output),
                "is_error": False,
                "command": command,
                "exit_code": int("failed" in output),
                "timeout": False,
            },
            "action_id": f"act-{k}",
            "tool_name": "execute_bash",
            "tool_call_id": call,
        },
    ]


def _openhands_v1_finish(task: _Task, ts: str) -> dict:
    """The V1 list's closing ``FinishAction``."""
    return {
        "kind": "ActionEvent",
        "id": "act-fin",
        "timestamp": ts.format(59),
        "source": "agent",
        "thought": _v1_text("The fix is done and tested."),
        "reasoning_content": None,
        "thinking_blocks": [],
        "action": {"kind": "FinishAction", "message": f"Fixed {task.path}."},
        "tool_name": "finish",
        "tool_call_id": "toolu_fin",
        "tool_call": {
            "id": "toolu_fin",
            "name": "finish",
            "arguments": json.dumps({"message": "done"}),
            "origin": "completion",
        },
        "llm_response_id": "chatcmpl-fin",
        "security_risk": "LOW",
    }


def _chat(task: _Task, steps: list, rng: random.Random) -> dict:
    """OpenAI chat messages with ``tool_calls`` and ``tool`` results (the SWE-Gym / nebius chat dumps' shape)."""
    messages: list[dict] = [
        {"role": "system", "content": "You are a software engineering agent. Use the `bash` tool to run commands."},
        {"role": "user", "content": _issue(task)},
    ]
    for k, (thought, command, output) in enumerate(steps):
        call = f"call_{k}"
        messages.append(
            {
                "role": "assistant",
                "content": thought,
                "tool_calls": [
                    {
                        "id": call,
                        "type": "function",
                        "function": {"name": "bash", "arguments": json.dumps({"command": command})},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call, "name": "bash", "content": output})
    messages.append({"role": "assistant", "content": f"The fix is in {task.path}; the tests pass."})
    return {"instance_id": task.repo.replace("/", "__") + "-1", "messages": messages}


def _mini_swe_agent(task: _Task, steps: list, rng: random.Random) -> dict:
    """A mini-swe-agent trajectory file: ``info``, plain ``messages`` with bash blocks, ``trajectory_format``."""
    messages: list[dict] = [
        {
            "role": "system",
            "content": "You are a helpful assistant that can interact multiple times with a computer "
            "shell to solve programming tasks.",
        },
        {
            "role": "user",
            "content": f"<pr_description>\nConsider the following PR description:\n{task.issue}\n</pr_description>",
        },
    ]
    for thought, command, output in steps:
        messages.append({"role": "assistant", "content": f"THOUGHT: {thought}\n\n```bash\n{command}\n```"})
        messages.append(
            {
                "role": "user",
                "content": f"<returncode>{int('failed' in output)}</returncode>\n<output>\n{output}\n</output>",
            }
        )
    messages.append(
        {"role": "assistant", "content": "THOUGHT: Done.\n\n```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"}
    )
    return {
        "info": {
            "exit_status": "Submitted",
            "submission": f"diff --git a/{task.path} b/{task.path}\n",
            "model_stats": {"instance_cost": 0.05, "api_calls": len(steps) + 1},
            "mini_version": "1.9.1",
        },
        "messages": messages,
        "trajectory_format": "mini-swe-agent-1",
        "instance_id": task.repo.replace("/", "__") + "-1",
    }


def _sharegpt(task: _Task, steps: list, rng: random.Random) -> dict:
    """ShareGPT ``conversations`` with ``function_call`` / ``observation`` turns and a ``system`` field."""
    turns: list[dict] = [{"from": "human", "value": task.issue}]
    for thought, command, output in steps:
        turns.append({"from": "gpt", "value": thought})
        turns.append(
            {"from": "function_call", "value": json.dumps({"name": "bash", "arguments": {"command": command}})}
        )
        turns.append({"from": "observation", "value": output})
    turns.append({"from": "gpt", "value": f"Fixed {task.path}."})
    return {
        "conversations": turns,
        "system": "You are an autonomous programmer fixing an issue in a repository.",
        "tools": json.dumps(
            [
                {
                    "name": "bash",
                    "description": "run a shell command",
                    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
                }
            ]
        ),
    }


def _swe_agent(task: _Task, steps: list, rng: random.Random) -> dict:
    """A SWE-agent 1.x ``.traj`` file: ``trajectory`` steps, the ``history`` messages, ``info``, ``environment``."""
    system = {
        "role": "system",
        "content": "You are a helpful assistant that can interact with a computer to solve tasks.",
        "agent": "main",
        "message_type": "system_prompt",
    }
    user = {
        "role": "user",
        "content": [{"type": "text", "text": _issue(task)}],
        "agent": "main",
        "message_type": "observation",
    }
    trajectory, history = [], [system, user]
    for k, (thought, command, output) in enumerate(steps):
        step, messages = _swe_agent_step(k, thought, command, output, task, rng, system)
        trajectory.append(step)
        history.extend(messages)
    return {
        "trajectory": trajectory,
        "history": history,
        "info": {
            "swe_agent_version": "1.1.0",
            "exit_status": "submitted",
            "submission": f"diff --git a/{task.path} b/{task.path}\n",
        },
        "replay_config": json.dumps({"env": {"repo": {"path": f"/{task.repo.split('/')[1]}"}}}),
        "environment": "main",
    }


def _swe_agent_step(
    k: int, thought: str, command: str, output: str, task: _Task, rng: random.Random, system: dict
) -> tuple[dict, list[dict]]:
    """The ``k``-th SWE-agent step: its ``trajectory`` entry and its two ``history`` messages."""
    action = f"bash {json.dumps({'command': command})}"
    step = {
        "action": action,
        "observation": output,
        "response": thought,
        "thought": thought,
        "execution_time": round(rng.uniform(0.1, 2.0), 2),
        "state": {"working_dir": f"/{task.repo.split('/')[1]}", "diff": ""},
        "query": [system],
        "extra_info": {},
    }
    return step, [
        {
            "role": "assistant",
            "content": thought,
            "thought": thought,
            "action": action,
            "agent": "main",
            "message_type": "action",
            "tool_calls": [
                {
                    "id": f"toolu_{k}",
                    "type": "function",
                    "function": {"name": "bash", "arguments": json.dumps({"command": command})},
                }
            ],
        },
        {
            "role": "tool",
            "content": [{"type": "text", "text": output}],
            "agent": "main",
            "message_type": "observation",
            "tool_call_ids": [f"toolu_{k}"],
        },
    ]


_BUILDERS = {
    "openhands_v0": _openhands_v0,
    "openhands_v1": _openhands_v1,
    "chat": _chat,
    "mini_swe_agent": _mini_swe_agent,
    "sharegpt": _sharegpt,
    "swe_agent": _swe_agent,
}


def _teacher(rng: random.Random) -> tuple[list[float | None] | None, str | None]:
    """Teacher labels with the faults real ones have: null rows, NaN slots, values out of range."""
    roll = rng.random()
    if roll < 0.1:
        return None, None
    scores: list[float | None] = [float(rng.randint(0, 10)) for _ in range(N_SLOTS)]
    if roll < 0.25:
        scores[rng.randrange(N_SLOTS)] = float("nan")
    elif roll < 0.35:
        scores[rng.randrange(N_SLOTS)] = rng.choice([11.0, -1.0, 12.5])
    elif roll < 0.45:
        scores[rng.randrange(N_SLOTS)] = None
    return scores, rng.choice(["keep", "downsample", "drop", None])


def _rows(seed: int, rows_per_source: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for source in GOOD_SOURCES:
        shapes = SHAPES[source]
        for k in range(rows_per_source):
            task = _TASKS[rng.randrange(len(_TASKS))]
            steps = _steps(task, rng, odd=k % 7 == 3)
            record = _BUILDERS[shapes[k % len(shapes)]](task, steps, rng)
            text = json.dumps(record, ensure_ascii=rng.random() < 0.5)
            rows.append({"id": f"{source[:2]}-{k:03d}", "source": source, "trajectory": text})
    # one record of about 500 KB: a long exploration, to be truncated
    big = next(r for r in rows if r["source"] == "agent_openhands")
    events = json.loads(big["trajectory"])
    filler = "\n".join(f"/workspace/tsgrid/tsgrid/module_{i:05d}.py" for i in range(12_000))
    events.insert(
        3,
        {
            "id": 99,
            "timestamp": "2025-01-14T10:10:03.000000",
            "source": "agent",
            "cause": 2,
            "observation": "run",
            "content": filler,
            "extras": {"command": "find / -name '*.py'"},
        },
    )
    big["trajectory"] = json.dumps(events)
    for k in range(rows_per_source):
        rows.append(
            {"id": f"{BAD_SOURCE[:2]}-{k:03d}", "source": BAD_SOURCE, "trajectory": BAD_RECORDS[k % len(BAD_RECORDS)]}
        )
    # duplicates: the same record under a new id, and an existing id on a different record
    good = [r for r in rows if r["source"] != BAD_SOURCE]
    for k, original in enumerate(rng.sample(good, 4)):
        rows.append({**original, "id": f"{original['source'][:2]}-dup{k}"})
    for original, other in zip(rng.sample(good, 3), rng.sample(good, 3)):
        if other["trajectory"] != original["trajectory"]:
            rows.append({**other, "id": original["id"]})
    for row in rows:
        row["teacher_scores"], row["teacher_recommendation"] = _teacher(rng)
        row["num_tokens"] = len((row["trajectory"] or "").encode("utf-8")) // 4
    rng.shuffle(rows)
    return rows


def features() -> Any:
    """The corpus's ``datasets.Features`` (declared, so that every file reads with the same types)."""
    import datasets

    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "source": datasets.Value("string"),
            "trajectory": datasets.Value("string"),
            "teacher_scores": datasets.Sequence(datasets.Value("float64")),
            "teacher_recommendation": datasets.Value("string"),
            "num_tokens": datasets.Value("int64"),
        }
    )


@dataclass
class MessyCorpus:
    """The files of a messy corpus and how to load them (every file together, through ``datasets``)."""

    folder: Path
    files: list[Path]
    sources: list[str]
    bad_source: str
    rows: int = 0
    cache_dir: Path = field(default=Path("."))

    def _by_kind(self) -> dict[str, list[str]]:
        kinds: dict[str, list[str]] = {"json": [], "parquet": []}
        for f in self.files:
            kinds["parquet" if f.suffix == ".parquet" else "json"].append(str(f))
        return kinds

    def load(self) -> Any:
        """Every file loaded together with ``datasets.load_dataset`` (JSON shards, the gzip, then Parquet)."""
        import datasets

        parts = [
            datasets.load_dataset(
                kind, data_files=files, split="train", features=features(), cache_dir=str(self.cache_dir)
            )
            for kind, files in self._by_kind().items()
        ]
        return datasets.concatenate_datasets(parts)

    def iterable(self) -> Any:
        """The same rows as an ``IterableDataset`` (``streaming=True``), in the same order as `load`."""
        import datasets

        parts = [
            datasets.load_dataset(kind, data_files=files, split="train", features=features(), streaming=True)
            for kind, files in self._by_kind().items()
        ]
        return datasets.concatenate_datasets(parts)


def write_messy_corpus(folder: str | Path, *, seed: int = 0, rows_per_source: int = 24) -> MessyCorpus:
    """Write a seeded messy corpus to ``folder``: 3 JSONL shards, one ``.jsonl.gz`` and 2 Parquet shards.

    The same seed writes the same rows; NaN teacher scores go to the Parquet shards only (JSON has no NaN).

    Example:
        >>> corpus = write_messy_corpus("messy-corpus", seed=1, rows_per_source=8)
        >>> [f.name for f in corpus.files][-3:], corpus.load().num_rows == corpus.rows
        (['extra-00000.jsonl.gz', 'part-00000.parquet', 'part-00001.parquet'], True)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows(seed, rows_per_source)
    nan_rows = {id(r) for r in rows if any(s != s for s in r["teacher_scores"] or [] if s is not None)}
    has_nan = [r for r in rows if id(r) in nan_rows]
    plain = [r for r in rows if id(r) not in nan_rows]
    n_json = len(plain) * 2 // 3
    json_part, parquet_part = plain[:n_json], plain[n_json:] + has_nan
    random.Random(seed + 1).shuffle(parquet_part)
    files: list[Path] = []
    for k in range(4):
        chunk = json_part[k::4]
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chunk).encode("utf-8")
        if k < 3:
            path = folder / f"part-{k:05d}.jsonl"
            path.write_bytes(lines)
        else:
            path = folder / "extra-00000.jsonl.gz"
            path.write_bytes(gzip.compress(lines, mtime=0))
        files.append(path)
    schema = features().arrow_schema
    for k in range(2):
        path = folder / f"part-{k:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(parquet_part[k::2], schema=schema), path)
        files.append(path)
    return MessyCorpus(
        folder=folder,
        files=files,
        sources=[*GOOD_SOURCES, BAD_SOURCE],
        bad_source=BAD_SOURCE,
        rows=len(rows),
        cache_dir=folder / ".hf-cache",
    )


def views(ds: Any, seed: int = 0) -> dict[str, Any]:
    """The same rows of ``ds`` in the orders and layouts a dataset reaches a stage in.

    ``sorted`` (by source, stable), ``shuffled``, ``sharded`` (4 interleaved shards, concatenated), ``indices``
    (``shuffle().select().filter()``: an indices mapping over the same rows) and ``flattened``
    (``flatten_indices()`` of a shuffle: a fresh table, no mapping).

    Example:
        >>> import datasets
        >>> ds = datasets.Dataset.from_dict({"source": ["b", "a", "b"], "x": [1, 2, 3]})
        >>> v = views(ds)
        >>> v["sorted"]["x"][:], sorted(v["indices"]["x"]) == sorted(v["flattened"]["x"]) == [1, 2, 3]
        ([2, 1, 3], True)
    """
    import datasets

    shuffled = ds.shuffle(seed=seed)
    order = list(range(len(ds)))
    random.Random(seed + 2).shuffle(order)
    return {
        "sorted": ds.sort("source"),
        "shuffled": shuffled,
        "sharded": datasets.concatenate_datasets([ds.shard(4, i, contiguous=False) for i in range(4)]),
        "indices": ds.shuffle(seed=seed + 1)
        .select(order)
        .filter(lambda batch: [True] * len(next(iter(batch.values()))), batched=True),
        "flattened": ds.shuffle(seed=seed + 3).flatten_indices(),
    }


__all__ = ["BAD_SOURCE", "MessyCorpus", "features", "views", "write_messy_corpus"]
