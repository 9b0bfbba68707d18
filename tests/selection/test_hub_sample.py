"""The sample a saved or pushed selection carries: a ``samples`` config beside the selection, listed on the card."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

import mira_hf
from mira_hf.errors import ConfigurationError
from mira_hf.publish.card import split_front_matter

SOURCES = ("agent_openhands", "davinc_dev", "swe_qa")


@pytest.fixture(scope="module")
def scored() -> datasets.Dataset:
    """Scored trajectories as `mira_hf.aggregate` leaves them: string ids, 3 sources, ties, unscored rows."""
    rng = np.random.default_rng(3)
    n = 240
    quality = [None if i % 13 == 0 else float(round(rng.random() * 10, 1)) for i in range(n)]
    return datasets.Dataset.from_dict(
        {
            "id": [f"traj-{i:04d}" for i in range(n)],
            "source": [SOURCES[i % 3] for i in range(n)],
            "messages": [
                [{"role": "user", "content": f"fix bug {i}"}, {"role": "assistant", "content": "ok"}] for i in range(n)
            ],
            "mira_quality": quality,
        },
        features=datasets.Features(
            {
                "id": datasets.Value("string"),
                "source": datasets.Value("string"),
                "messages": [{"role": datasets.Value("string"), "content": datasets.Value("string")}],
                "mira_quality": datasets.Value("float32"),
            }
        ),
    )


def _examples(readme: str) -> list[list[str]]:
    """The rows of the card's Examples table: source, id, score, kept mark, why picked."""
    _, body = split_front_matter(readme)
    section = body[body.index("## Examples") : body.index("## Reproduce it")]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [[cell.strip().strip("`") for cell in row] for row in rows if not row[0].strip().startswith("source")]


def test_save_to_writes_a_samples_config_whose_ids_the_card_lists(scored, tmp_path):
    kept, _ = mira_hf.filter_by_retention(scored, 0.5, save_to=tmp_path / "sel")
    cache = str(tmp_path / "cache")
    samples = datasets.load_dataset(str(tmp_path / "sel"), "samples", split="train", cache_dir=cache)
    back = datasets.load_dataset(str(tmp_path / "sel"), split="train", cache_dir=cache)
    assert back["id"] == kept["id"]  # the default config is still the selection
    assert samples.column_names == [
        *scored.column_names,
        "mira_sample",
        "mira_sample_dimension",
        "mira_kept",
        "mira_disputed",
    ]
    kept_ids = set(kept["id"])
    assert all(k == (i in kept_ids) for i, k in zip(samples["id"], samples["mira_kept"]))
    readme = (tmp_path / "sel" / "README.md").read_text(encoding="utf-8")
    meta, _ = split_front_matter(readme)
    assert [c["config_name"] for c in meta["configs"]] == ["default", "samples"]
    listed = _examples(readme)
    assert {row[0] for row in listed} == set(SOURCES) and len(listed) == 4 * len(SOURCES)
    by_id = {r["id"]: r for r in samples.to_list()}
    for source, rid, score, mark, _picked in listed:
        assert by_id[rid]["source"] == source and by_id[rid]["mira_kept"] == (mark == "✓")
        assert abs(by_id[rid]["mira_quality"] - float(score)) < 5e-4


def test_the_samples_follow_what_gumbel_sampling_kept(scored, tmp_path):
    kept, _ = mira_hf.filter_by_retention(
        scored, 0.5, sampling="gumbel", temperature=2.0, seed=11, save_to=tmp_path / "g", save_format="arrow"
    )
    samples = datasets.load_from_disk(str(tmp_path / "g" / "samples"))
    kept_ids = set(kept["id"])
    assert len(samples) and all(k == (i in kept_ids) for i, k in zip(samples["id"], samples["mira_kept"]))
    readme = (tmp_path / "g" / "README.md").read_text(encoding="utf-8")
    assert f"load_from_disk({str(tmp_path / 'g') + '/samples'!r})" in readme


def test_push_samples_false_writes_no_samples(scored, tmp_path):
    mira_hf.filter_by_retention(scored, 0.5, save_to=tmp_path / "plain", push_samples=False)
    assert not (tmp_path / "plain" / "samples").exists()
    readme = (tmp_path / "plain" / "README.md").read_text(encoding="utf-8")
    assert "## Examples" not in readme and "mira-hf report" in readme
    assert [c["config_name"] for c in split_front_matter(readme)[0]["configs"]] == ["default"]


def test_a_source_or_config_named_samples_is_refused_before_anything_is_written(scored, tmp_path):
    renamed = scored.map(lambda r: {"source": "samples" if r["source"] == "swe_qa" else r["source"]})
    with pytest.raises(ConfigurationError, match="push_samples=False"):
        mira_hf.filter_by_retention(renamed, 0.5, save_to=tmp_path / "c", push_by="config")
    assert not (tmp_path / "c").exists()
    mira_hf.filter_by_retention(renamed, 0.5, save_to=tmp_path / "c", push_by="config", push_samples=False)
    with pytest.raises(ConfigurationError, match="config_name='samples'"):
        mira_hf.filter_by_retention(scored, 0.5, save_to=tmp_path / "n", config_name="samples")


def test_a_missing_report_file_is_named_before_the_push(scored, tmp_path):
    with pytest.raises(ConfigurationError, match="report_html=.*mira-hf report"):
        mira_hf.filter_by_retention(scored, 0.5, push_to_hub="org/name", report_html=tmp_path / "nope.html")
