"""The output parser, the canonical template writer and the structured-decoding regex."""

from __future__ import annotations

import json
import re

import pytest
import xgrammar
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mira_hf
from mira_hf.answer.format import format_output
from mira_hf.answer.parse import _parser_for, parse_output
from mira_hf.answer.regex import template_regex
from mira_hf.errors import ConfigurationError, RubricError
from mira_hf.rubric import load_rubric
from mira_hf.schema.scorecard import ScoreCard

RUBRIC = load_rubric("agent-group4")
NAMES = RUBRIC.names
SCORES = [8, 7, 9, 6, 8, 9, 7, 9, 6, 9, 10, 8, 9, 7, 9]

# What a well-behaved scorer writes for a real OpenHands repair trajectory.
CANONICAL = """\
[A1] Plan Quality / Reasoning Transparency (Goal Achievement): 8/10 — the plan (reproduce, patch, test) led to the fix
[A2] Output Style/Communication: 7/10 — final message summarises the diff but skips the root cause
[A3] Goal Achievement: 9/10 — the failing test now passes and the patch addresses the reported bug
[A4] Plan Quality / Reasoning Transparency: 6/10 — reasons before most edits, one unexplained revert
[A5] Test Coverage & Verification Rigor: 8/10 — reproduced the bug first and ran the module's tests
[A6] Multi-turn Coherence: 9/10 — consistent with earlier observations throughout
[A7] Error Recovery: 7/10 — recovered from a failed str_replace by re-reading the file
[A8] Tool Argument Correctness: 9/10 — paths and replace strings exact
[A9] Action Efficiency: 6/10 — paged through utils.py instead of searching
[A10] User Intent Comprehension: 9/10 — kept the public signature as the issue asked
[A11] Safety & scope: 10/10 — no destructive commands
[A12] Observation handling: 8/10 — noticed the deprecation warning in the test output
[A13] Code Change Minimality: 9/10 — three-line diff
[A14] Tool Selection: 7/10 — used cat where the editor's view would do
[A15] Tool Selection (Safety & Scope): 9/10 — never touched files outside the repository
overall: 81
training_recommendation: keep
domain_tag: swe-repair/python
brief: A clean, test-verified three-line fix of a date-parsing bug."""


def _with_lines(text: str, replace: dict[int, str]) -> str:
    lines = text.split("\n")
    for i, line in replace.items():
        lines[i] = line
    return "\n".join(lines)


def _card(**kw) -> ScoreCard:
    base = dict(
        scores=[float(s) for s in SCORES],
        rationales=[f"reason {i}" for i in range(15)],
        overall=81.0,
        recommendation="keep",
        domain_tag="swe-repair",
        brief="A fix.",
        status="ok",
    )
    base.update(kw)
    return ScoreCard(**base)


# ----------------------------------------------------------------------------- realistic outputs
def test_canonical_output_is_read_completely():
    card = parse_output(CANONICAL, RUBRIC)
    assert card.status == "ok"
    assert card.scores == [float(s) for s in SCORES]
    assert card.rationales[0] == "the plan (reproduce, patch, test) led to the fix"
    assert card.rationales[13] == "used cat where the editor's view would do"
    assert (card.overall, card.recommendation) == (81.0, "keep")
    assert card.domain_tag == "swe-repair/python"
    assert card.brief == "A clean, test-verified three-line fix of a date-parsing bug."


def test_public_entry_point_and_rubric_by_name():
    assert mira_hf.parse_output(CANONICAL, "agent-group4") == parse_output(CANONICAL, RUBRIC)
    assert mira_hf.parse_output(CANONICAL).status == "ok"  # default rubric


