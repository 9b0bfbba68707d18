"""Prompt templates: a Jinja2 file with a ``system`` and a ``user`` block, rendered in a sandbox.

The built-in ``mira_hf/prompting/templates/default.jinja`` is the anchored prompt reconstructed from the model
card. A template sees ``rubric_name``, ``n``, ``dimensions``, ``calibration``, ``fence_open``, ``fence_close``,
``answer_template`` and, in the user block only, ``record`` (exactly once, unfiltered: the record is fenced, escaped
and shortened to the token budget before it is put there). Undefined variables are errors, never silently empty.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from mira_hf.answer.contract import FENCE_CLOSE, FENCE_OPEN, answer_template
from mira_hf.errors import PromptTemplateError
from mira_hf.rubric import Rubric

#: The blocks a template must define.
BLOCKS = ("system", "user")
# Stands in for the record while the user block is rendered once per rubric, then split around.
_RECORD_SLOT = "\x00mira-record\x00"


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded prompt template: its Jinja2 source, where it came from, and its content hash.

    Example:
        >>> t = load_prompt()
        >>> t.name, len(t.content_hash)
        ('default', 16)
    """

    source: str
    name: str = field(default="<string>", compare=False)

    @cached_property
    def content_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the source: joins fingerprints and resume keys."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:16]

    def system(self, rubric: Rubric) -> str:
        """The system message for ``rubric`` (identical for every record)."""
        return _render_parts(self, rubric)[0]

    def user_parts(self, rubric: Rubric) -> tuple[str, str]:
        """The user message before and after the record."""
        head, tail = _render_parts(self, rubric)[1:]
        return head, tail


def load_prompt(prompt: str | os.PathLike[str] | PromptTemplate | None = None) -> PromptTemplate:
    """The template at ``prompt`` (a ``.jinja`` file), or the built-in one for ``None``; checked on load.

    Example:
        >>> load_prompt("default") == load_prompt(None)
        True
    """
    if isinstance(prompt, PromptTemplate):
        return prompt
    if prompt is None or str(prompt) == "default":
        return _default()
    path = Path(prompt).expanduser()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PromptTemplateError(f"prompt template {str(path)!r} cannot be read: {e.strerror or e}") from None
    template = PromptTemplate(source=source, name=str(path))
    _compile(source, template.name)
    return template


@lru_cache(maxsize=1)
def _default() -> PromptTemplate:
    source = resources.files("mira_hf.prompting.templates").joinpath("default.jinja").read_text(encoding="utf-8")
    return PromptTemplate(source=source, name="default")


@lru_cache(maxsize=16)
def _compile(source: str, name: str) -> Any:
    from jinja2 import StrictUndefined, TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["score"] = lambda x: f"{x:g}"
    try:
        template = env.from_string(source)
    except TemplateSyntaxError as e:
        raise PromptTemplateError(f"prompt template {name}: line {e.lineno}: {e.message}") from None
    missing = [b for b in BLOCKS if b not in template.blocks]
    if missing:
        raise PromptTemplateError(
            f"prompt template {name}: no {{% block {missing[0]} %}}; a template needs a "
            "'system' and a 'user' block (see mira_hf/prompting/templates/default.jinja)"
        )
    return template


def _variables(rubric: Rubric) -> dict[str, Any]:
    return {
        "rubric_name": rubric.name,
        "n": len(rubric),
        "dimensions": list(rubric),
        "calibration": rubric.calibration(),
        "fence_open": FENCE_OPEN,
        "fence_close": FENCE_CLOSE,
        "answer_template": answer_template(rubric),
    }


def _block(template: Any, block: str, variables: dict[str, Any], name: str) -> str:
    from jinja2 import TemplateError

    try:
        return "".join(template.blocks[block](template.new_context(variables)))
    except TemplateError as e:
        raise PromptTemplateError(f"prompt template {name}: block {block!r}: {e}") from None


@lru_cache(maxsize=32)
def _render_parts(prompt: PromptTemplate, rubric: Rubric) -> tuple[str, str, str]:
    """``(system, user head, user tail)`` for one template and rubric, rendered once."""
    template = _compile(prompt.source, prompt.name)
    variables = _variables(rubric)
    system = _block(template, "system", {**variables, "record": _RECORD_SLOT}, prompt.name)
    if _RECORD_SLOT in system:
        raise PromptTemplateError(
            f"prompt template {prompt.name}: the system block uses {{{{ record }}}}; the "
            "record belongs in the user block (the system message is shared by every record)"
        )
    user = _block(template, "user", {**variables, "record": _RECORD_SLOT}, prompt.name)
    if user.count(_RECORD_SLOT) != 1:
        raise PromptTemplateError(
            f"prompt template {prompt.name}: the user block must contain {{{{ record }}}} "
            f"exactly once and unfiltered (found {user.count(_RECORD_SLOT)} times)"
        )
    head, tail = user.split(_RECORD_SLOT)
    return system, head, tail
