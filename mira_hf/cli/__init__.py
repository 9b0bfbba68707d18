"""The ``mira-hf`` command line: one module per command group over the library; nothing in the package imports it.

Library errors (:class:`~mira_hf.errors.MiraError`) become one line on stderr and a non-zero exit.
"""

from mira_hf.cli.commands import app, main

__all__ = ["app", "main"]