@pytest.mark.parametrize(
    "line",
    [
        "[A3] Goal Achievement: 9/10 — tests pass",
        "**[A3]** Goal Achievement: 9/10 — tests pass",
        "**[A3] Goal Achievement:** 9/10 — tests pass",
        "**[A3] Goal Achievement**: **9/10** — tests pass",
        "- [A3] Goal Achievement: 9/10 — tests pass",
        "* **A3** Goal Achievement: 9 / 10 - tests pass",
        "A3: Goal Achievement — 9/10 — tests pass",
        "A3. Goal Achievement – 9/10 – tests pass",
        "A3 - Goal Achievement - 9/10: tests pass",
        "3. [A3] Goal Achievement: 9 — tests pass",
        "### [A3] Goal Achievement: 9 out of 10 — tests pass",
        "   [A3] Goal Achievement : 9/10 | tests pass",
        "[A3] goal achievement: 9/10 — tests pass",
        "[A3] Goal: 9/10 — tests pass",  # paraphrased name, the slot number decides
        "[A3]: 9/10 — tests pass",
        "[A3] 9/10 — tests pass",
        "Goal Achievement: 9/10 — tests pass",  # no slot number: read by name
        "**Goal Achievement**: 9/10 — tests pass",
        "- goal achievement - 9 / 10 - tests pass",
    ],
)
def test_slot_line_variations_are_read(line):
    card = parse_output(_with_lines(CANONICAL, {2: line}), RUBRIC)
    assert card.scores[2] == 9.0
    assert card.rationales[2] == "tests pass"
    assert card.status == "ok"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7.5/10", 7.5),
        ("7.5", 7.5),
        ("7 / 10", 7.0),
        ("7/10", 7.0),
        ("7", 7.0),
        ("**7**/10", 7.0),
        ("0/10", 0.0),
        ("10/10", 10.0),
        ("10.0/10", 10.0),
        ("N/A", None),
        ("n/a", None),
    ],
)
def test_score_forms(value, expected):
    card = parse_output(_with_lines(CANONICAL, {4: f"[A5] Test Coverage & Verification Rigor: {value} — ran tests"}))
    assert card.scores[4] == expected
    assert card.rationales[4] == "ran tests"
    assert card.status == ("ok" if expected is not None else "partial")


@pytest.mark.parametrize("value", ["10.5/10", "11", "-1", "-1/10", "8/100", "7/5", "11 out of 10"])
def test_out_of_range_or_foreign_scale_scores_are_missing(value):
    card = parse_output(_with_lines(CANONICAL, {4: f"[A5] Test Coverage & Verification Rigor: {value} — x"}))
    assert card.scores[4] is None
    assert card.status == "partial"
    assert card.scores[3] == 6.0 and card.scores[5] == 9.0  # neighbours unaffected


def test_a_slot_without_justification_has_no_rationale():
    lines = {6: "[A7] Error Recovery: 7/10", 7: "[A8] Tool Argument Correctness: 9/10 —"}
    card = parse_output(_with_lines(CANONICAL, lines))
    assert card.scores[6:8] == [7.0, 9.0] and card.rationales[6:8] == [None, None]
    assert card.status == "ok"


def test_crlf_preamble_epilogue_and_blank_lines():
    text = (
        "Sure! Here is my assessment of the trajectory.\n\n"
        + CANONICAL.replace("\n", "\n\n")
        + "\n\nLet me know if you need more detail."
    ).replace("\n", "\r\n")
    card = parse_output(text, RUBRIC)
    assert card.status == "ok"
    assert card.scores == [float(s) for s in SCORES]
    assert card.brief == "A clean, test-verified three-line fix of a date-parsing bug."
    assert all(r is not None and "\r" not in r for r in card.rationales)


def test_out_of_order_lines():
    lines = CANONICAL.split("\n")
    shuffled = lines[15:] + lines[7:15][::-1] + lines[:7]
    assert parse_output("\n".join(shuffled), RUBRIC) == parse_output(CANONICAL, RUBRIC)


def test_duplicates_first_wins():
    text = CANONICAL + "\n[A3] Goal Achievement: 2/10 — second thoughts\noverall: 10\ntraining_recommendation: drop"
    card = parse_output(text, RUBRIC)
    assert card.scores[2] == 9.0 and card.rationales[2].startswith("the failing test")
    assert (card.overall, card.recommendation) == (81.0, "keep")


def test_slot_numbers_win_over_names_whatever_the_order():
    text = "Goal Achievement: 2/10 — by name\n" + CANONICAL
    assert parse_output(text, RUBRIC).scores[2] == 9.0


def test_longest_dimension_name_wins():
    only_a15 = "Tool Selection (Safety & Scope): 3/10 — rm -rf outside the repo\noverall: 40"
    card = parse_output(only_a15, RUBRIC)
    assert card.scores[14] == 3.0 and card.scores[13] is None
    both = "Tool Selection: 6/10 — fine\nTool Selection (Safety & Scope): 3/10 — risky"
    for text in (both, "\n".join(both.split("\n")[::-1])):
        card = parse_output(text, RUBRIC)
        assert (card.scores[13], card.scores[14]) == (6.0, 3.0)
    nested = (
        "Plan Quality / Reasoning Transparency: 4/10\nPlan Quality / Reasoning Transparency (Goal Achievement): 8/10"
    )
    card = parse_output(nested, RUBRIC)
    assert (card.scores[0], card.scores[3], card.scores[2]) == (8.0, 4.0, None)


