"""Records from the wild: every published trajectory shape reaches the scorer whole.

The fixtures under ``tests/fixtures/records/`` are written for this project in the shapes the projects
publish (SWE-agent ``.traj`` 0.x and 1.x, mini-swe-agent ``.traj.json``, nebius/SWE-agent-trajectories rows,
OpenHands V0 event histories and evaluation outputs, OpenDevin pairs, OpenHands V1 SDK events, chat and
ShareGPT variants). For each: the detected format, coverage ≥ 0.95 for each kind of the agent's own text (what
is not shown is only the setup text the prompt shortens on purpose: tool schemas, demonstrations), the task and
every tool output present,
demonstrations absent, and the same text from Python objects, JSON strings and a ``datasets`` round trip.
"""

from __future__ import annotations

import json
from typing import Any

import datasets
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mira_hf
from mira_hf.records import FORMATS, coverage, coverage_report, render
from mira_hf.records.batches import batch_records, record_column
from mira_hf.testing.fake_engine import FakeEngine
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "records"
ISSUE = "TimeSeries.resample() drops the last bucket"


def _load(name: str) -> list[Any]:
    """Records of a fixture file, as a user reads them: one per JSONL line, or the whole JSON file."""
    path = FIXTURES / name
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(path.read_text(encoding="utf-8"))]


def _text_of(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, dict):
        content = [content]
    out = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            for key in ("text", "value"):
                if isinstance(part.get(key), str):
                    out.append(part[key])
            if part.get("type") == "tool_result":
                out += _text_of(part.get("content"))
    return out


# What the tools answered, read from each shape's raw structure (independently of the renderer).
def _outputs_swe_agent(traj: dict) -> list[str]:
    return [s["observation"] for s in traj["trajectory"]]


def _outputs_mini(traj: dict) -> list[str]:
    return [t for m in traj["messages"][2:] if m["role"] in ("user", "tool") for t in _text_of(m["content"])]


def _outputs_nebius(row: dict) -> list[str]:
    users = [m["text"] for m in row["trajectory"] if m["role"] == "user"]
    return users[1:]


def _outputs_openhands(events: Any) -> list[str]:
    if isinstance(events, dict):
        events = events["history"]
    flat = [e for item in events for e in (item if isinstance(item, list) else [item])]
    return [
        e["content"]
        for e in flat
        if isinstance(e.get("observation"), str)
        and e["observation"] not in ("null", "agent_state_changed")
        and e.get("content")
    ]


def _outputs_openhands_v1(events: Any) -> list[str]:
    if isinstance(events, dict):
        events = events["history"]
    out = []
    for e in events:
        if e["kind"] == "ObservationEvent":
            out += _text_of(e["observation"]["content"])
        elif e["kind"] == "AgentErrorEvent":
            out.append(e["error"])
    return out


def _outputs_chat(row: dict) -> list[str]:
    out = []
    for m in row["messages"]:
        if m["role"] in ("tool", "function"):
            out += _text_of(m["content"])
        elif m["role"] == "user" and isinstance(m["content"], list):
            out += [
                t
                for p in m["content"]
                if isinstance(p, dict) and p.get("type") == "tool_result"
                for t in _text_of(p.get("content"))
            ]
    return out


def _outputs_sharegpt(row: dict) -> list[str]:
    return [
        t["value"]
        for t in row["conversations"]
        if t["from"] in ("observation", "tool", "function_response", "tool_response")
    ]


# file: (format, task fragment, tool outputs of one record, record → what is scored)
CASES = {
    "swe_agent_0x.traj": ("swe_agent", ISSUE, _outputs_swe_agent),
    "swe_agent_1x.traj": ("swe_agent", ISSUE, _outputs_swe_agent),
    "mini_swe_agent.traj.json": ("mini_swe_agent", ISSUE, _outputs_mini),
    "nebius_swe_agent.jsonl": ("nebius", ISSUE, _outputs_nebius),
    "openhands_v0_events.json": ("openhands", ISSUE, _outputs_openhands),
    "openhands_v0_eval_output.jsonl": ("openhands", ISSUE, _outputs_openhands),
    "opendevin_pairs.json": ("openhands", ISSUE, _outputs_openhands),
    "openhands_v1_events.json": ("openhands_v1", ISSUE, _outputs_openhands_v1),
    "openhands_v1_eval_output.jsonl": ("openhands_v1", ISSUE, _outputs_openhands_v1),
    "chat_variants.jsonl": ("openai", None, _outputs_chat),
    "sharegpt_variants.jsonl": ("sharegpt", None, _outputs_sharegpt),
}


