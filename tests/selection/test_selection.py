"""filter_by_retention: the cut, the report, the card and save_to, checked the way a user would check them."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import datasets
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mira_hf
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.publish.card import merge_metadata, render_card, size_category, split_front_matter
from mira_hf.selection import RetentionRule, SelectionReport, cut_rows, parse_rule

FEATURES = datasets.Features(
    {
        "id": datasets.Value("int64"),
        "source": datasets.Value("string"),
        "mira_quality": datasets.Value("float32"),
        "tokens": datasets.Value("int64"),
        "mira_recommendation": datasets.Value("string"),
    }
)


def make(scores, sources, tokens=None, recs=None) -> datasets.Dataset:
    n = len(scores)
    return datasets.Dataset.from_dict(
        {
            "id": list(range(n)),
            "source": list(sources),
            "mira_quality": list(scores),
            "tokens": list(tokens) if tokens is not None else [100] * n,
            "mira_recommendation": list(recs) if recs is not None else ["keep"] * n,
        },
        features=FEATURES,
    )


def id_ties(n: int) -> list[int]:
    """The tie order of rows ``0..n-1`` whose ``id`` is their number: the package's stable hash of each id."""
    from mira_hf.selection.ties import id_hashes

    return id_hashes(pa.array(list(range(n)), type=pa.int64())).tolist()


def reference(scores, sources, rules, tokens, by_key=None, ties=None) -> list[int]:
    """Brute force: rank each key's scored rows by (-score, tie), apply the rule, return kept rows in order.

    ``ties`` orders equal scores (the id hash); without it the earlier row wins (``id_column=""``).
    """
    key_of = by_key or {s: s for s in set(sources)}
    kept: list[int] = []
    for key in set(key_of.values()):
        rows = [i for i, s in enumerate(sources) if key_of[s] == key]
        ranked = sorted(
            (i for i in rows if scores[i] is not None), key=lambda i: (-scores[i], ties[i] if ties is not None else i)
        )
        rule = rules[key]
        if rule.kind == "fraction":
            kept += ranked[: math.ceil(Fraction(str(rule.value)) * len(rows))]
        elif rule.kind == "min_score":
            kept += [i for i in ranked if scores[i] >= rule.value]
        else:
            total = 0
            for i in ranked:
                if total + tokens[i] > rule.value:
                    break
                total += tokens[i]
                kept.append(i)
    return sorted(kept)


# ------------------------------------------------------------------------------------------ the cut
rule_st = st.one_of(
    st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0]).map(lambda f: RetentionRule(kind="fraction", value=f)),
    st.sampled_from([0.0, 2.0, 2.5, 4.0, 9.0]).map(lambda x: RetentionRule(kind="min_score", value=x)),
    st.integers(0, 400).map(lambda b: RetentionRule(kind="tokens", value=float(b))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(0, 40))
def test_cut_matches_a_brute_force_ranking(data, n):
    """Every rule kind, with ties and nulls, keeps exactly what ranking by (score desc, id hash) keeps — or by
    (score desc, row asc) with ``id_column=""``."""
    scores = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 5).map(float)), min_size=n, max_size=n))
    sources = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    tokens = data.draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    rules = {s: data.draw(rule_st) for s in sorted(set(sources))}
    ds = make(scores, sources, tokens)
    spec = {k: r.to_spec() for k, r in rules.items()}
    by_row, _ = mira_hf.filter_by_retention(ds, spec, token_column="tokens", id_column="")
    assert by_row["id"] == reference(scores, sources, rules, tokens)
    kept, report = mira_hf.filter_by_retention(ds, spec, token_column="tokens")
    expected = reference(scores, sources, rules, tokens, ties=id_ties(n))
    assert kept["id"] == expected
    assert report.kept == len(expected) and report.rows == n
    for src, stats in report.sources.items():
        assert stats.unscored == sum(1 for s, q in zip(sources, scores) if s == src and q is None)
        assert stats.kept == sum(1 for i in expected if sources[i] == src)


