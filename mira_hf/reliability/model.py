"""The mask as a value that travels with the data: [`Reliability`][mira_hf.reliability.Reliability] (JSON), and
``as_reliability``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mira_hf.errors import ConfigurationError
from mira_hf.reliability.constants import (
    ANY_SOURCE,
    DEFAULT_MAE_MAX,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_SPEARMAN_MIN,
    STAT_NAMES,
    Default,
)
from mira_hf.reliability.stats import cell_mask
from mira_hf.rubric import Rubric

#: Per-slot lists a cell may carry beside STAT_NAMES: bootstrap bounds and parse failures.
OPTIONAL_CELL_LISTS: tuple[str, ...] = ("mae_low", "mae_high", "spearman_low", "spearman_high", "parse_failures")


class SourceStats(BaseModel):
    """Per-dimension agreement of one source (lists in slot order; ``None`` where undefined)."""

    model_config = ConfigDict(extra="forbid")

    n_records: int = Field(ge=0)
    mae: list[float | None]
    spearman: list[float | None]
    pearson: list[float | None]
    within_1: list[float | None]
    support: list[int]
    mae_low: list[float | None] | None = None
    mae_high: list[float | None] | None = None
    spearman_low: list[float | None] | None = None
    spearman_high: list[float | None] | None = None
    parse_failures: list[int] | None = Field(default=None, description="rows whose output failed to parse, per slot")


class Reliability(BaseModel):
    """Which (source, dimension) cells are reliable, with the thresholds and statistics that decided it.

    Example:
        >>> rel = Reliability(dimensions=["a", "b"], mask={"swe_qa": [True, False]})
        >>> rel.is_reliable("swe_qa", "A1"), rel.is_reliable("swe_qa", "b")
        (True, False)
    """

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = 1
    rubric: str | None = None
    dimensions: list[str]
    mae_max: float = DEFAULT_MAE_MAX
    spearman_min: float = DEFAULT_SPEARMAN_MIN
    min_support: int = DEFAULT_MIN_SUPPORT
    bootstrap: int = Field(default=0, ge=0, description="bootstrap resamples behind the intervals (0: none)")
    confidence: float | None = None
    seed: int | None = None
    mask_by: Literal["point", "bound"] = "point"
    mask: dict[str, list[bool]]
    stats: dict[str, SourceStats] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_lengths(self) -> Reliability:
        d = len(self.dimensions)
        for source, row in self.mask.items():
            if len(row) != d:
                raise ValueError(f"mask[{source!r}] has {len(row)} values but there are {d} dimensions")
        for source, s in self.stats.items():
            for name in (*STAT_NAMES, *OPTIONAL_CELL_LISTS):
                if getattr(s, name) is not None and len(getattr(s, name)) != d:
                    raise ValueError(f"stats[{source!r}].{name} has {len(getattr(s, name))} values, expected {d}")
        return self

    @property
    def sources(self) -> list[str]:
        return list(self.mask)

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> Reliability:
        """Build from the dict [`agreement`][mira_hf.reliability.agreement.agreement] / ``metric.compute`` returns."""
        try:
            stats = dict(result.get("by_source") or {})
            if not stats and ANY_SOURCE in result["mask"]:
                stats = {
                    ANY_SOURCE: {k: result[k] for k in (*STAT_NAMES, *OPTIONAL_CELL_LISTS, "n_records") if k in result}
                }
            return cls(
                rubric=result.get("rubric"),
                dimensions=list(result["dimensions"]),
                mae_max=result["mae_max"],
                spearman_min=result["spearman_min"],
                min_support=result["min_support"],
                bootstrap=result.get("bootstrap", 0),
                confidence=result.get("confidence"),
                seed=result.get("seed"),
                mask_by=result.get("mask_by", "point"),
                mask={k: list(v) for k, v in result["mask"].items()},
                stats=stats,
            )
        except (KeyError, TypeError, ValidationError) as e:
            raise ConfigurationError(
                f"not an agreement result ({e}); pass what `mira_agreement` / `mira_hf.agreement` returned."
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write as JSON (so the mask travels with the selected data)."""
        path = Path(path)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Reliability:
        """Read a file written by [`save`][mira_hf.reliability.Reliability.save]."""
        path = Path(path)
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(
                f"no reliability file at {path}; write one with Reliability.save().",
                code="MIRA-E204",
                cli=f"no reliability file at {path}; write one with `mira-hf agree DATA -o {path}`.",
            ) from None
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "<file>"
            raise ConfigurationError(f"{path} is not a reliability file: {where}: {err['msg']}") from None

    def _slot_index(self, slot: str | int) -> int:
        if isinstance(slot, (int, np.integer)):
            i = int(slot)
        elif isinstance(slot, str) and slot in self.dimensions:
            i = self.dimensions.index(slot)
        elif isinstance(slot, str) and slot[:1] == "A" and slot[1:].isdigit():
            i = int(slot[1:]) - 1
        else:
            raise ConfigurationError(
                f"unknown dimension {slot!r}; use a slot 'A1'..'A{len(self.dimensions)}', "
                f"a 0-based index or a dimension name."
            )
        if not 0 <= i < len(self.dimensions):
            raise ConfigurationError(f"slot {slot!r} is out of range; there are {len(self.dimensions)} dimensions.")
        return i

    def for_source(self, source: str, default: Default | None = None) -> list[bool]:
        """The mask row of ``source`` (``"*"`` covers every source; ``default`` covers sources not in the mask)."""
        row = self.mask.get(source, self.mask.get(ANY_SOURCE))
        if row is not None:
            return list(row)
        if default is None:
            raise ConfigurationError(
                f"source {source!r} is not in the reliability mask (it has {sorted(self.mask)}); measure its "
                f"agreement or pass default='all' or default='none'."
            )
        return [default == "all"] * len(self.dimensions)

    def is_reliable(self, source: str, slot: str | int) -> bool:
        """Whether ``(source, slot)`` is reliable; ``slot`` is ``"A3"``, a 0-based index or a dimension name."""
        return self.for_source(source)[self._slot_index(slot)]

    def with_thresholds(
        self, *, mae_max: float | None = None, spearman_min: float | None = None, min_support: int | None = None
    ) -> Reliability:
        """The same statistics under other thresholds (the mask is recomputed, nothing is re-measured)."""
        if not self.stats:
            raise ConfigurationError("this mask carries no statistics, so its thresholds cannot change.")
        t: dict[str, Any] = {
            "mae_max": self.mae_max if mae_max is None else float(mae_max),
            "spearman_min": self.spearman_min if spearman_min is None else float(spearman_min),
            "min_support": self.min_support if min_support is None else int(min_support),
        }
        mask = {src: cell_mask(s, self.mask_by, **t) for src, s in self.stats.items()}
        return self.model_copy(update={**t, "mask": mask})


def as_reliability(mask: Any, rubric: Rubric | None = None) -> Reliability:
    """A [`Reliability`][mira_hf.reliability.Reliability] from itself, an agreement result, a ``{source: [bool, ...]}``
    dict or a JSON path."""
    if isinstance(mask, Reliability):
        return mask
    if isinstance(mask, (str, Path)):
        return Reliability.load(mask)
    if isinstance(mask, Mapping):
        if "mask" in mask and "dimensions" in mask:
            return Reliability.from_result(mask)
        rows = {str(k): [bool(b) for b in v] for k, v in mask.items()}
        widths = {len(v) for v in rows.values()}
        if len(widths) > 1:
            raise ConfigurationError(f"every mask row needs one boolean per dimension; got lengths {sorted(widths)}.")
        width = widths.pop() if widths else (len(rubric) if rubric is not None else 0)
        names = rubric.names if rubric is not None and len(rubric) == width else [f"A{i + 1}" for i in range(width)]
        return Reliability(rubric=rubric.name if rubric is not None else None, dimensions=names, mask=rows)
    raise ConfigurationError(
        f"mask must be a Reliability, an agreement result, a {{source: [bool, ...]}} dict or a path to a saved "
        f"Reliability; got {type(mask).__name__}."
    )