def _scored_record(name: str, record: Any) -> Any:
    """The part of a row the scorer reads (the trajectory column of nebius rows)."""
    return record["trajectory"] if name.startswith("nebius") else record


@pytest.mark.parametrize("name", list(CASES))
def test_each_shape_reaches_the_prompt_whole(name):
    fmt, task, outputs = CASES[name]
    for record in _load(name):
        rendering = render(_scored_record(name, record))
        assert rendering.format == fmt
        report = coverage_report(_scored_record(name, record), rendering)
        for kind in ("message", "reasoning", "tool_call", "observation", "outcome"):
            assert report.ratio_by_kind.get(kind, 1.0) >= 0.95, (name, kind, report)
        # the rest of the gap: tool schemas (the prompt names the tools) and demonstrations, counted as not shown
        assert report.total - report.shown == report.shortened, (name, report)
        text = rendering.text
        assert (task or _first_task_line(record)) in text, name
        for output in outputs(record):
            for line in output.splitlines():
                assert line.strip() in text, (name, line)


def _first_task_line(record: Any) -> str:
    """The first line of the first user turn of a chat or ShareGPT fixture."""
    for m in record.get("messages") or record.get("conversations") or []:
        if m.get("role") == "user" or m.get("from") in ("human", "user"):
            texts = _text_of(m.get("content", m.get("value")))
            if texts and texts[0].strip():
                return texts[0].strip().splitlines()[0]
    raise AssertionError("no user turn")


def test_swe_agent_traj_shows_issue_actions_outcome_and_no_demonstration():
    for name in ("swe_agent_0x.traj", "swe_agent_1x.traj"):
        traj = _load(name)[0]
        text = render(traj).text
        assert "DEMONSTRATION" not in text and "TimeDelta serialization precision" not in text
        assert text.index(ISSUE) < text.index("### assistant")  # the issue comes before the first action
        for step in traj["trajectory"]:
            for line in step["action"].splitlines():
                assert line.strip() in text, line
        outcome = text[text.index("### outcome") :]
        assert "exit status: submitted" in outcome and "patch submitted: yes" in outcome


def test_traj_steps_the_history_left_out_are_kept():
    """A response without a tool call is kept in the steps, not in the history: it still reaches the prompt."""
    traj = _load("swe_agent_1x.traj")[0]
    traj["trajectory"].insert(
        2,
        {
            "action": "",
            "observation": "",
            "response": "Plan: read, fix, test.",
            "thought": "Plan: read, fix, test.",
            "execution_time": 0.0,
            "state": {},
        },
    )
    assert "Plan: read, fix, test." in render(traj).text


def test_traj_without_history_takes_the_issue_from_replay_config():
    traj = _load("swe_agent_1x.traj")[0]
    del traj["history"]
    text = render(traj).text
    assert ISSUE in text and "9 passed in 0.41s" in text


def test_mini_swe_agent_outputs_are_tool_results_and_the_outcome_is_last():
    text = render(_load("mini_swe_agent.traj.json")[0]).text
    assert text.count("### tool result") == 4 and "<returncode>0</returncode>" in text
    assert text.rstrip().endswith("shown above)") or "### outcome\nexit status: Submitted" in text


