"""Which fields of a record carry text, and which only identify, time, measure or repeat it.

The generic reader (`mira_hf.records.generic`) shows the text-bearing fields of elements no other reader
knows. Coverage (`mira_hf.records.coverage`) keeps its own, shorter list of what it leaves out
(``METADATA_KEYS``): what a reader does not show still counts there.
"""

from __future__ import annotations

import re

#: Keys that never carry text a scorer should read: identifiers, times, run metrics and costs, and metadata
#: that repeats what the record shows elsewhere or configures the run.
NON_TEXT_KEYS = frozenset(
    {
        # identifiers
        "id",
        "ids",
        "cause",
        "uuid",
        "hash",
        "checksum",
        "signature",
        "llm_response_id",
        "response_id",
        # times
        "timestamp",
        "created",
        "created_at",
        "updated_at",
        "time",
        "date",
        "cutoff_date",
        "start_time",
        "end_time",
        "execution_time",
        "duration",
        "elapsed",
        # metrics and costs
        "metrics",
        "llm_metrics",
        "model_stats",
        "usage",
        "token_usage",
        "cost",
        "costs",
        "accumulated_cost",
        "accumulated_token_usage",
        "response_latencies",
        "token_usages",
        "tokens",
        "logprobs",
        "mask",
        "weight",
        # metadata that repeats the model's response or configures the run
        "tool_call_metadata",
        "model_response",
        "replay_config",
        "config",
        "agent_config",
        "llm_config",
        "tools",
        "extra_info",
        "cache_prompt",
        "state",
        "trajectory_format",
        "mini_version",
        "metadata_only",
        "kernel_init_code",
        # file snapshots around an edit (the edit's arguments and result are shown)
        "old_content",
        "new_content",
        "prev_exist",
        # images and other media (shown as a marker)
        "image_urls",
        "images",
        "screenshot",
        "set_of_marks",
        "axtree_object",
        "extra_element_properties",
        "dom_object",
    }
)
#: Keys whose one-word value names what an element is (its kind), in the order the generic reader shows them.
KIND_KEYS = ("kind", "type", "event", "action", "observation", "role", "from", "source", "agent", "status", "name")
#: Key endings that name an identifier, a time, a token count, a cost or a hash: never text, never counted.
NON_TEXT_SUFFIXES = ("_id", "_ids", "_at", "_time", "_timestamp", "_tokens", "_cost", "_hash")
#: A label: one word (no whitespace) of at most this many characters: roles, kinds, statuses, names, paths, URLs.
LABEL_CHARS = 200
_WORD = re.compile(r"\S+")


def is_non_text_key(key: object) -> bool:
    """Does this key name an identifier, a time, a metric or repeated metadata (not shown by the generic reader)?"""
    if not isinstance(key, str):
        return False
    k = key.lower()
    return k in NON_TEXT_KEYS or k.endswith(NON_TEXT_SUFFIXES)


def is_label(value: str) -> bool:
    """A one-word string of at most `LABEL_CHARS` characters: a role, kind, status, name, path or URL."""
    return len(value) <= LABEL_CHARS and _WORD.fullmatch(value.strip() or "-") is not None
