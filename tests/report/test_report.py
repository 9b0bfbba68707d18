"""The HTML report: the numbers it shows match the data, it is self-contained, and it renders in Chromium.

The Chromium test needs the Debian package ``chromium`` (``apt-get install -y chromium``); without it the
test fails with that instruction instead of skipping.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import types
import warnings
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset, DatasetDict
from PIL import Image

import mira_hf
from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.report import build_report
from mira_hf.report.data import read_selection, retention_curve, summarize
from mira_hf.schema.scorecard import STATUSES

N_DIMS = 15
#: source → (share of rows, mean score): three sources of the card plus one with HTML-special characters.
SOURCES = {
    "agent_openhands": (0.40, 6.5),
    "davinc_dev": (0.30, 5.0),
    "swe_qa": (0.22, 4.0),
    'odd <b>&"name"</b>': (0.08, 7.0),
}
STATUS_P = [0.78, 0.10, 0.05, 0.04, 0.03]
SECRET = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def scored_dataset(n: int = 3000, seed: int = 0, *, quality: bool = True) -> Dataset:
    """A realistic scored dataset: every status, nulls in scores, some truncated rows, per-source levels."""
    rng = np.random.default_rng(seed)
    names = list(SOURCES)
    src = rng.choice(names, size=n, p=[SOURCES[s][0] for s in names])
    status = rng.choice(list(STATUSES), size=n, p=STATUS_P)
    level = np.array([SOURCES[s][1] for s in src])
    scores = np.clip(np.rint(level[:, None] + np.linspace(-1.5, 1.5, N_DIMS) + rng.normal(0, 1.6, (n, N_DIMS))), 0, 10)
    scores[(status == "partial")[:, None] & (rng.random((n, N_DIMS)) < 0.3)] = np.nan
    failed = np.isin(status, ["parse_error", "invalid_input", "engine_error"])
    scores[failed] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # failed rows have no score at all
        overall = np.nanmean(scores, axis=1) * 10
    truncated = rng.random(n) < np.where(src == "agent_openhands", 0.12, 0.03)
    flat = scores.ravel().astype(np.float32)
    columns = {
        "text": pa.array([f"trajectory {i}" for i in range(n)]),
        "source": pa.array(src.tolist()),
        "mira_scores": pa.ListArray.from_arrays(
            pa.array(np.arange(0, n * N_DIMS + 1, N_DIMS), pa.int32()), pa.array(flat, mask=np.isnan(flat))
        ),
        "mira_overall": pa.array(overall.astype(np.float32), mask=np.isnan(overall)),
        "mira_status": pa.array(status.tolist()),
        "mira_truncated": pa.array(truncated),
    }
    if quality:
        q = overall / 10 + rng.normal(0, 0.3, n)
        q[rng.random(n) < 0.02] = np.nan  # no reliable scored dimension
        columns["mira_quality"] = pa.array(q.astype(np.float32), mask=np.isnan(q))
    return Dataset(pa.table(columns))


def real_agreement(ds: Dataset) -> dict:
    """The metric's result on a validation slice: the teacher is the student plus noise that grows with the slot."""
    rng = np.random.default_rng(1)
    val = ds.select(range(900))
    student = np.array([[np.nan if v is None else v for v in row] for row in val["mira_scores"]], dtype=float)
    noise = rng.normal(0, 1, student.shape) * np.linspace(0.2, 3.0, N_DIMS)
    teacher = np.clip(np.rint(student + noise), 0, 10)
    return mira_hf.agreement(student, teacher, sources=val["source"], min_support=20)


class _Collector(HTMLParser):
    """Images, sections, table rows and all attribute values of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.sections: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag == "img":
            self.images.append(a)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> _Collector:
    c = _Collector()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def summary_rows(page: _Collector) -> dict[str, list[str]]:
    """The summary table's rows by source name (the first table on the page, headers included)."""
    header_index = next(i for i, r in enumerate(page.rows) if r[:2] == ["source", "rows"])
    out = {}
    for r in page.rows[header_index:]:
        if r and r[0] == "all sources":
            out[r[0]] = r
            break
        out[r[0]] = r
    return out


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return scored_dataset()


