"""Griffe extension for the API reference: the package's docstrings head their doctests ``Example:``, which the
Google-style parser would render as an admonition of markdown (``[x]["role"]`` read as a link); this reads the
section as ``Examples:``, so the doctests render as code."""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headers to ``Examples:`` in every loaded docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
