"""Errors mira-hf raises for configuration problems, in words a user can act on.

Data problems in a row never raise: they become a ``mira_status`` and a ``mira_error`` in that row.
"""

from __future__ import annotations


class MiraError(Exception):
    """Base class of every error mira-hf raises on purpose."""


class ConfigurationError(MiraError, ValueError):
    """A setting is wrong or missing (unknown column, bad rubric, incompatible options)."""


class RubricError(ConfigurationError):
    """A rubric file cannot be loaded; the message names the file, the line and the field."""


class ColumnNotFoundError(ConfigurationError, KeyError):
    """The record column cannot be found; the message lists the columns that exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidRecordError(MiraError, ValueError):
    """A record cannot be read (empty, wrong type, unknown shape); becomes an ``invalid_input`` row."""


class EngineUnavailableError(MiraError, RuntimeError):
    """No engine can be created here (no GPU, vLLM missing, model missing); says what to do."""


class DataLoadError(ConfigurationError):
    """Data cannot be loaded (a missing path, an unknown file type, a split that does not exist, a Hub failure);
    the message says what to pass instead."""


class HubPushError(MiraError, RuntimeError):
    """Pushing a selection to the Hub failed; the local selection is intact."""


class PlanError(ConfigurationError):
    """A mixture plan file is wrong; the message names the key path and the line in the YAML file."""


class PromptTemplateError(ConfigurationError):
    """A prompt template cannot be loaded or rendered; the message names the file and what is wrong."""