def test_ties_at_the_cut_go_to_the_smallest_id_hash_or_without_ids_to_the_earlier_row():
    ds = make([5.0, 7.0, 5.0, 5.0, 1.0], ["a"] * 5)
    kept, report = mira_hf.filter_by_retention(ds, 0.4, id_column="")  # ceil(0.4·5) = 2: the 7 and the first 5
    assert kept["id"] == [0, 1]
    assert report.sources["a"].cut_score == 5.0
    hashes = dict(zip([0, 2, 3], id_ties(5)[0:1] + id_ties(5)[2:4]))  # the tied rows' id hashes
    kept, report = mira_hf.filter_by_retention(ds, 0.4)
    assert kept["id"] == sorted([1, min(hashes, key=hashes.get)]) and report.parameters.id_column == "id"


def test_null_scores_are_never_kept_and_count_in_n():
    ds = make([None, 9.0, None, 8.0], ["a"] * 4)
    kept, report = mira_hf.filter_by_retention(ds, 1.0)
    assert kept["id"] == [1, 3]
    stats, cut = report.sources["a"], report.cuts["a"]
    assert (stats.rows, stats.unscored, stats.kept) == (4, 2, 2)
    assert cut.target == 4 and cut.shortfall  # n counts every row of the source, unscored ones too
    kept, _ = mira_hf.filter_by_retention(ds, 0.5)
    assert kept["id"] == [1, 3]  # ceil(0.5·4) = 2 of the 4 rows, both scored


def test_fraction_target_is_exact_decimal():
    ds = make([float(i) for i in range(10)], ["a"] * 10)
    kept, report = mira_hf.filter_by_retention(ds, 0.3)  # 0.3 × 10 is 3.0000000000000004 in floats
    assert len(kept) == 3 and kept["id"] == [7, 8, 9]


def test_token_budget_stops_before_the_row_that_crosses_it():
    ds = make([9.0, 8.0, 7.0, 6.0], ["a"] * 4, tokens=[40, 50, 20, 5])
    kept, report = mira_hf.filter_by_retention(ds, {"tokens": 100}, token_column="tokens")
    assert kept["id"] == [0, 1]  # 40 + 50 = 90; the next (20) would cross 100, so it and later rows stop
    assert report.sources["a"].tokens_kept == 90 and report.cuts["a"].target == 100
    kept, _ = mira_hf.filter_by_retention(ds, {"tokens": 110}, token_column="tokens")
    assert kept["id"] == [0, 1, 2]  # exactly at the budget is kept


def test_min_score_is_inclusive_and_order_is_kept():
    ds = make([6.5, 9.0, 6.49, 7.0], ["a"] * 4)
    kept, report = mira_hf.filter_by_retention(ds, {"min_score": 6.5})
    assert kept["id"] == [0, 1, 3]
    assert report.cuts["a"].rule.describe() == "score ≥ 6.5"


def test_per_source_rules_and_default():
    ds = make([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], ["a", "a", "b", "b", "c", "c"])
    kept, report = mira_hf.filter_by_retention(ds, {"a": 0.5, "b": {"min_score": 4}}, default=1.0)
    assert kept["id"] == [1, 3, 4, 5]
    assert report.parameters.default == RetentionRule(kind="fraction", value=1.0)


def test_group_and_global_cuts_pool_their_sources():
    scores = [9.0, 8.0, 7.0, 1.0, 2.0, 3.0]
    sources = ["a", "a", "a", "b", "b", "c"]
    ds = make(scores, sources)
    kept, report = mira_hf.filter_by_retention(
        ds, {"ab": 0.4, "rest": 1.0}, by="group", groups={"ab": ["a", "b"], "rest": ["c"]}
    )
    assert kept["id"] == [0, 1, 5]  # ceil(0.4·5) = 2 best of a∪b, then all of c
    assert report.sources["b"].key == "ab" and report.cuts["ab"].sources == ["a", "b"]
    assert report.sources["b"].kept == 0
    kept, report = mira_hf.filter_by_retention(ds, 0.5, by="global")
    assert kept["id"] == [0, 1, 2] and list(report.cuts) == ["global"]
    assert kept["id"] == reference(
        scores, sources, {"g": RetentionRule(kind="fraction", value=0.5)}, None, by_key=dict.fromkeys(sources, "g")
    )