def test_all_lines_by_name_only():
    text = "\n".join(re.sub(r"^\[A[0-9]+\] ", "", line) for line in CANONICAL.split("\n"))
    assert "[A" not in text
    card = parse_output(text, RUBRIC)
    assert card.status == "ok" and card.scores == [float(s) for s in SCORES]


def test_think_blocks_are_ignored():
    draft = "<think>\nFirst pass:\n[A3] Goal Achievement: 2/10 — draft\noverall: 5\n</think>\n"
    card = parse_output(draft + CANONICAL, RUBRIC)
    assert card.status == "ok" and card.scores[2] == 9.0 and card.overall == 81.0
    # the chat template opened the block in the prompt: only its end is in the output
    card = parse_output("the test fails because...\n[A3] Goal Achievement: 2/10\n</think>\n\n" + CANONICAL, RUBRIC)
    assert card.status == "ok" and card.scores[2] == 9.0
    # generation stopped while thinking: nothing was answered
    card = parse_output("<think>\nLet me score.\n[A3] Goal Achievement: 2/10 — draft", RUBRIC)
    assert card.status == "parse_error" and card.scores[2] is None


@pytest.mark.parametrize(
    "line, expected",
    [
        ("overall: 81/100", 81.0),
        ("Overall: 81", 81.0),
        ("OVERALL: 81.5", 81.5),
        ("**Overall score:** 81", 81.0),
        ("overall: 0", 0.0),
        ("overall: 100/100", 100.0),
        ("overall: 101", None),
        ("overall: -3", None),
        ("overall: 8/10", None),
        ("overall: N/A", None),
        ("overall: <0-100>", None),
    ],
)
def test_overall_forms(line, expected):
    card = parse_output(_with_lines(CANONICAL, {15: line}), RUBRIC)
    assert card.overall == expected
    assert card.status == ("ok" if expected is not None else "partial")


@pytest.mark.parametrize(
    "line, expected",
    [
        ("training_recommendation: KEEP", "keep"),
        ("training_recommendation: Keep", "keep"),
        ("Training recommendation: **Drop**", "drop"),
        ("training_recommendation: downsample — mediocre", "downsample"),
        ("recommendation: Down-sample", "downsample"),
        ("training_recommendation: <keep | downsample | drop>", None),
        ("training_recommendation: maybe", None),
    ],
)
def test_recommendation_forms(line, expected):
    card = parse_output(_with_lines(CANONICAL, {16: line}), RUBRIC)
    assert card.recommendation == expected
    assert card.status == ("ok" if expected is not None else "partial")


def test_metadata_text_forms():
    card = parse_output(_with_lines(CANONICAL, {17: "**domain_tag:** swe-repair", 18: "brief: **A tidy fix.**"}))
    assert (card.domain_tag, card.brief) == ("swe-repair", "A tidy fix.")
    card = parse_output(_with_lines(CANONICAL, {17: "domain_tag:", 18: "brief:   "}))
    assert (card.domain_tag, card.brief, card.status) == (None, None, "ok")


def test_status_follows_the_design():
    assert parse_output(CANONICAL).status == "ok"
    without_overall = "\n".join(line for line in CANONICAL.split("\n") if not line.startswith("overall"))
    assert parse_output(without_overall).status == "partial"
    without_rec = "\n".join(line for line in CANONICAL.split("\n") if not line.startswith("training_"))
    assert parse_output(without_rec).status == "partial"
    one_slot = "[A9] Action Efficiency: 6/10 — ok"
    card = parse_output(one_slot)
    assert card.status == "partial" and card.scores[8] == 6.0 and card.scores.count(None) == 14
    only_meta = "overall: 81\ntraining_recommendation: keep"
    card = parse_output(only_meta)
    assert card.status == "parse_error" and card.overall == 81.0
    # a prose line starting with a slot-like word claims nothing
    card = parse_output("A1 is hard to judge here.\nOverall, the agent did well.\n" + CANONICAL)
    assert card.status == "ok" and card.overall == 81.0


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "",
        "   \n\t",
        42,
        3.5,
        ["[A1] x: 5"],
        {"text": CANONICAL},
        object(),
        b"\xff\xfe\x00garbage\x80",
        bytes(range(256)) * 50,
        "\x00" * 1000,
        "I cannot evaluate this trajectory.",
        "<think>" * 1000,
        "</think>" * 1000,
        "[A" * 5000,
        "**" * 5000,
    ],
)
def test_bad_input_is_a_parse_error_not_an_exception(junk):
    card = parse_output(junk, RUBRIC)
    assert card.status == "parse_error"
    assert card.scores == [None] * 15 and card.rationales == [None] * 15


