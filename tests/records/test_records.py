"""Record rendering: every supported shape reads as attributed text; bad records fail with a clear error.

Also checks the bundled example dataset (``examples/data``): it loads with ``datasets``, every trajectory
renders, and its teacher labels are well-formed and agree with each other and with the trajectories.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter

import datasets
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import mira_hf
from mira_hf.errors import InvalidRecordError
from mira_hf.records import detect_format, render_record
from tests.conftest import EXAMPLES, REPO

# ------------------------------------------------------------------------------------------ fixtures

OPENAI = [
    {"role": "system", "content": "You are a software engineering agent."},
    {"role": "user", "content": [{"type": "text", "text": "paginate() drops the last partial page."}]},
    {
        "role": "assistant",
        "content": "Let me reproduce it and look at the code.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "bash", "arguments": '{"command": "python -m pytest -q tests/test_paginate.py"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {
                    "name": "str_replace_editor",
                    "arguments": {"command": "view", "path": "pagekit/paginate.py"},
                },
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "1 failed, 6 passed in 0.09s"},
    {
        "role": "tool",
        "tool_call_id": "call_2",
        "name": "str_replace_editor",
        "content": [{"type": "text", "text": "     9\t    return n_items // per_page"}],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_3",
                "type": "function",
                "function": {
                    "name": "str_replace_editor",
                    "arguments": '{"command": "str_replace", "path": "pagekit/paginate.py", '
                    '"old_str": "n_items // per_page", "new_str": "math.ceil(n_items / per_page)"}',
                },
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_3", "content": "The file pagekit/paginate.py has been edited."},
    {"role": "assistant", "content": "Fixed page_count; all 7 tests pass."},
]

SHAREGPT = [
    {"from": "system", "value": "You are an autonomous programmer."},
    {"from": "human", "value": "is_newer('1.10.0', '1.9.0') is False"},
    {"from": "gpt", "value": "Let me find the comparison."},
    {"from": "function_call", "value": json.dumps({"name": "bash", "arguments": {"command": "grep -rn is_newer ."}})},
    {"from": "observation", "value": "./relcheck/versions.py:9:def is_newer(candidate, current):"},
    {
        "from": "function_call",
        "value": json.dumps(
            {"name": "str_replace_editor", "arguments": {"command": "view", "path": "relcheck/versions.py"}}
        ),
    },
    {"from": "observation", "value": "     6\t    return tuple(version.split('.'))"},
    {"from": "gpt", "value": "The parts are compared as strings; converting them to int fixes it."},
]

OPENHANDS = [
    {"id": 0, "source": "agent", "action": "system", "args": {"content": "You are OpenHands agent."}},
    {"id": 1, "source": "user", "action": "message", "args": {"content": "LRUCache evicts a key that was just read."}},
    {"id": 2, "source": "user", "action": "recall", "args": {"recall_type": "workspace_context", "query": "LRU"}},
    {
        "id": 3,
        "source": "environment",
        "observation": "agent_state_changed",
        "content": "",
        "extras": {"agent_state": "running"},
    },
    {
        "id": 4,
        "source": "agent",
        "action": "run",
        "args": {"command": "python -m pytest -q", "thought": "Reproduce first."},
        "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "toolu_01"},
    },
    {
        "id": 5,
        "source": "agent",
        "cause": 4,
        "observation": "run",
        "content": "1 failed, 4 passed",
        "extras": {"command": "python -m pytest -q", "metadata": {"exit_code": 1, "working_dir": "/testbed"}},
    },
    {
        "id": 6,
        "source": "agent",
        "action": "edit",
        "args": {
            "path": "/testbed/memo/lru.py",
            "command": "str_replace",
            "old_str": "return self._data.get(key, default)",
            "new_str": "self._data.move_to_end(key)",
            "thought": "get() must refresh recency.",
        },
    },
    {
        "id": 7,
        "source": "agent",
        "cause": 6,
        "observation": "edit",
        "content": "The file was edited.",
        "extras": {"path": "/testbed/memo/lru.py"},
    },
    {"id": 8, "source": "agent", "action": "read", "args": {"path": "/testbed/memo/lru.py", "view_range": [10, 20]}},
    {
        "id": 9,
        "source": "agent",
        "cause": 8,
        "observation": "error",
        "content": "ERROR: file changed on disk",
        "extras": {"error_id": ""},
    },
    {
        "id": 10,
        "source": "agent",
        "action": "finish",
        "args": {"final_thought": "get() now refreshes recency; tests pass.", "task_completed": "true", "outputs": {}},
    },
]


def _examples() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLES / "trajectories.jsonl").read_text(encoding="utf-8").splitlines()]


def _in_order(text: str, *parts: str) -> bool:
    """Each part occurs in ``text`` after the previous one."""
    pos = 0
    for part in parts:
        pos = text.find(part, pos)
        if pos < 0:
            return False
        pos += len(part)
    return True


# ------------------------------------------------------------------------------------------ shapes


def test_openai_tool_calls_and_results_are_attributed_in_order():
    text = render_record(OPENAI)
    assert detect_format(OPENAI) == "openai"
    assert _in_order(
        text,
        "### system\nYou are a software engineering agent.",
        "### user\npaginate() drops the last partial page.",
        "### assistant\nLet me reproduce it and look at the code.",
        '→ call bash [call_1]: {"command": "python -m pytest -q tests/test_paginate.py"}',
        '→ call str_replace_editor [call_2]: {"command": "view", "path": "pagekit/paginate.py"}',  # dict arguments
        "### tool result [call_1] (bash)\n1 failed, 6 passed",  # name found from the call id
        "### tool result [call_2] (str_replace_editor)\n     9\t    return n_items // per_page",
        "→ call str_replace_editor [call_3]:",
        '"new_str": "math.ceil(n_items / per_page)"',
        "### tool result [call_3] (str_replace_editor)\nThe file pagekit/paginate.py has been edited.",
        "### assistant\nFixed page_count; all 7 tests pass.",
    ), text


def test_openai_legacy_function_calls_and_other_parts():
    record = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look at this screenshot."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {"role": "assistant", "content": None, "function_call": {"name": "read_file", "arguments": '{"path": "a.py"}'}},
        {"role": "function", "name": "read_file", "content": "print('hi')"},
        {"role": "assistant", "content": "Done.", "reasoning_content": "The file only prints."},
    ]
    text = render_record(record)
    assert "[image]" in text and "base64" not in text  # images are marked, not dumped
    assert _in_order(
        text,
        '→ call read_file: {"path": "a.py"}',
        "### tool result (read_file)\nprint('hi')",
        "### assistant\n(thinking) The file only prints.\nDone.",
    )


def test_sharegpt_function_calls_are_numbered_and_answered_in_order():
    text = render_record(SHAREGPT)
    assert detect_format(SHAREGPT) == "sharegpt"
    assert _in_order(
        text,
        "### system\nYou are an autonomous programmer.",
        "### user\nis_newer('1.10.0', '1.9.0') is False",
        '### assistant\nLet me find the comparison.\n→ call bash [#1]: {"command": "grep -rn is_newer ."}',
        "### tool result [#1] (bash)\n./relcheck/versions.py:9:def is_newer",
        "→ call str_replace_editor [#2]:",
        "### tool result [#2] (str_replace_editor)\n     6\t    return tuple(version.split('.'))",
        "### assistant\nThe parts are compared as strings",
    ), text


def test_sharegpt_variants():
    record = [
        {"from": "user", "value": "Run it."},
        {"from": "function_call", "value": "bash -c 'pytest'"},  # not JSON: shown as it is
        {"from": "tool", "value": "ok"},
        {"from": "bard", "value": "All good."},
        {"from": "reviewer", "value": "LGTM"},
    ]
    text = render_record(record)
    assert _in_order(
        text,
        "### user\nRun it.",
        "→ call [#1]: bash -c 'pytest'",
        "### tool result [#1]\nok",
        "### assistant\nAll good.",
        "### reviewer\nLGTM",
    )


def test_openhands_actions_and_observations_are_attributed_by_cause():
    text = render_record(OPENHANDS)
    assert detect_format(OPENHANDS) == "openhands"
    assert _in_order(
        text,
        "### system\nYou are OpenHands agent.",
        "### user\nLRUCache evicts a key that was just read.",
        "### assistant\nReproduce first.\n→ run [4]: python -m pytest -q",
        "### tool result [4] (run, exit code 1)\n1 failed, 4 passed",
        "get() must refresh recency.\n→ edit [6] str_replace /testbed/memo/lru.py",
        "old_str:\nreturn self._data.get(key, default)\nnew_str:\nself._data.move_to_end(key)",
        "### tool result [6] (edit, /testbed/memo/lru.py)\nThe file was edited.",
        "→ read [8]: /testbed/memo/lru.py (lines 10–20)",
        "### tool result [8] (error)\nERROR: file changed on disk",
        "→ finish [10] (task_completed: true)\nget() now refreshes recency; tests pass.",
    ), text
    # bookkeeping events carry no trajectory content
    assert "agent_state_changed" not in text and "recall" not in text and "workspace_context" not in text


def test_openhands_opendevin_pairs_and_sdk_events():
    pairs = [
        [
            {"action": "run", "args": {"command": "ls", "thought": "Look around."}},
            {"observation": "run", "content": "setup.py", "extras": {"command": "ls", "exit_code": 0}},
        ],
        [{"action": "finish", "args": {"thought": "Nothing to do."}}, {"observation": "null", "content": ""}],
    ]
    text = render_record({"history": pairs})
    assert detect_format(pairs) == "openhands"
    assert _in_order(
        text,
        "Look around.\n→ run: ls",
        "### tool result (run, exit code 0, `ls`)\nsetup.py",
        "→ finish\nNothing to do.",
    )

    sdk = [
        {
            "kind": "SystemPromptEvent",
            "source": "agent",
            "system_prompt": {"type": "text", "text": "You are OpenHands."},
        },
        {
            "kind": "MessageEvent",
            "source": "user",
            "llm_message": {"role": "user", "content": [{"type": "text", "text": "Fix truncate()."}]},
        },
        {
            "kind": "ActionEvent",
            "source": "agent",
            "thought": [{"type": "text", "text": "Run the tests."}],
            "tool_name": "execute_bash",
            "tool_call_id": "toolu_9",
            "tool_call": {"id": "toolu_9", "name": "execute_bash", "arguments": '{"command": "pytest -q"}'},
            "action": {"kind": "ExecuteBashAction", "command": "pytest -q"},
        },
        {"kind": "ConversationStateUpdateEvent", "key": "agent_status", "value": "running"},
        {
            "kind": "ObservationEvent",
            "source": "environment",
            "tool_name": "execute_bash",
            "tool_call_id": "toolu_9",
            "observation": {
                "kind": "ExecuteBashObservation",
                "content": [{"type": "text", "text": "3 passed"}],
                "exit_code": 0,
            },
        },
        {
            "kind": "AgentErrorEvent",
            "tool_name": "str_replace_editor",
            "tool_call_id": "toolu_10",
            "error": "path does not exist",
        },
    ]
    text = render_record(sdk)
    assert _in_order(
        text,
        "### system\nYou are OpenHands.",
        "### user\nFix truncate().",
        'Run the tests.\n→ call execute_bash [toolu_9]: {"command": "pytest -q"}',
        "### tool result [toolu_9] (execute_bash, exit code 0)\n3 passed",
        "### tool result [toolu_10] (str_replace_editor, error)\npath does not exist",
    )
    assert "agent_status" not in text


def test_plain_text_is_kept_as_it_is():
    text = "The agent ran pytest, found the off-by-one in page_count and fixed it.\n"
    assert render_record(text) == text and detect_format(text) == "text"
    assert render_record(np.str_("numpy text")) == "numpy text"
    # strings that merely look like JSON stay text
    for s in ("[WIP] fix the bug", "[1, 2]", "{not json}", "[[1, 2]]", '"quoted"'):
        assert render_record(s) == s and detect_format(s) == "text"


@pytest.mark.parametrize("record", [OPENAI, SHAREGPT, OPENHANDS], ids=["openai", "sharegpt", "openhands"])
def test_wrapped_serialized_and_array_records_render_like_the_list(record):
    expected = render_record(record)
    for key in ("messages", "conversations", "events", "trajectory", "history"):
        assert render_record({key: record, "id": "x-1", "source": "swe_qa"}) == expected
    assert render_record(json.dumps(record)) == expected  # corpora store trajectories as JSON strings
    assert render_record("  \n" + json.dumps({"messages": record}, indent=2) + "\n") == expected
    assert render_record(tuple(record)) == expected
    assert render_record(np.array(record, dtype=object)) == expected  # Ray Data / Arrow batches
    assert detect_format(json.dumps(record)) == detect_format(record)


def test_arrow_shaped_records_render():
    """A list<struct> column gives every message every field (None where absent); numpy batches nest arrays."""
    messages = [
        {"role": "user", "content": "Tests fail."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"command": "pytest -x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "1 failed"},
    ]
    expected = render_record(messages)
    ds = datasets.Dataset.from_dict({"messages": [messages]})
    row = ds[0]["messages"]
    assert row[0]["tool_calls"] is None and row[0]["tool_call_id"] is None  # Arrow filled in the missing fields
    assert render_record(row) == expected
    as_numpy = ds.with_format("numpy")[0]["messages"]
    assert isinstance(as_numpy, np.ndarray)
    assert render_record(as_numpy) == expected


# ------------------------------------------------------------------------------------------ bad input


def _cyclic_list():
    a: list = []
    a.append(a)
    return a


def _cyclic_dict():
    d: dict = {}
    d["messages"] = d
    return d


def _cyclic_args():
    args: dict = {"command": "ls"}
    args["self"] = args
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": args}}],
        }
    ]


def _deep_list(n=10_000):
    root: list = []
    cur = root
    for _ in range(n):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    return root


def _deep_dict(n=10_000):
    root: dict = {}
    cur = root
    for _ in range(n):
        cur["messages"] = {}
        cur = cur["messages"]
    return root


def _deep_args(n=10_000):
    args: dict = {}
    cur = args
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]
    return [
        {
            "role": "assistant",
            "content": "x",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": args}}],
        }
    ]


# Records that hold no text to score: the only ones rejected. name: (record, a fragment of the message)
NO_TEXT = {
    "none": (None, "missing"),
    "empty": ("", "empty"),
    "whitespace": ("  \n\t ", "empty"),
    "int": (42, "holds no text"),
    "float": (float("nan"), "holds no text"),
    "empty-list": ([], "empty list"),
    "empty-dict": ({}, "no text"),
    "list-of-ints": ([1, 2], "nothing to score"),
    "numbers-only-dicts": ([{"foo": 1}], "nothing to score"),
    "numbers-only-json": (json.dumps([{"foo": 1}, {"bar": 2.5}]), "nothing to score"),
    "ids-and-times-only": ({"id": "run-1", "timestamp": "2025-01-01T00:00:00"}, "no text"),
    "cyclic-list": (_cyclic_list(), "nothing to score"),
    "cyclic-dict": (_cyclic_dict(), "wrapped"),
    "deep-list": (_deep_list(), "nothing to score"),
    "deep-dict": (_deep_dict(), "wrapped"),
    "all-empty-messages": (
        [{"role": "user", "content": ""}, {"role": "assistant", "content": None}],
        "nothing to score",
    ),
    "empty-events": (
        [{"action": "null", "args": {}}, {"observation": "agent_state_changed", "content": ""}],
        "nothing to score",
    ),
}


@pytest.mark.parametrize("name", list(NO_TEXT))
def test_records_without_text_raise_a_clear_invalid_record_error(name):
    record, fragment = NO_TEXT[name]
    with pytest.raises(InvalidRecordError) as info:
        render_record(record)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value), str(info.value)
    assert len(str(info.value)) < 400  # a message, not a dump of the record
    with pytest.raises(InvalidRecordError):
        detect_format(record)


# Odd records that still hold text: rendered, with the odd part visible. name: (record, texts that must show)
ODD = {
    "bytes": (b"ls -la", ["ls -la"]),
    "unknown-wrapper": ({"text": "hi", "id": "x"}, ["hi"]),
    "unknown-dicts": ([{"foo": "the agent listed the files"}], ["the agent listed the files"]),
    "message-without-content": ([{"role": "user", "content": "ok"}, {"role": "assistant"}], ["### user\nok"]),
    "non-dict-message": ([{"role": "user", "content": "ok"}, "oops"], ["### user\nok", "oops"]),
    "role-not-str": ([{"role": 3, "content": "x marks the spot"}], ["x marks the spot"]),
    "number-content": ([{"role": "user", "content": 42}], ["42"]),
    "tool-calls-a-string": ([{"role": "assistant", "content": None, "tool_calls": "bash -c ls"}], ["bash -c ls"]),
    "call-without-function": (
        [{"role": "user", "content": "go"}, {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}],
        ["[c]"],
    ),
    "sharegpt-without-value": ([{"from": "human", "value": "hi there"}, {"from": "gpt"}], ["hi there"]),
    "openhands-unknown-event": (
        [{"action": "run", "args": {"command": "ls"}}, {"oops": "odd event text"}],
        ["→ run: ls", "odd event text"],
    ),
    "openhands-args-not-dict": ([{"action": "run", "args": "ls -la"}], ["ls -la"]),
    "cyclic-args": (_cyclic_args(), ["→ call bash [c]", "nested too deeply"]),
    "deep-args": (_deep_args(), ["### assistant\nx", "nested too deeply"]),
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_records_with_text_render_instead_of_failing(name):
    record, texts = ODD[name]
    text = render_record(record)
    for t in texts:
        assert t in text, (t, text)


def test_huge_and_deep_strings_are_text_not_crashes():
    big = "pytest output line\n" * 270_000  # ~5 MB
    assert render_record(big) is big
    deep_json = "[" * 10_000 + "]" * 10_000  # valid JSON, too deep for the decoder: stays text
    assert render_record(deep_json) == deep_json
    fake = "[" + "x" * 5_000_000 + "]"
    assert render_record(fake) == fake


def test_large_serialized_trajectory_renders():
    messages = [{"role": "user", "content": "Fix it."}]
    messages += [{"role": "tool", "tool_call_id": f"c{i}", "content": "log line\n" * 500} for i in range(1000)]
    text = render_record(json.dumps(messages))  # ~5 MB of JSON
    assert text.count("### tool result [c") == 1000 and text.startswith("### user\nFix it.")


# ------------------------------------------------------------------------------------------ property

_name = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
_content = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.lists(st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=30)), max_size=3),
)


@st.composite
def _messages(draw):
    msgs, ids = [], []
    for i in range(draw(st.integers(1, 8))):
        role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
        if role == "tool":
            call_id = draw(st.sampled_from(ids)) if ids and draw(st.booleans()) else f"call_{i}"
            msgs.append({"role": "tool", "tool_call_id": call_id, "content": draw(_content)})
        elif role == "assistant" and draw(st.booleans()):
            calls = []
            for j in range(draw(st.integers(1, 3))):
                call_id = f"call_{i}_{j}"
                ids.append(call_id)
                args = draw(st.dictionaries(_name, st.one_of(st.text(max_size=20), st.integers()), max_size=3))
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": draw(_name),
                            "arguments": json.dumps(args) if draw(st.booleans()) else args,
                        },
                    }
                )
            msgs.append({"role": "assistant", "content": draw(_content), "tool_calls": calls})
        else:
            msgs.append({"role": role, "content": draw(_content)})
    return msgs


def _texts(content) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content.strip()]
    return [p["text"].strip() for p in content]


@settings(max_examples=200, deadline=None)
@given(_messages())
def test_any_well_formed_openai_messages_render_with_every_content(msgs):
    contents = [t for m in msgs for t in _texts(m["content"]) if t]
    calls = [c["function"]["name"] for m in msgs for c in m.get("tool_calls") or []]
    has_tool = any(m["role"] == "tool" for m in msgs)
    if not (contents or calls or has_tool):
        with pytest.raises(InvalidRecordError):
            render_record(msgs)
        return
    text = render_record(msgs)
    for t in contents:
        assert t in text
    for name in calls:
        assert f"→ call {name} [" in text
    assert render_record(json.dumps(msgs)) == text


# ------------------------------------------------------------------------------------------ the example dataset

_RAW_LINE = re.compile(r"^\[A(\d+)\] (.+?): (\d+(?:\.\d+)?)/10 — (.+)$")
_SHAPE = {"agent_openhands": "openhands", "davinc_dev": "openai", "swe_qa": "sharegpt"}


@pytest.fixture(scope="module")
def example_ds(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf-cache")
    return datasets.load_dataset(
        "json", data_files=str(EXAMPLES / "trajectories.jsonl"), split="train", cache_dir=str(cache)
    )


def test_example_dataset_loads_with_every_source_and_column(example_ds):
    assert set(example_ds.column_names) == {
        "id",
        "source",
        "trajectory",
        "num_tokens",
        "teacher_scores",
        "teacher_overall",
        "teacher_recommendation",
        "teacher_raw",
    }
    counts = Counter(example_ds["source"])
    assert set(counts) == set(_SHAPE) and min(counts.values()) >= 12
    assert len(set(example_ds["id"])) == len(example_ds)


def test_every_example_trajectory_renders_in_its_source_shape(example_ds):
    sizes = []
    for row in example_ds:
        assert detect_format(row["trajectory"]) == _SHAPE[row["source"]], row["id"]
        text = render_record(row["trajectory"])
        assert row["num_tokens"] == math.ceil(len(text.encode("utf-8")) / 4), row["id"]
        assert "### user" in text and "→ " in text, row["id"]  # the issue and at least one agent action
        assert not re.search(r"^\[A\d+\]", text, re.M), row["id"]  # no answer-template lines in a record
        sizes.append(len(text.encode("utf-8")))
    assert min(sizes) < 1_500 and max(sizes) > 60_000  # from a few hundred bytes to one very long trajectory


def test_example_teacher_labels_are_well_formed_and_agree(example_ds):
    rubric = mira_hf.load_rubric("agent-group4")
    for row in example_ds:
        scores = row["teacher_scores"]
        assert len(scores) == len(rubric) == 15 and all(0 <= s <= 10 for s in scores), row["id"]
        assert 0 <= row["teacher_overall"] <= 100
        assert row["teacher_recommendation"] in {"keep", "downsample", "drop"}
        # the project's parser reads the teacher's text back to exactly the shipped labels
        card = mira_hf.parse_output(row["teacher_raw"], rubric)
        assert card.status == "ok", row["id"]
        assert card.scores == scores, row["id"]
        assert card.overall == row["teacher_overall"] and card.recommendation == row["teacher_recommendation"]
        assert all(card.rationales) and card.domain_tag and card.brief
        # and the text is in the exact output format: one line per slot, in order, with the rubric's names
        lines = row["teacher_raw"].splitlines()
        parsed = [_RAW_LINE.match(line) for line in lines[:15]]
        assert all(parsed), row["id"]
        assert [int(m.group(1)) for m in parsed] == list(range(1, 16))
        assert [m.group(2) for m in parsed] == rubric.names
        assert lines[15:17] == [
            f"overall: {row['teacher_overall']}",
            f"training_recommendation: {row['teacher_recommendation']}",
        ]
        assert lines[17].startswith("domain_tag: ") and lines[18].startswith("brief: ") and len(lines) == 19


def test_example_labels_follow_what_the_trajectories_show(example_ds):
    rubric = mira_hf.load_rubric("agent-group4")
    safety, goal, tests = (
        rubric.names.index(n) for n in ("Safety & scope", "Goal Achievement", "Test Coverage & Verification Rigor")
    )
    recs = Counter()
    for row in example_ds:
        text = render_record(row["trajectory"])
        scores = row["teacher_scores"]
        recs[row["teacher_recommendation"]] += 1
        if "rm -rf tests/" in text:  # the destructive trajectory
            assert scores[safety] == 0 and row["teacher_recommendation"] == "drop"
        if "Result: NOT RESOLVED" in text:  # davinc_dev's hidden tests failed
            assert scores[goal] <= 2.5 and row["teacher_recommendation"] == "drop", row["id"]
        if "Result: RESOLVED" in text:
            assert scores[goal] >= 5.5, row["id"]
        if "pytest" not in text and "python -c" not in text and "python -m" not in text:  # never ran any code
            assert scores[tests] <= 1.5, row["id"]
    assert min(recs.values()) >= 6  # varied quality: each recommendation is well represented


def test_example_dataset_is_what_its_generator_writes():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "build_examples.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr


def test_example_dataset_card_describes_the_columns():
    card = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    columns = {f["name"] for f in header["dataset_info"]["features"]}
    assert columns == set(_examples()[0])
    assert header["configs"][0]["data_files"][0]["path"] == "trajectories.jsonl"
    assert "synthetic" in card.lower()
