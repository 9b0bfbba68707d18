"""Coverage means "shown": a field's text counts only where the prompt renders that field.

A field that is never rendered scores below 1 even when its lines (long or short) appear elsewhere in the
prompt; reasoning (``thinking_blocks``, ``reasoning_content``, ``thinking``) is rendered and counted in every
shape that carries it; what coverage leaves out is metadata, never what the agent produced or saw; coverage is
reported per kind of field, by ``mira_hf.inspect`` and by ``mira-hf inspect``.
"""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import pytest
from typer.testing import CliRunner

import mira_hf
from mira_hf.cli import app
from mira_hf.records import coverage, coverage_report, render
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "records"
THOUGHT = "bucket_count floors the division; math.ceil would keep the partial last bucket."


def _fixture(name: str) -> list[Any]:
    path = FIXTURES / name
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(path.read_text(encoding="utf-8"))]


def _scored(name: str, record: Any) -> Any:
    return record["trajectory"] if name.startswith("nebius") else record


# ----------------------------------------------------------------------------- not shown means not counted
def test_a_field_never_rendered_is_not_shown_because_its_lines_repeat_elsewhere():
    answer = "Fixed the off-by-one in bucket_count.\nAll 9 tests pass now."
    record = {
        "messages": [
            {"role": "user", "content": "resample() drops the last bucket; fix it."},
            {"role": "assistant", "content": answer},
        ],
        "reviewer_notes": answer,
    }  # the wrapper's other keys are never rendered
    report = coverage_report(record)
    assert report.ratio < 0.75 and report.missing == ("reviewer_notes",)
    draft = [
        {"role": "user", "content": "Run the test suite.\nThen fix what fails."},
        {"role": "assistant", "content": "Running it.", "draft": "Run the test suite.\nThen fix what fails."},
    ]
    assert "draft" not in render(draft).text.lower()
    assert coverage_report(draft).missing == ("[].draft",)  # a chat message's unknown key is not rendered


def test_short_lines_found_elsewhere_do_not_count_for_a_field_not_shown():
    record = [
        {"role": "user", "content": 'Check the config:\n{\n  "debug": true\n}\nok'},
        {"role": "assistant", "content": "The config is fine.", "scratch": "ok\n}\nok\n}"},
    ]
    text = render(record).text
    assert "ok" in text and "}" in text and "scratch" not in text
    report = coverage_report(record)
    assert report.missing == ("[].scratch",)
    assert report.total - report.shown == len("ok}ok}")  # every short line of the unrendered field is missing


def test_a_line_is_found_as_whole_words_not_inside_another_word():
    record = [{"role": "tool", "tool_call_id": "c1", "content": "The build is broken.", "status_note": "ok\nok"}]
    report = coverage_report(record)
    assert report.missing == ("[].status_note",) and report.total - report.shown == 4


def test_the_coverage_exclusions_are_not_the_renderers_drop_list():
    """The generic reader does not show ``extra_info``; coverage counts it all the same (it is agent text)."""
    record = [
        {
            "type": "note",
            "content": "Investigated the resampler.",
            "extra_info": "The agent suspected an off-by-one in bucket_count.",
        }
    ]
    assert "suspected" not in render(record).text
    assert coverage(record) < 0.75


# ----------------------------------------------------------------------------------------------- reasoning
def _thinking_blocks(text: str) -> list[dict]:
    return [{"type": "thinking", "thinking": text, "signature": "EqQBCkYIBhgCIkA0"}]


def test_an_assistant_turn_of_thinking_blocks_only_is_rendered_and_counted():
    record = [
        {"role": "user", "content": "resample('1h') drops the last bucket."},
        {"role": "assistant", "content": "", "thinking_blocks": _thinking_blocks(THOUGHT)},
        {"role": "assistant", "content": "Fixed: bucket_count uses math.ceil."},
    ]
    text = render(record).text
    assert f"### assistant\n(thinking) {THOUGHT}" in text
    report = coverage_report(record)
    assert report.by_kind["reasoning"] == (len(THOUGHT), len(THOUGHT)) and report.ratio == 1.0


def test_reasoning_the_renderer_does_not_show_is_counted_as_missing():
    record = [
        {"role": "user", "content": "resample('1h') drops the last bucket."},
        {"role": "assistant", "content": "Fixed.", "thinking_blocks": _thinking_blocks(THOUGHT)},
    ]
    rendering = render(record)
    hidden = type(rendering)(
        rendering.text.replace(f"(thinking) {THOUGHT}\n", ""), rendering.format, rendering.attribution
    )
    report = coverage_report(record, hidden)
    assert report.by_kind["reasoning"] == (0, len(THOUGHT)) and report.missing == ("[].thinking_blocks[].thinking",)