def test_bytes_are_decoded_as_utf8():
    assert parse_output(CANONICAL.encode("utf-8"), RUBRIC) == parse_output(CANONICAL, RUBRIC)


@pytest.mark.parametrize("tail", [" " * 5_000_000, ": " * 2_500_000])
def test_five_megabyte_lines_are_handled(tail):
    card = parse_output("[A1] " + tail + "\n" + CANONICAL[CANONICAL.index("[A2]") :], RUBRIC)
    assert card.status == "partial" and card.scores[0] is None
    assert card.scores[1:] == [float(s) for s in SCORES[1:]]


def test_a_bad_rubric_is_a_configuration_error():
    with pytest.raises(RubricError, match="neither a bundled rubric"):
        parse_output(CANONICAL, "no-such-rubric")


def test_parsers_are_compiled_once_per_rubric_content(tmp_path):
    copy = tmp_path / "copy_dim_anchors.jsonl"
    copy.write_text(RUBRIC.to_jsonl(), encoding="utf-8")
    assert _parser_for(load_rubric(copy)) is _parser_for(RUBRIC)


# ----------------------------------------------------------------------------- custom rubric with regex syntax in names
TRICKY = ["Regex (a|b)+ [x]*", "C++/C# & Co.", "Cost: $5^2 {ok}?", 'Back\\slash ~ `tick` "q"', "Tool Selection"]


@pytest.fixture(scope="module")
def tricky_rubric(tmp_path_factory):
    path = tmp_path_factory.mktemp("rubric") / "tricky_dim_anchors.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "slot": f"A{i + 1}",
                    "dimension": name,
                    "cluster_size": 10 - i,
                    "description": "A test dimension.",
                    "anchor": {"score": 5, "reason": "ok"},
                }
            )
            + "\n"
            for i, name in enumerate(TRICKY)
        ),
        encoding="utf-8",
    )
    return load_rubric(path)


def test_custom_rubric_with_metacharacters(tricky_rubric):
    card = ScoreCard(
        scores=[1.0, 2.5, 3.0, 4.0, 10.0],
        rationales=["a", "b (c)", "[x]*", "d|e", "f"],
        overall=50,
        recommendation="drop",
        domain_tag="t",
        brief="b",
        status="ok",
    )
    text = format_output(card, tricky_rubric)
    assert text.split("\n")[2] == "[A3] Cost: $5^2 {ok}?: 3/10 — [x]*"
    assert parse_output(text, tricky_rubric) == card
    regex = template_regex(tricky_rubric)
    assert re.fullmatch(regex, text) is not None
    assert re.fullmatch(regex, text.replace("C++/C# & Co.", "CCC/C# & Co.")) is None  # "+" is a literal
    by_name = "\n".join(f"{n}: {i}/10" for i, n in enumerate(TRICKY))
    assert parse_output(by_name, tricky_rubric).scores == [0.0, 1.0, 2.0, 3.0, 4.0]
    xgrammar.Grammar.from_regex(template_regex(tricky_rubric))


# ----------------------------------------------------------------------------- format_output
def test_format_output_writes_the_template():
    text = format_output(_card(), RUBRIC)
    lines = text.split("\n")
    assert len(lines) == 19
    assert lines[0] == f"[A1] {NAMES[0]}: 8/10 — reason 0"
    assert lines[15:] == ["overall: 81", "training_recommendation: keep", "domain_tag: swe-repair", "brief: A fix."]
    assert parse_output(text, RUBRIC) == _card()


def test_format_output_of_partial_card_reads_back_the_same_values():
    card = _card(
        scores=[None, 7.5] + [3.0] * 13,
        rationales=["why not", None] + ["x"] * 13,
        overall=None,
        recommendation=None,
        domain_tag=None,
        brief=None,
        status="partial",
    )
    text = format_output(card, RUBRIC)
    assert text.startswith(f"[A1] {NAMES[0]}: N/A — why not\n[A2] {NAMES[1]}: 7.5/10\n")
    assert "overall" not in text and "brief" not in text
    assert parse_output(text, RUBRIC) == card


