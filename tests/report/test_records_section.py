"""The report's records section: the sampled rows with their scores, rationales and transcripts, filtered in the
page (driven in headless Chromium through the URL fragment), disputed rows under masked cells, and the rows that
could not be scored with their errors.

The Chromium tests need the Debian package ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset

import mira_hf
from mira_hf.report import build_report
from mira_hf.report.records_html import TRANSCRIPT_CAP
from mira_hf.selection.samples import disputed_cells
from tests.report.test_report import N_DIMS, real_agreement, run_chromium, scored_dataset

REPO = Path(__file__).resolve().parents[2]
FAILED = ("parse_error", "invalid_input", "engine_error")


def records_dataset(n: int = 2000) -> Dataset:
    """The report test's scored rows with what a real scored dataset also carries: ids, chat records (some long,
    some mentioning pytest), the 15 rationales, brief, recommendation, domain tag, errors and teacher scores."""
    base = scored_dataset(n, seed=3)
    rng = np.random.default_rng(4)
    status = base["mira_status"]
    scores = base["mira_scores"]
    words = ["pytest", "cargo build", "npm test", "make check"]
    messages = []
    for i in range(n):
        tool = words[i % len(words)]
        answer = f"Ran `{tool}` and fixed the import." + (" log line;" * 2000 if i % 7 == 0 else "")
        messages.append(
            [
                {"role": "user", "content": f"Task {i}: the test suite fails."},
                {"role": "assistant", "content": answer},
            ]
        )
    teacher = [
        [None if v is None else float(np.clip(v + rng.normal(0, 0.2 + 0.2 * d), 0, 10)) for d, v in enumerate(row)]
        if row is not None and i < 900
        else None
        for i, row in enumerate(scores)
    ]
    failed = np.isin(status, FAILED)
    columns = {
        "id": [f"traj-{i:05d}" for i in range(n)],
        "messages": messages,
        "mira_rationales": [
            None if failed[i] else [f"dimension {d + 1} of traj-{i:05d}: evidence" for d in range(N_DIMS)]
            for i in range(n)
        ],
        "mira_brief": [None if failed[i] else f"Brief of traj-{i:05d}." for i in range(n)],
        "mira_recommendation": [None if failed[i] else ("keep" if i % 3 else "drop") for i in range(n)],
        "mira_domain_tag": [None if failed[i] else "swe" for i in range(n)],
        "mira_error": [f"{status[i]}: failure of traj-{i:05d}" if failed[i] else None for i in range(n)],
        "teacher_scores": pa.array(teacher, pa.list_(pa.float32())),
    }
    ds = base.remove_columns("text")
    for name, values in columns.items():
        ds = ds.add_column(name, values)
    return ds


@pytest.fixture(scope="module")
def rds() -> Dataset:
    return records_dataset()


@pytest.fixture(scope="module")
def page(rds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    _, selection = mira_hf.filter_by_retention(
        rds, retention=0.5, scorer={"model": "whw06/MIRA-Agent-Group4"}, rubric="agent-group4"
    )
    agreement = real_agreement(rds.select_columns(["source", "mira_scores"]))
    path = build_report(
        rds, agreement=agreement, selection=selection, path=tmp_path_factory.mktemp("records") / "report.html"
    )
    return path, agreement


class _Records(HTMLParser):
    """The records of a page: each ``article.rec``'s attributes, whether it is hidden, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []
        self.count = ""
        self.heads: list[str] = []
        self._depth = 0
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "rec" in (a.get("class") or ""):
            self.records.append({**a, "hidden": "hidden" in a, "text": ""})
            self._depth = 1
        elif self._depth and tag == "article":
            self._depth += 1
        if "rec-count" in (a.get("class") or ""):
            self._in = "count"
        if "cell-head" in (a.get("class") or ""):
            self._in = "head"
            self.heads.append("")

    def handle_endtag(self, tag):
        if tag == "article" and self._depth:
            self._depth -= 1
        if tag in ("span", "h4"):
            self._in = None

    def handle_data(self, data):
        if self._depth:
            self.records[-1]["text"] += data
        if self._in == "count":
            self.count += data
        elif self._in == "head":
            self.heads[-1] += data


def parse(text: str) -> _Records:
    p = _Records()
    p.feed(text)
    return p


def dump(path: Path, fragment: str, tmp: Path) -> _Records:
    """The page as Chromium leaves it after its script ran with the state in ``fragment``."""
    res = run_chromium(["--virtual-time-budget=5000", "--dump-dom", path.as_uri() + fragment], tmp / "profile")
    assert res.returncode == 0, res.stderr[-2000:]
    return parse(res.stdout)


