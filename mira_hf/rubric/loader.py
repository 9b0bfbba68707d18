"""Anchored rubrics: the dimensions a MIRA scorer grades, loaded from ``*_dim_anchors.jsonl``.

One JSON object per line, one line per slot, in slot order::

    {"slot": "A1", "dimension": "Goal Achievement", "cluster_size": 38129,
     "description": "...", "anchor": {"score": 9, "reason": "..."}}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mira_hf.errors import RubricError

#: Bundled rubrics by name; any other name is treated as a path.
BUNDLED: dict[str, str] = {
    "agent-group4": "group_D_dim_anchors.jsonl",
    "group_D": "group_D_dim_anchors.jsonl",
}

#: How many slots the system prompt uses as calibration references (the card: top-12).
CALIBRATION_TOP_K = 12

_SLOT = re.compile(r"^A([1-9][0-9]*)$")


class Anchor(BaseModel):
    """A canonical score with its reason, shown to the scorer to fix its scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float = Field(ge=0, le=10)
    reason: str = Field(min_length=1)


class Dimension(BaseModel):
    """One rubric slot: ``A1`` .. ``An``, its dimension name, cluster size and calibration anchor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slot: str = Field(pattern=r"^A[1-9][0-9]*$")
    dimension: str = Field(min_length=1)
    cluster_size: int = Field(ge=0)
    description: str = Field(min_length=1)
    anchor: Anchor

    @property
    def index(self) -> int:
        """Zero-based position of the slot (``A1`` → 0)."""
        return int(self.slot[1:]) - 1


class Rubric(BaseModel):
    """An ordered list of anchored dimensions with a stable content hash.

    Example:
        >>> rubric = load_rubric("agent-group4")
        >>> rubric.slots[:2], rubric.names[2]
        (['A1', 'A2'], 'Goal Achievement')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dimensions: tuple[Dimension, ...]

    @model_validator(mode="after")
    def _check_slots(self) -> Rubric:
        if not self.dimensions:
            raise ValueError("a rubric needs at least one dimension")
        for i, dim in enumerate(self.dimensions):
            if dim.slot != f"A{i + 1}":
                raise ValueError(f"slots must be A1..A{len(self.dimensions)} in order; position {i + 1} is {dim.slot}")
        names = [d.dimension for d in self.dimensions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"dimension names must be unique; repeated: {dupes}")
        return self

    def __len__(self) -> int:
        return len(self.dimensions)

    # A rubric iterates over its dimensions, not over pydantic's (field, value) pairs: a deliberate override.
    def __iter__(self) -> Iterator[Dimension]:  # type: ignore[override]
        return iter(self.dimensions)

    def __getitem__(self, i: int) -> Dimension:
        return self.dimensions[i]

    @property
    def slots(self) -> list[str]:
        return [d.slot for d in self.dimensions]

    @property
    def names(self) -> list[str]:
        return [d.dimension for d in self.dimensions]

    @property
    def cluster_sizes(self) -> list[int]:
        return [d.cluster_size for d in self.dimensions]

    def calibration(self, top_k: int = CALIBRATION_TOP_K) -> list[Dimension]:
        """The ``top_k`` dimensions by cluster size (ties by slot order): the prompt's calibration references."""
        ranked = sorted(self.dimensions, key=lambda d: (-d.cluster_size, d.index))
        return ranked[:top_k]

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the dimensions; independent of file name and formatting."""
        payload = json.dumps(
            [d.model_dump(mode="json") for d in self.dimensions],
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_jsonl(self) -> str:
        """Serialise back to the ``*_dim_anchors.jsonl`` format."""
        return "".join(json.dumps(d.model_dump(mode="json"), ensure_ascii=False) + "\n" for d in self.dimensions)


def _rubric_name(path: Path) -> str:
    stem = path.name
    for suffix in ("_dim_anchors.jsonl", ".jsonl"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)] or stem
    return stem


def parse_rubric(text: str, *, name: str, source: str = "<string>") -> Rubric:
    """Build a [`Rubric`][mira_hf.rubric.Rubric] from JSONL text; errors name the source, line and field."""
    dims: list[Dimension] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise RubricError(f"{source}, line {lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise RubricError(f"{source}, line {lineno}: expected a JSON object, got {type(obj).__name__}")
        try:
            dims.append(Dimension.model_validate(obj))
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "<object>"
            raise RubricError(f"{source}, line {lineno}, field {field!r}: {err['msg']}") from None
    try:
        return Rubric(name=name, dimensions=tuple(dims))
    except ValidationError as e:
        raise RubricError(f"{source}: {e.errors()[0]['msg']}") from None


#: Rubrics read so far, by name or by (path, size, mtime): an edited file is read again.
_CACHE: dict[Any, Rubric] = {}


def load_rubric(name_or_path: str | Path | Rubric = "agent-group4") -> Rubric:
    """Load a bundled rubric by name (``"agent-group4"``) or any ``*_dim_anchors.jsonl`` file.

    Example:
        >>> load_rubric("agent-group4").names[0]
        'Plan Quality / Reasoning Transparency (Goal Achievement)'
    """
    if isinstance(name_or_path, Rubric):
        return name_or_path
    key = str(name_or_path)
    path = Path(key).expanduser()
    cache_key: Any = key
    if key not in BUNDLED and path.is_file():
        st = path.stat()
        cache_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    if key in BUNDLED:
        resource = resources.files("mira_hf.rubric.anchors").joinpath(BUNDLED[key])
        rubric = parse_rubric(
            resource.read_text(encoding="utf-8"),
            name=_rubric_name(Path(BUNDLED[key])),
            source=f"bundled rubric {key!r}",
        )
    else:
        if not path.is_file():
            known = ", ".join(repr(k) for k in BUNDLED)
            raise RubricError(f"rubric {key!r} is neither a bundled rubric ({known}) nor an existing file")
        rubric = parse_rubric(path.read_text(encoding="utf-8"), name=_rubric_name(path), source=str(path))
    _CACHE[cache_key] = rubric
    return rubric
