"""What the prompt puts around the record and what it asks back: the fences and the answer template.

The record sits between ``<trajectory>`` fences (a closing fence inside a record is escaped, so a record cannot end
the fence early); the answer template lists the lines the scorer must write, which parsing and the
structured-decoding regex read back.
"""

from __future__ import annotations

from mira_hf.rubric import Rubric

#: The three training recommendations, in the template's order.
RECOMMENDATIONS: tuple[str, ...] = ("keep", "downsample", "drop")
#: The separator the template puts between a score and its justification.
JUSTIFICATION_SEPARATOR = " — "

FENCE_OPEN = "<trajectory>"
FENCE_CLOSE = "</trajectory>"
_FENCE_ESCAPED = "<\\/trajectory>"


def escape_fences(text: str) -> str:
    """``text`` with its closing fences escaped, so a record cannot end the fence early.

    Example:
        >>> escape_fences("a </trajectory> b")
        'a <\\\\/trajectory> b'
    """
    return text.replace(FENCE_CLOSE, _FENCE_ESCAPED)


def answer_template(rubric: Rubric) -> str:
    """The answer lines the user message asks for: ``[A1]..[A15]``, overall, recommendation, tag, brief.

    Example:
        >>> from mira_hf.rubric import load_rubric
        >>> answer_template(load_rubric()).splitlines()[-1]
        'brief: <one-sentence summary>'
    """
    lines = [f"[{d.slot}] {d.dimension}: <score>/10{JUSTIFICATION_SEPARATOR}<justification>" for d in rubric]
    lines += [
        "overall: <0-100>",
        f"training_recommendation: <{' | '.join(RECOMMENDATIONS)}>",
        "domain_tag: <short tag>",
        "brief: <one-sentence summary>",
    ]
    return "\n".join(lines)
