"""Read a scorer's answer into a [`ScoreCard`][mira_hf.schema.scorecard.ScoreCard], leniently: models drift from the
template.

The scorer answers with one line per rubric slot and four metadata lines::

    [A1] <dimension>: <score>/10 — <justification>
    ...
    overall: <0-100>
    training_recommendation: <keep | downsample | drop>
    domain_tag: <short tag>
    brief: <one-sentence summary>

[`parse_output`][mira_hf.answer.parse.parse_output] reads that and never raises on the text. The exact template is
written by [`mira_hf.answer.format.format_output`][mira_hf.answer.format.format_output] and forced at decoding by
[`mira_hf.answer.regex.template_regex`][mira_hf.answer.regex.template_regex].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mira_hf.answer.contract import JUSTIFICATION_SEPARATOR, RECOMMENDATIONS
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.schema.scorecard import ScoreCard

__all__ = ["parse_output"]

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# ----------------------------------------------------------------------------- lenient line grammar
# Every whitespace run is followed by a mandatory non-blank token or sits at the end of an optional group
# that starts with one, so no two runs can split the same blanks: matching stays linear on hostile input.
_BOLD = r"(?:\*\*|__)"
_LEAD = r"^[ \t]*(?:(?:[-*+•]|[0-9]{1,3}[.)]|\#{1,6})[ \t]+)?(?:" + _BOLD + r"[ \t]*)?"
_SEP = r"(?:[:=—–]|-(?=[ \t]))[ \t]*"
_UNSIGNED = r"[0-9]+(?:\.[0-9]+)?"
_NUMBER = r"[+-]?" + _UNSIGNED


def _score(p: str) -> str:
    """A score (``7``, ``7.5``, ``7/10``, ``7 / 10``, ``**7**/10``, ``7 out of 10``, ``N/A``) and its justification."""
    return (
        rf"(?:(?P<{p}na>N/?A)(?![0-9A-Za-z])"
        rf"|(?P<{p}num>{_NUMBER})(?:{_BOLD}?[ \t]*(?:/|out[ \t]+of)[ \t]*(?P<{p}den>[0-9]+(?:\.[0-9]+)?))?)"
        rf"{_BOLD}?[ \t]*(?:(?:[—–:|.,;]|-{{1,2}})[ \t]*)?(?P<{p}why>[^\n]*)$"
    )


_KEYS = r"overall(?:[ _]score)?|training[ _]recommendation|recommendation|domain[ _]tag|brief|summary"
_KEY_FIELD = {
    "overall": "overall",
    "overall score": "overall",
    "overall_score": "overall",
    "training_recommendation": "recommendation",
    "training recommendation": "recommendation",
    "recommendation": "recommendation",
    "domain_tag": "domain_tag",
    "domain tag": "domain_tag",
    "brief": "brief",
    "summary": "brief",
}
_OVERALL = re.compile(r"[*_ \t]*(" + _NUMBER + r")[*_]*(?:[ \t]*/[ \t]*([0-9]+(?:\.[0-9]+)?))?")
_NOT_APPLICABLE = re.compile(r"[*_ \t]*N/?A(?![0-9A-Za-z])", re.IGNORECASE)
_RECOMMENDATION = re.compile(
    r"[^0-9A-Za-z\n]*(keep|downsample|down[- ]sample|drop)(?![0-9A-Za-z])(?![ \t]*[|/])", re.IGNORECASE
)


def _line_pattern(names: list[str]) -> re.Pattern[str]:
    """One pattern, matched line by line, whose three branches read a slot line, a metadata line or a name line."""
    # Longest name first: "Tool Selection (Safety & Scope)" must never be read as "Tool Selection".
    alternation = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    name = rf"(?:{alternation})(?![0-9A-Za-z])"
    slot_line = (
        _LEAD
        + r"\[?A(?P<slot>[0-9]{1,3})\]?(?![0-9A-Za-z])"
        + _BOLD
        + r"?(?:[.:)])?"
        + _BOLD
        + r"?[ \t]*"
        # the dimension name as written, or any other label up to a separator, or up to "<n>/..."
        + rf"(?:{name}{_BOLD}?[ \t]*(?:{_SEP})?|[^ \t\n][^\n]*?{_SEP}|[^ \t\n][^\n]*?[ \t](?={_NUMBER}[ \t]*/))?"
        + rf"(?:{_BOLD}[ \t]*)?"
        + _score("s_")
    )
    key_lead = _LEAD.replace(f"(?:{_BOLD}[ \\t]*)?", f"(?:(?P<kb>{_BOLD})[ \\t]*)?")
    key_line = (
        key_lead + rf"(?P<key>{_KEYS})(?![0-9A-Za-z_])[ \t]*(?:{_BOLD}[ \t]*)?{_SEP}"
        rf"(?P<vb>{_BOLD}[ \t]*)?(?P<val>[^\n]*)$"
    )
    name_line = (
        _LEAD + rf"(?P<dim>{alternation})(?![0-9A-Za-z])[ \t]*(?:{_BOLD}[ \t]*)?(?:{_SEP})?"
        rf"(?:{_BOLD}[ \t]*)?" + _score("n_")
    )
    return re.compile(rf"(?P<S>{slot_line})|(?P<K>{key_line})|(?P<N>{name_line})", re.IGNORECASE)


def _canonical_pattern(rubric: Rubric) -> re.Pattern[str]:
    """The exact template (what structured decoding yields): read with one C-level match, no per-line work.

    Anything it accepts the lenient pattern reads identically; anything else falls through to it.
    """
    slots = [
        rf"\[{d.slot}\] {re.escape(d.dimension)}: ({_UNSIGNED})/10(?:{JUSTIFICATION_SEPARATOR}([^\n]*))?"
        for d in rubric
    ]
    meta = [
        rf"overall: ({_UNSIGNED})",
        "training_recommendation: (" + "|".join(RECOMMENDATIONS) + ")",
        r"domain_tag: ([^*_ \t\n][^\n]*)",
        r"brief: ([^*_ \t\n][^\n]*)",
    ]
    return re.compile("\n".join(slots + meta))


@dataclass(frozen=True)
class _Parser:
    """The compiled patterns and lookups for one rubric (built once per rubric content hash)."""

    pattern: re.Pattern[str]
    canonical: re.Pattern[str]
    n_slots: int
    by_name: dict[str, int]


_PARSERS: dict[str, _Parser] = {}


def _parser_for(rubric: Rubric) -> _Parser:
    key = rubric.content_hash
    parser = _PARSERS.get(key)
    if parser is None:
        by_name: dict[str, int] = {}
        for i, n in enumerate(rubric.names):
            by_name.setdefault(n.lower(), i)
        parser = _Parser(_line_pattern(rubric.names), _canonical_pattern(rubric), len(rubric), by_name)
        _PARSERS[key] = parser
    return parser


# ----------------------------------------------------------------------------- pure functions
def _strip_think(text: str) -> str:
    """Drop reasoning: ``<think>…</think>`` blocks, everything before an unopened ``</think>``
    (chat templates that open the block in the prompt), and everything after an unclosed ``<think>``."""
    kept: list[str] = []
    pos, i, j = 0, -2, -2  # -2: not searched yet; -1: none ahead (then never again, so no rescans)
    while True:
        if i != -1 and i < pos:
            i = text.find(_THINK_OPEN, pos)
        if j != -1 and j < pos:
            j = text.find(_THINK_CLOSE, pos)
        if j != -1 and (i == -1 or j < i):  # a close with no open: what came before was reasoning
            kept, pos = [], j + len(_THINK_CLOSE)
        elif i != -1:
            kept.append(text[pos:i])
            k = text.find(_THINK_CLOSE, i + len(_THINK_OPEN))
            if k == -1:  # unclosed: the rest is reasoning
                break
            pos = k + len(_THINK_CLOSE)
        else:
            kept.append(text[pos:])
            break
    return "".join(kept)


def _slot_score(num: str | None, den: str | None) -> float | None:
    """A 0–10 score, or ``None`` for N/A, a denominator other than 10, or a value out of range."""
    if num is None or (den is not None and float(den) != 10.0):
        return None
    value = float(num)
    return value if 0.0 <= value <= 10.0 else None


def _overall(value: str) -> tuple[bool, float | None]:
    """(claimed, score): a line claims ``overall`` when it holds a number or N/A; out of 0–100 → ``None``."""
    m = _OVERALL.match(value)
    if m is None:
        return (_NOT_APPLICABLE.match(value) is not None), None
    if m.group(2) is not None and float(m.group(2)) != 100.0:
        return True, None
    score = float(m.group(1))
    return True, (score if 0.0 <= score <= 100.0 else None)


def _recommendation(value: str) -> str | None:
    m = _RECOMMENDATION.match(value)
    if m is None:
        return None
    word = m.group(1).lower()
    return "downsample" if word.startswith("down") else word


def _text(value: str) -> str | None:
    value = value.strip()
    return value or None


def _why(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _as_text(text: Any) -> str | None:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text).decode("utf-8", errors="replace")
    return None


def _parse(text: str, parser: _Parser) -> ScoreCard:
    n = parser.n_slots
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "think>" in text:
        text = _strip_think(text)

    m = parser.canonical.fullmatch(text.strip(" \t\n"))
    if m is not None:
        return _canonical_card(m, n)

    by_slot, by_name, meta = _read_lines(text, parser)
    if by_name:
        for i, value in by_name.items():
            by_slot.setdefault(i, value)
    scores: list[float | None] = [None] * n
    rationales: list[str | None] = [None] * n
    for i, (score, why) in by_slot.items():
        scores[i] = score
        rationales[i] = why
    return _card(
        scores, rationales, meta.get("overall"), meta.get("recommendation"), meta.get("domain_tag"), meta.get("brief")
    )


_Slots = dict[int, tuple[float | None, str | None]]


def _read_lines(text: str, parser: _Parser) -> tuple[_Slots, _Slots, dict[str, Any]]:
    """``(by slot, by name, metadata)``: each line read as a slot line, a metadata line or a name line; the first
    line for a slot (or a metadata field) wins."""
    n = parser.n_slots
    by_slot: _Slots = {}
    by_name: _Slots = {}
    meta: dict[str, Any] = {}
    match = parser.pattern.match
    for line in text.split("\n"):
        m = match(line)
        if m is None:
            continue
        kind = m.lastgroup
        if kind == "S":
            slot, num, den, why = m.group("slot", "s_num", "s_den", "s_why")
            i = int(slot) - 1
            if 0 <= i < n and i not in by_slot:
                by_slot[i] = (_slot_score(num, den), _why(why))
        elif kind == "K":
            _read_key(m, meta)
        elif kind == "N":
            i = parser.by_name.get(m.group("dim").lower(), -1)
            if i >= 0 and i not in by_name:
                num, den, why = m.group("n_num", "n_den", "n_why")
                by_name[i] = (_slot_score(num, den), _why(why))
    return by_slot, by_name, meta


def _read_key(m: re.Match[str], meta: dict[str, Any]) -> None:
    """A metadata line (``overall``, ``training_recommendation``, ``domain_tag``, ``brief``) into ``meta``."""
    field = _KEY_FIELD[m.group("key").lower()]
    if field in meta:
        return
    value, key_bold, bold = m.group("val", "kb", "vb")
    if bold is not None:
        marker = bold.rstrip(" \t")
        if value.rstrip().endswith(marker):  # "domain_tag: **swe-repair**"
            value = value.rstrip()[: -len(marker)]
        elif key_bold is None:  # a literal "**" that closes nothing
            value = bold + value
    if field == "overall":
        claimed, score = _overall(value)
        if claimed:
            meta[field] = score
    elif field == "recommendation":
        rec = _recommendation(value)
        if rec is not None:
            meta[field] = rec
    else:
        txt = _text(value)
        if txt is not None:
            meta[field] = txt


def _canonical_card(m: re.Match[str], n: int) -> ScoreCard:
    """The card of an answer that is exactly the template: every score and metadata group matched."""
    groups = m.groups()
    scores: list[float | None] = []
    for num in groups[0 : 2 * n : 2]:
        value = float(num)
        scores.append(value if value <= 10.0 else None)
    rationales = [_why(why) for why in groups[1 : 2 * n : 2]]
    overall = float(groups[2 * n])
    return _card(
        scores,
        rationales,
        overall if overall <= 100.0 else None,
        groups[2 * n + 1],
        _text(groups[2 * n + 2]),
        _text(groups[2 * n + 3]),
    )


def _card(
    scores: list[float | None],
    rationales: list[str | None],
    overall: float | None,
    recommendation: str | None,
    domain_tag: str | None,
    brief: str | None,
) -> ScoreCard:
    """The card with its status: ``ok`` (all there), ``partial`` (some slot read), ``parse_error`` (none)."""
    parsed = len(scores) - scores.count(None)
    if parsed == 0:
        status = "parse_error"
    elif parsed == len(scores) and overall is not None and recommendation is not None:
        status = "ok"
    else:
        status = "partial"
    # Every value was checked above, so skip pydantic's validation on this per-record hot path.
    return ScoreCard.model_construct(
        scores=scores,
        rationales=rationales,
        overall=overall,
        recommendation=recommendation,
        domain_tag=domain_tag,
        brief=brief,
        status=status,
    )


def _empty_card(n_slots: int) -> ScoreCard:
    return ScoreCard.model_construct(
        scores=[None] * n_slots,
        rationales=[None] * n_slots,
        overall=None,
        recommendation=None,
        domain_tag=None,
        brief=None,
        status="parse_error",
    )


# ----------------------------------------------------------------------------- public API
def parse_output(text: str | bytes | None, rubric: Rubric | str = "agent-group4") -> ScoreCard:
    """Read a scorer's answer into a [`ScoreCard`][mira_hf.schema.scorecard.ScoreCard]; never raises on the text,
    whatever it is.

    Lines are read by slot number (``[A3]``, ``A3:``, ``**[A3]**``, ``- [A3]``, ``A3.``), else by exact
    dimension name (case-insensitive, longest name first). Scores outside 0–10 (overall outside 0–100)
    and ``N/A`` are ``None``; the first line for a slot wins; ``<think>`` blocks are ignored.
    Only a bad ``rubric`` raises ([`RubricError`][mira_hf.errors.RubricError]), as it is a configuration error.

    Example:
        >>> answer = "[A3] Goal Achievement: 8/10 — tests pass\\noverall: 81/100"
        >>> card = parse_output(answer, "agent-group4")
        >>> card.scores[2], card.rationales[2], card.overall, card.status
        (8.0, 'tests pass', 81.0, 'partial')
    """
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    parser = _parser_for(rubric)
    try:
        text = _as_text(text)
        if not text:
            return _empty_card(parser.n_slots)
        return _parse(text, parser)
    except Exception:  # a parser must not take a whole batch down; the raw text is kept by the caller
        return _empty_card(parser.n_slots)