def test_openhands_v0_every_edit_shape_and_environment_event_is_shown():
    text = render(_load("openhands_v0_events.json")[0]).text
    for fragment in (
        "str_replace /workspace/tsgrid__tsgrid__0.4/tsgrid/resample.py\nold_str:\n",
        "create /workspace/tsgrid__tsgrid__0.4/repro.py\nfile_text:\nfrom tsgrid import TimeSeries",
        "insert /workspace/tsgrid__tsgrid__0.4/tsgrid/resample.py after line 2\nnew_str:\n",
        "undo_edit /workspace/tsgrid__tsgrid__0.4/tsgrid/resample.py",
        "series.py (lines 40–41)\ncontent:\n    def __len__(self):",
        "tests/test_resample.py\nold_str:\nassert len(out) == 23\nnew_str:\nassert len(out) == 24",
        "→ read [24]: /workspace/tsgrid__tsgrid__0.4/tsgrid/resample.py (lines 1–4)",  # command=view
        "→ edit [26] /workspace/tsgrid__tsgrid__0.4/CHANGES.md\nfile_text:\n## 0.4.2",  # no command
        "### event (environment)\nok",
        "status: running",
        "Runtime container restarted",
        "(tools: execute_bash, str_replace_editor, finish)",
        "[The command completed with exit code 1.]",
        "→ call fetch [37]",
    ):
        assert fragment in text, fragment
    # tool_call_metadata repeats the model's response: not shown; bookkeeping events add nothing
    assert "chatcmpl" not in text and "agent_state_changed" not in text and "iVBORw0KGgo" not in text
    assert "LLM_MODEL" not in text and "initialize" not in text  # the run's configuration is not trajectory


def test_openhands_v1_events_show_calls_results_and_errors():
    text = render(_load("openhands_v1_events.json")[0]).text
    assert "(thinking) The count must round up." in text
    assert "### tool result [toolu_02Xyz] (execute_bash, exit code 0)" in text
    assert "### tool result [toolu_09Bad] (file_editor, error)" in text
    assert "### summary of earlier steps" in text and "agent_status" not in text


@pytest.mark.parametrize("name", list(CASES))
def test_python_objects_json_strings_and_datasets_round_trips_read_the_same(name, tmp_path):
    path = FIXTURES / name
    whole = json.loads(path.read_text(encoding="utf-8")) if path.suffix != ".jsonl" else None
    if isinstance(whole, list):  # a file holding one event list: a dataset holds it as one row of a list column
        rows = [{"trajectory": whole}]
        ds = datasets.Dataset.from_list(rows)
    else:
        rows = _load(name)
        try:  # as a user loads the file: datasets' JSON loader
            ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
        except Exception:  # noqa: BLE001 - Arrow cannot hold a field that is a string here and a list there
            rows = [{"trajectory": r} for r in rows]
            ds = datasets.Dataset.from_dict({"trajectory": [json.dumps(r) for r in rows]})  # stored as JSON strings
    column = record_column(ds.column_names)
    records = batch_records({k: [r.get(k) for r in rows] for k in ds.column_names}, column)
    expected = [render(r) for r in records]
    assert expected[0].format == CASES[name][0]
    assert [render(json.dumps(r)) for r in records] == expected
    assert [render(r) for r in batch_records(ds[:], column)] == expected


# ------------------------------------------------------------------------------------------ property test
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@st.composite
def _args(draw):
    keys = draw(
        st.lists(
            st.sampled_from(["command", "path", "old_str", "new_str", "file_text", "query"]), unique=True, max_size=4
        )
    )
    return {k: draw(_text) for k in keys}


@st.composite
def _openai(draw):
    msgs = [{"role": "user", "content": draw(_text) or "task"}]
    for i in range(draw(st.integers(0, 4))):
        calls = [
            {
                "id": f"c{i}{j}",
                "type": "function",
                "function": {"name": draw(_word), "arguments": json.dumps(draw(_args()))},
            }
            for j in range(draw(st.integers(0, 2)))
        ]
        msgs.append({"role": "assistant", "content": draw(_text), "tool_calls": calls or None})
        for c in calls:
            msgs.append({"role": "tool", "tool_call_id": c["id"], "content": draw(_text)})
    return msgs


@st.composite
def _openhands(draw):
    events = [{"id": 0, "source": "user", "action": "message", "args": {"content": draw(_text) or "task"}}]
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["run", "edit", "read", "think"]))
        args: dict[str, Any] = {"thought": draw(_text)}
        if kind == "run":
            args["command"] = draw(_text)
        elif kind == "edit":
            args.update(
                path=draw(_word),
                command=draw(st.sampled_from(["str_replace", "create", "insert", ""])),
                old_str=draw(_text),
                new_str=draw(_text),
            )
        elif kind == "read":
            args["path"] = draw(_word)
        events.append({"id": 2 * i + 1, "source": "agent", "action": kind, "args": args})
        events.append(
            {
                "id": 2 * i + 2,
                "source": "agent",
                "cause": 2 * i + 1,
                "observation": kind,
                "content": draw(_text),
                "extras": {"path": draw(_word)},
            }
        )
    if draw(st.booleans()):
        events.append({"source": "environment", "content": draw(_text) or "ok"})
    return events


