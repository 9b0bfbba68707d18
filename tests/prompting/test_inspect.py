"""``mira_hf.inspect`` and ``mira-hf inspect``: what the scorer will read, before any engine starts."""

from __future__ import annotations

import json
import math

import datasets
import pytest
from typer.testing import CliRunner

import mira_hf
from mira_hf.cli import app
from mira_hf.prompting.inspection import Inspection
from mira_hf.prompting.prompt import Budget
from mira_hf.prompting.tokens import BYTES_PER_TOKEN
from mira_hf.records import coverage_report, render
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "records"


def _rows() -> list[dict]:
    """A corpus as users have them: several shapes as JSON strings, plus rows with nothing to score."""
    recs = [json.loads(line) for line in (FIXTURES / "chat_variants.jsonl").read_text().splitlines()]
    recs += [
        json.loads((FIXTURES / "swe_agent_0x.traj").read_text()),
        json.loads((FIXTURES / "mini_swe_agent.traj.json").read_text()),
    ]
    recs += [json.loads(line)["trajectory"] for line in (FIXTURES / "nebius_swe_agent.jsonl").read_text().splitlines()]
    rows = [{"id": f"r{i}", "trajectory": json.dumps(r)} for i, r in enumerate(recs)]
    rows += [
        {"id": "empty", "trajectory": ""},
        {"id": "numbers", "trajectory": '[{"a": 1}]'},
        {"id": "blank", "trajectory": "   "},
    ]
    return rows


@pytest.fixture(scope="module")
def corpus() -> datasets.Dataset:
    return datasets.Dataset.from_list(_rows())


def test_inspect_counts_formats_rejects_and_coverage(corpus):
    report = mira_hf.inspect(corpus, n=3, progress=False)
    assert report.rows == len(corpus) and report.column == "trajectory"
    assert report.formats == {"openai": 5, "nebius": 2, "swe_agent": 1, "mini_swe_agent": 1}
    assert report.rejected == 3
    assert {r.id for r in report.rejected_rows} == {"empty", "numbers", "blank"}
    assert sum(report.reasons.values()) == 3 and any("nothing to score" in k for k in report.reasons)
    for kind in ("message", "reasoning", "tool_call", "observation", "outcome"):  # the agent's own text
        assert report.coverage_by_kind[kind] >= 0.95, kind
    # the only text not shown: the SWE-agent run's demonstration, counted as not shown
    assert report.coverage_by_kind["demonstration"] == 0.0 and report.rows_by_kind["demonstration"] == 1
    traj = coverage_report(json.loads((FIXTURES / "swe_agent_0x.traj").read_text()))
    assert report.coverage["min"] == round(traj.ratio, 4) == round(1 - traj.by_kind["demonstration"][1] / traj.total, 4)
    assert report.coverage_shortened == round((1 - traj.ratio) / (len(corpus) - 3), 4) > 0
    assert len(report.samples) == 3
    for s in report.samples:  # each sample is the rendering of its row
        assert s.text == render(corpus[s.index]["trajectory"]).text[:4_000] or "characters not shown" in s.text
        assert s.id == corpus[s.index]["id"]
    # the numbers survive a JSON round trip
    assert Inspection.model_validate_json(report.model_dump_json()) == report


def test_inspect_reports_what_the_budget_will_shorten(corpus):
    report = mira_hf.inspect(corpus, n=0, max_model_len=2_600, max_tokens=512, progress=False)
    fixed = math.ceil(Budget("agent-group4", max_tokens=512).fixed / BYTES_PER_TOKEN)
    lengths = []
    for row in corpus:
        try:
            text = render(row["trajectory"]).text
        except ValueError:
            continue
        lengths.append(math.ceil(len(text.encode()) / BYTES_PER_TOKEN) + fixed)
    over = [n for n in lengths if n > 2_600 - 512]
    assert report.lengths.unit == "estimated tokens" and report.lengths.budget == 2_600 - 512
    assert report.lengths.shortened == len(over) > 0
    assert report.lengths.quantiles["max"] == max(lengths)
    assert 0 < report.lengths.omitted_mean <= report.lengths.omitted_max < 1