@pytest.fixture(scope="module")
def full_report(ds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    _, selection = mira_hf.filter_by_retention(
        ds,
        retention={"agent_openhands": 0.5, "davinc_dev": 0.5, "swe_qa": {"min_score": 4.5}, 'odd <b>&"name"</b>': 0.25},
        scorer={"model": "whw06/MIRA-Agent-Group4", "prompt_version": "mira-anchored-v1"},
        rubric="agent-group4",
    )
    path = build_report(
        ds,
        agreement=real_agreement(ds),
        selection=selection,
        path=tmp_path_factory.mktemp("report") / "sub" / "report.html",
        parameters={
            "model": "whw06/MIRA-Agent-Group4",
            "api_key": "sk-verysecretvalue123456",
            "base_url": "http://user:pw@127.0.0.1:8000/v1",
            "note": f"token {SECRET}",
            "max_tokens": 2048,
            "hub": {"token": SECRET},
        },
    )
    return path, selection


# ------------------------------------------------------------------------------------------- structure (fast)


def test_report_is_self_contained_and_every_plot_is_a_valid_png(full_report):
    path, _ = full_report
    page = parse(path)
    html = path.read_text(encoding="utf-8")
    assert page.sections == [
        "summary", "scores", "dimensions", "reliability", "retention", "status", "records", "parameters"
    ]  # fmt: skip
    plots = [img.get("data-plot") for img in page.images]
    for expected in ("score-histograms", "dimension-means", "dimension-boxes", "retention-curves", "status-counts"):
        assert expected in plots
    for img in page.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix), img.get("data-plot")
        png = Image.open(io.BytesIO(base64.b64decode(img["src"][len(prefix) :])))
        png.load()
        assert png.format == "PNG" and png.width > 300 and png.height > 150
    # Nothing is fetched: no link, script, stylesheet, font or image outside the file.
    external = [(t, k, v) for t, k, v in page.attrs if k in ("src", "href") and not v.startswith(("data:", "#"))]
    assert external == []
    assert not re.search(r"@import|url\(|<script[^>]*src|<link", html, re.I)
    assert html.count("<script>") == 1  # the records filters, inline


def test_summary_table_matches_the_data(ds, full_report):
    path, selection = full_report
    rows = summary_rows(parse(path))
    header = rows["source"]
    src, status, trunc = ds["source"], ds["mira_status"], ds["mira_truncated"]
    quality = ds["mira_quality"]
    for name in SOURCES:
        row = dict(zip(header, rows[name]))
        idx = [i for i, s in enumerate(src) if s == name]
        assert row["rows"] == f"{len(idx):,}"
        counts = Counter(status[i] for i in idx)
        for st in STATUSES:  # every status is listed, zero or not
            assert row[st] == f"{counts[st]:,}"
        assert row["truncated"] == f"{sum(trunc[i] for i in idx) / len(idx):.1%}"
        scored = [quality[i] for i in idx if quality[i] is not None]
        assert row["scored (mira_quality)"] == f"{len(scored):,}"
        assert row["median"] == f"{np.median(scored):.2f}"
        assert row["kept"] == f"{selection.sources[name].kept:,}"
    total = dict(zip(header, rows["all sources"]))
    assert total["rows"] == f"{len(ds):,}" and total["kept"] == f"{selection.kept:,}"


def test_reliability_section_shows_the_mask_and_thresholds(ds, full_report):
    path, _ = full_report
    html = path.read_text(encoding="utf-8")
    result = real_agreement(ds)
    reliable = result["reliable_cells"]
    assert f"{reliable} of {result['total_cells']} (source × dimension) cells are reliable" in html
    # The noise grows with the slot: the first slot is reliable and the last masked, in every source.
    assert 0 < reliable < result["total_cells"]
    assert html.count('class="ok"') == reliable
    assert html.count('class="masked"') == result["total_cells"] - reliable


def test_parameters_are_listed_and_secrets_hidden(full_report):
    path, _ = full_report
    html = path.read_text(encoding="utf-8")
    params = {r[0]: r[1] for r in parse(path).rows if len(r) == 2}
    assert params["model"] == "whw06/MIRA-Agent-Group4"
    assert params["rubric_hash"] == mira_hf.load_rubric("agent-group4").content_hash
    assert params["prompt_version"] == "mira-anchored-v1"
    assert params["api_key"] == "(hidden)" and params["hub.token"] == "(hidden)"
    assert params["max_tokens"] == "2048"  # a setting named like a secret is still shown
    assert params["base_url"] == "http://127.0.0.1:8000/v1"  # the URL without its credentials
    assert "sk-verysecretvalue" not in html and SECRET not in html


def test_source_names_are_escaped(full_report):
    path, _ = full_report
    html = path.read_text(encoding="utf-8")
    assert '<b>&"name"</b>' not in html
    assert "odd &lt;b&gt;&amp;&quot;name&quot;&lt;/b&gt;" in html