def _with_reasoning_v0(record: Any) -> Any:
    events = copy.deepcopy(record)
    action = next(e for e in events if isinstance(e, dict) and e.get("tool_call_metadata"))
    action["tool_call_metadata"]["model_response"]["choices"][0]["message"]["reasoning_content"] = THOUGHT
    return events


def _with_reasoning_v1(record: Any) -> Any:
    events = copy.deepcopy(record)
    action = next(e for e in events if e.get("kind") == "ActionEvent")
    action["thinking_blocks"] = _thinking_blocks(THOUGHT)
    return events


def _with_reasoning_swe_agent(record: Any) -> Any:
    traj = copy.deepcopy(record)
    message = next(m for m in traj["history"] if m["role"] == "assistant")
    message["thinking_blocks"] = _thinking_blocks(THOUGHT)
    return traj


# Each reader, with reasoning in the place its framework stores it.
REASONING = {
    "chat reasoning_content": [
        {"role": "user", "content": "Fix it."},
        {"role": "assistant", "content": "On it.", "reasoning_content": THOUGHT},
    ],
    "chat thinking key": [
        {"role": "user", "content": "Fix it."},
        {"role": "assistant", "content": "On it.", "thinking": THOUGHT},
    ],
    "anthropic thinking part": [
        {"role": "user", "content": "Fix it."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": THOUGHT, "signature": "sig"},
                {"type": "text", "text": "On it."},
            ],
        },
    ],
    "litellm reasoning_content and thinking_blocks": [
        {"role": "user", "content": "Fix it."},
        {
            "role": "assistant",
            "content": "On it.",
            "reasoning_content": THOUGHT,
            "thinking_blocks": _thinking_blocks(THOUGHT),
        },
    ],
    "sharegpt reasoning part": [
        {"from": "human", "value": "Fix it."},
        {"from": "gpt", "value": [{"type": "reasoning", "value": THOUGHT}, {"type": "text", "value": "On it."}]},
    ],
    "openhands v0 model_response": _with_reasoning_v0(_fixture("openhands_v0_events.json")[0]),
    "openhands v1 thinking_blocks": _with_reasoning_v1(_fixture("openhands_v1_events.json")[0]),
    "swe-agent history thinking_blocks": _with_reasoning_swe_agent(_fixture("swe_agent_1x.traj")[0]),
}


@pytest.mark.parametrize("shape", list(REASONING))
def test_reasoning_is_rendered_and_counted_in_every_shape(shape):
    record = REASONING[shape]
    text = render(record).text
    assert text.count(THOUGHT) == 1, shape  # shown once, even where two fields carry it
    assert f"(thinking) {THOUGHT}" in text
    report = coverage_report(record)
    shown, total = report.by_kind["reasoning"]
    assert total >= len(THOUGHT) and shown == total, (shape, report)


def test_one_response_with_two_calls_shows_its_reasoning_once_and_counts_each_copy():
    """OpenHands V0 copies the model's response onto each of its actions and observations."""
    response = {
        "id": "chatcmpl-1",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "Look, then test.",
                    "reasoning_content": THOUGHT,
                    "tool_calls": [
                        {"id": "t1", "function": {"name": "execute_bash", "arguments": '{"command": "ls src"}'}},
                        {
                            "id": "t2",
                            "function": {
                                "name": "execute_bash",
                                "arguments": '{"command": "pytest -q tests/test_resample.py"}',
                            },
                        },
                    ],
                }
            }
        ],
    }

    def metadata(call_id: str) -> dict:
        return {"function_name": "execute_bash", "tool_call_id": call_id, "model_response": copy.deepcopy(response)}

    events = [
        {"id": 1, "source": "user", "action": "message", "args": {"content": "Fix resample."}},
        {
            "id": 2,
            "source": "agent",
            "action": "run",
            "tool_call_metadata": metadata("t1"),
            "args": {"command": "ls src", "thought": "Look, then test."},
        },
        {
            "id": 3,
            "source": "agent",
            "action": "run",
            "tool_call_metadata": metadata("t2"),
            "args": {"command": "pytest -q tests/test_resample.py", "thought": ""},
        },
        {
            "id": 4,
            "cause": 2,
            "observation": "run",
            "content": "resample.py",
            "tool_call_metadata": metadata("t1"),
            "extras": {"command": "ls src", "metadata": {"exit_code": 0}},
        },
        {
            "id": 5,
            "cause": 3,
            "observation": "run",
            "content": "9 passed",
            "tool_call_metadata": metadata("t2"),
            "extras": {"command": "pytest -q tests/test_resample.py", "metadata": {"exit_code": 0}},
        },
    ]
    text = render(events).text
    assert text.count(THOUGHT) == 1 and text.index(THOUGHT) < text.index("→ run [2]")
    report = coverage_report(events)
    assert report.ratio == 1.0 and report.by_kind["reasoning"][1] >= 4 * len(THOUGHT)


