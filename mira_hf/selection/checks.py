"""Every argument and column of ``filter_by_retention`` checked before any work, with an error naming the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mira_hf.errors import ColumnNotFoundError, ConfigurationError
from mira_hf.selection.rules import GLOBAL_KEY, _is_single_rule

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


def _column_problem(ds: Dataset, name: str, role: str) -> str | None:
    from mira_hf._util.problems import closest

    if name in ds.column_names:
        return None
    near = closest(name, ds.column_names)
    return (
        f"{role} column {name!r} is not in the dataset{f' (did you mean {near!r}?)' if near else ''}; its "
        f"columns are: {', '.join(ds.column_names)}. Pass {role}_column= with the right name"
        + (" (scores come from mira_hf.aggregate)" if role == "score" else "")
    )


def _require_column(ds: Dataset, name: str, role: str) -> None:
    problem = _column_problem(ds, name, role)
    if problem is not None:
        raise ColumnNotFoundError(problem)


def _check_groups(groups: Any, sources: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigurationError(
            "by='group' needs groups={'group_name': ['source_a', 'source_b'], ...}",
            cli="by='group' needs the groups: write them under 'groups:' in --retention-file, e.g. "
            "'groups: {qa: [source_a, source_b]}'",
        )
    group_of: dict[str, str] = {}
    clean: dict[str, list[str]] = {}
    for g, members in groups.items():
        if isinstance(members, str) or not isinstance(members, Sequence):
            raise ConfigurationError(f"groups[{g!r}] must be a list of source names, got {members!r}")
        clean[str(g)] = [str(m) for m in members]
        for m in members:
            if m in group_of and group_of[m] != g:
                raise ConfigurationError(f"source {m!r} is in two groups: {group_of[m]!r} and {g!r}")
            group_of[str(m)] = str(g)
    orphans = [s for s in sources if s not in group_of]
    if orphans:
        raise ConfigurationError(
            f"source(s) {', '.join(map(repr, orphans))} are in no group; add them to groups=",
            cli=f"source(s) {', '.join(map(repr, orphans))} are in no group; add them to 'groups:' in --retention-file",
        )
    return clean, group_of


def _dataset_fingerprint(ds: Dataset) -> str | None:
    return getattr(ds, "_fingerprint", None)


def _check_input(ds: Any) -> None:
    from datasets import Dataset, DatasetDict, IterableDataset

    if isinstance(ds, DatasetDict):
        raise ConfigurationError(
            f"filter_by_retention takes one split; got a DatasetDict with splits "
            f"{list(ds)}. Pass ds['train'] (or the split to select from)"
        )
    if isinstance(ds, IterableDataset):
        raise ConfigurationError(
            "filter_by_retention needs a map-style datasets.Dataset (the cut looks at every "
            "row); load without streaming=True, or materialise with Dataset.from_generator"
        )
    if not isinstance(ds, Dataset):
        raise ConfigurationError(f"filter_by_retention takes a datasets.Dataset, got {type(ds).__name__}")


def _check_options(
    *,
    retention: Any,
    by: Any,
    groups: Any,
    default: Any,
    source_column: str | None,
    push_to_hub: Any,
    push_by: Any,
    save_to: Any,
    save_format: Any,
    split: str,
    card_metadata: Mapping[str, Any] | None,
) -> None:
    """Every option that does not need the data, checked before any work."""
    if by not in ("source", "group", "global"):
        raise ConfigurationError(f"by={by!r}; use 'source' (MIRA-Source), 'group' (MIRA-Group) or 'global'")
    if by != "group" and groups is not None:
        raise ConfigurationError(
            f"groups= is only used with by='group' (got by={by!r})",
            cli=f"the 'groups:' of --retention-file are only used with by='group' (got by={by!r})",
        )
    if by == "global" and default is not None:
        raise ConfigurationError("default= is only used with by='source' or by='group'")
    if by == "global" and not _is_single_rule(retention) and set(retention) != {GLOBAL_KEY}:
        raise ConfigurationError(
            f"by='global' takes one rule (e.g. retention=0.5), got a mapping with keys {list(retention)}"
        )
    if source_column is None and by != "global":
        raise ConfigurationError(f"by={by!r} needs source_column= (or use by='global')")
    if push_by not in (None, "split", "config"):
        raise ConfigurationError(
            f"push_by={push_by!r}; use None (one split), 'split' (a split per source) or 'config' (a config per source)"
        )
    if push_by is not None and push_to_hub is None and save_to is None:
        raise ConfigurationError("push_by= only applies with push_to_hub= or save_to=")
    if push_by is not None and source_column is None:
        raise ConfigurationError("push_by= needs source_column=")
    if save_format not in ("parquet", "arrow"):
        raise ConfigurationError(f"save_format={save_format!r}; use 'parquet' or 'arrow'")
    if push_to_hub is not None:
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(push_to_hub)
        except (HFValidationError, TypeError) as e:
            raise ConfigurationError(
                f"push_to_hub={push_to_hub!r} is not a valid repo id ({e}); use 'org/name'"
            ) from None
    if (push_to_hub is not None or save_to is not None) and not re.match(r"^\w+(\.\w+)*$", str(split)):
        raise ConfigurationError(f"split={split!r} is not a valid split name (letters, digits, _ and .)")
    if card_metadata is not None:
        from mira_hf.publish.card import merge_metadata

        merge_metadata({}, {}, card_metadata)  # raises if it tries to set what datasets owns


#: The column ``filter_by_retention`` breaks ties by when it is given none and the dataset has it.
DEFAULT_ID_COLUMN = "id"


def resolve_id_column(ds: Dataset, id_column: str | None) -> str | None:
    """The id column ties follow: the one named, else ``id`` when the dataset has it; ``""`` is row order.

    Example:
        >>> import datasets
        >>> resolve_id_column(datasets.Dataset.from_dict({"id": ["a"], "q": [1.0]}), None)
        'id'
        >>> resolve_id_column(datasets.Dataset.from_dict({"id": ["a"], "q": [1.0]}), "") is None
        True
    """
    if id_column is None:
        return DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in ds.column_names else None
    return id_column or None


def _check_columns(
    ds: Dataset,
    *,
    score_column: str,
    source_column: str | None,
    token_column: str | None,
    drop_recommendation: str | Sequence[str] | None,
    recommendation_column: str,
    id_column: str | None = None,
) -> list[str] | None:
    """Every named column exists (all missing ones named in one error); returns the recommendations to drop (or
    None)."""
    from mira_hf._util.problems import joined

    named = {"score": score_column, "source": source_column, "token": token_column, "id": id_column}
    problems = [p for role, name in named.items() if name is not None and (p := _column_problem(ds, name, role))]
    if problems:
        raise ColumnNotFoundError(joined(problems))
    if drop_recommendation is None:
        return None
    values = [drop_recommendation] if isinstance(drop_recommendation, str) else list(drop_recommendation)
    bad = [v for v in values if v not in ("keep", "downsample", "drop")]
    if bad:
        raise ConfigurationError(
            f"drop_recommendation={drop_recommendation!r}: {bad} not among 'keep', 'downsample', 'drop'"
        )
    _require_column(ds, recommendation_column, "recommendation")
    return values


def _mask_reason(reliability: Any, sources: Sequence[str], fix: str) -> str:
    """Why the mask leaves ``sources`` no reliable dimension: too few rows for ``min_support``, or the cells'
    MAE / ρ; empty when the mask is not the reason."""
    from mira_hf.reliability.constants import ANY_SOURCE

    masked = [s for s in sources if not any(reliability.mask.get(s, reliability.mask.get(ANY_SOURCE, [True])))]
    if not masked:
        return ""
    support = [
        max((n for n in (st.support or []) if n is not None), default=0)
        for s in masked
        if (st := reliability.stats.get(s, reliability.stats.get(ANY_SOURCE))) is not None
    ]
    if support and max(support) < reliability.min_support:
        return (
            f": the mask marks no dimension of them reliable because min_support={reliability.min_support} and "
            f"their support is at most {max(support)}; measure the mask again with {fix.format(n=max(support))}"
        )
    return (
        f": the mask marks no dimension of them reliable (mae_max={reliability.mae_max}, "
        f"spearman_min={reliability.spearman_min}); measure it again with looser thresholds"
    )


def unranked_note(
    ds: Dataset,
    score_column: str,
    source_column: str | None,
    reliability: Any = None,
    *,
    fix: str = "min_support= <= {n}",
) -> str | None:
    """Why a selection keeps no row of some sources: every row of them has an empty ``score_column`` (with a mask,
    most often because it marks none of their dimensions reliable); ``None`` when every source has a score.
    ``fix`` is how to measure the mask again, ``{n}`` standing for the ``min_support`` that measures them.

    Example:
        >>> import datasets
        >>> ds = datasets.Dataset.from_dict({"source": ["a", "a", "b"], "mira_quality": [None, None, 7.0]})
        >>> unranked_note(ds, "mira_quality", "source")
        "no row of source(s) 'a' has a mira_quality, so none of them can be kept"
    """
    import pyarrow.compute as pc

    from mira_hf._util.arrow import rows_column
    from mira_hf.reliability.checks import value_counts

    if score_column not in ds.column_names or (source_column and source_column not in ds.column_names):
        return None
    empty = pc.is_null(rows_column(ds, score_column), nan_is_null=True)
    if source_column:
        sources = rows_column(ds, source_column)
        total, nulls = value_counts(sources), value_counts(pc.filter(sources, empty))
    else:
        total, nulls = {"(all rows)": len(ds)}, {"(all rows)": int(pc.sum(empty).as_py() or 0)}
    none = [str(s) for s, n in total.items() if n and nulls.get(s) == n]
    if not none:
        return None
    reason = _mask_reason(reliability, none, fix) if reliability is not None else ""
    return (
        f"no row of source(s) {', '.join(map(repr, none))} has a {score_column}, so none of them can be kept" + reason
    )