@st.composite
def _sharegpt(draw):
    turns = [{"from": "human", "value": draw(_text) or "task"}]
    for _ in range(draw(st.integers(0, 4))):
        speaker = draw(st.sampled_from(["gpt", "function_call", "observation", "system"]))
        value = (
            json.dumps({"name": draw(_word), "arguments": draw(_args())}) if speaker == "function_call" else draw(_text)
        )
        turns.append({"from": speaker, "value": value})
    return turns


@st.composite
def _nebius(draw):
    rows = [
        {"role": "system", "text": None, "system_prompt": draw(_text), "mask": False, "cutoff_date": "01.01.2023"},
        {"role": "user", "text": draw(_text) or "task", "system_prompt": None, "mask": False, "cutoff_date": None},
    ]
    for _ in range(draw(st.integers(0, 3))):
        rows.append({"role": "ai", "text": draw(_text), "system_prompt": None, "mask": True, "cutoff_date": None})
        rows.append({"role": "user", "text": draw(_text), "system_prompt": None, "mask": False, "cutoff_date": None})
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.one_of(_openai(), _openhands(), _sharegpt(), _nebius()), min_size=1, max_size=3),
    st.sampled_from(["openai", "openhands", "sharegpt", "nebius"]),
)
def test_property_same_prompt_from_objects_json_and_a_datasets_round_trip(records, shape):
    """Records of one shape per column (as a dataset holds them) give byte-identical prompts three ways."""
    strategy_shape = {"openai": "role", "openhands": "action", "sharegpt": "from", "nebius": "text"}
    records = [r for r in records if _shape_of(r) == strategy_shape[shape]] or records[:1]
    records = [r for r in records if _shape_of(r) == _shape_of(records[0])]

    def prompts(recs):
        out = []
        for r in recs:
            try:
                out.append(mira_hf.build_messages(r))
            except ValueError as e:
                out.append(str(e))
        return out

    expected = prompts(records)
    assert prompts([json.dumps(r) for r in records]) == expected
    ds = datasets.Dataset.from_dict({"trajectory": records})
    assert prompts(ds["trajectory"]) == expected
    assert prompts(list(ds.with_format("numpy")["trajectory"])) == expected


def _shape_of(record: list[dict]) -> str:
    first = record[0]
    return "from" if "from" in first else "action" if "action" in first else "text" if "text" in first else "role"