def test_an_openhands_v1_action_run_otherwise_than_its_call_says_shows_both():
    events = [
        {
            "kind": "MessageEvent",
            "source": "user",
            "llm_message": {"role": "user", "content": [{"type": "text", "text": "Fix walk()."}]},
        },
        {
            "kind": "ActionEvent",
            "source": "agent",
            "tool_name": "finish",
            "tool_call_id": "t9",
            "thought": [{"type": "text", "text": "Done."}],
            "action": {"kind": "FinishAction", "message": "Fixed pathkit/walk.py and its test."},
            "tool_call": {"id": "t9", "name": "finish", "arguments": '{"message": "done"}'},
        },
    ]
    text = render(events).text
    assert '→ call finish [t9]: {"message": "done"}' in text and "Fixed pathkit/walk.py and its test." in text
    assert coverage(events) == 1.0


def test_a_traj_shows_each_observation_as_the_agent_saw_it():
    traj = _fixture("swe_agent_0x.traj")[0]
    text = render(traj).text
    seen = [m["content"] for m in traj["history"] if m["role"] == "user" and not m.get("is_demo")][1:]
    assert seen and all("(Current directory: /tsgrid)" in m for m in seen)
    for message in seen:
        for line in message.splitlines():
            assert line.strip() in text, line
    assert coverage_report(traj).ratio_by_kind["observation"] == 1.0


# ------------------------------------------------------------------------------ every reader's fixtures
def _reasoning_texts(value: Any, out: list[str]) -> list[str]:
    """Reasoning the raw record holds, read independently of the renderer."""
    if isinstance(value, dict):
        for key in ("reasoning_content", "thinking", "reasoning"):
            if isinstance(value.get(key), str) and value[key].strip():
                out.append(value[key].strip())
        if value.get("type") in ("reasoning", "thinking") and isinstance(value.get("value"), str):
            out.append(value["value"].strip())
        for v in value.values():
            _reasoning_texts(v, out)
    elif isinstance(value, list):
        for v in value:
            _reasoning_texts(v, out)
    return out


CASES = [(name, i) for name in sorted(p.name for p in FIXTURES.iterdir()) for i in range(len(_fixture(name)))]
#: The kinds of the agent's own text (and the outcome it reached): shown whole by every reader.
AGENT_KINDS = ("message", "reasoning", "tool_call", "observation", "outcome")


def _chars(text: str) -> int:
    return sum(len(line.strip()) for line in text.split("\n"))