def number(text: str) -> float:
    """A data attribute as the page's script reads it: empty is NaN (never inside a range)."""
    return float(text) if text else float("nan")


def visible(p: _Records) -> list[dict]:
    return [r for r in p.records if not r["hidden"]]


# ------------------------------------------------------------------------------------------- structure (fast)


def test_records_show_ids_scores_rationales_and_capped_transcripts(page, rds):
    path, _ = page
    p = parse(path.read_text(encoding="utf-8"))
    scored = [r for r in p.records if r["data-kind"] not in ("unscored",)]
    assert len(scored) >= 4 * 18 and len({r["data-id"] for r in scored}) == len(scored)  # no record twice
    first = scored[0]
    row = rds[int(first["data-id"].split("-")[1])]
    assert row["id"] in first["text"] and row["source"] == first["data-source"]
    assert f"dimension 15 of {row['id']}: evidence" in first["text"] and f"Brief of {row['id']}." in first["text"]
    assert first["data-scores"].split(",")[:3] == [f"{v:g}" if v is not None else "" for v in row["mira_scores"][:3]]
    text = path.read_text(encoding="utf-8")
    assert f"cut to {TRANSCRIPT_CAP:,} characters" in text and "characters not shown in this report" in text
    assert "<svg" in text and "teacher" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing loaded from the network


def test_a_masked_cells_disputed_records_are_listed_under_it(page, rds):
    path, agreement = page
    rel = mira_hf.Reliability.from_result(agreement)
    masked = [(s, d) for s, row in rel.mask.items() for d, ok in enumerate(row) if not ok]
    assert masked
    p = parse(path.read_text(encoding="utf-8"))
    disputed = [r for r in p.records if r["data-kind"] == "disputed"]
    assert disputed and any("masked" in h and "MAE" in h for h in p.heads)
    source, dim = masked[0]
    assert any(h.startswith(f"{source} × A{dim + 1} ") for h in p.heads)
    student = np.array([[np.nan if v is None else v for v in r] for r in rds["mira_scores"]], dtype=float)
    teacher = np.array([[np.nan] * N_DIMS if r is None else r for r in rds["teacher_scores"]], dtype=float)
    gap = np.abs(student - teacher)
    sources = np.array(rds["source"])
    worth_a_look = set(disputed_cells(rel, list(rel.mask)))  # masked, or reliable near the thresholds
    assert set(masked) <= worth_a_look
    for r in disputed:  # each is among its cell's 3 largest teacher-student gaps
        row, d = int(r["data-id"].split("-")[1]), int(r["data-cell"])
        assert (r["data-source"], d) in worth_a_look
        cell = gap[sources == r["data-source"], d]
        assert gap[row, d] >= np.sort(cell[~np.isnan(cell)])[-3]


def test_rows_that_could_not_be_scored_are_listed_apart_with_their_errors(page, rds):
    path, _ = page
    p = parse(path.read_text(encoding="utf-8"))
    failed = [r for r in p.records if r["data-kind"] == "unscored"]
    assert failed
    status = dict(zip(rds["id"], rds["mira_status"]))
    for r in failed:
        rid = r["data-id"]
        if status[rid] in FAILED:
            assert f"{status[rid]}: failure of {rid}" in r["text"]
        assert "<svg" not in r["text"] and not r["data-scores"]
    failed_ids = {r["data-id"] for r in failed}
    others = {r["data-id"] for r in p.records if r["data-kind"] != "unscored"}
    assert not failed_ids & others
    assert all(status[i] not in FAILED for i in others)


def test_samples_zero_leaves_the_section_out_and_the_count_is_per_kind(rds, tmp_path):
    off = build_report(rds, samples=0, path=tmp_path / "off.html").read_text(encoding="utf-8")
    assert "<h2>Records</h2>" not in off and 'href="#records"' not in off
    one = parse(build_report(rds, samples=1, path=tmp_path / "one.html").read_text(encoding="utf-8"))
    kinds = [(r["data-source"], r["data-kind"]) for r in one.records if r["data-kind"] != "unscored"]
    assert sorted(kinds) == sorted(set(kinds)) and {k for _, k in kinds} == {"top", "bottom", "random"}