# ------------------------------------------------------------------------------------------ the scorer
def test_scorer_adds_mira_format_and_reads_traj_rows_whole(tmp_path):
    rows = [{"trajectory": json.dumps(r)} for r in _load("chat_variants.jsonl")[:2]]
    rows += [{"trajectory": json.dumps(_load("swe_agent_0x.traj")[0])}, {"trajectory": ""}]
    scored = datasets.Dataset.from_list(rows).map(mira_hf.Scorer(engine=FakeEngine()), batched=True, batch_size=3)
    assert scored["mira_format"] == ["openai", "openai", "swe_agent", None]
    assert scored["mira_status"][3] == "invalid_input"
    assert scored.features["mira_format"].dtype == "string"
    # a .traj loaded with datasets has one column per key: each row is read whole (issue and outcome included)
    ds = datasets.load_dataset(
        "json", data_files=str(FIXTURES / "swe_agent_0x.traj"), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert record_column(ds.column_names) is None
    engine = FakeEngine()
    out = ds.map(mira_hf.Scorer(engine=engine), batched=True)
    assert out["mira_format"] == ["swe_agent"] and out["mira_status"] == ["ok"]
    prompt = engine.seen[0]
    assert ISSUE in prompt and "### outcome\nexit status: submitted" in prompt


def test_record_format_forces_a_reader_and_changes_the_fingerprint():
    record = [{"role": "user", "content": "Fix it."}, {"role": "assistant", "content": "Done."}]
    auto = mira_hf.Scorer(engine=FakeEngine())
    forced = mira_hf.Scorer(engine=FakeEngine(), record_format="generic")
    assert auto.fingerprint != forced.fingerprint
    assert auto.score_records([record])[0]["mira_format"] == "openai"
    assert forced.score_records([record])[0]["mira_format"] == "generic"
    with pytest.raises(mira_hf.errors.ConfigurationError, match="record format"):
        mira_hf.Scorer(engine=FakeEngine(), record_format="openhands_v2")
    assert set(FORMATS) >= {
        "swe_agent",
        "mini_swe_agent",
        "nebius",
        "openhands",
        "openhands_v1",
        "openai",
        "sharegpt",
        "generic",
        "text",
    }


def test_coverage_is_a_public_function():
    record = _load("openhands_v0_events.json")[0]
    report = coverage_report(record)
    assert mira_hf.coverage(record) == report.ratio < 1.0  # its tool schemas are shown by name only
    assert report.ratio_by_kind["tools"] == 0.0 and report.total - report.shown == report.by_kind["tools"][1]
    assert coverage([{"role": "user", "content": "Fix it."}]) == 1.0
    hidden = {"messages": [{"role": "user", "content": "Fix it."}], "notes": "this long note is never shown"}
    assert coverage(hidden) < 0.5  # a wrapper's other keys are not read: coverage says so


def test_a_reader_bug_fails_its_row_not_the_batch(monkeypatch):
    """Whatever a reader raises on an unforeseen record, only that row becomes invalid_input."""
    from mira_hf.records import detect

    real = detect.READERS["sharegpt"].render

    def broken(items):
        if any(t.get("value") == "boom" for t in items):
            raise TypeError("unforeseen shape")
        return real(items)

    monkeypatch.setitem(
        detect.READERS,
        "sharegpt",
        detect.Reader("sharegpt", "", broken, claims=lambda d: "from" in d, markers=("from",)),
    )
    monkeypatch.setitem(detect._CLAIMERS, "from", [detect.READERS["sharegpt"]])
    rows = mira_hf.Scorer(engine=FakeEngine()).score_records(
        [[{"from": "human", "value": "fine"}], [{"from": "human", "value": "boom"}], "plain text"]
    )
    assert [r["mira_status"] for r in rows] == ["ok", "invalid_input", "ok"]
    assert "TypeError: unforeseen shape" in rows[1]["mira_error"]


_KEYS = [
    "role",
    "content",
    "text",
    "tool_calls",
    "function",
    "arguments",
    "name",
    "id",
    "type",
    "tool_call_id",
    "from",
    "value",
    "action",
    "observation",
    "args",
    "extras",
    "cause",
    "source",
    "kind",
    "llm_message",
    "thought",
    "tool_call",
    "history",
    "trajectory",
    "info",
    "messages",
    "environment",
    "exit_status",
    "submission",
    "is_demo",
    "message_type",
    "response",
    "metadata",
    "exit_code",
    "command",
    "path",
    "old_str",
    "file_text",
    "view_range",
    "system_prompt",
    "tools",
    "input",
    "translated_ipython_code",
    "outputs",
]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.sampled_from(
        [
            "user",
            "assistant",
            "tool",
            "run",
            "edit",
            "message",
            "ActionEvent",
            "ObservationEvent",
            "human",
            "function_call",
            "observation",
            "tool_use",
            "str_replace",
            '{"a": 1}',
            '[{"role": "user", "content": "x"}]',
        ]
    ),
)
_ANY = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_ANY)
@example([{"observation": "", "role": None, "cause": []}])  # an unhashable ``cause`` once crashed the reader
@example(
    [{"action": "run", "id": [1], "args": {"command": "ls"}}, {"observation": "run", "cause": [1], "content": "x"}]
)
def test_property_any_structure_renders_or_is_rejected_never_crashes(record):
    """Arbitrary nestings of the readers' own keys and values: a rendering, or InvalidRecordError — nothing else."""
    try:
        rendering = render(record)
    except ValueError as e:
        assert type(e).__name__ == "InvalidRecordError", e
        return
    assert rendering.text.strip() and rendering.format in FORMATS
    assert 0.0 <= coverage_report(record, rendering).ratio <= 1.0
