"""Errors mira-hf raises for configuration problems, in words a user can act on.

Data problems in a row never raise: they become a ``mira_status`` and a ``mira_error`` in that row.
"""

from __future__ import annotations

#: Every error code: ``code → (message template, fix)``. A class has its own code (``MIRA-E1xx``); the frequent
#: mistakes have one per raise site (``MIRA-E2xx``). docs/troubleshooting.md holds the same table (a test checks).
CODES: dict[str, tuple[str, str]] = {
    "MIRA-E100": ("(any other mira-hf error)", "the message says what to do"),
    "MIRA-E101": ("<setting> is wrong or missing …", "pass the setting the message names, with a value it lists"),
    "MIRA-E102": ("<file>:<line>: <field> …", "fix the rubric file at the line and field the message names"),
    "MIRA-E103": ("no column '<name>' (columns: […])", "pass one of the columns the message lists"),
    "MIRA-E104": ("<record> is empty / of an unknown shape", "fix or drop the record; see docs/records.md"),
    "MIRA-E105": ("<engine> cannot start here …", "install what the message names, or score through a server"),
    "MIRA-E106": (
        "<path> does not exist / no file or folder '<name>' here / cannot be read …",
        "pass a data file, a folder of them, run files, a save_to_disk folder or org/name",
    ),
    "MIRA-E107": ("pushing to <repo> failed …", "check the token and the repo; the local selection is intact"),
    "MIRA-E108": ("<plan>:<line>: <key path>: …", "fix the plan key at the line the message names"),
    "MIRA-E109": ("prompt template <file>: …", "fix the template block or variable the message names"),
    "MIRA-E201": (
        "mask_by='bound' judges cells by their confidence interval; pass bootstrap= …",
        "pass bootstrap=1000 (`--bootstrap 1000`), or mask_by='point'",
    ),
    "MIRA-E202": (
        "budget_tokens= / a {'tokens': n} retention needs token_column= …",
        "pass token_column= (`--token-column`) with a column of token counts per row",
    ),
    "MIRA-E203": (
        "no column '<source>' (columns: […]); pass source_column= …",
        "pass the column naming each row's source (`--source-column`)",
    ),
    "MIRA-E204": ("no reliability file at <path> …", "write the mask first (`mira-hf agree DATA -o <path>`)"),
    "MIRA-E205": (
        "<scores>[<row>] has <n> scores but the rubric has <m> slots …",
        "give every row one score per rubric slot (None where missing)",
    ),
    "MIRA-E206": (
        "retention … is <value>, not a fraction in [0, 1] / not a rule …",
        "write a fraction like 0.5, {'min_score': 6.5} or {'tokens': 2000000}",
    ),
    "MIRA-E207": (
        "base_url <url> carries a user:password … and an API key is set …",
        "remove the user:password from the URL, or drop the API key",
    ),
    "MIRA-E208": (
        "k=<k> must be between 1 and the number of sources (<n>)",
        "ask for at least one group and at most one per source",
    ),
}


class MiraError(Exception):
    """Base class of every error mira-hf raises on purpose.

    ``str(e)`` is the message, in the library's words (Python parameters as ``name=``); the command line turns
    ``name=`` into the command's flag (``--name``). Every error has a stable ``code`` (its class's unless the raise
    site gives one) whose fix the table in docs/troubleshooting.md gives.

    Args:
        *args: the message (and whatever else the built-in base takes).
        code: the code of this mistake, a key of `mira_hf.errors.CODES` (default: the class's).
        fix: what to do, when the code's general fix says less than this case needs.
        cli: the message in the command line's words, for advice the `name=` → `--name` rewrite cannot give
            (a Python method, or an option the command does not have).

    Example:
        >>> e = ConfigurationError("pass bootstrap=", code="MIRA-E201")
        >>> str(e), e.code, ConfigurationError("x").code
        ('pass bootstrap=', 'MIRA-E201', 'MIRA-E101')
    """

    code: str = "MIRA-E100"

    def __init__(self, *args: object, code: str | None = None, fix: str | None = None, cli: str | None = None):
        super().__init__(*args)
        if code is not None:
            if code not in CODES:
                raise ValueError(f"unknown error code {code!r}; add it to mira_hf.errors.CODES and the docs table")
            self.code = code
        self.fix = fix if fix is not None else CODES[self.code][1]
        self.cli = cli


class ConfigurationError(MiraError, ValueError):
    """A setting is wrong or missing (unknown column, bad rubric, incompatible options)."""

    code = "MIRA-E101"


class RubricError(ConfigurationError):
    """A rubric file cannot be loaded; the message names the file, the line and the field."""

    code = "MIRA-E102"


class ColumnNotFoundError(ConfigurationError, KeyError):
    """The record column cannot be found; the message lists the columns that exist."""

    code = "MIRA-E103"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidRecordError(MiraError, ValueError):
    """A record cannot be read (empty, wrong type, unknown shape); becomes an ``invalid_input`` row."""

    code = "MIRA-E104"


class EngineUnavailableError(MiraError, RuntimeError):
    """No engine can be created here (no GPU, vLLM missing, model missing); says what to do."""

    code = "MIRA-E105"


class DataLoadError(ConfigurationError):
    """Data cannot be loaded (a missing path, an unknown file type, a split that does not exist, a Hub failure);
    the message says what to pass instead."""

    code = "MIRA-E106"


class HubPushError(MiraError, RuntimeError):
    """Pushing a selection to the Hub failed; the local selection is intact."""

    code = "MIRA-E107"


class PlanError(ConfigurationError):
    """A mixture plan file is wrong; the message names the key path and the line in the YAML file."""

    code = "MIRA-E108"


class PromptTemplateError(ConfigurationError):
    """A prompt template cannot be loaded or rendered; the message names the file and what is wrong."""

    code = "MIRA-E109"
