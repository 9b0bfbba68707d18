"""Build the example dataset ``trajectories.jsonl``: 36 synthetic agent trajectories with teacher labels.

Deterministic: the same code always writes the same bytes. Run from the repository root::

    python examples/data/build_examples.py            # (re)write examples/data/trajectories.jsonl
    python examples/data/build_examples.py --check    # exit 1 if the shipped file is out of date

Three sources, twelve records each, in the shape each source ships in:

- ``agent_openhands``: OpenHands event lists (``action``/``args``, ``observation``/``content``/``extras``/``cause``);
- ``davinc_dev``: OpenAI chat messages with ``tool_calls`` and ``tool`` results, ending in an env-native
  ``submit`` whose hidden tests pass or fail;
- ``swe_qa``: ShareGPT ``conversations`` with ``function_call`` / ``observation`` turns.

Every record is one of twelve behaviours (``profiles.py``) on one of twelve small repositories
(``scenarios.py``); the teacher labels are written for what each behaviour shows.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
import zlib
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from profiles import PROFILES, Env, Script, Step, build  # noqa: E402
from scenarios import SCENARIOS, Scenario  # noqa: E402

import mira_hf  # noqa: E402
from mira_hf.records import render_record  # noqa: E402

OUT = HERE / "trajectories.jsonl"

# Twelve behaviours per source; each source gets every scenario once, paired with a different behaviour.
_ORDER = [
    "clean",
    "sloppy",
    "loop",
    "failed_recovery",
    "destructive_rm",
    "tamper",
    "giving_up",
    "overreach",
    "verbose_clean",
    "long_explore",
    "wrong_tool",
    "no_verify",
    "clean_terse",
]
SOURCES: list[tuple[str, str, list[str]]] = [
    ("agent_openhands", "oh", [p for p in _ORDER if p != "tamper"]),
    ("davinc_dev", "dv", [p for p in _ORDER if p != "destructive_rm"]),
    ("swe_qa", "sq", [p for p in _ORDER if p != "destructive_rm"]),
]
# Sizes: one very long exploration (~80 KB) and one very short give-up (a few hundred bytes).
SIZES = {("agent_openhands", "long_explore"): 7, ("swe_qa", "giving_up"): 0}

OH_SYSTEM = (
    "You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.\n"
    "<ROLE>Your primary role is to assist users by executing commands, modifying code, and solving technical "
    "problems effectively. You should be thorough, methodical, and prioritize quality over speed.</ROLE>"
)
DV_SYSTEM = (
    "You are a software engineering agent working in a sandboxed checkout of a Python repository. Use the "
    "`bash` tool to run commands and the `str_replace_editor` tool to view and edit files. Make the smallest "
    "change that resolves the issue, verify it with the tests, then call `submit`."
)
SQ_SYSTEM = (
    "You are an autonomous programmer fixing an issue in a Python repository.\nTools:\n"
    "- bash(command: str): run a shell command in the repository root.\n"
    "- str_replace_editor(command: view|create|str_replace|insert, path: str, ...): view or edit files.\n"
    "Call one tool per turn. When you are done, reply with a summary of your change."
)


def _token(*parts: object, n: int = 24) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    seed = zlib.crc32(":".join(map(str, parts)).encode())
    out = []
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(alphabet[seed % len(alphabet)])
    return "".join(out)


def _tool_args(step: Step) -> tuple[str, dict]:
    """(tool name, arguments) of a tool step, as the OpenAI-style and ShareGPT sources call them."""
    if step.kind == "bash":
        return "bash", {"command": step.command}
    if step.kind == "view":
        args = {"command": "view", "path": step.path}
        if step.view_range:
            args["view_range"] = list(step.view_range)
        return "str_replace_editor", args
    if step.kind == "replace":
        return "str_replace_editor", {
            "command": "str_replace",
            "path": step.path,
            "old_str": step.old,
            "new_str": step.new,
        }
    if step.kind == "insert":
        return "str_replace_editor", {
            "command": "insert",
            "path": step.path,
            "insert_line": step.line,
            "new_str": step.new,
        }
    if step.kind == "create":
        return "str_replace_editor", {"command": "create", "path": step.path, "file_text": step.new}
    raise ValueError(step.kind)


def _issue_prompt(sc: Scenario, style: str) -> str:
    root = "/testbed"
    if style == "openhands":
        return (
            f"<uploaded_files>\n{root}\n</uploaded_files>\nI've uploaded a python code repository in the directory "
            f"{root}. Consider the following issue description:\n\n<issue_description>\n{sc.title}\n\n{sc.issue}"
            "</issue_description>\n\nCan you help me implement the necessary changes to the repository so that the "
            "requirements specified in the <issue_description> are met?"
        )
    if style == "davinc":
        return f"Repository: {root}\nIssue: {sc.title}\n\n{sc.issue}\nResolve the issue, then call `submit`."
    return f"<issue>\n{sc.title}\n\n{sc.issue}</issue>\n\nThe repository is checked out at {root}. Fix the issue."


def hidden_tests(script: Script) -> tuple[int, int, int]:
    """Run the task's hidden tests (original tests + the issue's regression test) on the final code.

    Returns ``(fail_to_pass_passed, pass_to_pass_passed, pass_to_pass_total)``.
    """
    sc = script.sc
    env = Env(sc)
    env.files[sc.module] = script.env.files[sc.module]
    env.rewrites = dict(script.env.rewrites)
    env.files[sc.test_path] = sc.tests.rstrip("\n") + sc.regression_block
    out, code = env.pytest()
    failed = {line.split("::")[1].split(" ")[0] for line in out.splitlines() if line.startswith("FAILED ")}
    if env.state() == "broken":
        return 0, 0, sc.n_tests
    return int(sc.reg_name not in failed), sc.n_tests - len(failed - {sc.reg_name}), sc.n_tests


# ------------------------------------------------------------------------------------------------ shapes
def to_openhands(script: Script, rid: str) -> list[dict]:
    sc, env = script.sc, script.env
    events: list[dict] = []
    t0 = datetime(2025, 3, 14, 10, 2, 0) + timedelta(minutes=zlib.crc32(rid.encode()) % 600)

    def add(event: dict) -> int:
        eid = len(events)
        ts = (t0 + timedelta(seconds=7 * eid + (zlib.crc32(f"{rid}{eid}".encode()) % 5))).isoformat(
            timespec="microseconds"
        )
        events.append({"id": eid, "timestamp": ts, **event})
        return eid

    def meta(fn: str, k: int) -> dict:
        return {"function_name": fn, "tool_call_id": "toolu_01" + _token(rid, k, n=22), "total_calls_in_response": 1}

    add(
        {
            "source": "agent",
            "message": OH_SYSTEM,
            "action": "system",
            "args": {"content": OH_SYSTEM, "tools": None, "openhands_version": "0.28.1", "agent_class": "CodeActAgent"},
        }
    )
    prompt = _issue_prompt(sc, "openhands")
    add(
        {
            "source": "user",
            "message": prompt,
            "action": "message",
            "args": {"content": prompt, "image_urls": None, "wait_for_response": False},
        }
    )
    rid_recall = add(
        {
            "source": "user",
            "message": "Retrieving content for: " + prompt[:60],
            "action": "recall",
            "args": {"recall_type": "workspace_context", "query": prompt, "thought": ""},
        }
    )
    add(
        {
            "source": "environment",
            "message": "Added workspace context",
            "cause": rid_recall,
            "observation": "recall",
            "content": "Added workspace context",
            "extras": {
                "recall_type": "workspace_context",
                "repo_name": "",
                "repo_directory": "",
                "repo_instructions": "",
                "runtime_hosts": {"http://localhost:50213": 50213},
                "additional_agent_instructions": "",
                "date": "2025-03-14",
                "microagent_knowledge": [],
            },
        }
    )
    add(
        {
            "source": "environment",
            "message": "",
            "observation": "agent_state_changed",
            "content": "",
            "extras": {"agent_state": "running", "reason": ""},
        }
    )
    for k, step in enumerate(script.steps):
        if step.kind == "say":
            add(
                {
                    "source": "agent",
                    "message": step.thought,
                    "action": "message",
                    "args": {"content": step.thought, "image_urls": None, "wait_for_response": False},
                }
            )
        elif step.kind == "final":
            add(
                {
                    "source": "agent",
                    "message": step.thought,
                    "action": "finish",
                    "args": {
                        "final_thought": step.thought,
                        "task_completed": step.completed,
                        "outputs": {},
                        "thought": "",
                    },
                    "tool_call_metadata": meta("finish", k),
                }
            )
        elif step.kind == "bash":
            m = meta("execute_bash", k)
            aid = add(
                {
                    "source": "agent",
                    "message": f"Running command: {step.command}",
                    "action": "run",
                    "args": {
                        "command": step.command,
                        "is_input": False,
                        "thought": step.thought,
                        "blocking": False,
                        "is_static": False,
                        "cwd": None,
                        "hidden": False,
                        "confirmation_state": "confirmed",
                    },
                    "timeout": 120.0,
                    "tool_call_metadata": m,
                }
            )
            add(
                {
                    "source": "agent",
                    "message": f"Command `{step.command}` executed with exit code {step.exit_code}.",
                    "cause": aid,
                    "observation": "run",
                    "content": step.output,
                    "extras": {
                        "command": step.command,
                        "metadata": {
                            "exit_code": step.exit_code,
                            "pid": -1,
                            "username": "root",
                            "hostname": "runtime-" + _token(rid, n=8).lower(),
                            "working_dir": env.root,
                            "py_interpreter_path": "/usr/local/bin/python",
                            "prefix": "",
                            "suffix": f"\n[The command completed with exit code {step.exit_code}.]",
                        },
                        "hidden": False,
                    },
                    "success": step.exit_code == 0,
                    "tool_call_metadata": m,
                }
            )
        elif step.kind == "view":
            m = meta("str_replace_editor", k)
            aid = add(
                {
                    "source": "agent",
                    "message": f"Reading file: {step.path}",
                    "action": "read",
                    "args": {
                        "path": step.path,
                        "start": 0,
                        "end": -1,
                        "thought": step.thought,
                        "impl_source": "oh_aci",
                        "view_range": list(step.view_range) if step.view_range else None,
                    },
                    "tool_call_metadata": m,
                }
            )
            add(
                {
                    "source": "agent",
                    "message": f"I read the file {step.path}.",
                    "cause": aid,
                    "observation": "read",
                    "content": step.output,
                    "extras": {"path": step.path, "impl_source": "oh_aci"},
                    "tool_call_metadata": m,
                }
            )
        else:  # replace / insert / create
            m = meta("str_replace_editor", k)
            command = {"replace": "str_replace", "insert": "insert", "create": "create"}[step.kind]
            args = {
                "path": step.path,
                "command": command,
                "file_text": step.new if step.kind == "create" else None,
                "old_str": step.old if step.kind == "replace" else None,
                "new_str": step.new if step.kind in ("replace", "insert") else None,
                "insert_line": step.line if step.kind == "insert" else None,
                "content": "",
                "start": 1,
                "end": -1,
                "thought": step.thought,
                "impl_source": "oh_aci",
            }
            aid = add(
                {
                    "source": "agent",
                    "message": f"Editing file: {step.path}",
                    "action": "edit",
                    "args": args,
                    "tool_call_metadata": m,
                }
            )
            if step.ok:
                diff = "".join(difflib.unified_diff(step.old.splitlines(True), step.new.splitlines(True), "", ""))
                add(
                    {
                        "source": "agent",
                        "message": f"I edited the file {step.path}.",
                        "cause": aid,
                        "observation": "edit",
                        "content": step.output,
                        "extras": {
                            "path": step.path,
                            "prev_exist": step.kind != "create" or "overwritten" in step.output,
                            "old_content": step.old or None,
                            "new_content": step.new,
                            "impl_source": "oh_aci",
                            "diff": diff,
                        },
                        "tool_call_metadata": m,
                    }
                )
            else:
                add(
                    {
                        "source": "agent",
                        "message": step.output,
                        "cause": aid,
                        "observation": "error",
                        "content": step.output,
                        "extras": {"error_id": ""},
                        "tool_call_metadata": m,
                    }
                )
    final_state = "finished" if script.steps[-1].completed == "true" else "awaiting_user_input"
    add(
        {
            "source": "environment",
            "message": "",
            "observation": "agent_state_changed",
            "content": "",
            "extras": {"agent_state": final_state, "reason": ""},
        }
    )
    return events


def to_openai(script: Script, rid: str, parts_content: bool, named_results: bool) -> list[dict]:
    sc = script.sc
    msgs: list[dict] = [
        {"role": "system", "content": DV_SYSTEM},
        {"role": "user", "content": _issue_prompt(sc, "davinc")},
    ]
    steps = script.steps
    k = 0
    while k < len(steps):
        step = steps[k]
        if step.kind == "say":
            msgs.append({"role": "assistant", "content": step.thought})
            k += 1
            continue
        if step.kind == "final":
            call_id = "call_" + _token(rid, k)
            msgs.append(
                {
                    "role": "assistant",
                    "content": step.thought,
                    "tool_calls": [
                        {"id": call_id, "type": "function", "function": {"name": "submit", "arguments": "{}"}}
                    ],
                }
            )
            f2p, p2p, total = hidden_tests(script)
            verdict = "RESOLVED" if f2p == 1 and p2p == total else "NOT RESOLVED"
            result = (
                f"Submission received. Running the hidden tests of {sc.repo} on your patch...\n"
                f"FAIL_TO_PASS: {f2p}/1 passed\nPASS_TO_PASS: {p2p}/{total} passed\nResult: {verdict}"
            )
            msgs.append(_tool_msg(call_id, "submit", result, parts_content, named_results))
            k += 1
            continue
        batch = [step]
        while step.group and k + len(batch) < len(steps) and steps[k + len(batch)].group == step.group:
            batch.append(steps[k + len(batch)])
        calls, results = [], []
        for j, s in enumerate(batch):
            name, args = _tool_args(s)
            call_id = "call_" + _token(rid, k + j)
            calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}})
            results.append(_tool_msg(call_id, name, s.output, parts_content, named_results))
        thought = "\n\n".join(s.thought for s in batch if s.thought) or None
        msgs.append({"role": "assistant", "content": thought, "tool_calls": calls})
        msgs.extend(results)
        k += len(batch)
    return msgs


def _tool_msg(call_id: str, name: str, output: str, parts: bool, named: bool) -> dict:
    msg: dict = {"role": "tool", "tool_call_id": call_id}
    if named:
        msg["name"] = name
    msg["content"] = [{"type": "text", "text": output}] if parts else output
    return msg


def to_sharegpt(script: Script, with_system: bool = True) -> list[dict]:
    sc = script.sc
    turns = [{"from": "system", "value": SQ_SYSTEM}] if with_system else []
    turns.append({"from": "human", "value": _issue_prompt(sc, "sharegpt")})
    for step in script.steps:
        if step.kind in ("say", "final"):
            turns.append({"from": "gpt", "value": step.thought})
            continue
        if step.thought:
            turns.append({"from": "gpt", "value": step.thought})
        name, args = _tool_args(step)
        turns.append({"from": "function_call", "value": json.dumps({"name": name, "arguments": args})})
        turns.append({"from": "observation", "value": step.output})
    return turns


# ------------------------------------------------------------------------------------------------ labels
def _fill(template: str, sc: Scenario) -> str:
    return template.format(
        func=sc.func,
        module=sc.module,
        bug=sc.bug,
        Bug=sc.bug[0].upper() + sc.bug[1:],
        reg_name=sc.reg_name,
        n=sc.n_tests + 1,
        test_path=sc.test_path,
    )


def teacher_labels(profile: str, sc: Scenario, rid: str, rubric: mira_hf.Rubric) -> dict:
    """Scores (base per behaviour, ±0.5 teacher noise), overall, recommendation and the teacher's raw text."""
    label = PROFILES[profile]
    scores = []
    for k, base in enumerate(label.scores):
        noise = (-0.5, 0.0, 0.0, 0.5)[zlib.crc32(f"{rid}:A{k + 1}".encode()) % 4] if 1 <= base <= 9 else 0.0
        scores.append(float(base + noise))
    weights = rubric.cluster_sizes
    overall = round(10 * sum(w * s for w, s in zip(weights, scores)) / sum(weights))
    if label.cap is not None:
        overall = min(overall, label.cap)
    recommendation = "keep" if overall >= 70 else "downsample" if overall >= 45 else "drop"
    lines = [
        f"[{d.slot}] {d.dimension}: {s:g}/10 — {_fill(reason, sc)}"
        for d, s, reason in zip(rubric, scores, label.reasons)
    ]
    brief = _fill(label.brief, sc)
    lines += [
        f"overall: {overall}",
        f"training_recommendation: {recommendation}",
        f"domain_tag: {sc.domain}",
        f"brief: {brief}",
    ]
    return {
        "teacher_scores": scores,
        "teacher_overall": overall,
        "teacher_recommendation": recommendation,
        "teacher_raw": "\n".join(lines),
    }


