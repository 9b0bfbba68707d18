"""Records: turn one trajectory, in whatever shape its agent framework wrote it, into the text the scorer reads.

One module per family of shapes (:mod:`.chat`, :mod:`.sharegpt`, :mod:`.openhands`, :mod:`.openhands_sdk`,
:mod:`.swe_agent`, :mod:`.generic`) on the blocks they share (:mod:`.common`, :mod:`.fields`), recognition in
:mod:`.detect` (returning a :mod:`.rendering`), :mod:`.coverage` to measure how much of a record reaches the
prompt (what counts: :mod:`.measure`), and :mod:`.batches` for the record column of a batch.

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