def test_inspect_counts_tokens_with_a_tokenizer(corpus):
    from mira_hf.testing.tiny_model import tekken_tokenizer

    tok = tekken_tokenizer()
    report = mira_hf.inspect(corpus, n=1, tokenizer=tok, progress=False)
    assert report.lengths.unit == "tokens"
    fixed = Budget("agent-group4", tokenizer=tok).fixed
    first = next(r for r in corpus if r["trajectory"].strip())
    sample = report.samples[0]
    assert (
        sample.prompt_tokens
        == len(tok(render(corpus[sample.index]["trajectory"]).text, add_special_tokens=False)["input_ids"]) + fixed
    )
    assert first  # the corpus has rows to count


def test_inspect_lists_low_coverage_rows_with_the_fields_not_shown():
    rows = [
        {
            "id": "wrapped",
            "messages": [{"role": "user", "content": "Fix it."}],
            "notes": "a long reviewer note that the scorer never reads " * 3,
        }
    ]
    report = mira_hf.inspect(rows, n=1, progress=False)  # a list of records (the dicts are the records)
    assert report.below_threshold == 1
    assert report.low_coverage[0].missing == ["notes"]


def test_inspect_reads_traj_rows_whole_and_streams_iterable_datasets(tmp_path):
    ds = datasets.load_dataset(
        "json", data_files=str(FIXTURES / "swe_agent_0x.traj"), split="train", cache_dir=str(tmp_path / "cache")
    )
    report = mira_hf.inspect(ds, n=1, progress=False)
    assert report.column is None and report.formats == {"swe_agent": 1}
    assert "### outcome" in report.samples[0].text
    stream = datasets.Dataset.from_list(_rows()).to_iterable_dataset()
    report = mira_hf.inspect(stream, n=2, sample=6, progress=False)
    assert report.rows == 6 and sum(report.formats.values()) + report.rejected == 6


def test_inspect_prints_tables_and_samples(corpus):
    text = str(mira_hf.inspect(corpus, n=1, progress=False))
    for needle in (
        "What the scorer reads",
        "Formats detected",
        "Rejected rows",
        "rows the budget shortens",
        "coverage mean",
        "not shown on purpose",
        "Coverage by field kind",
        "left out on purpose",
    ):
        assert needle in text
    demo = next(line for line in text.splitlines() if "demonstration" in line and "all of it" in line)
    assert "0.0%" in demo  # the corpus's one demonstration: none of it shown
    html = mira_hf.inspect(corpus, n=1, progress=False).to_html()
    assert html.startswith('<section id="reads">') and "<details>" in html
    assert '<td class="name">demonstration</td><td class="name">1</td><td class="name">0.0%</td>' in html


def test_the_report_has_a_section_on_what_the_scorer_reads(corpus, tmp_path):
    path = mira_hf.build_report(corpus, path=tmp_path / "report.html", inspection=True, source_column=None)
    html = path.read_text()
    assert 'id="reads"' in html and "What the scorer reads" in html and 'href="#reads"' in html


def test_cli_inspect_reads_a_folder_of_traj_files(tmp_path):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    for name in ("swe_agent_0x.traj", "swe_agent_1x.traj"):
        (runs / "a" / name).write_text((FIXTURES / name).read_text())
    (runs / "mini.traj.json").write_text((FIXTURES / "mini_swe_agent.traj.json").read_text())
    out = tmp_path / "inspect.json"
    result = CliRunner().invoke(app, ["inspect", str(runs), "--n", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Formats detected" in result.stdout and "swe_agent" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["formats"] == {"swe_agent": 2, "mini_swe_agent": 1} and saved["rejected"] == 0
    assert {s["id"] for s in saved["samples"]} <= {"a/swe_agent_0x.traj", "a/swe_agent_1x.traj", "mini.traj.json"}


def test_cli_inspect_with_a_bad_column_is_one_line(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    result = CliRunner().invoke(app, ["inspect", str(data), "--text-column", "nope"])
    assert result.exit_code != 0 and "nope" in result.output and "Traceback" not in result.output