def test_cli_samples_flag(rds, tmp_path):
    data = tmp_path / "scored.parquet"
    rds.to_parquet(str(data))
    cli = str(REPO / ".venv" / "bin" / "mira-hf")
    for samples, present in (("2", True), ("0", False)):
        out = tmp_path / f"r{samples}.html"
        res = subprocess.run([cli, "report", str(data), "-o", str(out), "--samples", samples], capture_output=True)
        assert res.returncode == 0, res.stderr[-2000:]
        assert ("<h2>Records</h2>" in out.read_text(encoding="utf-8")) is present
    res = subprocess.run([cli, "report", str(data), "--samples", "-1"], capture_output=True, text=True)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == 2 and len(errors) == 1 and "--samples" in errors[0], res.stderr
    assert "Traceback" not in res.stderr


# ------------------------------------------------------------------------------------------- in the browser


@pytest.mark.slow
def test_section_renders_offline_and_each_filter_changes_what_is_shown(page, tmp_path):
    path, _ = page
    everything = dump(path, "", tmp_path)
    total = len(everything.records)
    assert everything.count.strip() == f"{total} of {total} records shown"  # the script ran, offline
    checks = {
        "#records?source=swe_qa": lambda r: r["data-source"] == "swe_qa",
        "#records?kept=dropped": lambda r: r["data-kept"] == "dropped",
        "#records?dim=3&min=8": lambda r: number((r["data-scores"].split(",") + [""] * N_DIMS)[3]) >= 8,
        "#records?min=5&max=6.5": lambda r: 5 <= number(r["data-score"]) <= 6.5,
        "#records?q=pytest": lambda r: "pytest" in r["text"].lower(),
        "#records?source=davinc_dev&kept=kept&q=cargo": lambda r: (
            r["data-source"] == "davinc_dev" and r["data-kept"] == "kept" and "cargo" in r["text"]
        ),
    }
    for fragment, holds in checks.items():
        shown = visible(dump(path, fragment, tmp_path))
        assert 0 < len(shown) < total, fragment
        assert all(holds(r) for r in shown), fragment
        assert len(shown) == sum(holds(r) for r in everything.records), fragment


_EXPAND = """<script>
window.addEventListener('load', function () {
  var d = document.querySelector('#records article.rec details:last-of-type');
  var pre = d.querySelector('pre.transcript');
  var before = {shown: pre.checkVisibility(), open: d.open};
  d.open = true;
  var out = document.createElement('pre');
  out.id = 'mira-expand';
  out.textContent = JSON.stringify({before: before, after: {shown: pre.checkVisibility(), open: d.open},
                                    height: pre.offsetHeight});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.slow
def test_transcripts_are_collapsed_and_expand(page, tmp_path):
    path, _ = page
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _EXPAND + "</body>"), encoding="utf-8")
    res = run_chromium(["--virtual-time-budget=5000", "--dump-dom", probe.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="mira-expand">(.*?)</pre>', res.stdout, re.S)
    assert found, res.stdout[-500:]
    state = json.loads(found.group(1).replace("&quot;", '"'))
    assert state["before"] == {"shown": False, "open": False}  # collapsed by default
    assert state["after"] == {"shown": True, "open": True} and state["height"] > 20


@pytest.mark.slow
def test_a_mixture_page_filters_each_groups_records_on_its_own(page, tmp_path):
    """A mixture report holds one records section per group, its ids prefixed with the group's name: each script
    drives its own section and reads its own fragment (``#qa-records?...``), leaving the other group alone."""
    path, _ = page
    text = path.read_text(encoding="utf-8")
    head, body = text.split("<main>", 1)[0], text.split("<main>", 1)[1].split("</main>", 1)[0]

    def as_group(name: str) -> str:  # what mira_hf.mixture.report does to each group's page
        html = re.sub(r'id="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', body)
        return f'<section id="group-{name}" class="group">{html}</section>'

    mixture = tmp_path / "mixture.html"
    mixture.write_text(f"{head}<main>{as_group('agents')}{as_group('qa')}</main></body></html>", encoding="utf-8")
    everything = dump(mixture, "", tmp_path)
    half = len(everything.records) // 2
    assert half > 0 and not any(r["hidden"] for r in everything.records)
    filtered = dump(mixture, "#qa-records?kept=dropped", tmp_path)
    agents, qa = filtered.records[:half], filtered.records[half:]
    assert not any(r["hidden"] for r in agents)  # the other group's section is left as it was
    shown = [r for r in qa if not r["hidden"]]
    assert shown and len(shown) < half and all(r["data-kept"] == "dropped" for r in shown)
