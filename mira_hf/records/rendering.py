"""A rendered record: the type the readers' dispatch returns and coverage measures.

It sits below both `.detect` (which renders) and `.measure` (which the detection uses to choose
between readings), so neither imports the other to name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mira_hf.records.common import Attribution


@dataclass(frozen=True)
class Rendering:
    """A rendered record: the text the scorer reads and the format it was read as.

    ``attribution`` says which element of the record each part of the text was rendered for (coverage looks for
    a field's text only there); ``None`` for plain text.

    Example:
        >>> Rendering("### user\\nFix it.", "openai")
        Rendering(text='### user\\nFix it.', format='openai')
    """

    text: str
    format: str
    attribution: Attribution | None = field(default=None, compare=False, repr=False)
