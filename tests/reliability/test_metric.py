"""`evaluate.load("mira_agreement")`: by name in fresh processes (offline and not), by path, the text config,
the install into evaluate's modules cache, and the metric file shipped inside the wheel."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import evaluate
import numpy as np
import pytest
from evaluate.loading import CachedEvaluationModuleFactory

import mira_hf
from mira_hf._util.metric_install import CACHE_FOLDER, install_metric, metric_source_dir
from mira_hf.answer.format import format_output
from mira_hf.errors import ConfigurationError
from mira_hf.reliability import agreement
from mira_hf.schema.scorecard import ScoreCard

REPO = Path(__file__).resolve().parents[2]
METRIC_DIR = REPO / "metrics" / "mira_agreement"
METRIC_SHA = hashlib.sha256((METRIC_DIR / "mira_agreement.py").read_bytes()).hexdigest()
D = 15

# Small paired scores used in and out of process: four sources, one with few rows.
_RNG = np.random.default_rng(42)
TEACHER = _RNG.integers(0, 11, (120, D)).astype(float)
STUDENT = np.clip(TEACHER + _RNG.integers(-2, 3, TEACHER.shape), 0, 10)
STUDENT[_RNG.random(STUDENT.shape) < 0.1] = np.nan
SOURCES = ["agent_openhands"] * 50 + ["davinc_dev"] * 45 + ["swe_qa"] * 25
STUDENT_ROWS = [[None if np.isnan(v) else float(v) for v in row] for row in STUDENT]
TEACHER_ROWS = TEACHER.tolist()

_CHILD = textwrap.dedent("""
    import inspect, json, sys, time
    import mira_hf, evaluate
    data = json.loads(sys.stdin.read())
    start = time.perf_counter()
    metric = evaluate.load("mira_agreement")
    load_s = time.perf_counter() - start
    result = metric.compute(predictions=data["student"], references=data["teacher"], sources=data["sources"],
                            min_support=20)
    print(json.dumps({"load_s": load_s, "file": inspect.getfile(type(metric)), "result": result,
                      "mira_hf": mira_hf.__file__}))