# ------------------------------------------------------------------------------------------------- build
def build_rows() -> list[dict]:
    rubric = mira_hf.load_rubric("agent-group4")
    rows = []
    for s_index, (source, prefix, profiles) in enumerate(SOURCES):
        for j, profile in enumerate(profiles):
            sc = SCENARIOS[(5 * j + 4 * s_index) % len(SCENARIOS)]
            rid = f"{prefix}-{j + 1:04d}"
            size = SIZES.get((source, profile), 1)
            script = build(profile, sc, size)
            f2p, p2p, total = hidden_tests(script)
            resolved = f2p == 1 and p2p == total
            if resolved != PROFILES[profile].resolved:
                raise RuntimeError(
                    f"{rid}: {profile} on {sc.key} should {'' if PROFILES[profile].resolved else 'not '}"
                    "resolve the issue"
                )
            if source == "agent_openhands":
                record: object = to_openhands(script, rid)
            elif source == "davinc_dev":
                record = to_openai(script, rid, parts_content=j % 3 == 1, named_results=j % 2 == 0)
            else:
                record = to_sharegpt(script, with_system=size > 0)
            trajectory = json.dumps(record, ensure_ascii=False)
            text = render_record(trajectory)
            rows.append(
                {
                    "id": rid,
                    "source": source,
                    "trajectory": trajectory,
                    "num_tokens": math.ceil(len(text.encode("utf-8")) / 4),
                    **teacher_labels(profile, sc, rid, rubric),
                }
            )
    return rows


def dumps(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the JSONL (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only check that --out is up to date")
    args = parser.parse_args(argv)
    text = dumps(build_rows())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run python examples/data/build_examples.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