def test_drop_recommendation_removes_rows_first():
    ds = make([9.0, 8.0, 7.0, 6.0], ["a"] * 4, recs=["drop", "keep", None, "downsample"])
    kept, report = mira_hf.filter_by_retention(ds, 0.5, drop_recommendation="drop")
    assert kept["id"] == [1, 2]
    assert report.sources["a"].dropped == 1
    kept, report = mira_hf.filter_by_retention(ds, 1.0, drop_recommendation=["drop", "downsample"])
    assert kept["id"] == [1, 2] and report.dropped == 2


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), bins=st.integers(1, 6))
def test_bucketed_token_cut_equals_a_full_sort(data, n, bins):
    """The O(n) bucketed token cut keeps exactly the best-first prefix a full stable sort gives."""
    from mira_hf.selection.cut import _best_first_prefix, _token_cut

    scores = np.array(
        data.draw(st.lists(st.one_of(st.just(np.nan), st.integers(0, 6).map(lambda v: v / 2)), min_size=n, max_size=n)),
        dtype=np.float32,
    )
    tokens = np.array(data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), dtype=np.int64)
    budget = data.draw(st.integers(0, int(tokens.sum()) + 5))
    eligible = ~np.isnan(scores)
    expected = np.zeros(n, dtype=bool)
    pos = np.flatnonzero(eligible)
    expected[pos[_best_first_prefix(scores[pos], tokens[pos], budget)]] = True
    assert _token_cut(scores, eligible, tokens, budget, bins=bins).tolist() == expected.tolist()


def test_large_token_budget_matches_brute_force():
    rng = np.random.default_rng(11)
    n = 20_000
    scores = [None if rng.random() < 0.03 else float(np.round(rng.normal(6, 2), 1)) for _ in range(n)]
    tokens = rng.integers(100, 5_000, n).tolist()
    sources = rng.choice(["a", "b"], n).tolist()
    spec = {"a": {"tokens": 9_000_000}, "b": {"tokens": 123_457}}
    kept, report = mira_hf.filter_by_retention(make(scores, sources, tokens), spec, token_column="tokens")
    assert kept["id"] == reference(
        scores, sources, {k: parse_rule(v, key=k) for k, v in spec.items()}, tokens, ties=id_ties(n)
    )
    assert report.sources["b"].tokens_kept <= 123_457 < report.sources["b"].tokens_kept + 5_000


def test_cut_rows_is_pure_numpy():
    keep, target = cut_rows(np.array([3.0, 9.0, 3.0, np.nan]), RetentionRule(kind="fraction", value=0.5))
    assert keep.tolist() == [True, True, False, False] and target == 2


# ------------------------------------------------------------------------------------------ datasets on disk
def test_memory_mapped_and_indexed_datasets_give_the_same_cut(tmp_path):
    rng = np.random.default_rng(3)
    n = 5_000
    scores = [None if rng.random() < 0.05 else float(rng.integers(0, 50)) for _ in range(n)]
    sources = rng.choice(["agent_openhands", "davinc_dev", "swe_qa"], n).tolist()
    make(scores, sources).save_to_disk(tmp_path / "scored")
    mapped = datasets.load_from_disk(str(tmp_path / "scored"))
    assert mapped.cache_files  # really memory-mapped from disk
    spec = {"agent_openhands": 0.5, "davinc_dev": 0.25, "swe_qa": {"min_score": 30}}
    kept, report = mira_hf.filter_by_retention(mapped, spec)
    rules = {k: parse_rule(v, key=k) for k, v in spec.items()}
    assert kept["id"] == reference(scores, sources, rules, None, ties=id_ties(n))
    # the same rows after a shuffle (an indices mapping): the same ids, in the shuffled view's order
    shuffled = mapped.shuffle(seed=0)
    kept_s, report_s = mira_hf.filter_by_retention(shuffled, spec)
    assert report_s.sources["swe_qa"].kept == report.sources["swe_qa"].kept
    shuffled_ids, kept_ids = list(shuffled["id"]), list(kept_s["id"])
    assert kept_ids == [i for i in shuffled_ids if i in set(kept_ids)]  # kept rows in the view's order
    assert set(kept_ids) == set(kept["id"])


