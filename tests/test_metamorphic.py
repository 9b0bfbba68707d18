"""Same answer whatever the order and the sharding: every stage on five views of the messy corpus.

The views (``mira_hf.testing.messy.views``) hold the same rows sorted by source, shuffled, sharded and
concatenated, behind an indices mapping, and flattened. Rows are keyed by a ``row`` column added before the views
are made (ids repeat in the corpus). A stage's output is compared per row (scores, quality) or as a set (kept
rows, counts); where the output keeps the input order, that is asserted too. Fake engine here; one end-to-end
case on the real vLLM CPU engine at the end.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest

import mira_hf
from mira_hf.publish.card import render_card
from mira_hf.report.data import summarize
from mira_hf.testing.fake_engine import FakeEngine
from mira_hf.testing.messy import MessyCorpus, views, write_messy_corpus

REPO = Path(__file__).resolve().parents[1]
SCORED = [
    "mira_status",
    "mira_scores",
    "mira_overall",
    "mira_recommendation",
    "mira_raw",
    "mira_error",
    "mira_format",
    "mira_truncated",
    "mira_prompt_tokens",
]
GROUPS = {"agents": ["agent_openhands", "davinc_dev"], "qa": ["swe_qa", "scraped_dump"]}


def make_scorer(**kw: Any) -> mira_hf.Scorer:
    return mira_hf.Scorer(engine=FakeEngine(), text_column="trajectory", source_column="source", id_column="id", **kw)


def by_row(ds: datasets.Dataset, columns: list[str]) -> dict[int, tuple]:
    """``{row: (values…)}`` with NaN made comparable."""
    data = {c: ds[c] for c in ["row", *columns]}
    return {r: tuple(_plain(data[c][i]) for c in columns) for i, r in enumerate(data["row"])}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def rounded(value: Any, digits: int = 9) -> Any:
    """Floats rounded (sums in another order differ in the last bits), NaN as a string, containers walked."""
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else round(float(value), digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return rounded(value.tolist(), digits)
    return value


def assert_same_on_every_view(results: dict[str, Any]) -> None:
    first_name, first = next(iter(results.items()))
    for name, value in results.items():
        assert value == first, f"view {name!r} differs from {first_name!r}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> MessyCorpus:
    return write_messy_corpus(tmp_path_factory.mktemp("messy"), seed=0)


@pytest.fixture(scope="module")
def base(corpus: MessyCorpus) -> datasets.Dataset:
    ds = corpus.load()
    return ds.add_column("row", list(range(len(ds))))


@pytest.fixture(scope="module")
def all_views(base: datasets.Dataset) -> dict[str, datasets.Dataset]:
    return {"loaded": base, **views(base, seed=0)}


@pytest.fixture(scope="module")
def scored(all_views: dict[str, datasets.Dataset]) -> dict[str, datasets.Dataset]:
    return {name: ds.map(make_scorer(), batched=True, batch_size=16) for name, ds in all_views.items()}


@pytest.fixture(scope="module")
def mask(scored: dict[str, datasets.Dataset]) -> dict[str, list[bool]]:
    ds = scored["loaded"]
    return mira_hf.agreement(
        ds["mira_scores"], ds["teacher_scores"], sources=ds["source"], mae_max=3.5, spearman_min=-0.2, min_support=5
    )["mask"]


@pytest.fixture(scope="module")
def quality(scored: dict[str, datasets.Dataset], mask: dict[str, list[bool]]) -> dict[str, datasets.Dataset]:
    return {name: mira_hf.aggregate(ds, mask) for name, ds in scored.items()}


# ------------------------------------------------------------------ the corpus itself
def test_the_corpus_is_messy_as_documented(corpus: MessyCorpus, base: datasets.Dataset):
    """Interleaved sources, several files and kinds, duplicates both ways, a bad source, dirty teacher labels."""
    kinds = {"".join(f.suffixes) for f in corpus.files}
    assert kinds == {".jsonl", ".jsonl.gz", ".parquet"}
    assert len(base) == corpus.rows and set(base["source"]) == set(corpus.sources)
    sources = base["source"]
    assert sum(a != b for a, b in zip(sources, sources[1:])) > len(sources) // 2  # interleaved, not in blocks
    ids, texts = base["id"], base["trajectory"]
    assert len(set(ids)) < len(ids) and len(set(texts)) < len(texts) and len(set(zip(ids, texts))) == len(ids)
    formats = {}
    for source, text in zip(sources, texts):
        try:
            formats.setdefault(source, set()).add(mira_hf.detect_format(text))
        except Exception:  # noqa: BLE001 - a bad row
            formats.setdefault(source, set()).add("bad")
    assert formats[corpus.bad_source] == {"bad"}
    assert all(len(formats[s]) == 2 and "bad" not in formats[s] for s in corpus.sources if s != corpus.bad_source)
    assert max(len(t or "") for t in texts) > 500_000
    assert any("修复 bug 🐛" in t for t in texts if t) and any("\\u0000" in t for t in texts if t)
    teacher = base["teacher_scores"]
    flat = [v for row in teacher if row for v in row]
    assert None in teacher and any(v != v for v in flat if v is not None)
    assert any(v is not None and (v > 10 or v < 0) for v in flat)
    assert write_messy_corpus(corpus.folder / "again", seed=0).load()["trajectory"] == texts  # seeded


def test_views_hold_the_same_rows_in_other_orders(all_views: dict[str, datasets.Dataset]):
    rows = {name: ds["row"] for name, ds in all_views.items()}
    assert all(sorted(r) == rows["loaded"] for r in rows.values())
    assert len({tuple(r) for r in rows.values()}) == len(rows)  # every view has its own order
    assert all_views["sorted"]["source"] == sorted(all_views["sorted"]["source"])
    assert all_views["indices"]._indices is not None and all_views["flattened"]._indices is None


def test_the_iterable_corpus_yields_the_loaded_rows(corpus: MessyCorpus, base: datasets.Dataset):
    streamed = list(corpus.iterable())
    assert [(r["id"], r["trajectory"]) for r in streamed] == list(zip(base["id"], base["trajectory"]))


# ------------------------------------------------------------------ score
def test_fake_engine_answers_depend_only_on_the_record():
    """Its answer to a conversation is the same alone, first or last in a batch (else every test below lies)."""
    convs = [[{"role": "user", "content": f"record {k}"}] for k in range(5)]
    sampling = mira_hf.Sampling()
    together = [c.text for c in FakeEngine().generate(convs, sampling)]
    reversed_ = [c.text for c in FakeEngine().generate(convs[::-1], sampling)][::-1]
    alone = [FakeEngine().generate([c], sampling)[0].text for c in convs]
    assert together == reversed_ == alone and len(set(together)) == 5


def test_map_scores_each_row_the_same_on_every_view_and_keeps_order(all_views, scored):
    for name, ds in scored.items():
        assert ds["row"] == all_views[name]["row"], name
    assert_same_on_every_view({name: by_row(ds, SCORED) for name, ds in scored.items()})
    statuses = scored["loaded"]["mira_status"]
    sources = scored["loaded"]["source"]
    assert {s for s, src in zip(statuses, sources) if src == "scraped_dump"} == {"invalid_input"}
    assert {s for s, src in zip(statuses, sources) if src != "scraped_dump"} == {"ok"}
    assert any(scored["loaded"]["mira_truncated"])


def test_batch_size_does_not_change_a_row(base, scored):
    one = base.select(range(20)).map(make_scorer(), batched=True, batch_size=3)
    expected = {r: v for r, v in by_row(scored["loaded"], SCORED).items() if r < 20}
    assert by_row(one, SCORED) == expected


def test_score_dataset_streams_the_same_rows_in_order(all_views, scored):
    expected = by_row(scored["loaded"], SCORED)
    for name in ("shuffled", "indices", "sharded"):
        out = mira_hf.score_dataset(all_views[name], make_scorer(), batch_size=32, chunk_rows=8)
        assert out["row"] == all_views[name]["row"], name
        assert by_row(out, SCORED) == expected, name


def test_an_iterable_dataset_scores_the_same_rows(corpus, scored):
    out = corpus.iterable().map(make_scorer(), batched=True, batch_size=16)
    rows = list(out)
    loaded = scored["loaded"]
    assert [(r["id"], r["trajectory"]) for r in rows] == list(zip(loaded["id"], loaded["trajectory"]))
    streamed = {k: tuple(_plain(r[c]) for c in SCORED) for k, r in enumerate(rows)}
    assert streamed == by_row(loaded, SCORED)


# ------------------------------------------------------------------ agreement, the metric, aggregate
def _agreement(ds: datasets.Dataset, **kw: Any) -> dict[str, Any]:
    return rounded(
        mira_hf.agreement(
            ds["mira_scores"],
            ds["teacher_scores"],
            sources=ds["source"],
            statuses=ds["mira_status"],
            mae_max=3.5,
            spearman_min=-0.2,
            min_support=5,
            prediction_recommendations=ds["mira_recommendation"],
            reference_recommendations=ds["teacher_recommendation"],
            **kw,
        )
    )


def test_agreement_and_its_mask_are_the_same_on_every_view(scored):
    results = {name: _agreement(ds) for name, ds in scored.items()}
    assert_same_on_every_view(results)
    assert results["loaded"]["mask"]["scraped_dump"] == [False] * 15  # no row of it was scored
    assert any(any(cells) for cells in results["loaded"]["mask"].values())


def test_bootstrap_intervals_are_the_same_on_every_view(scored):
    assert_same_on_every_view(
        {name: _agreement(ds, bootstrap=200, seed=3, mask_by="bound") for name, ds in scored.items()}
    )


def test_the_evaluate_metric_gives_the_same_answer_batch_by_batch(scored):
    import evaluate

    results = {}
    for name, ds in scored.items():
        metric = evaluate.load(str(REPO / "metrics" / "mira_agreement"))
        for shard in range(3):
            part = ds.shard(3, shard, contiguous=False)
            metric.add_batch(predictions=part["mira_scores"], references=part["teacher_scores"])
        results[name] = rounded(metric.compute(min_support=5))
    assert_same_on_every_view(results)


def test_aggregate_gives_each_row_the_same_quality_and_keeps_order(all_views, quality):
    for name, ds in quality.items():
        assert ds["row"] == all_views[name]["row"], name
    results = {name: rounded(by_row(ds, ["mira_quality", "mira_quality_reason"])) for name, ds in quality.items()}
    assert_same_on_every_view(results)
    assert any(q is not None for q, _ in results["loaded"].values())


# ------------------------------------------------------------------ selection
RULES: dict[str, dict[str, Any]] = {
    "fraction": dict(retention=0.5),
    "min_score": dict(retention={"min_score": 5.0}),
    "tokens": dict(retention={"tokens": 40_000}, token_column="num_tokens"),
    "per_source": dict(
        retention={
            "agent_openhands": 0.3,
            "davinc_dev": {"min_score": 4.5},
            "swe_qa": {"tokens": 20_000},
            "scraped_dump": 0.5,
        },
        token_column="num_tokens",
    ),
    "group": dict(retention={"agents": 0.4, "qa": 0.6}, by="group", groups=GROUPS),
    "global": dict(retention=0.35, by="global"),
    "budget": dict(budget_tokens=60_000, token_column="num_tokens"),
    "budget_group": dict(budget_tokens=60_000, token_column="num_tokens", by="group", groups=GROUPS),
    "gumbel": dict(retention=0.5, sampling="gumbel", temperature=1.0, seed=7),
    "gumbel_budget": dict(budget_tokens=60_000, token_column="num_tokens", sampling="gumbel", temperature=0.5, seed=1),
    "drop_recommendation": dict(retention=0.6, drop_recommendation="drop"),
}


def _report_numbers(report: Any) -> dict[str, Any]:
    dump = report.model_dump(mode="json", exclude={"input_fingerprint", "output_fingerprint"})
    return rounded(dump)


@pytest.mark.parametrize("rule", list(RULES))
def test_filter_by_retention_keeps_the_same_ids_on_every_view(rule, quality):
    """With ``id_column`` ties at a cut and the Gumbel noise follow the ids, not the row order."""
    kept, reports = {}, {}
    for name, ds in quality.items():
        selection, report = mira_hf.filter_by_retention(ds, **RULES[rule], id_column="id")
        rows = selection["row"]
        position = {r: i for i, r in enumerate(ds["row"])}
        assert [position[r] for r in rows] == sorted(position[r] for r in rows), f"{name}: order not kept"
        kept[name] = sorted(selection["id"])  # ids repeat: the same multiset of ids
        reports[name] = _report_numbers(report)
    assert_same_on_every_view(kept)
    assert_same_on_every_view(reports)
    assert 0 < len(kept["loaded"]) < len(quality["loaded"])


def test_ties_at_a_cut_follow_the_ids_not_the_row_order():
    """Four rows tie at the cut of one: the kept id is the same in every order, and stays in place."""
    ds = datasets.Dataset.from_dict(
        {"id": ["a", "b", "c", "d"], "source": ["s"] * 4, "mira_quality": [5.0, 5.0, 5.0, 5.0], "tokens": [3, 3, 3, 3]}
    )
    kept = {
        tuple(mira_hf.filter_by_retention(ds.select(order), 0.25, id_column="id")[0]["id"])
        for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1])
    }
    assert len(kept) == 1 and len(next(iter(kept))) == 1
    budget = {
        tuple(
            sorted(
                mira_hf.filter_by_retention(ds.select(order), {"tokens": 7}, token_column="tokens", id_column="id")[0][
                    "id"
                ]
            )
        )
        for order in ([0, 1, 2, 3], [3, 1, 2, 0])
    }
    assert len(budget) == 1 and len(next(iter(budget))) == 2


def test_gumbel_sampling_keeps_the_same_ids_when_rows_are_reordered_or_sharded():
    ds = datasets.Dataset.from_dict(
        {"id": [f"r{k}" for k in range(40)], "source": ["s"] * 40, "mira_quality": [float(k % 5) for k in range(40)]}
    )
    parts = datasets.concatenate_datasets([ds.shard(3, i, contiguous=False) for i in range(3)])
    kept = [
        sorted(
            mira_hf.filter_by_retention(view, 0.5, sampling="gumbel", temperature=2.0, seed=4, id_column="id")[0]["id"]
        )
        for view in (ds, ds.shuffle(seed=1), parts)
    ]
    assert kept[0] == kept[1] == kept[2] and len(kept[0]) == 20
    other_seed = mira_hf.filter_by_retention(ds, 0.5, sampling="gumbel", temperature=2.0, seed=5, id_column="id")[0]
    assert sorted(other_seed["id"]) != kept[0]  # the seed still decides the sample


def test_an_id_column_that_is_not_there_is_named():
    ds = datasets.Dataset.from_dict({"source": ["s"], "mira_quality": [1.0]})
    with pytest.raises(mira_hf.errors.ColumnNotFoundError, match="id column 'id'"):
        mira_hf.filter_by_retention(ds, 0.5, id_column="id")


# ------------------------------------------------------------------ inspect, report data, card
def _inspection(ds: datasets.Dataset) -> dict[str, Any]:
    """The figures of ``inspect``; the rows it lists as examples are the first ones in the view's order."""
    found = mira_hf.inspect(ds, text_column="trajectory", id_column="id", progress=False, n=0)
    ids, sources = ds["id"], ds["source"]
    bad = [i for i, s in enumerate(sources) if s == "scraped_dump"]
    assert [(r.index, r.id) for r in found.rejected_rows] == [(i, ids[i]) for i in bad[: len(found.rejected_rows)]]
    assert all(ids[r.index] == r.id for r in found.low_coverage)
    dump = found.model_dump(mode="json", exclude={"samples", "rejected_rows", "low_coverage"})
    return rounded(dump)


