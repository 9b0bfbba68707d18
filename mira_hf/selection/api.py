"""``filter_by_retention``: the checks, the cut, the report, the kept rows, and the optional push or save."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from mira_hf.errors import ConfigurationError
from mira_hf.schema.selection import CutStats, PushBy, SelectionParameters, SelectionReport, SourceStats
from mira_hf.selection.apply import _apply_cuts, _Arrays, _keys_and_rules, _source_stats
from mira_hf.selection.budget import BudgetSplit, budget_spec, check_budget
from mira_hf.selection.checks import (
    _check_columns,
    _check_input,
    _check_options,
    _dataset_fingerprint,
    resolve_id_column,
)
from mira_hf.selection.gumbel import Sampling, check_sampling
from mira_hf.selection.identity import reliability_payload, rubric_info, scorer_identity
from mira_hf.selection.rules import By, RetentionRule, parse_rule

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


def _take(ds: Dataset, kept: np.ndarray, fingerprint: str) -> Dataset:
    """``ds.select`` of the kept rows, in order (a contiguous run becomes a zero-copy slice)."""
    indices = np.flatnonzero(kept)
    if indices.size and indices[-1] - indices[0] + 1 == indices.size:
        return ds.select(range(int(indices[0]), int(indices[-1]) + 1), new_fingerprint=fingerprint)
    return ds.select(indices.tolist(), new_fingerprint=fingerprint)  # a list of ints is datasets' fast path


def _check_rules(rules: Mapping[str, RetentionRule], *, token_column: str | None, sampling: Sampling) -> None:
    """Rule kinds the other options rule out: tokens without a token column, a threshold with sampling."""
    if any(r.kind == "tokens" for r in rules.values()) and token_column is None:
        raise ConfigurationError(
            "a {'tokens': n} retention needs token_column= (a column of token counts per row)", code="MIRA-E202"
        )
    if sampling == "gumbel" and any(r.kind == "min_score" for r in rules.values()):
        raise ConfigurationError(
            "sampling='gumbel' samples a number of rows or tokens; a {'min_score': x} rule "
            "has no size to sample. Use a fraction or {'tokens': n}, or sampling='cut'"
        )


def _sampling_params(
    sampling: Sampling, temperature: float, seed: int, budget_tokens: int | None, budget_split: BudgetSplit
) -> dict[str, Any]:
    """The report's record of how rows were chosen (τ and seed only matter for Gumbel sampling)."""
    gumbel = sampling == "gumbel"
    return {
        "sampling": sampling,
        "temperature": float(temperature) if gumbel else None,
        "seed": int(seed) if gumbel else None,
        "budget_tokens": None if budget_tokens is None else int(budget_tokens),
        "budget_split": None if budget_tokens is None else budget_spec(budget_split),
    }


class _Decision(NamedTuple):
    """What a selection keeps, before any row is taken: the mask, the parameters and the figures."""

    kept: np.ndarray
    params: SelectionParameters
    cuts: dict[str, CutStats]
    sources: dict[str, SourceStats]
    arrays: _Arrays


def _decide(
    ds: Dataset,
    retention: Any,
    *,
    by: By,
    groups: Any,
    default: Any,
    score_column: str,
    source_column: str | None,
    token_column: str | None,
    drop_recommendation: str | Sequence[str] | None,
    recommendation_column: str,
    sampling: Sampling,
    temperature: float,
    seed: int,
    budget_tokens: int | None,
    budget_split: BudgetSplit,
    arrays: _Arrays | None = None,
    id_column: str | None = None,
) -> _Decision:
    """Check the selection options, read the columns (unless ``arrays`` are given) and compute the kept mask."""
    check_sampling(sampling, temperature, seed)
    id_column = resolve_id_column(ds, id_column)
    check_budget(budget_tokens, budget_split, retention=retention, default=default, token_column=token_column)
    drop_values = _check_columns(
        ds,
        score_column=score_column,
        source_column=source_column,
        token_column=token_column,
        drop_recommendation=drop_recommendation,
        recommendation_column=recommendation_column,
        id_column=id_column,
    )
    if arrays is None:
        arrays = _Arrays(
            ds,
            score_column=score_column,
            source_column=source_column,
            token_column=token_column,
            drop_values=drop_values,
            recommendation_column=recommendation_column,
            id_column=id_column,
        )
    keys, key_of_src, rules, clean_groups = _keys_and_rules(
        arrays,
        by=by,
        retention=retention,
        default=default,
        groups=groups,
        budget_tokens=budget_tokens,
        budget_split=budget_split,
    )
    _check_rules(rules, token_column=token_column, sampling=sampling)
    kept, cuts = _apply_cuts(arrays, keys, key_of_src, rules, sampling=sampling, temperature=temperature, seed=seed)
    params = SelectionParameters(
        by=by,
        score_column=score_column,
        source_column=source_column,
        token_column=token_column,
        id_column=id_column,
        recommendation_column=recommendation_column if drop_values else None,
        drop_recommendation=drop_values,
        groups=clean_groups,
        retention=rules,
        default=parse_rule(default, key="default") if default is not None else None,
        **_sampling_params(sampling, temperature, seed, budget_tokens, budget_split),
    )
    return _Decision(kept, params, cuts, _source_stats(arrays, kept, keys, key_of_src), arrays)


