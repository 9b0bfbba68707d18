"""The numbers of an inspection (`mira_hf.inspect`), as pydantic models: what the view shows and JSON keeps."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Rejected(BaseModel):
    """A row the scorer will mark ``invalid_input``."""

    index: int
    id: str | None = None
    reason: str


class LowCoverage(BaseModel):
    """A row whose rendering keeps less than the threshold of its text."""

    index: int
    id: str | None = None
    format: str
    coverage: float
    missing: list[str] = Field(default_factory=list)


class Sample(BaseModel):
    """One rendered record, as the scorer will read it (cut for display)."""

    index: int
    id: str | None = None
    format: str
    coverage: float
    prompt_tokens: int
    text: str


class Lengths(BaseModel):
    """Prompt lengths (record + the prompt's fixed part) against the budget ``max_model_len − max_tokens``."""

    unit: str  # "tokens" (counted with the tokenizer) or "estimated tokens" (UTF-8 bytes / 4)
    budget: int  # prompt tokens allowed
    fixed: int  # tokens of the prompt's fixed part (system message, fence, template)
    quantiles: dict[str, int] = Field(default_factory=dict)  # p50, p90, p99, max
    shortened: int = 0  # rows the budget will shorten
    omitted_mean: float = 0.0  # mean share of a shortened record that is cut
    omitted_max: float = 0.0


class InspectionData(BaseModel):
    """The numbers of an inspection: formats, rejects, coverage, lengths and samples (shown by the view)."""

    rows: int
    column: str | None  # the record column (None: each row is the record)
    formats: dict[str, int]
    rejected: int
    reasons: dict[str, int]  # rejection reason (element indices left out) → rows
    rejected_rows: list[Rejected] = Field(default_factory=list)
    coverage_threshold: float = 0.95
    coverage: dict[str, float] = Field(default_factory=dict)  # mean, min, p5, p50
    coverage_by_format: dict[str, float] = Field(default_factory=dict)
    #: Per kind of field (system, tools, demonstration, message, reasoning, tool_call, observation, outcome): the
    #: mean coverage over the rows that hold text of that kind, and how many rows do.
    coverage_by_kind: dict[str, float] = Field(default_factory=dict)
    rows_by_kind: dict[str, int] = Field(default_factory=dict)
    #: Mean share of a record's counted text that is not shown because the rendering shortens text given to the
    #: agent on purpose (tool schemas, demonstrations, a long system prompt's middle); part of ``1 − coverage``.
    coverage_shortened: float = 0.0
    below_threshold: int = 0
    low_coverage: list[LowCoverage] = Field(default_factory=list)
    lengths: Lengths | None = None
    samples: list[Sample] = Field(default_factory=list)