def test_inspect_reports_the_same_on_every_view(all_views):
    results = {name: _inspection(ds) for name, ds in all_views.items()}
    assert_same_on_every_view(results)
    assert results["loaded"]["rejected"] == 24 and len(results["loaded"]["formats"]) == 6


def _summary(ds: datasets.Dataset) -> dict[str, Any]:
    data = summarize(ds)
    return rounded(dict(vars(data).items()))


def test_report_data_is_the_same_on_every_view(quality):
    assert_same_on_every_view({name: _summary(ds) for name, ds in quality.items()})


def test_the_dataset_card_states_the_same_numbers_on_every_view(quality, mask):
    cards = {}
    for name, ds in quality.items():
        _, report = mira_hf.filter_by_retention(
            ds,
            {"agent_openhands": 0.5, "davinc_dev": 0.5, "swe_qa": 0.5, "scraped_dump": 0.5},
            reliability={"mask": mask},
        )
        report.input_fingerprint = report.output_fingerprint = None
        cards[name] = render_card(report, repo_id="org/messy")
    assert_same_on_every_view(cards)
    assert "scraped_dump" in cards["loaded"]


# ------------------------------------------------------------------ end to end on the real engine
#: The session's shared in-process engine (the settings of tests/scoring/test_vllm_scoring.py), seeded sampling.
ENGINE_SETTINGS = dict(max_model_len=8192, max_num_batched_tokens=8192, gpu_memory_utilization=0.15)
SAMPLING = dict(max_tokens=1024, max_rationale_chars=24, seed=3)