# ------------------------------------------------------------------------------------------ errors
@pytest.fixture
def small() -> datasets.Dataset:
    return make([1.0, 2.0, 3.0], ["agent_openhands", "swe_qa", "davinc_dev"])


def test_missing_source_names_it(small):
    with pytest.raises(ConfigurationError, match=r"'davinc_dev'.*'swe_qa'.*default="):
        mira_hf.filter_by_retention(small, {"agent_openhands": 0.5})


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (
            {"retention": {"agent_openhand": 0.5}, "default": 0.5},
            r"'agent_openhand'.*not in the data.*'agent_openhands'",
        ),
        ({"retention": 6.5}, r"not a fraction.*\{'min_score': 6\.5\}"),
        ({"retention": {"tokens": 10}}, r"token_column="),
        ({"retention": {"swe_qa": {"max": 3}}, "default": 0.5}, r"one of"),
        ({"retention": True}, r"fraction like 0\.5"),
        ({"retention": 0.5, "by": "sources"}, r"'source' \(MIRA-Source\)"),
        ({"retention": 0.5, "by": "group", "groups": {"g": ["swe_qa"]}}, r"'agent_openhands'.*in no group"),
        ({"retention": 0.5, "by": "group", "groups": {"g": ["swe_qa"], "h": ["swe_qa"]}}, r"two groups"),
        ({"retention": 0.5, "groups": {"g": ["swe_qa"]}}, r"only used with by='group'"),
        ({"retention": {"a": 0.5}, "by": "global"}, r"one rule"),
        ({"retention": 0.5, "push_by": "split"}, r"push_by= only applies"),
        ({"retention": 0.5, "drop_recommendation": "remove"}, r"'remove'"),
        ({"retention": 0.5, "scorer": 42}, r"identity\(\) -> dict"),
        ({"retention": 0.5, "reliability": 42}, r"reliability="),
        ({"retention": 0.5, "push_to_hub": "org/bad name"}, r"not a valid repo id"),
        ({"retention": 0.5, "save_to": "unused", "split": "train-2"}, r"not a valid split name"),
        ({"retention": 0.5, "save_to": "unused", "card_metadata": {"configs": []}}, r"datasets writes them"),
    ],
)
def test_bad_arguments_fail_before_any_work(small, kwargs, pattern):
    with pytest.raises(ConfigurationError, match=pattern):
        mira_hf.filter_by_retention(small, **kwargs)


def test_sources_that_would_share_a_split_name_fail_before_the_cut(tmp_path):
    ds = make([1.0, 2.0], ["swe-qa", "swe_qa"])
    with pytest.raises(ConfigurationError, match=r"'swe-qa' and 'swe_qa' both become the split name 'swe_qa'"):
        mira_hf.filter_by_retention(ds, 1.0, save_to=tmp_path / "x", push_by="split")
    assert not (tmp_path / "x").exists()


def test_unknown_column_lists_the_columns(small):
    with pytest.raises(ColumnNotFoundError, match=r"'quality'.*id, source, mira_quality, tokens"):
        mira_hf.filter_by_retention(small, 0.5, score_column="quality")
    with pytest.raises(ColumnNotFoundError, match=r"source column 'src'"):
        mira_hf.filter_by_retention(small, 0.5, source_column="src")


def test_wrong_inputs_are_named(small):
    with pytest.raises(ConfigurationError, match=r"DatasetDict.*\['train'\]"):
        mira_hf.filter_by_retention(datasets.DatasetDict({"train": small}), 0.5)
    with pytest.raises(ConfigurationError, match=r"map-style"):
        mira_hf.filter_by_retention(small.to_iterable_dataset(), 0.5)
    nulls = datasets.Dataset.from_dict({"source": ["a", None], "mira_quality": [1.0, 2.0]})
    with pytest.raises(ConfigurationError, match=r"1 null value"):
        mira_hf.filter_by_retention(nulls, 0.5)
    text = datasets.Dataset.from_dict({"source": ["a"], "mira_quality": ["high"]})
    with pytest.raises(ConfigurationError, match=r"expected numbers"):
        mira_hf.filter_by_retention(text, 0.5)