def _given_text(value: Any, out: dict[str, int]) -> dict[str, int]:
    """Characters of the tool schemas' descriptions and of the demonstrations a raw record holds, read
    independently of coverage (in the fixtures, what else a schema holds are names, types and enums: labels)."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except ValueError:
            return out
    if isinstance(value, dict):
        if value.get("is_demo") is True:
            out["demonstration"] += _chars(value["content"])
            return out
        for key, v in value.items():
            if key == "tools":
                out["tools"] += sum(_chars(d) for d in _descriptions(v, []))
            else:
                _given_text(v, out)
    elif isinstance(value, list):
        for v in value:
            _given_text(v, out)
    return out


def _descriptions(value: Any, out: list[str]) -> list[str]:
    if isinstance(value, str) and value.strip()[:1] == "[":
        value = json.loads(value)
    if isinstance(value, dict):
        for key, v in value.items():
            if key == "description" and isinstance(v, str):
                out.append(v)
            else:
                _descriptions(v, out)
    elif isinstance(value, list):
        for v in value:
            _descriptions(v, out)
    return out


@pytest.mark.parametrize(("name", "index"), CASES)
def test_every_reader_shows_each_kind_of_field_and_its_reasoning(name, index):
    """The agent's own text is shown (≥ 95% per kind); the setup text the prompt shortens on purpose is counted,
    as not shown, to the character: the tool schemas (the prompt names the tools) and the demonstrations."""
    record = _scored(name, _fixture(name)[index])
    rendering = render(record)
    report = coverage_report(record, rendering)
    for kind in (*AGENT_KINDS, "system"):
        if kind in report.by_kind:
            assert report.ratio_by_kind[kind] >= 0.95, (name, kind, report)
    given = _given_text(record, {"tools": 0, "demonstration": 0})
    for kind in ("tools", "demonstration"):
        assert report.by_kind.get(kind, (0, 0)) == (0, given[kind]), (name, kind, report)
    # every character not shown is setup text left out on purpose, and the ratio says so
    assert report.total - report.shown == report.shortened == given["tools"] + given["demonstration"], (name, report)
    assert report.ratio == pytest.approx(1 - report.shortened / report.total)
    for thought in _reasoning_texts(record, []):
        assert thought in rendering.text, (name, thought)


def test_the_fixtures_hold_reasoning_and_every_kind_of_field():
    kinds: set[str] = set()
    thoughts = 0
    for name, index in CASES:
        record = _scored(name, _fixture(name)[index])
        kinds |= set(coverage_report(record).by_kind)
        thoughts += len(_reasoning_texts(record, []))
    assert kinds == {"system", "tools", "demonstration", "message", "reasoning", "tool_call", "observation", "outcome"}
    assert thoughts >= 5


def test_what_coverage_leaves_out_is_metadata_never_agent_text():
    cov = importlib.import_module("mira_hf.records.measure")

    agent_text = {
        "content",
        "text",
        "value",
        "thought",
        "thinking",
        "thinking_blocks",
        "reasoning",
        "reasoning_content",
        "reasoning_details",
        "responses_reasoning_item",
        "tool_calls",
        "function_call",
        "arguments",
        "args",
        "input",
        "observation",
        "output",
        "response",
        "error",
        "extra_info",
        "model_response",
        "tool_call_metadata",
        "extra",
        "history",
        "messages",
        "trajectory",
        "summary",
        "system_prompt",
        "problem_statement",
        "submission",
        "action",
        "command",
        "code",
        "final_thought",
        # what the agent saw that the prompt shortens: tool schemas, demonstrations, system prompts
        "tools",
        "function",
        "description",
        "parameters",
        "properties",
        "system",
        "is_demo",
    }
    left_out = set(cov.METADATA_KEYS) | {k for keys in cov.NOT_SEEN.values() for k in keys}
    assert not left_out & agent_text
    assert not any(cov._is_metadata(k) for k in agent_text)
    assert cov.COPIES == {"swe_agent": frozenset({"query", "messages"})}  # a step's copy of the history so far


# ------------------------------------------------------------------------- setup text: counted, as not shown
SCHEMA = "Run a shell command in the sandbox; its output comes back as the observation."


def _with_tool_schema(events: list) -> list:
    events = copy.deepcopy(events)
    system = next(e for e in events if e.get("kind") == "SystemPromptEvent")
    system["tools"] = [
        {
            "type": "function",
            "function": {
                "name": "execute_bash",
                "description": SCHEMA,
                "parameters": {
                    "type": "object",
                    "properties": {"command": {"type": "string", "description": "The command to run."}},
                },
            },
        }
    ]
    return events


def test_tool_schemas_the_prompt_does_not_render_count_as_not_shown():
    events = _with_tool_schema(_fixture("openhands_v1_events.json")[0])
    text = render(events).text
    assert "(tools: execute_bash)" in text and SCHEMA not in text  # the prompt names the tool, nothing more
    report = coverage_report(events)
    schema_chars = len(SCHEMA) + len("The command to run.")
    assert report.by_kind["tools"] == (0, schema_chars) and report.ratio_by_kind["tools"] == 0.0
    assert report.ratio < 1.0 and report.total - report.shown == schema_chars == report.shortened
    assert "[].tools[].function.description" in report.missing
    cov = importlib.import_module("mira_hf.records.measure")  # the schema's keys are not on the excluded list
    assert not any(cov._is_metadata(k) for k in ("tools", "function", "description", "parameters", "properties"))
    # the agent's own text is whole: the gap is the schemas, nothing else
    assert all(report.ratio_by_kind[k] == 1.0 for k in AGENT_KINDS if k in report.by_kind)


def test_a_demonstration_counts_as_not_shown():
    record = [
        {"role": "system", "content": "You are a careful programmer."},
        {"role": "user", "content": "Here is how a task is done:\nrun the tests, then fix.", "is_demo": True},
        {"role": "user", "content": "Fix resample()."},
        {"role": "assistant", "content": "Fixed."},
    ]
    assert "how a task is done" not in render(record).text
    report = coverage_report(record)
    demo = len("Here is how a task is done:") + len("run the tests, then fix.")
    assert report.by_kind["demonstration"] == (0, demo) and report.shortened == demo
    assert report.ratio == pytest.approx(1 - demo / report.total)


def test_the_middle_of_a_long_system_prompt_counts_as_not_shown():
    rules = "\n".join(f"Rule {i}: keep the change set minimal and explain each edit." for i in range(200))
    events = copy.deepcopy(_fixture("openhands_v1_events.json")[0])
    system = next(e for e in events if e.get("kind") == "SystemPromptEvent")
    system["system_prompt"]["text"] = rules
    text = render(events).text
    assert "characters of the system prompt omitted" in text and "Rule 100:" not in text
    report = coverage_report(events)
    shown, total = report.by_kind["system"]
    assert total == _chars(rules)  # the whole prompt counts
    kept = text[text.index("Rule 0:") : text.index("\n(tools: ", text.index("Rule 0:"))]
    kept = kept.replace(kept[kept.index("\n[... ") : kept.index("omitted ...]") + len("omitted ...]")], "")
    assert shown == _chars(kept) and shown < 0.5 * total  # head and tail are shown, the middle is not
    assert report.shortened == total - shown + report.by_kind["tools"][1]  # the middle and the tool schemas
    assert "[].system_prompt.text" in report.missing


def test_the_middle_of_a_long_workspace_context_counts_as_not_shown_under_system():
    """OpenHands V0's recall (repository instructions, microagent knowledge) is setup given to the agent."""
    events = copy.deepcopy(_fixture("openhands_v0_events.json")[0])
    recall = next(e for e in events if e.get("observation") == "recall")
    rules = "\n".join(f"Repo rule {i}: run the linters before each commit." for i in range(100))
    recall["extras"]["repo_instructions"] = rules
    recall["extras"]["microagent_knowledge"] = [
        {"name": "gitflow", "content": "\n".join(f"Git rule {i}: rebase onto main first." for i in range(80))}
    ]
    text = render(events).text
    assert "characters of the workspace context omitted" in text and "Repo rule 99:" not in text
    report = coverage_report(events)
    shown, total = report.by_kind["system"]
    assert total >= _chars(rules) and 0 < shown < 0.75 * total
    assert report.total - report.shown == report.shortened == total - shown + report.by_kind["tools"][1]
    assert all(report.ratio_by_kind[k] == 1.0 for k in AGENT_KINDS if k in report.by_kind)