# ----------------------------------------------------------------------------- structured decoding
VALID_TEXT = format_output(
    _card(scores=[7.5, 10.0, 0.0] + [6.0] * 12, rationales=["uses **kwargs & (parens) / slashes — fine"] * 15), RUBRIC
)


@pytest.fixture(scope="module")
def compiled_template():
    """The template grammar compiled by xgrammar (vLLM's default structured-output backend) over a byte vocabulary."""
    vocab = [bytes([b]) for b in range(256)] + [b"</s>", b"[A", b"/10", " — ".encode(), b"overall: ", b"keep"]
    info = xgrammar.TokenizerInfo(vocab, xgrammar.VocabType.RAW, stop_token_ids=[256])
    compiler = xgrammar.GrammarCompiler(info, max_threads=1)
    return compiler.compile_grammar(xgrammar.Grammar.from_regex(template_regex(RUBRIC)))


def _xgrammar_accepts(compiled, text: str) -> bool:
    matcher = xgrammar.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.accept_token(256) and matcher.is_terminated()


def test_template_regex_accepts_the_canonical_output():
    regex = template_regex(RUBRIC)
    assert re.fullmatch(regex, VALID_TEXT) is not None
    assert re.fullmatch(regex, CANONICAL) is not None
    assert mira_hf.template_regex(RUBRIC) == regex


def test_xgrammar_compiles_and_enforces_the_template(compiled_template):
    assert _xgrammar_accepts(compiled_template, VALID_TEXT)
    assert _xgrammar_accepts(compiled_template, CANONICAL)
    bad = {
        "score above 10": VALID_TEXT.replace("7.5/10", "11/10", 1),
        "score 10.5": VALID_TEXT.replace("7.5/10", "10.5/10", 1),
        "two decimals": VALID_TEXT.replace("7.5/10", "7.25/10", 1),
        "overall 101": VALID_TEXT.replace("overall: 81", "overall: 101"),
        "unknown recommendation": VALID_TEXT.replace(": keep", ": maybe"),
        "newline in a justification": VALID_TEXT.replace("— fine", "— fi\nne", 1),
        "think tag": VALID_TEXT.replace("— fine", "— <think>", 1),
        "wrong dimension name": VALID_TEXT.replace("Goal Achievement:", "Goal:", 1),
        "missing brief": VALID_TEXT[: VALID_TEXT.index("\nbrief")],
        "justification too long": VALID_TEXT.replace("— fine", "— " + "x" * 300, 1),
        "preamble": "Sure!\n" + VALID_TEXT,
    }
    for why, text in bad.items():
        assert not _xgrammar_accepts(compiled_template, text), why
        assert re.fullmatch(template_regex(RUBRIC), text) is None, why


def test_template_regex_uses_only_portable_syntax():
    regex = template_regex(RUBRIC, max_rationale_chars=24)
    for construct in ("(?=", "(?!", "(?<", "(?P", "\\d", "\\w", "\\s", "\\b", "\\1"):
        assert construct not in regex, construct
    assert regex.count("\n") == 18 and "{0,22}" in regex


def test_template_regex_bounds_are_validated():
    with pytest.raises(ConfigurationError, match="max_rationale_chars must be a positive integer"):
        template_regex(RUBRIC, max_rationale_chars=0)
    with pytest.raises(ConfigurationError, match="max_brief_chars"):
        template_regex(RUBRIC, max_brief_chars="300")  # type: ignore[arg-type]
    assert re.fullmatch(template_regex(RUBRIC, max_rationale_chars=1), VALID_TEXT) is None


# ----------------------------------------------------------------------------- properties
SMALL_REGEX = template_regex(RUBRIC, max_rationale_chars=12, max_tag_chars=6, max_brief_chars=12)