@pytest.mark.vllm
def test_the_real_engine_scores_each_row_the_same_in_any_order(tiny_model_path, base):
    """12 messy rows (bad ones and the 500 KB one included) sorted, and shuffled behind an indices mapping (the
    ``indices`` view is both reordered and mapped: one engine pass covers both)."""
    sources, tokens = base["source"], base["num_tokens"]
    bad = [i for i, s in enumerate(sources) if s == "scraped_dump"][:3]
    big = max(range(len(base)), key=tokens.__getitem__)
    good = [i for i, s in enumerate(sources) if s != "scraped_dump" and i != big][:8]
    small = base.select(sorted([*bad, big, *good]))  # the "row" column is the index into base
    shapes = views(small, seed=5)
    scorer = mira_hf.Scorer(
        model=str(tiny_model_path),
        text_column="trajectory",
        source_column="source",
        id_column="id",
        **ENGINE_SETTINGS,
        **SAMPLING,
    )
    out = {name: shapes[name].map(scorer, batched=True, batch_size=16) for name in ("sorted", "indices")}
    for name, ds in out.items():
        assert ds["row"] == shapes[name]["row"], name
    columns = ["mira_status", "mira_scores", "mira_raw", "mira_truncated", "mira_format", "mira_error"]
    assert_same_on_every_view({name: by_row(ds, columns) for name, ds in out.items()})
    rows = by_row(out["sorted"], columns)
    assert {rows[i][0] for i in bad} == {"invalid_input"}
    assert rows[big][3] is True and {rows[i][0] for i in [big, *good]} == {"ok"}
