"""Records: turn one trajectory, in whatever shape its agent framework wrote it, into the text the scorer reads.

One module per family of shapes (`.chat`, `.sharegpt`, `.openhands`, `.openhands_sdk`,
`.swe_agent`, `.generic`) on the blocks they share (`.common`, `.fields`), recognition in
`.detect` (returning a `.rendering`), `.coverage` to measure how much of a record reaches the
prompt (what counts: `.measure`), and `.batches` for the record column of a batch.

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
    detect_format,
    render,
    render_record,
)
from mira_hf.records.rendering import Rendering

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