def _expected_from_template_text(text: str) -> tuple[list[float], float, str]:
    """Read scores out of a template-conforming text by position, independently of the parser."""
    lines = text.split("\n")
    scores = []
    for dim, line in zip(RUBRIC, lines):
        prefix = f"[{dim.slot}] {dim.dimension}: "
        assert line.startswith(prefix)
        scores.append(float(line[len(prefix) : line.index("/10 — ", len(prefix))]))
    return scores, float(lines[15].removeprefix("overall: ")), lines[16].removeprefix("training_recommendation: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(SMALL_REGEX, fullmatch=True))
def test_every_string_the_regex_accepts_parses_ok(text):
    card = parse_output(text, RUBRIC)
    scores, overall, recommendation = _expected_from_template_text(text)
    assert card.status == "ok"
    assert card.scores == scores
    assert (card.overall, card.recommendation) == (overall, recommendation)
    # a preamble takes the answer off the exact-template path onto the line-by-line one: same card
    assert parse_output("Here is my assessment.\n" + text, RUBRIC) == card


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.from_regex(template_regex(RUBRIC), fullmatch=True))
def test_every_string_the_default_regex_accepts_parses_ok(text):
    card = parse_output(text, RUBRIC)
    assert card.status == "ok"
    assert card.scores == _expected_from_template_text(text)[0]


FRAGMENTS = st.sampled_from(
    [
        "[A",
        "A",
        "]",
        "**",
        "__",
        "- ",
        ": ",
        "—",
        "–",
        "/10",
        "/",
        "N/A",
        "7",
        "10.5",
        "-1",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\t",
        "<think>",
        "</think>",
        "overall",
        "training_recommendation",
        "keep",
        "DROP",
        "domain_tag",
        "brief",
        "Tool Selection",
        " (Safety & Scope)",
        "#",
        "3.",
        *NAMES,
    ]
)


def _assert_valid_card(card: ScoreCard) -> None:
    assert isinstance(card, ScoreCard)
    assert card.status in ("ok", "partial", "parse_error")
    assert len(card.scores) == len(card.rationales) == 15
    assert all(s is None or 0 <= s <= 10 for s in card.scores)
    assert card.overall is None or 0 <= card.overall <= 100
    assert ScoreCard.model_validate(card.model_dump()) == card  # what the parser builds is a valid ScoreCard
    assert (card.status == "parse_error") == all(s is None for s in card.scores)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.lists(st.one_of(FRAGMENTS, st.text(max_size=5))).map("".join)))
def test_parse_never_raises_and_always_returns_a_valid_card(text):
    _assert_valid_card(parse_output(text, RUBRIC))


def _one_line_text(max_size: int):
    """Stripped single-line text, as the template writes it (no line breaks, no reasoning tags)."""
    return (
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=max_size)
        .map(lambda s: " ".join(s.splitlines()).strip())
        .filter(lambda s: s and "think>" not in s)
    )


def _unbolded(text: str | None) -> bool:
    """A text wrapped in markdown bold (``**x**``) reads back without the bold, by design."""
    return text is None or not (text[:2] in ("**", "__") and text[2:].rstrip().endswith(text[:2]))


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.floats(min_value=0, max_value=10), min_size=15, max_size=15),
    rationales=st.lists(st.none() | _one_line_text(60), min_size=15, max_size=15),
    overall=st.floats(min_value=0, max_value=100),
    recommendation=st.sampled_from(["keep", "downsample", "drop"]),
    domain_tag=st.none() | _one_line_text(20),
    brief=st.none() | _one_line_text(80),
)
def test_format_then_parse_round_trips(scores, rationales, overall, recommendation, domain_tag, brief):
    assume(_unbolded(domain_tag) and _unbolded(brief))
    card = ScoreCard(
        scores=scores,
        rationales=rationales,
        overall=overall,
        recommendation=recommendation,
        domain_tag=domain_tag,
        brief=brief,
        status="ok",
    )
    assert parse_output(format_output(card, RUBRIC), RUBRIC) == card


@settings(max_examples=100, deadline=None)
@given(
    scores=st.lists(st.integers(0, 100).map(lambda x: x / 10), min_size=15, max_size=15),
    overall=st.integers(0, 100),
    rationale=st.text(
        st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_characters="<"), min_size=1, max_size=40
    ),
)
def test_format_output_of_a_valid_card_matches_the_template_regex(scores, overall, rationale):
    rationale = rationale.strip()
    assume(rationale and "\x7f" not in rationale)
    card = ScoreCard(
        scores=scores,
        rationales=[rationale] * 15,
        overall=overall,
        recommendation="drop",
        domain_tag="swe",
        brief="Brief.",
        status="ok",
    )
    assert re.fullmatch(template_regex(RUBRIC, max_rationale_chars=40), format_output(card, RUBRIC)) is not None