# ------------------------------------------------------------------------------------------ the report
class FakeReliability:
    """Stands in for mira_hf.Reliability: anything with model_dump()."""

    def model_dump(self, mode: str = "python") -> dict:
        return {
            "mask": {
                "agent_openhands": [True] * 14 + [False],
                "swe_qa": [True] * 15,
                "davinc_dev": [False] + [True] * 14,
            },
            "mae_max": 0.8,
            "spearman_min": 0.4,
            "min_support": 30,
            "api_key": "sk-do-not-store",
        }


class FakeScorer:
    def identity(self) -> dict:
        return {
            "model": "whw06/MIRA-Agent-Group4",
            "rubric": "agent-group4",
            "prompt_version": "mira-anchored-v1",
            "max_tokens": 2048,
            "temperature": 0.7,
            "base_url": ["http://user:s3cret@gpu-node:8000/v1"],
            "api_key": "sk-do-not-store",
            "hf_token": "hf_do_not_store",
            "headers": {"X-Auth": "Bearer sk-in-a-value-0123456789abcdef"},
        }


def test_report_round_trips_prints_and_holds_no_secret(small, tmp_path):
    kept, report = mira_hf.filter_by_retention(small, 0.5, scorer=FakeScorer(), reliability=FakeReliability())
    again = SelectionReport.model_validate_json(report.model_dump_json())
    assert again == report
    report.save(tmp_path / "r.json")
    assert SelectionReport.load(tmp_path / "r.json") == report
    text = str(report)
    for src in ("agent_openhands", "swe_qa", "davinc_dev", "total"):
        assert src in text
    assert "50% of rows" in text
    blob = report.model_dump_json()
    for secret in ("sk-do-not-store", "hf_do_not_store", "s3cret", "sk-in-a-value"):
        assert secret not in blob
    assert report.scorer["headers"] == {"X-Auth": "(hidden)"}  # a token in a value is hidden, its key kept
    assert report.scorer["max_tokens"] == 2048 and report.scorer["base_url"] == ["http://gpu-node:8000/v1"]
    assert report.prompt_version == "mira-anchored-v1"
    assert report.rubric.name and len(report.rubric.dimensions) == 15 and len(report.rubric.hash) == 64
    assert report.reliability_mask["davinc_dev"][0] is False


def test_a_real_scorer_identity_is_recorded(small):
    scorer = mira_hf.Scorer(model="whw06/MIRA-Agent-Group4", rubric="agent-group4")  # no engine is started
    _, report = mira_hf.filter_by_retention(small, 0.5, scorer=scorer)
    assert report.scorer["model"] == "whw06/MIRA-Agent-Group4"
    assert report.rubric.hash == mira_hf.load_rubric("agent-group4").content_hash
    assert report.prompt_version == mira_hf.PROMPT_VERSION


def test_reliability_accepts_a_bare_mask_or_an_object_with_save(small):
    mask = {"agent_openhands": [True, False]}
    _, report = mira_hf.filter_by_retention(small, 0.5, reliability=mask)
    assert report.reliability_mask == mask

    class Saver:
        def save(self, path):
            path.write_text(json.dumps({"mask": mask, "mae_max": 0.5}))

    _, report = mira_hf.filter_by_retention(small, 0.5, reliability=Saver())
    assert report.reliability_mask == mask and report.reliability["mae_max"] == 0.5


