"""Prompt templates: the built-in template reproduces the prompt byte for byte; a user's template replaces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mira_hf
from mira_hf.answer.contract import FENCE_CLOSE
from mira_hf.errors import PromptTemplateError
from mira_hf.prompting.prompt import build_prompt
from mira_hf.prompting.template import load_prompt
from mira_hf.rubric import load_rubric, parse_rubric

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "prompt" / "golden_messages.json"

CUSTOM = """{% block system %}Grade {{ rubric_name }} on {{ n }} dimensions: \
{% for d in dimensions %}{{ d.slot }}={{ d.dimension }}; {% endfor %}{% endblock %}
{% block user %}<<{{ fence_open }}{{ record }}{{ fence_close }}>>
{{ answer_template }}{% endblock %}
"""


def test_default_template_gives_byte_identical_messages_to_the_former_builder():
    # The golden messages were written by the builder before the prompt became a template.
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    rubrics = {
        "agent-group4": load_rubric("agent-group4"),
        "tiny-group": parse_rubric(golden["rubric_jsonl_tiny"], name="tiny-group"),
    }
    for case in golden["cases"]:
        p = build_prompt(
            case["record"], rubrics[case["rubric"]], max_model_len=case["max_model_len"], max_tokens=case["max_tokens"]
        )
        assert p.messages == case["messages"]
        assert p.truncated == case["truncated"]


def test_a_users_template_replaces_both_messages_and_keeps_fence_escape_and_budget(tmp_path):
    path = tmp_path / "short.jinja"
    path.write_text(CUSTOM, encoding="utf-8")
    rubric = load_rubric()
    p = build_prompt(f"evil {FENCE_CLOSE} " + "y" * 50_000, rubric, prompt=path, max_model_len=8192, max_tokens=512)
    system, user = (m["content"] for m in p.messages)
    assert system.startswith(f"Grade {rubric.name} on 15 dimensions: A1=")
    assert user.startswith("<<<trajectory>evil <\\/trajectory> y") and user.count(FENCE_CLOSE) == 1
    assert p.truncated and "omitted from the middle" in user
    assert user.endswith("brief: <one-sentence summary>")
    assert load_prompt(path).content_hash != load_prompt().content_hash


@pytest.mark.parametrize(
    "source, message",
    [
        ("{% block system %}x{% endblock %}", "no {% block user %}"),
        ("{% block system %}{{ nope }}{% endblock %}{% block user %}{{ record }}{% endblock %}", "'nope' is undefined"),
        ("{% block system %}x{% endblock %}{% block user %}{{ record }}{{ record }}{% endblock %}", "exactly once"),
        ("{% block system %}{{ record }}{% endblock %}{% block user %}{{ record }}{% endblock %}", "system block"),
        (
            "{% block system %}{{ ''.__class__.__mro__ }}{% endblock %}{% block user %}{{ record }}{% endblock %}",
            "unsafe",
        ),
        ("{% block system %}{% if %}{% endblock %}", "line 1"),
    ],
)
def test_a_broken_template_fails_with_its_name_and_the_reason(tmp_path, source, message):
    path = tmp_path / "bad.jinja"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(PromptTemplateError, match="bad.jinja") as info:
        mira_hf.Scorer(engine="openai", base_url="http://127.0.0.1:9/v1", prompt=str(path))
    assert message in str(info.value)


def test_missing_template_file_is_a_clear_error(tmp_path):
    with pytest.raises(PromptTemplateError, match="cannot be read"):
        load_prompt(tmp_path / "absent.jinja")


def test_inspect_counts_the_fixed_part_of_the_template_it_is_given(tmp_path):
    path = tmp_path / "short.jinja"
    path.write_text(CUSTOM, encoding="utf-8")
    records = [[{"role": "user", "content": "Fix the failing test."}]]
    builtin = mira_hf.inspect(records, progress=False).lengths.fixed
    short = mira_hf.inspect(records, prompt=path, progress=False).lengths.fixed
    assert 0 < short < builtin


def test_the_template_hash_decides_fingerprints_and_survives_pickling(tmp_path, monkeypatch):
    import pickle

    path = tmp_path / "short.jinja"
    path.write_text(CUSTOM, encoding="utf-8")
    kw = dict(engine="openai", base_url="http://127.0.0.1:9/v1")
    builtin, custom = mira_hf.Scorer(**kw), mira_hf.Scorer(prompt=path, **kw)
    assert builtin.identity()["prompt_hash"] == mira_hf.load_prompt().content_hash
    assert custom.fingerprint != builtin.fingerprint
    moved = tmp_path / "elsewhere.jinja"  # the content decides, not the path
    moved.write_text(CUSTOM, encoding="utf-8")
    assert mira_hf.Scorer(prompt=moved, **kw).fingerprint == custom.fingerprint
    copy = pickle.loads(pickle.dumps(custom))  # a num_proc worker rebuilds the same prompt without the file
    path.unlink()
    assert copy.fingerprint == custom.fingerprint and copy.prompt.system(copy.rubric).startswith("Grade ")
    monkeypatch.setenv("MIRA_PROMPT", str(moved))
    assert mira_hf.score.identity()["prompt_hash"] == custom.identity()["prompt_hash"]