""")


def _clean_env(hf_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MIRA_"))}
    env.update(HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1", **extra)
    return env


def _run_child(tmp_path: Path, env: dict[str, str], script: str = _CHILD, timeout: float = 240) -> dict:
    payload = json.dumps({"student": STUDENT_ROWS, "teacher": TEACHER_ROWS, "sources": SOURCES})
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _expected() -> dict:
    return agreement(STUDENT_ROWS, TEACHER_ROWS, sources=SOURCES, min_support=20)


@pytest.mark.slow
@pytest.mark.parametrize("offline", [True, False], ids=["HF_EVALUATE_OFFLINE=1", "network-fallback"])
def test_load_by_name_in_a_fresh_process_with_a_fresh_hf_home(tmp_path, offline):
    hf_home = tmp_path / "hf-home"
    env = _clean_env(hf_home, **({"HF_EVALUATE_OFFLINE": "1"} if offline else {}))
    started = time.perf_counter()
    out = _run_child(tmp_path, env)
    print(
        f"\nevaluate.load('mira_agreement') offline={offline}: {out['load_s']:.2f} s after the imports "
        f"({time.perf_counter() - started:.2f} s for the whole child process)"
    )

    installed = hf_home / "modules" / "evaluate_modules" / "metrics" / CACHE_FOLDER / METRIC_SHA / "mira_agreement.py"
    assert Path(out["file"]) == installed
    assert installed.read_bytes() == (METRIC_DIR / "mira_agreement.py").read_bytes()
    assert out["result"] == json.loads(json.dumps(_expected()))
    assert set(out["result"]["mask"]) == set(SOURCES) and out["result"]["min_support"] == 20


def test_the_import_hook_is_what_installs_the_metric_and_install_metric_does_it_explicitly(tmp_path):
    env = _clean_env(tmp_path / "hf-home", HF_EVALUATE_OFFLINE="1", MIRA_NO_METRIC_INSTALL="1")
    script = textwrap.dedent("""
        import json, sys
        import mira_hf, evaluate
        heavy = sorted(m for m in ("evaluate", "datasets", "numpy", "torch", "vllm") if m in sys.modules)
        try:
            evaluate.load("mira_agreement")
            before = "loaded"
        except FileNotFoundError:
            before = "not found"
        path = mira_hf.install_metric()
        metric = evaluate.load("mira_agreement")
        print(json.dumps({"before": before, "path": str(path), "name": metric.name}))
    """)
    out = _run_child(tmp_path, env, script)
    assert out["before"] == "not found"
    assert out["path"].endswith(f"{CACHE_FOLDER}/{METRIC_SHA}/mira_agreement.py")
    assert out["name"] == "mira_agreement"

    light = _run_child(
        tmp_path,
        _clean_env(tmp_path / "hf2"),
        textwrap.dedent("""
        import json, sys
        import mira_hf
        print(json.dumps(sorted(m for m in ("evaluate", "datasets", "numpy", "pyarrow", "torch", "vllm")
                                if m in sys.modules)))
    """),
    )
    assert light == []  # `import mira_hf` stays cheap: the install needs no heavy import


def test_an_unwritable_cache_never_breaks_the_import_and_install_metric_says_why(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = _clean_env(tmp_path / "hf-home", HF_MODULES_CACHE=str(blocker), HF_EVALUATE_OFFLINE="1")
    out = _run_child(
        tmp_path,
        env,
        textwrap.dedent("""
        import json
        import mira_hf
        from mira_hf.errors import ConfigurationError
        try:
            mira_hf.install_metric()
            message = None
        except ConfigurationError as e:
            message = str(e)
        print(json.dumps({"message": message}))
    """),
    )
    assert "cannot install the mira_agreement metric" in out["message"]
    assert "evaluate.load(" in out["message"]  # says how to load it by path instead


def test_install_is_idempotent_by_content_hash_and_stays_the_version_evaluate_picks(tmp_path, monkeypatch):
    root = tmp_path / "modules"
    path = install_metric(root)
    assert path == root / "evaluate_modules" / "metrics" / CACHE_FOLDER / METRIC_SHA / "mira_agreement.py"
    assert (path.parent / "README.md").read_bytes() == (METRIC_DIR / "README.md").read_bytes()
    first = path.stat().st_mtime_ns
    assert install_metric(root) == path and path.stat().st_mtime_ns == first  # nothing rewritten

    def picked() -> str:
        return (
            CachedEvaluationModuleFactory(CACHE_FOLDER, dynamic_modules_path=str(root / "evaluate_modules"))
            .get_module()
            .hash
        )

    assert picked() == METRIC_SHA
    # Another (e.g. older mira-hf) version cached later: evaluate would pick it; installing again wins back.
    stale = path.parent.parent / ("0" * 64)
    stale.mkdir()
    (stale / "mira_agreement.py").write_text("raise SystemExit('stale')\n")
    os.utime(stale / "mira_agreement.py", (time.time() + 60, time.time() + 60))
    assert picked() == "0" * 64
    install_metric(root)
    assert picked() == METRIC_SHA
    # A changed metric file (a new mira-hf release) is installed under its own hash and becomes the one loaded.
    changed = tmp_path / "changed"
    shutil.copytree(METRIC_DIR, changed, ignore=shutil.ignore_patterns("__pycache__"))
    (changed / "mira_agreement.py").write_text((METRIC_DIR / "mira_agreement.py").read_text() + "\n# v2\n")
    monkeypatch.setattr("mira_hf._util.metric_install.metric_source_dir", lambda: changed)
    new = install_metric(root)
    assert new.parent.name == hashlib.sha256((changed / "mira_agreement.py").read_bytes()).hexdigest()
    assert picked() == new.parent.name and path.is_file()


def test_load_by_path_fast_compute_equals_evaluates_own_round_trip():
    metric = evaluate.load(str(METRIC_DIR))
    fast = metric.compute(predictions=STUDENT_ROWS, references=TEACHER_ROWS, sources=SOURCES, mae_max=1.2)
    assert fast == agreement(STUDENT_ROWS, TEACHER_ROWS, sources=SOURCES, mae_max=1.2)
    # add_batch → compute goes through evaluate's Arrow cache: same numbers.
    for lo in range(0, 120, 40):
        metric.add_batch(predictions=STUDENT_ROWS[lo : lo + 40], references=TEACHER_ROWS[lo : lo + 40])
    assert metric.compute(sources=SOURCES, mae_max=1.2) == fast
    assert fast["mae_max"] == 1.2 and fast["min_support"] == 30 and fast["spearman_min"] == 0.4
    assert "mask" in fast and set(fast["by_source"]) == {"agent_openhands", "davinc_dev", "swe_qa"}


def test_metric_card_example_and_docstring_example_hold():
    metric = evaluate.load(str(METRIC_DIR))
    teacher = [[8] * D, [6] * D, [3] * D, [5] * D]
    student = [[7] * D, [6] * D, [3] * D, [None] * D]
    result = metric.compute(predictions=student, references=teacher, sources=["swe_qa"] * 4, min_support=3)
    assert (round(result["mae"][0], 3), result["support"][0], result["mask"]["swe_qa"][0]) == (0.333, 3, True)
    assert not metric.compute(predictions=student, references=teacher, sources=["swe_qa"] * 4)["mask"]["swe_qa"][0]
    assert "Metric Card for mira_agreement" in (METRIC_DIR / "README.md").read_text()


def _card(scores: np.ndarray, recommendation: str | None) -> ScoreCard:
    values = [None if np.isnan(v) else float(v) for v in scores]
    return ScoreCard(
        scores=values,
        rationales=["because"] * D,
        overall=70.0,
        recommendation=recommendation,
        domain_tag="swe",
        brief="A trajectory.",
        status="ok" if None not in values else "partial",
    )


def test_text_config_parses_raw_outputs_and_their_recommendations():
    rng = np.random.default_rng(3)
    recs = np.array(["keep", "downsample", "drop"])
    t_recs = recs[rng.integers(0, 3, 120)].tolist()
    s_recs = [r if rng.random() < 0.8 else "drop" for r in t_recs]
    rubric = mira_hf.load_rubric()
    student_texts = [format_output(_card(row, r), rubric) for row, r in zip(STUDENT, s_recs)]
    teacher_texts = [format_output(_card(row, r), rubric) for row, r in zip(TEACHER, t_recs)]
    student_texts[7] = "I cannot grade this trajectory."  # unparseable → no scores, no recommendation
    expected_student = STUDENT.copy()
    expected_student[7] = np.nan
    s_recs[7] = None

    metric = evaluate.load(str(METRIC_DIR), "text")
    result = metric.compute(predictions=student_texts, references=teacher_texts, sources=SOURCES)
    statuses = [
        "parse_error" if i == 7 else "partial" if np.isnan(row).any() else "ok" for i, row in enumerate(STUDENT)
    ]
    want = agreement(
        expected_student,
        TEACHER,
        sources=SOURCES,
        prediction_recommendations=s_recs,
        reference_recommendations=t_recs,
        statuses=statuses,
    )
    assert result == want
    # the unparseable row is counted in every dimension of its source, beside the partial outputs' gaps
    gaps = np.isnan(STUDENT[[i for i, s in enumerate(SOURCES) if s == SOURCES[7] and i != 7]]).sum(0)
    assert result["by_source"][SOURCES[7]]["parse_failures"] == (gaps + 1).tolist()
    assert result["recommendation_support"] == 119 and 0 < result["recommendation_kappa"] < 1
    # The add_batch path of evaluate (string features) gives the same.
    metric.add_batch(predictions=student_texts, references=teacher_texts)
    assert metric.compute(sources=SOURCES) == want


@pytest.mark.slow
def test_the_wheel_ships_the_metric_and_install_works_from_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "mira_hf", src / "mira_hf", ignore=ignore)
    shutil.copytree(REPO / "metrics", src / "metrics", ignore=ignore)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("mira_hf-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert zf.read("mira_hf/metric/mira_agreement.py") == (METRIC_DIR / "mira_agreement.py").read_bytes()
        assert zf.read("mira_hf/metric/README.md") == (METRIC_DIR / "README.md").read_bytes()
        zf.extractall(tmp_path / "site")
    packages = {str(p.parent.relative_to(REPO)) for p in (REPO / "mira_hf").rglob("__init__.py")}
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert "mira_hf/rubric/anchors/group_D_dim_anchors.jsonl" in names

    site = tmp_path / "site"
    env = _clean_env(tmp_path / "hf-home", HF_EVALUATE_OFFLINE="1", PYTHONPATH=str(site))
    out = _run_child(
        tmp_path,
        env,
        _CHILD.replace(
            "print(json.dumps({",
            "from mira_hf._util.metric_install import metric_source_dir\n"
            'print(json.dumps({"source": str(metric_source_dir()), ',
        ),
    )
    assert Path(out["mira_hf"]).is_relative_to(site)
    assert Path(out["source"]) == site / "mira_hf" / "metric"
    assert out["result"] == json.loads(json.dumps(_expected()))


def test_metric_source_is_the_checkout_folder_here():
    assert (
        metric_source_dir() == METRIC_DIR
        or (metric_source_dir() / "mira_agreement.py").read_bytes() == (METRIC_DIR / "mira_agreement.py").read_bytes()
    )


def test_bad_inputs_raise_clear_errors_through_the_metric():
    metric = evaluate.load(str(METRIC_DIR))
    with pytest.raises(ConfigurationError, match="has 2 scores but the rubric has 15 slots"):
        metric.compute(predictions=[[1.0, 2.0]], references=[[1.0] * D])
    with pytest.raises(ConfigurationError, match="give both prediction_recommendations and reference"):
        metric.compute(predictions=[[1.0] * D], references=[[1.0] * D], prediction_recommendations=["keep"])