# ----------------------------------------------------------------------------------------------- entry point
def filter_by_retention(
    ds: Dataset,
    retention: Any = None,
    *,
    score_column: str = "mira_quality",
    source_column: str | None = "source",
    by: By = "source",
    groups: Mapping[str, Sequence[str]] | None = None,
    default: Any = None,
    token_column: str | None = None,
    id_column: str | None = None,
    drop_recommendation: str | Sequence[str] | None = None,
    recommendation_column: str = "mira_recommendation",
    sampling: Sampling = "cut",
    temperature: float = 1.0,
    seed: int = 0,
    budget_tokens: int | None = None,
    budget_split: BudgetSplit = "shares",
    scorer: Any = None,
    reliability: Any = None,
    rubric: Any = None,
    push_to_hub: str | None = None,
    push_by: PushBy | None = None,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    config_name: str = "default",
    split: str = "train",
    max_shard_size: int | str | None = None,
    card_metadata: Mapping[str, Any] | None = None,
    save_to: str | Path | None = None,
    save_format: Literal["parquet", "arrow"] = "parquet",
    storage_options: Mapping[str, Any] | None = None,
    push_samples: bool = True,
    report_html: str | Path | None = None,
) -> tuple[Dataset, SelectionReport]:
    """Keep the best-scored rows of each source (``by="source"``), group (``"group"``) or overall (``"global"``).

    ``retention`` is one rule for every key or ``{key: rule}``; a rule is a fraction of the key's rows
    (``0.5`` keeps ``ceil(0.5·n)`` of its ``n`` rows, counting unscored ones), ``{"min_score": 6.5}`` or
    ``{"tokens": 2_000_000_000}`` (with ``token_column=``, filled best-first, never over budget). Rows with a
    null score are never kept; kept rows keep their order. Ties at a cut, and the Gumbel noise below, go by a
    stable hash of each row's id (``id_column``; by default the ``id`` column when there is one), so the same
    rows are kept however the dataset is shuffled or sharded; ``id_column=""`` (or no ``id`` column) lets ties
    go to the earlier row and the noise follow row positions.

    ``budget_tokens=n`` (with ``token_column=``, instead of ``retention``) is one budget for the whole dataset:
    each key (source, group, or ``"global"``) gets ``floor(n · share)`` tokens, its share of the input tokens
    (``budget_split="shares"``) or of a ``{key: weight}`` mapping, filled best-first and never over.
    ``sampling="gumbel"`` replaces the hard cut by sampling without replacement with probability ∝
    ``exp(score / temperature)`` (Gumbel top-k from ``seed``); fraction and token rules are honoured exactly as
    with the cut, ``temperature=0`` is the cut, and the same seed keeps the same rows. With
    ``push_to_hub="org/name"`` the selection, a dataset card, ``selection_report.json`` and
    ``reliability.json`` are pushed (``save_to=`` writes the same to a local or fsspec path), with a ``samples``
    config of a few rows per source worth reading (best, worst, just above and below the cut, random kept and
    dropped) that the card lists example ids from (``push_samples=False`` leaves it out); ``report_html=`` (the
    file `mira-hf report` wrote) goes up as ``report.html``, linked from the card. If the push fails,
    [`HubPushError`][mira_hf.errors.HubPushError] is raised with the selection in ``err.selection`` and the report in
    ``err.report``.

    Example:
        >>> rules = {"agent_openhands": 0.5, "swe_qa": {"min_score": 6.5}}
        >>> kept, report = filter_by_retention(ds, rules)  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    _check_input(ds)
    _check_options(
        retention=0.0 if retention is None else retention,
        by=by,
        groups=groups,
        default=default,
        source_column=source_column,
        push_to_hub=push_to_hub,
        push_by=push_by,
        save_to=save_to,
        save_format=save_format,
        split=split,
        card_metadata=card_metadata,
    )
    decision = _decide(
        ds,
        retention,
        by=by,
        groups=groups,
        default=default,
        score_column=score_column,
        source_column=source_column,
        token_column=token_column,
        drop_recommendation=drop_recommendation,
        recommendation_column=recommendation_column,
        sampling=sampling,
        temperature=temperature,
        seed=seed,
        budget_tokens=budget_tokens,
        budget_split=budget_split,
        id_column=id_column,
    )
    if push_by is not None:
        from mira_hf.publish.hub import layout_names

        # two sources → one split name, or a config named 'data' (or 'samples', beside the sampled rows)
        layout_names(decision.arrays.sources, push_by, samples=push_samples)
    report = _report(ds, decision, scorer=scorer, rubric=rubric, reliability=reliability)
    assert report.output_fingerprint is not None  # _report always sets it
    selection = _take(ds, decision.kept, report.output_fingerprint)
    publishing = push_to_hub is not None or save_to is not None
    samples = _samples(ds, decision) if push_samples and publishing else None
    _publish(  # after the local selection exists, so a failed push never loses it
        selection,
        report,
        save_to=save_to,
        push_to_hub=push_to_hub,
        push_by=push_by,
        config_name=config_name,
        split=split,
        max_shard_size=max_shard_size,
        card_metadata=card_metadata,
        samples=samples,
        save=dict(save_format=save_format, storage_options=storage_options),
        push=dict(private=private, token=token, revision=revision, create_pr=create_pr, report_html=report_html),
    )
    return selection, report


def _samples(ds: Dataset, decision: _Decision) -> tuple[Dataset, dict[str, list[dict[str, Any]]]]:
    """The rows the ``samples`` config carries and the example ids the card lists, from the scored ``ds``."""
    from mira_hf.selection.hub_sample import selection_sample

    return selection_sample(ds, decision.arrays, decision.kept, seed=decision.params.seed or 0)


def _publish(
    selection: Dataset,
    report: SelectionReport,
    *,
    save_to: str | Path | None,
    push_to_hub: str | None,
    samples: tuple[Dataset, dict[str, list[dict[str, Any]]]] | None = None,
    save: dict[str, Any],
    push: dict[str, Any],
    **layout: Any,
) -> None:
    """Save the selection to ``save_to`` and / or push it to ``push_to_hub``, with the same ``layout`` options.

    ``save`` and ``push`` are the options only saving or only pushing takes; ``report.push`` records the last.
    ``samples`` (rows, example ids per source) is written as the ``samples`` config where given.
    """
    if samples is not None:
        layout["samples"], layout["examples"] = samples
    if save_to is not None:
        from mira_hf.publish.hub import save_selection

        save_selection(selection, report, save_to, **layout, **save)
    if push_to_hub is not None:
        from mira_hf.publish.hub import push_selection

        push_selection(selection, report, push_to_hub, **layout, **push)


def _report(ds: Dataset, decision: _Decision, *, scorer: Any, rubric: Any, reliability: Any) -> SelectionReport:
    """The selection's report: its parameters and figures, who scored it, and the input and output fingerprints.

    The output fingerprint hashes the input's with the parameters, so the same selection of the same data has the
    same fingerprint (it is also the kept dataset's ``datasets`` fingerprint).
    """
    ident = scorer_identity(scorer)
    info = rubric_info(rubric, ident)
    fp_in = _dataset_fingerprint(ds)
    fp_out = hashlib.sha256(
        json.dumps([fp_in, decision.params.model_dump(mode="json")], sort_keys=True).encode()
    ).hexdigest()[:16]
    return SelectionReport(
        parameters=decision.params,
        input_rows=decision.arrays.n,
        input_fingerprint=fp_in,
        output_fingerprint=fp_out,
        sources=decision.sources,
        cuts=decision.cuts,
        scorer=ident,
        rubric=info,
        prompt_version=(ident or {}).get("prompt_version"),
        reliability=reliability_payload(reliability),
    )