def test_report_without_optional_inputs(tmp_path):
    """No mira_quality, no agreement, no selection: the report still builds, on mira_overall, and says so."""
    ds = scored_dataset(600, seed=3, quality=False)
    path = build_report(ds, path=tmp_path / "r.html")
    page = parse(path)
    text = " ".join(page.text)
    plots = [img["data-plot"] for img in page.images]
    assert plots == ["score-histograms", "dimension-means", "dimension-boxes", "retention-curves", "status-counts"]
    assert "No 'mira_quality' column" in text and "use 'mira_overall' instead" in text
    assert "No agreement result or reliability mask given" in text
    assert "kept" not in summary_rows(page)["source"]


def test_report_with_only_a_source_column(tmp_path):
    ds = Dataset.from_dict({"source": ["a", "b", "a"], "text": ["x", "y", "z"]})
    path = build_report(ds, path=tmp_path / "r.html")
    page = parse(path)
    assert page.images == []
    assert summary_rows(page)["a"][:2] == ["a", "2"]


def test_filtered_dataset_reports_only_the_rows_it_holds(ds, tmp_path):
    view = ds.filter(lambda batch: [s == "swe_qa" for s in batch["source"]], batched=True)
    rows = summary_rows(parse(build_report(view, path=tmp_path / "r.html")))
    assert set(rows) == {"source", "swe_qa", "all sources"}
    assert rows["swe_qa"][1] == f"{len(view):,}"


def test_selection_as_a_plain_dict_and_a_mask_it_carries(ds, tmp_path):
    selection = {
        "by": "source",
        "sources": [{"source": "swe_qa", "rows": 660, "kept": 330, "cut_score": 4.25}],
        "reliability": {"mask": {"swe_qa": [True] * 14 + [False]}},
    }
    view = read_selection(selection)
    assert view.entries["swe_qa"].cut_score == 4.25 and view.parameters == {"by": "source"}
    html = build_report(ds, selection=selection, path=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "14 of 15 (source × dimension) cells are reliable" in html
    assert '<td class="name">4.25</td>' not in html and "<td>4.25</td>" in html


def _heatmap_figure(rel):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3))
    mae = [rel.stats[s].mae for s in rel.sources]
    fig.subplots().imshow(np.array(mae, dtype=float))
    return fig


def _as_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _as_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


