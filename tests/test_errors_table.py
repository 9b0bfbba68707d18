"""Error codes: every code the package raises is in the catalog, and the catalog is the table in
docs/troubleshooting.md, row for row (so the two cannot drift); the message stays the library's, with its code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

import mira_hf.errors as errors
from mira_hf.errors import CODES, ColumnNotFoundError, ConfigurationError, MiraError

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "troubleshooting.md"
HEADING = "## Error codes"
ROW = re.compile(r"^\| `(MIRA-E\d{3})` \| `(.*)` \| (.*) \|$")


def documented() -> dict[str, tuple[str, str]]:
    """The rows of the table under "## Error codes": code → (message, fix)."""
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"{DOC} has no {HEADING!r} section"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `MIRA-")]
    parsed = {}
    for line in rows:
        match = ROW.match(line)
        assert match, f"not a `| code | message | fix |` row: {line}"
        assert match.group(1) not in parsed, f"{match.group(1)} is twice in the table"
        parsed[match.group(1)] = (match.group(2), match.group(3))
    return parsed


def raised_codes() -> dict[str, list[str]]:
    """Every ``code="MIRA-E…"`` written at a raise site in the package, with the files that write it."""
    found: dict[str, list[str]] = {}
    for path in (ROOT / "mira_hf").rglob("*.py"):
        for code in re.findall(r"""code\s*=\s*["'](MIRA-E\d+)["']""", path.read_text(encoding="utf-8")):
            found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_table_in_the_docs_is_the_catalog_row_for_row():
    table = documented()
    assert sorted(set(CODES) - set(table)) == [], "codes missing from docs/troubleshooting.md"
    assert sorted(set(table) - set(CODES)) == [], "the docs table has codes the package does not know"
    for code, (message, fix) in CODES.items():
        assert table[code] == (message, fix), f"{code}: the docs row differs from mira_hf.errors.CODES"


def test_every_code_written_at_a_raise_site_or_on_a_class_is_in_the_catalog():
    used = raised_codes()
    assert {"MIRA-E201", "MIRA-E202", "MIRA-E203", "MIRA-E204", "MIRA-E207"} <= set(used)
    assert sorted(set(used) - set(CODES)) == []
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, MiraError)]
    assert len(classes) >= 10
    assert all(c.code in CODES for c in classes)
    assert len({c.code for c in classes}) == len(classes), "two classes share a code"
    assert set(CODES) <= set(used) | {c.code for c in classes}, "a catalog code nothing raises"


def test_a_code_is_the_sites_or_the_classes_and_the_message_stays_the_librarys():
    e = ConfigurationError("pass bootstrap= (e.g. bootstrap=1000)", code="MIRA-E201")
    assert str(e) == "pass bootstrap= (e.g. bootstrap=1000)" and e.code == "MIRA-E201"
    assert e.fix == CODES["MIRA-E201"][1] and e.cli is None
    assert ConfigurationError("x").code == "MIRA-E101" and MiraError("x").code == "MIRA-E100"
    missing = ColumnNotFoundError("no column 'src'", code="MIRA-E203", cli="no column 'src'; pass --source-column")
    assert str(missing) == "no column 'src'" and isinstance(missing, KeyError)
    again = pickle.loads(pickle.dumps(missing))  # errors cross process pools
    assert (type(again), str(again), again.code, again.cli) == (
        ColumnNotFoundError,
        "no column 'src'",
        "MIRA-E203",
        missing.cli,
    )
    with pytest.raises(ValueError, match="unknown error code 'MIRA-E999'"):
        ConfigurationError("x", code="MIRA-E999")


# ------------------------------------------------------------------ the library keeps its Python words
def scored_rows(n: int = 8):
    import datasets

    return datasets.Dataset.from_dict(
        {
            "source": ["a", "b"] * (n // 2),
            "mira_scores": [[float(i % 10)] * 15 for i in range(n)],
            "mira_quality": [float(i) for i in range(n)],
        }
    )


def test_the_library_names_python_parameters_and_gives_the_code(tmp_path):
    from mira_hf import aggregate, agreement, filter_by_retention
    from mira_hf.discover import group_sources
    from mira_hf.reliability import Reliability
    from mira_hf.selection import preview

    rows = [[5.0] * 15] * 4
    with pytest.raises(ConfigurationError, match=r"pass bootstrap= \(e\.g\. bootstrap=1000\)") as bound:
        agreement(rows, rows, mask_by="bound")
    with pytest.raises(ConfigurationError, match=r"write one with Reliability\.save\(\)") as no_file:
        Reliability.load(tmp_path / "nope.json")
    ds = scored_rows()
    with pytest.raises(ConfigurationError, match=r"budget_tokens= needs token_column=") as budget:
        filter_by_retention(ds, budget_tokens=1000)
    with pytest.raises(ColumnNotFoundError, match=r"no column 'src' .*pass source_column=") as source:
        aggregate(ds, {"a": [True] * 15}, source_column="src")
    with pytest.raises(ConfigurationError, match=r"^retention is 1\.5, not a fraction in \[0, 1\]") as frac:
        preview(ds, retentions=[1.5])
    with pytest.raises(ConfigurationError, match=r"has 14 scores .* or pass the matching `rubric=`") as ragged:
        agreement([[1.0] * 15, [1.0] * 14], rows[:2])
    with pytest.raises(ConfigurationError, match=r"^k=9 must be between 1 and the number of sources \(2\)") as k:
        group_sources(ds.add_column("text", ["agent ran pytest"] * len(ds)), 9, text_column="text")
    found = [e.value.code for e in (bound, no_file, budget, source, frac, ragged, k)]
    assert found == ["MIRA-E201", "MIRA-E204", "MIRA-E202", "MIRA-E203", "MIRA-E206", "MIRA-E205", "MIRA-E208"]
    assert "'preview'" not in str(frac.value)
    assert "mira-hf agree" in (no_file.value.cli or "") and "rubric=" not in (ragged.value.cli or "rubric=")


def test_a_url_with_credentials_and_an_api_key_is_refused_before_any_request():
    from mira_hf.engines.openai import OpenAIEngine

    with pytest.raises(ConfigurationError, match=r"api_key= or MIRA_API_KEY") as e:
        OpenAIEngine("m", "http://alice:s3cr3t-pw@127.0.0.1:9/v1", api_key="sk-top-secret")
    assert e.value.code == "MIRA-E207"
    for text in (str(e.value), e.value.cli or ""):
        assert "s3cr3t-pw" not in text and "sk-top-secret" not in text and "alice" not in text
        assert "http://127.0.0.1:9/v1" in text
