"""One token budget over the sources, Gumbel soft selection and the preview, checked the way a user would check them."""

from __future__ import annotations

import math
from fractions import Fraction

import datasets
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import mira_hf
from mira_hf.cli import app
from mira_hf.errors import ConfigurationError
from mira_hf.publish.card import render_card
from mira_hf.selection import SelectionReport, preview, split_budget

FEATURES = datasets.Features(
    {"source": datasets.Value("string"), "mira_quality": datasets.Value("float32"), "tokens": datasets.Value("int64")}
)


def make(scores, sources, tokens) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"source": list(sources), "mira_quality": list(scores), "tokens": list(tokens)}, features=FEATURES
    )


def mixture(n: int = 3000, seed: int = 0) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    return make(
        np.round(rng.uniform(0, 10, n), 1),
        rng.choice(["agent_openhands", "swe_qa", "web_qa"], n, p=[0.6, 0.3, 0.1]),
        rng.integers(50, 4000, n),
    )


def kept_ids(kept: datasets.Dataset) -> list[int]:
    return kept["row"]


def with_row_ids(ds: datasets.Dataset) -> datasets.Dataset:
    return ds.add_column("row", list(range(len(ds))))


# ------------------------------------------------------------------------------------------ the budget
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_global_budget_is_never_exceeded_and_keeps_each_sources_token_share_within_one_row(data):
    """Exact arithmetic: each source gets floor(budget · its token share) and fills it up to one row."""
    n = data.draw(st.integers(1, 60))
    sources = data.draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    tokens = data.draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    scores = data.draw(st.lists(st.floats(0, 10, allow_nan=False, width=32), min_size=n, max_size=n))
    total = sum(tokens)
    budget = data.draw(st.integers(0, max(total, 1) * 2))
    sampling = data.draw(st.sampled_from(["cut", "gumbel"]))  # sampling changes which rows, never how many tokens
    _, report = mira_hf.filter_by_retention(
        make(scores, sources, tokens), budget_tokens=budget, token_column="tokens", sampling=sampling, temperature=3.0
    )
    assert report.tokens_kept <= budget
    for src, stats in report.sources.items():
        share = Fraction(budget * stats.tokens, total) if total else Fraction(0)  # the source's exact share
        assert stats.tokens_kept <= share
        largest = max(t for t, s in zip(tokens, sources) if s == src)
        # the only gaps: the floor (< 1 token) and the row that would have crossed its part of the budget
        assert share - stats.tokens_kept < largest + 1 or stats.tokens_kept == stats.tokens
        assert report.cuts[src].rule.value == math.floor(share)


def test_split_budget_is_exact_on_large_numbers():
    parts = split_budget(25_000_000_000, {"a": 31_000_000_017, "b": 18_999_999_983, "c": 1})
    assert parts == {
        "a": 25_000_000_000 * 31_000_000_017 // 50_000_000_001,
        "b": 25_000_000_000 * 18_999_999_983 // 50_000_000_001,
        "c": 0,
    }
    assert sum(parts.values()) <= 25_000_000_000


def test_an_explicit_split_by_group_and_its_errors():
    ds = mixture()
    groups = {"agents": ["agent_openhands"], "qa": ["swe_qa", "web_qa"]}
    _, report = mira_hf.filter_by_retention(
        ds,
        budget_tokens=1_000_000,
        token_column="tokens",
        by="group",
        groups=groups,
        budget_split={"agents": 0.25, "qa": 0.75},
    )
    assert report.cuts["agents"].rule.value == 250_000 and report.cuts["qa"].rule.value == 750_000
    assert report.cuts["agents"].tokens_kept <= 250_000 and report.cuts["qa"].tokens_kept <= 750_000
    assert report.parameters.budget_tokens == 1_000_000 and report.parameters.budget_split == {
        "agents": 0.25,
        "qa": 0.75,
    }
    with pytest.raises(ConfigurationError, match="missing: 'qa'"):
        mira_hf.filter_by_retention(
            ds, budget_tokens=10, token_column="tokens", by="group", groups=groups, budget_split={"agents": 1.0}
        )
    with pytest.raises(ConfigurationError, match="token_column"):
        mira_hf.filter_by_retention(ds, budget_tokens=10)
    with pytest.raises(ConfigurationError, match="replaces retention"):
        mira_hf.filter_by_retention(ds, 0.5, budget_tokens=10, token_column="tokens")
    with pytest.raises(ConfigurationError, match="budget_tokens="):
        mira_hf.filter_by_retention(ds)