# ------------------------------------------------------------------------------------------ per kind
def test_inspect_reports_coverage_per_kind_of_field():
    records = [
        REASONING["chat reasoning_content"],
        [
            {"role": "user", "content": "Fix it."},
            {"role": "assistant", "content": "Done.", "thinking_blocks": _thinking_blocks(THOUGHT)},
        ],
        [
            {"role": "user", "content": "Fix it."},
            {"role": "assistant", "content": "Done.", "scratch": "a private note that is never rendered"},
        ],
    ]
    report = mira_hf.inspect(records, n=0, progress=False)
    assert report.coverage_by_kind["reasoning"] == 1.0 and report.rows_by_kind["reasoning"] == 2
    assert report.rows_by_kind["message"] == 3 and report.coverage_by_kind["message"] < 1.0
    text = str(report)
    assert "Coverage by field kind" in text and "reasoning" in text
    assert "Coverage by field kind" in report.to_html()


def test_cli_inspect_prints_and_saves_coverage_per_kind(tmp_path):
    data = tmp_path / "runs.jsonl"
    rows = [
        {"id": "a", "messages": REASONING["litellm reasoning_content and thinking_blocks"]},
        {
            "id": "b",
            "messages": [
                {"role": "user", "content": "Fix it."},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "bash", "arguments": '{"command": "pytest -x"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "1 failed"},
            ],
        },
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "inspect.json"
    result = CliRunner().invoke(app, ["inspect", str(data), "--n", "0", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Coverage by field kind" in result.stdout
    for kind in ("reasoning", "tool_call", "observation"):
        assert kind in result.stdout
    saved = json.loads(out.read_text())
    assert saved["coverage_by_kind"] == {"message": 1.0, "reasoning": 1.0, "tool_call": 1.0, "observation": 1.0}
    assert saved["rows_by_kind"] == {"message": 2, "reasoning": 1, "tool_call": 1, "observation": 1}
