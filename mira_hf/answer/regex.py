"""The regular expression that forces a model to answer with exactly the template (structured decoding).

A structured-output backend (vLLM's xgrammar, outlines, guidance) compiles
[`template_regex`][mira_hf.answer.regex.template_regex]; every string it accepts reads back with
[`mira_hf.answer.parse.parse_output`][mira_hf.answer.parse.parse_output] as an ``ok`` card.
"""

from __future__ import annotations

from functools import lru_cache

from mira_hf.answer.contract import JUSTIFICATION_SEPARATOR, RECOMMENDATIONS
from mira_hf.errors import ConfigurationError
from mira_hf.rubric import Rubric, load_rubric

__all__ = ["template_regex"]

# Characters every regex dialect treats as syntax: escaped with a backslash (a recognised escape everywhere).
_META = set("\\.^$|?*+()[]{}/-")
_PLAIN = set(" :,;'\"!%@=_<>")
# Free text: no control characters (so no newline), and no "<" so "<think>" can never be emitted.
_FREE = r"[^\x00-\x1f\x7f<]"
_EDGE = r"[^\x00-\x20\x7f<]"  # first and last character: not blank either
_SCORE_RE = r"(10(\.0)?|[0-9](\.[0-9])?)"
_OVERALL_RE = r"(100|[1-9]?[0-9])"


def _literal(text: str) -> str:
    """``text`` as a regex literal using only syntax every structured-output backend accepts."""
    out = []
    for ch in text:
        if ch in _META:
            out.append("\\" + ch)
        elif ch.isalnum() or ch in _PLAIN or ord(ch) > 127:
            out.append(ch)
        else:  # & # ~ ` (special in some dialects' classes or modes): a one-character class is always a literal
            out.append(f"[{ch}]")
    return "".join(out)


def _bounded_text(max_chars: int | None) -> str:
    """1 to ``max_chars`` characters of single-line text that does not start or end blank."""
    if max_chars is None:
        return f"{_EDGE}({_FREE}*{_EDGE})?"
    if max_chars == 1:
        return _EDGE
    return f"{_EDGE}({_FREE}{{0,{max_chars - 2}}}{_EDGE})?"


@lru_cache(maxsize=64)
def _template_regex(
    rubric: Rubric, max_rationale_chars: int | None, max_tag_chars: int | None, max_brief_chars: int | None
) -> str:
    why = _bounded_text(max_rationale_chars)
    lines = [
        rf"\[{dim.slot}\] {_literal(dim.dimension)}: {_SCORE_RE}\/10{JUSTIFICATION_SEPARATOR}{why}" for dim in rubric
    ]
    lines += [
        f"overall: {_OVERALL_RE}",
        "training_recommendation: (" + "|".join(RECOMMENDATIONS) + ")",
        f"domain_tag: {_bounded_text(max_tag_chars)}",
        f"brief: {_bounded_text(max_brief_chars)}",
    ]
    return "\n".join(lines)


def template_regex(
    rubric: Rubric | str = "agent-group4",
    *,
    max_rationale_chars: int | None = 300,
    max_tag_chars: int | None = 40,
    max_brief_chars: int | None = 300,
) -> str:
    """The regular expression that forces a model to answer with exactly the template (structured decoding).

    Scores are 0–10 with at most one decimal, overall an integer 0–100, the recommendation one of
    ``keep``/``downsample``/``drop``; free texts are single-line and bounded so even a random model
    terminates (``None`` leaves a text unbounded: the cheapest regex to compile, limited by ``max_tokens``
    alone). Plain syntax only (no lookarounds, backreferences or ``\\d``), so vLLM's xgrammar,
    outlines and guidance backends all compile it. Every string it accepts parses to status ``ok``.

    Example:
        >>> regex = template_regex("agent-group4", max_rationale_chars=80)
        >>> score = r"(10(\\.0)?|[0-9](\\.[0-9])?)"
        >>> regex.splitlines()[2].startswith(r"\\[A3\\] Goal Achievement: " + score + r"\\/10 — ")
        True
    """
    for name, value in (
        ("max_rationale_chars", max_rationale_chars),
        ("max_tag_chars", max_tag_chars),
        ("max_brief_chars", max_brief_chars),
    ):
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(
                f"{name} must be a positive integer, got {value!r}; "
                "pass the longest text the scorer may write, e.g. 300."
            )
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    return _template_regex(rubric, max_rationale_chars, max_tag_chars, max_brief_chars)
