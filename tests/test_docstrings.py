"""The examples in the package's docstrings run and print what they say (those marked ``+SKIP`` need an engine)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import mira_hf

MODULES = sorted(m.name for m in pkgutil.walk_packages(mira_hf.__path__, "mira_hf."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see above)"


def test_the_public_functions_have_examples():
    """Every function exported at the top level shows how it is called."""
    missing = [
        name
        for name in mira_hf.__all__
        if callable(obj := getattr(mira_hf, name)) and not isinstance(obj, type) and ">>>" not in (obj.__doc__ or "")
    ]
    assert not missing, f"public functions without an example in their docstring: {missing}"