@pytest.mark.parametrize("returns", ["figure", "png", "svg", "path"])
def test_reliability_heatmap_is_embedded_whatever_plot_reliability_returns(ds, tmp_path, monkeypatch, returns):
    """``mira_hf.report.heatmap.plot_reliability`` may return a Figure, PNG bytes, SVG text or a file path."""

    def plot_reliability(result):
        fig = _heatmap_figure(result)
        if returns == "figure":
            return fig
        if returns == "png":
            return _as_png(fig)
        if returns == "svg":
            return _as_svg(fig)
        target = tmp_path / "heatmap.png"
        target.write_bytes(_as_png(fig))
        return target

    _patch_plot_reliability(monkeypatch, plot_reliability)
    path = build_report(ds, agreement=real_agreement(ds), path=tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert 'data-plot="reliability-heatmap"' in html
    assert "does not provide" not in html
    if returns == "svg":
        assert "<svg" in html
    else:
        heat = next(i for i in parse(path).images if i.get("data-plot") == "reliability-heatmap")
        assert Image.open(io.BytesIO(base64.b64decode(heat["src"].split(",", 1)[1]))).width > 100


def test_a_failing_heatmap_costs_only_its_own_section(ds, tmp_path, monkeypatch):
    def plot_reliability(result):
        raise ValueError("no statistics to draw")

    _patch_plot_reliability(monkeypatch, plot_reliability)
    html = build_report(ds, agreement=real_agreement(ds), path=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The reliability heatmap could not be drawn: ValueError: no statistics to draw" in html
    assert 'data-plot="retention-curves"' in html and "cells are reliable" in html


def _patch_plot_reliability(monkeypatch, fn) -> None:
    try:
        import mira_hf.report.heatmap as plots
    except ImportError:  # the module is optional for the report: stand one in
        plots = types.ModuleType("mira_hf.report.heatmap")
        monkeypatch.setitem(sys.modules, "mira_hf.report.heatmap", plots)
    monkeypatch.setattr(plots, "plot_reliability", fn, raising=False)


def test_the_mask_a_selection_carries_is_shown_without_agreement(ds, tmp_path):
    result = real_agreement(ds)
    _, selection = mira_hf.filter_by_retention(ds, retention=0.5, reliability=mira_hf.Reliability.from_result(result))
    html = build_report(ds, selection=selection.model_dump(mode="json"), path=tmp_path / "r.html").read_text("utf-8")
    assert f"{result['reliable_cells']} of {result['total_cells']} (source × dimension) cells are reliable" in html
    mae = result["by_source"]["swe_qa"]["mae"][0]
    assert f"MAE {mae:.2f}, Spearman" in html


def test_summarize_matches_numpy(ds):
    data = summarize(ds)
    src = np.array(ds["source"])
    scores = np.array([[np.nan if v is None else v for v in row] for row in ds["mira_scores"]], dtype=float)
    assert data.sources == sorted(SOURCES)
    for s, name in enumerate(data.sources):
        block = scores[src == name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-null column has no mean
            np.testing.assert_allclose(data.dim_means[:, s], np.nanmean(block, axis=0), rtol=1e-6)
        np.testing.assert_allclose(data.dim_missing[:, s], np.isnan(block).mean(0))
        q = np.array([v for v, x in zip(ds["mira_quality"], src) if x == name and v is not None])
        np.testing.assert_allclose(data.scores[s], np.sort(q))


def test_retention_curve_counts_rows_at_or_above_the_cut():
    rng = np.random.default_rng(5)
    scores = np.round(rng.uniform(0, 10, 500), 1)
    n_rows = 560  # 60 rows without a score are never kept
    cuts = np.linspace(0, 10, 41)
    expected = [sum(1 for v in scores if v >= c) / n_rows for c in cuts]
    np.testing.assert_allclose(retention_curve(np.sort(scores), n_rows, cuts), expected)


def test_bad_inputs_raise_clear_errors(ds, tmp_path):
    with pytest.raises(ColumnNotFoundError, match="no column 'quality'.*score_column="):
        build_report(ds, score_column="quality", path=tmp_path / "r.html")
    with pytest.raises(ColumnNotFoundError, match="source_column=None"):
        build_report(ds, source_column="group", path=tmp_path / "r.html")
    with pytest.raises(ConfigurationError, match=r"one split.*ds\['train'\]"):
        build_report(DatasetDict({"train": ds}), path=tmp_path / "r.html")
    with pytest.raises(ConfigurationError, match="mask must be a Reliability, an agreement result"):
        build_report(ds, agreement={"mask": 3}, path=tmp_path / "r.html")
    with pytest.raises(ConfigurationError, match="no per-source entries"):
        build_report(ds, selection={"by": "source"}, path=tmp_path / "r.html")
    with pytest.raises(ConfigurationError, match="pass the matching `rubric=`"):
        build_report(
            ds.select_columns(["source", "mira_scores"]), rubric=_short_rubric(tmp_path), path=tmp_path / "r.html"
        )
    assert not (tmp_path / "r.html").exists()


def _short_rubric(tmp_path: Path) -> Path:
    rubric = mira_hf.load_rubric("agent-group4")
    path = tmp_path / "short_dim_anchors.jsonl"
    path.write_text("".join(rubric.to_jsonl().splitlines(keepends=True)[:3]), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- Chromium

_CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.map.call(document.images, function (img) {
    return {plot: img.dataset.plot, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight};
  });
  var out = document.createElement("pre");
  out.id = "mira-image-check";
  out.textContent = JSON.stringify(imgs);
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is needed to check that the report renders: install the Debian package with "
        "`apt-get update && apt-get install -y chromium`"
    )


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        # The page must render with no network at all.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(full_report, tmp_path):
    path, _ = full_report
    n_images = len(parse(path).images)
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _CHECK_SCRIPT + "</body>"), encoding="utf-8")
    dom = run_chromium(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="mira-image-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the check script did not run; chromium output: " + dom.stdout[-500:]
    images = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(images) == n_images >= 5
    for img in images:
        assert img["complete"] and img["width"] > 300 and img["height"] > 150, img

    shot = tmp_path / "report.png"
    res = run_chromium(
        [f"--screenshot={shot}", "--window-size=1300,2400", "--virtual-time-budget=10000", path.as_uri()],
        tmp_path / "profile-shot",
    )
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (2400, 1300)
    not_white = (pixels < 240).any(axis=2).mean()
    colourful = (pixels.max(axis=2) - pixels.min(axis=2) > 60).mean()
    assert not_white > 0.05, f"the screenshot is nearly blank ({not_white:.1%} non-white pixels)"
    assert colourful > 0.02, f"no coloured plot is visible ({colourful:.1%} coloured pixels)"