# ------------------------------------------------------------------------------------------ the card
def test_card_keeps_datasets_metadata_and_describes_the_selection(small):
    _, report = mira_hf.filter_by_retention(
        small,
        {"agent_openhands": 0.5, "swe_qa": {"min_score": 1}, "davinc_dev": 1.0},
        scorer=FakeScorer(),
        reliability=FakeReliability(),
    )
    existing = (
        "---\ndataset_info:\n  features:\n  - name: id\n    dtype: int64\n  splits:\n  - name: train\n"
        "    num_examples: 3\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train-*\ntags:\n- agents\nlicense: mit\n---\n"
    )
    card = render_card(report, existing=existing, repo_id="org/agent-mix", metadata={"license": "apache-2.0"})
    meta, body = split_front_matter(card)
    before, _ = split_front_matter(existing)
    assert meta["dataset_info"] == before["dataset_info"] and meta["configs"] == before["configs"]
    assert meta["license"] == "apache-2.0" and meta["tags"][:1] == ["mira"] and "agents" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"]
    from huggingface_hub import DatasetCard

    assert DatasetCard(card).data.to_dict()["configs"] == before["configs"]  # the Hub's own parser reads it
    for needle in (
        "whw06/MIRA-Agent-Group4",
        report.rubric.hash,
        "mira-anchored-v1",
        "mae_max",
        "A15 Tool Selection (Safety & Scope)",
        "| agent_openhands |",
        "score ≥ 1",
        "load_dataset('org/agent-mix', split='train')",
        "filter_by_retention(",
        "selection_report.json",
    ):
        assert needle in body, needle
    assert "sk-do-not-store" not in card


def test_card_reproduction_snippet_runs(small):
    """The card's call, executed, selects the same rows."""
    kept, report = mira_hf.filter_by_retention(
        small, {"agent_openhands": 0.5, "swe_qa": {"min_score": 2}, "davinc_dev": 0.0}
    )
    body = render_card(report, repo_id="org/x")
    call = body[body.index("kept, report = mira_hf.filter_by_retention(") : body.index("print(report)")]
    scope = {"mira_hf": mira_hf, "scored": small}
    exec(call, scope)
    assert scope["kept"]["id"] == kept["id"]


def test_metadata_merge_rules():
    merged = merge_metadata(
        {"configs": [1], "tags": ["x"], "license": "mit"}, {"tags": ["mira"], "license": "cc"}, {"pretty_name": "P"}
    )
    assert merged == {"tags": ["mira", "x"], "license": "mit", "pretty_name": "P", "configs": [1]}
    with pytest.raises(ConfigurationError, match="configs"):
        merge_metadata({}, {}, {"configs": []})
    assert size_category(999) == "n<1K" and size_category(1_000) == "1K<n<10K"


# ------------------------------------------------------------------------------------------ save_to
def test_save_to_parquet_loads_back_with_load_dataset(small, tmp_path):
    kept, report = mira_hf.filter_by_retention(small, 1.0, save_to=tmp_path / "out", reliability=FakeReliability())
    back = datasets.load_dataset(str(tmp_path / "out"), split="train")
    assert back["id"] == kept["id"] and back.column_names == kept.column_names
    assert SelectionReport.load(tmp_path / "out" / "selection_report.json").sources == report.sources
    assert json.loads((tmp_path / "out" / "reliability.json").read_text())["mae_max"] == 0.8
    assert "ds = load_dataset(" in (tmp_path / "out" / "README.md").read_text()
    assert report.push.path == str(tmp_path / "out")
    # saving again to the same place replaces the data, it does not add to it
    mira_hf.filter_by_retention(small, 0.5, by="global", save_to=tmp_path / "out")  # ceil(1.5) = 2 rows
    again = datasets.load_dataset(str(tmp_path / "out"), split="train", cache_dir=str(tmp_path / "fresh-cache"))
    assert len(again) == 2  # (a fresh cache: datasets caches a local folder by its path and file times)


def test_save_to_per_source_splits_and_configs(tmp_path):
    ds = make([1.0, 2.0, 3.0, 4.0], ["swe-qa", "davinc_dev", "swe-qa", "davinc_dev"])
    kept, report = mira_hf.filter_by_retention(ds, 1.0, save_to=tmp_path / "s", push_by="split")
    dd = datasets.load_dataset(str(tmp_path / "s"))
    assert sorted(dd) == ["davinc_dev", "swe_qa"] and dd["swe_qa"]["id"] == [0, 2]
    assert report.push.layout == {"davinc_dev": "davinc_dev", "swe-qa": "swe_qa"}
    mira_hf.filter_by_retention(ds, 1.0, save_to=tmp_path / "c", push_by="config")
    assert datasets.load_dataset(str(tmp_path / "c"), "davinc_dev", split="train")["id"] == [1, 3]