# ------------------------------------------------------------------------------------------ Gumbel sampling
def expected_high_share(tau: float, high: float, low: float, fraction: float) -> float:
    """Large-n share of high-score rows among the kept, from the Gumbel tail: no simulation.

    A row is kept when ``score + τ·G`` clears the threshold c with ``½·P(G > (c-high)/τ) + ½·P(G > (c-low)/τ) = f``
    (half the rows at each level, ``P(G > x) = 1 - exp(-exp(-x))``); c is found by bisection.
    """

    def above(x: float) -> float:
        return -math.expm1(-math.exp(-x))

    def kept(c: float) -> float:
        return 0.5 * above((c - high) / tau) + 0.5 * above((c - low) / tau)

    lo, hi = low - 60 * tau, high + 60 * tau
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if kept(mid) > fraction else (lo, mid)
    return 0.5 * above((lo - high) / tau) / fraction


@pytest.mark.parametrize("tau", [0.25, 0.5, 1.0, 2.0, 8.0])
def test_the_kept_share_of_high_scores_follows_the_temperature_as_the_gumbel_formula_says(tau):
    n, fraction, high, low = 200_000, 0.3, 6.0, 5.0
    ds = datasets.Dataset(
        pa.table(
            {
                "source": pa.array(["web"] * n).dictionary_encode(),
                "mira_quality": np.tile(np.float32([high, low]), n // 2),
            }
        )
    )
    _, report = mira_hf.filter_by_retention(ds, fraction, sampling="gumbel", temperature=tau, seed=7)
    k = report.kept
    assert k == math.ceil(fraction * n)  # the fraction is honoured exactly, as with the cut
    share = (report.sources["web"].mean_score_kept - low) / (high - low)
    p = expected_high_share(tau, high, low, fraction)
    # a binomial draw of k rows bounds the spread of a fixed-size sample; 4.5 standard deviations + large-n bias
    assert abs(share - p) <= 4.5 * math.sqrt(p * (1 - p) / k) + 5 / k, (tau, share, p)
    assert report.parameters.sampling == "gumbel" and report.parameters.temperature == tau


def test_temperature_zero_is_the_hard_cut_and_a_tiny_one_too_when_scores_do_not_tie():
    ds = with_row_ids(mixture())
    for rule in (0.25, {"tokens": 400_000}):
        cut, _ = mira_hf.filter_by_retention(ds, rule, token_column="tokens")
        zero, _ = mira_hf.filter_by_retention(ds, rule, token_column="tokens", sampling="gumbel", temperature=0)
        assert kept_ids(zero) == kept_ids(cut)
    rng = np.random.default_rng(1)
    distinct = with_row_ids(make(rng.permutation(2000) / 100, rng.choice(["a", "b"], 2000), [10] * 2000))
    cut, _ = mira_hf.filter_by_retention(distinct, 0.4)
    tiny, _ = mira_hf.filter_by_retention(distinct, 0.4, sampling="gumbel", temperature=1e-6)
    assert kept_ids(tiny) == kept_ids(cut)


def test_same_seed_same_rows_another_seed_other_rows_and_token_rules_never_over():
    ds = with_row_ids(mixture())
    first, report = mira_hf.filter_by_retention(
        ds, {"tokens": 300_000}, token_column="tokens", sampling="gumbel", temperature=2.0, seed=3
    )
    again, _ = mira_hf.filter_by_retention(
        ds, {"tokens": 300_000}, token_column="tokens", sampling="gumbel", temperature=2.0, seed=3
    )
    other, _ = mira_hf.filter_by_retention(
        ds, {"tokens": 300_000}, token_column="tokens", sampling="gumbel", temperature=2.0, seed=4
    )
    assert kept_ids(first) == kept_ids(again) != kept_ids(other)
    assert all(c.tokens_kept <= 300_000 for c in report.cuts.values())
    cut_mean = mira_hf.filter_by_retention(ds, {"tokens": 300_000}, token_column="tokens")[1].sources
    assert all(report.sources[s].mean_score_kept < cut_mean[s].mean_score_kept for s in cut_mean)


def test_gumbel_refuses_a_score_threshold_and_bad_options():
    ds = mixture(100)
    with pytest.raises(ConfigurationError, match="min_score"):
        mira_hf.filter_by_retention(ds, {"min_score": 5}, sampling="gumbel")
    with pytest.raises(ConfigurationError, match="temperature"):
        mira_hf.filter_by_retention(ds, 0.5, sampling="gumbel", temperature=-1)
    with pytest.raises(ConfigurationError, match="sampling="):
        mira_hf.filter_by_retention(ds, 0.5, sampling="softmax")


def test_the_report_and_the_card_record_the_sampling_and_the_budget():
    _, report = mira_hf.filter_by_retention(
        mixture(), budget_tokens=500_000, token_column="tokens", sampling="gumbel", temperature=0.5, seed=11
    )
    again = SelectionReport.model_validate_json(report.model_dump_json())
    assert (
        again.parameters.sampling,
        again.parameters.temperature,
        again.parameters.seed,
        again.parameters.budget_tokens,
        again.parameters.budget_split,
    ) == ("gumbel", 0.5, 11, 500_000, "shares")
    assert "Gumbel sampling (τ=0.5, seed 11)" in str(report)
    card = render_card(report)
    assert "Gumbel sampling (τ=0.5, seed 11)" in card and "500,000 tokens" in card
    assert "sampling='gumbel'" in card and "temperature=0.5" in card and "budget_tokens=500000" in card


# ------------------------------------------------------------------------------------------ preview
def test_preview_matches_the_selections_it_stands_for():
    ds = mixture()
    table = preview(ds, token_column="tokens", budgets=[100_000, 1_000_000])
    for budget in (100_000, 1_000_000):
        _, report = mira_hf.filter_by_retention(ds, budget_tokens=budget, token_column="tokens")
        for src, stats in report.sources.items():
            assert table.kept(f"{budget:,} tokens", src) == stats.kept
            assert table.tokens_kept(f"{budget:,} tokens", src) == stats.tokens_kept
    soft = preview(ds, retention=0.3, temperatures=[0, 4])
    assert soft.kept("τ=0") == soft.kept("τ=4")  # the same number of rows, other rows
    assert "mean" in str(soft)
    with pytest.raises(ConfigurationError, match="exactly one"):
        preview(ds, retentions=[0.1], temperatures=[1])
    with pytest.raises(ConfigurationError, match="writes nothing"):
        preview(ds, retentions=[0.1], save_to="out")


def test_select_preview_prints_the_table_and_writes_nothing(tmp_path, monkeypatch):
    data = tmp_path / "scored"
    mixture(500).save_to_disk(str(data))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"}
    result = runner.invoke(app, ["select", str(data), "--preview", "--retention", "0.1,0.5"], env=env)
    assert result.exit_code == 0, result.output
    assert "10% of rows" in result.output and "50% of rows" in result.output and "agent_openhands" in result.output
    result = runner.invoke(
        app,
        ["select", str(data), "--preview", "--retention", "0.3", "--sampling", "gumbel", "--temperature", "0,1,2"],
        env=env,
    )
    assert result.exit_code == 0 and "τ=2" in result.output, result.output
    result = runner.invoke(
        app, ["select", str(data), "--preview", "--budget-tokens", "1000,50000", "--token-column", "tokens"], env=env
    )
    assert result.exit_code == 0 and "50,000 tokens" in result.output, result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    refused = runner.invoke(app, ["select", str(data), "--preview", "--retention", "0.1", "-o", "out"], env=env)
    assert refused.exit_code != 0 and "writes nothing" in refused.stderr
