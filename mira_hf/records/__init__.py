"""Records: turn one trajectory, in whatever shape its agent framework wrote it, into the text the scorer reads.

One module per family of shapes (:mod:`.chat`, :mod:`.sharegpt`, :mod:`.openhands`, :mod:`.openhands_sdk`,
:mod:`.swe_agent`, :mod:`.generic`), recognition in :mod:`.detect`, :mod:`.coverage` to measure how much of a
record reaches the prompt, and :mod:`.inspection` to look at a whole dataset before scoring it.

Example:
    >>> from mira_hf.records import render
    >>> render([{"role": "user", "content": "Fix the failing test."}]).format
    'openai'
"""

from mira_hf.records.coverage import Coverage, coverage, coverage_report
from mira_hf.records.detect import (
    FORMATS,
    READERS,
    TASK_KEYS,
    WRAPPER_KEYS,
    Format,
    Reader,
    Rendering,
    detect_format,
    render,
    render_record,
)

#: Version of the rendering; folded into the scorer's fingerprint, so a change of rendering misses the cache.
RENDER_VERSION = "records-v3"

__all__ = [
    "FORMATS",
    "READERS",
    "RENDER_VERSION",
    "TASK_KEYS",
    "WRAPPER_KEYS",
    "Coverage",
    "Format",
    "Reader",
    "Rendering",
    "coverage",
    "coverage_report",
    "detect_format",
    "render",
    "render_record",
]