def test_save_to_arrow_and_fsspec(small, tmp_path):
    kept, _ = mira_hf.filter_by_retention(small, 1.0, save_to=tmp_path / "a", save_format="arrow")
    assert datasets.load_from_disk(str(tmp_path / "a" / "data"))["id"] == kept["id"]
    import fsspec

    mira_hf.filter_by_retention(small, 1.0, save_to="memory://mira-selection")
    fs = fsspec.filesystem("memory")
    names = {p.rsplit("/", 1)[-1] for p in fs.find("/mira-selection")}
    assert {"README.md", "selection_report.json", "train-00000-of-00001.parquet"} <= names


# ------------------------------------------------------------------------------------------ order-free ties
def test_id_hashes_are_stable_distinct_and_the_same_for_every_id_type_layout():
    """The hash ties follow: the same value for the same id in any chunking, slicing or order; distinct ids
    rarely collide; pinned values so a release never silently changes which tied rows are kept."""
    from mira_hf.selection.ties import gumbel_from_ties, id_hashes

    ids = [f"oh-{i:05d}" for i in range(50_000)] + ["", "é—ü", "a\x00b"]
    whole = id_hashes(pa.array(ids))
    assert len(np.unique(whole)) == len(ids)
    chunked = id_hashes(pa.chunked_array([pa.array(ids[:7]), pa.array(ids[7:])]))
    sliced = id_hashes(pa.array(["x"] + ids).slice(1))
    large = id_hashes(pa.array(ids, type=pa.large_string()))
    assert (whole == chunked).all() and (whole == sliced).all() and (whole == large).all()
    order = np.random.default_rng(0).permutation(len(ids))
    assert (id_hashes(pa.array([ids[i] for i in order])) == whole[order]).all()
    assert id_hashes(pa.array(["r1", "r2"])).tolist() == [12198596097399044324, 6545374013533750544]
    assert id_hashes(pa.array([0, 1], type=pa.int64())).tolist() == [16294208416658607535, 10451216379200822465]
    g = gumbel_from_ties(whole, seed=0, key="swe_qa")  # noise per id: standard Gumbel (mean γ, var π²/6)
    assert abs(g.mean() - 0.5772) < 0.03 and abs(g.var() - math.pi**2 / 6) < 0.06
    assert not np.allclose(g, gumbel_from_ties(whole, seed=1, key="swe_qa"))


def test_ties_and_gumbel_noise_follow_the_ids_on_any_view():
    """The same ids are kept from a shuffled, sharded or filtered view, for every rule kind and Gumbel sampling;
    with ``id_column=""`` ties follow positions (the earlier row)."""
    n = 400
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 4, n).astype(float).tolist()  # many ties
    sources = rng.choice(["a", "b"], n).tolist()
    tokens = rng.integers(1, 50, n).tolist()
    ds = make(scores, sources, tokens)
    views = [
        ds.shuffle(seed=1),
        ds.shuffle(seed=2).flatten_indices(),
        datasets.concatenate_datasets([ds.shard(3, i) for i in (2, 0, 1)]),
    ]
    cases = [
        dict(retention=0.3),
        dict(retention={"tokens": 900}, token_column="tokens"),
        dict(budget_tokens=3000, token_column="tokens"),
        dict(retention=0.3, sampling="gumbel", temperature=1.0),
        dict(retention=0.3, by="global", sampling="gumbel", temperature=0.5, seed=7),
    ]
    for case in cases:
        kept = set(mira_hf.filter_by_retention(ds, **case)[0]["id"])
        for view in views:
            assert set(mira_hf.filter_by_retention(view, **case)[0]["id"]) == kept, case
    by_row = mira_hf.filter_by_retention(ds.shuffle(seed=1), retention=0.3, id_column="")[0]["id"]
    assert set(by_row) != set(mira_hf.filter_by_retention(ds, retention=0.3, id_column="")[0]["id"])
