"""``Scorer.estimate`` and ``mira_hf.inspect`` count the prompt the scorer really sends (its template included)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

import mira_hf
from mira_hf.prompting.prompt import chat_token_ids
from mira_hf.testing.fake_engine import FakeEngine

#: A template whose fixed part is a quarter of the built-in one's: it leaves far more room for the record.
SHORT = (
    "{% block system %}Grade {{ rubric_name }} on {{ n }} dimensions.{% endblock %}\n"
    "{% block user %}{{ fence_open }}{{ record }}{{ fence_close }}\n{{ answer_template }}{% endblock %}\n"
)
#: Record lengths (in words) on both sides of the short template's record budget and the built-in one's; 1,395
#: words fit the prompt budget only without the tokens the scorer keeps free for the chat framing.
WORDS = (20, 100, 300, 600, 1_000, 1_300, 1_395, 1_500, 2_000, 3_000)


class RecordingEngine(FakeEngine):
    """The fake engine, keeping every conversation it was sent (system message included)."""

    def __init__(self) -> None:
        super().__init__()
        self.conversations: list[list[dict]] = []

    def generate(self, conversations, sampling):
        self.conversations.extend(conversations)
        return super().generate(conversations, sampling)


@pytest.fixture(scope="module")
def tok():
    from mira_hf.testing.tiny_model import tekken_tokenizer

    return tekken_tokenizer()


@pytest.fixture()
def short(tmp_path) -> Path:
    path = tmp_path / "short.jinja"
    path.write_text(SHORT, encoding="utf-8")
    return path


def _corpus() -> datasets.Dataset:
    return datasets.Dataset.from_dict({"text": [f"$ step {i}\n" + "word " * k for i, k in enumerate(WORDS)]})


def test_the_estimate_counts_the_prompts_the_scorer_sends_with_its_template(tok, short):
    ds = _corpus()
    engine = RecordingEngine()
    scorer = mira_hf.Scorer(engine=engine, tokenizer=tok, prompt=short, max_model_len=2_048, max_tokens=256)
    est = scorer.estimate(ds, sample=len(ds), records_per_s=1.0)
    scored = ds.map(scorer, batched=True, batch_size=4)

    sent = chat_token_ids(tok, engine.conversations)
    assert engine.conversations[0][0]["content"] == f"Grade {scorer.rubric.name} on 15 dimensions."
    assert est.exact_tokens and est.sampled == len(ds) == len(sent)
    assert est.prompt_tokens == sum(len(ids) for ids in sent)  # token for token what was sent
    shortened = sum(scored["mira_truncated"])
    assert est.shortened_rows == shortened and 0 < shortened < len(ds)

    default = mira_hf.Scorer(engine=FakeEngine(), tokenizer=tok, max_model_len=2_048, max_tokens=256)
    assert default.estimate(ds, sample=len(ds), records_per_s=1.0).shortened_rows > shortened  # the template counts


def test_estimate_and_inspect_agree_on_the_rows_the_budget_shortens(tok, short):
    ds = _corpus()
    scorer = mira_hf.Scorer(engine=FakeEngine(), tokenizer=tok, prompt=short, max_model_len=2_048, max_tokens=256)
    est = scorer.estimate(ds, sample=len(ds), records_per_s=1.0)
    report = mira_hf.inspect(ds, n=0, tokenizer=tok, prompt=short, max_model_len=2_048, max_tokens=256, progress=False)
    truncated = ds.map(scorer, batched=True, batch_size=4)["mira_truncated"]
    assert report.lengths.shortened == sum(truncated) > 0  # what inspect says is what scoring does
    assert est.shortened_rows == sum(truncated)


def test_without_the_tokenizer_estimate_and_inspect_shorten_the_same_rows(monkeypatch):
    """The model's tokenizer is not on this machine: both count 4 bytes per token against the token budget (the
    in-process engine will have the tokenizer), so they name the same rows, also those right at the limit."""
    import math

    import mira_hf._util.offline
    from mira_hf.prompting.prompt import Budget

    monkeypatch.setattr(mira_hf._util.offline, "load_tokenizer", lambda *a, **k: None)
    fixed = math.ceil(Budget(max_model_len=8_192, max_tokens=512).fixed / 4)  # the byte budget's fixed part
    room = 8_192 - 512 - fixed - 32  # tokens a record may take
    sizes = [100, 4 * room - 4, 4 * room, 4 * room + 1, 4 * room + 5, 8 * room]  # 3 over the limit
    ds = datasets.Dataset.from_dict({"text": ["x" * n for n in sizes]})
    est = mira_hf.Scorer(max_model_len=8_192, max_tokens=512).estimate(ds, sample=len(ds), records_per_s=1.0)
    report = mira_hf.inspect(ds, n=0, max_model_len=8_192, max_tokens=512, progress=False)
    assert not est.exact_tokens and report.lengths.unit == "estimated tokens"
    assert est.shortened_rows == report.lengths.shortened == 3
