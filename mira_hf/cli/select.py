"""``mira-hf select``: keep the best rows of each source (`filter_by_retention`), or with
``--preview`` print what each listed value would keep (`preview`) and write nothing.

The retention comes as ``--retention`` (a fraction or JSON) or ``--retention-file`` (YAML/JSON: rules per source,
or ``retention:`` / ``groups:`` / ``default:`` keys); the helpers here read it and say what to write instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from mira_hf._util.logs import quiet_datasets
from mira_hf.cli._shared import SourceColumnOption, TableSplitOption, fail
from mira_hf.io import load_any

_HUB = "Hub"


def select(
    data: str = typer.Argument(..., help="Scored dataset (save_to_disk folder or data file)."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder for the kept rows (save_to_disk); not with --preview."
    ),
    mask: Optional[Path] = typer.Option(None, help="Reliability JSON from `mira-hf agree` (adds mira_quality)."),
    retention: Optional[str] = typer.Option(None, help="Fraction, or JSON per source/group."),
    retention_file: Optional[Path] = typer.Option(None, help="YAML/JSON retention spec."),
    by: str = typer.Option("source", help="source | group | global"),
    source_column: SourceColumnOption = "source",
    score_column: str = typer.Option("mira_quality", help="Score to rank by (added by --mask)."),
    token_column: Optional[str] = typer.Option(None, help="Token counts, for token-budget retention."),
    id_column: Optional[str] = typer.Option(
        None,
        help="Ties at a cut and Gumbel noise follow a hash of this column "
        "(default: id, when there is one; '' for row order).",
    ),
    default: Optional[str] = typer.Option(
        None, help="Rule for sources the spec does not name: a fraction or JSON, e.g. 0.3 or '{\"min_score\": 6}'."
    ),
    drop_recommendation: Optional[list[str]] = typer.Option(
        None, help="Never keep rows whose mira_recommendation is this (repeatable), e.g. drop."
    ),
    split: TableSplitOption = "train",
    sampling: str = typer.Option("cut", help="cut (keep the best) | gumbel (sample ∝ exp(score / temperature))."),
    temperature: str = typer.Option(
        "1.0", help="τ of --sampling gumbel (0 = the cut); with --preview a list, e.g. 0,0.5,1."
    ),
    seed: int = typer.Option(0, help="Seed of --sampling gumbel (same seed, same rows)."),
    budget_tokens: Optional[str] = typer.Option(
        None,
        help="One token budget for the whole dataset, split by the "
        "sources' token shares (needs --token-column); with "
        "--preview a list.",
    ),
    preview: bool = typer.Option(
        False,
        "--preview",
        help="Print kept rows and tokens per source for each value of "
        "the listed option (--retention 0.1,0.5 or --temperature "
        "0,1,2 or --budget-tokens …) and write nothing.",
    ),
    push_to_hub: Optional[str] = typer.Option(
        None,
        rich_help_panel=_HUB,
        help="Also push the selection to this Hub repo (org/name), with a small `samples` config the card lists.",
    ),
    push_by: Optional[str] = typer.Option(
        None, rich_help_panel=_HUB, help="'split' or 'config': one per source (default: one split)."
    ),
    private: bool = typer.Option(False, rich_help_panel=_HUB, help="Create the Hub repo private."),
    revision: Optional[str] = typer.Option(None, rich_help_panel=_HUB, help="Branch to push to (created if needed)."),
    create_pr: bool = typer.Option(False, rich_help_panel=_HUB, help="Push everything as one pull request."),
    token: Optional[str] = typer.Option(
        None,
        envvar="HF_TOKEN",
        show_default=False,
        show_envvar=True,
        rich_help_panel=_HUB,
        help="Hub write token (default: your `hf auth login`).",
    ),
) -> None:
    """Keep the best share of each source and write (or push) it with its dataset card.

    The spec file holds the rules per source (or per group), or 'retention:', 'groups:' and 'default:' keys.
    """
    from mira_hf.selection import filter_by_retention

    if preview and (push_to_hub or output is not None):
        fail("--preview writes nothing; drop --output/-o and --push-to-hub")
    if not preview and output is None:
        fail("give --output/-o FOLDER for the kept rows (or --preview to only print what would be kept)")
    temperatures = _number_list(temperature, "--temperature", "0.5")
    budgets = None if budget_tokens is None else _number_list(budget_tokens, "--budget-tokens", "25000000")
    ranking: dict[str, Any] = dict(
        by=by,
        source_column=source_column,
        score_column=score_column,
        token_column=token_column,
        id_column=id_column,
        seed=seed,
        drop_recommendation=drop_recommendation or None,
    )
    if preview:
        _select_preview(data, split, mask, retention, retention_file, default, sampling, temperatures, budgets, ranking)
        return
    if len(temperatures) > 1 or (budgets is not None and len(budgets) > 1):
        fail("a list of --temperature or --budget-tokens values is for --preview; give one value to select")
    spec, groups, rule = _selection_rule(retention, retention_file, budgets, default)
    ds, reliability = _ranked(data, split, mask, source_column, score_column, "to compute it from mira_scores, ")
    _say_unranked(ds, ranking, reliability)
    kept, report = filter_by_retention(
        ds,
        retention=spec,
        groups=groups,
        reliability=reliability,
        default=rule,
        sampling=sampling,  # type: ignore[arg-type]
        temperature=temperatures[0],
        budget_tokens=None if budgets is None else int(budgets[0]),
        push_to_hub=push_to_hub,
        push_by=push_by,  # type: ignore[arg-type]
        private=private or None,
        revision=revision,
        create_pr=create_pr,
        token=token,
        **ranking,
    )
    assert output is not None  # checked above
    kept.save_to_disk(str(output))
    report.save(output / "selection_report.json")
    typer.echo(str(report))
    typer.echo(f"kept {len(kept):,} of {len(ds):,} rows → {output}")


def _selection_rule(
    retention: Optional[str], retention_file: Optional[Path], budgets: Optional[list[float]], default: Optional[str]
) -> tuple[Any, Any, Any]:
    """The retention spec, its groups and the default rule of one selection (a token budget alone needs no spec)."""
    spec = (
        None
        if budgets is not None and retention is None and retention_file is None
        else _retention_spec(retention, retention_file)
    )
    groups = None
    rule: Any = default
    if isinstance(spec, dict) and "retention" in spec:
        groups = spec.get("groups")
        rule = rule if rule is not None else spec.get("default")
        spec = spec["retention"]
    if isinstance(rule, str):
        rule = _number_or_json(rule, "--default", "0.3")
    return spec, groups, rule


def _ranked(
    data: str, split: str, mask: Optional[Path], source_column: str, score_column: str, how: str
) -> tuple[Any, Any]:
    """The dataset to select from and its mask: with ``--mask``, ``mira_quality`` added by
    `aggregate`; without, the ``--score-column`` it already has."""
    quiet_datasets()  # datasets' bars and warnings only with -v
    ds = load_any(data, split)
    if mask is not None:
        from mira_hf.reliability import Reliability, aggregate

        reliability = Reliability.load(mask)
        return aggregate(ds, mask=reliability, source_column=source_column), reliability
    if score_column not in ds.column_names:
        from mira_hf._util.problems import closest

        near = closest(score_column, ds.column_names)
        hint = f" (did you mean {near!r}?)" if near else ""
        fail(
            f"{data} has no {score_column!r} column{hint}; pass --mask reliability.json (from `mira-hf agree`) {how}"
            "or --score-column with the column to rank by"
        )
    return ds, None


def _say_unranked(ds: Any, ranking: dict[str, Any], reliability: Any) -> None:
    """A ``warning:`` line on stderr when some sources have no score at all (their rows can never be kept), with
    why (most often a mask with no reliable dimension for them)."""
    from mira_hf.selection.checks import unranked_note

    source = ranking["source_column"] if ranking["by"] != "global" else None
    fix = "`mira-hf agree --min-support {n}` (or less)"
    note = unranked_note(ds, ranking["score_column"], source, reliability, fix=fix)
    if note is not None:
        typer.echo(f"warning: {note}", err=True)


def _select_preview(
    data: str,
    split: str,
    mask: Optional[Path],
    retention: Optional[str],
    retention_file: Optional[Path],
    default: Optional[str],
    sampling: str,
    temperatures: list[float],
    budgets: Optional[list[float]],
    ranking: dict[str, Any],
) -> None:
    """``select --preview``: the table of kept rows and tokens per source for each listed value; writes nothing."""
    from mira_hf.selection import preview

    retentions, groups, rule = _preview_retentions(retention, retention_file, budgets, default)
    lists = {"retention": retentions, "budget": budgets, "temperature": temperatures if sampling == "gumbel" else None}
    varied = [k for k, v in lists.items() if v is not None and len(v) > 1]
    if len(varied) > 1:
        fail(f"--preview varies one option; {' and '.join(varied)} both have several values")
    if len(temperatures) > 1 and sampling != "gumbel":
        varied = ["temperature"]
        sampling = "gumbel"
    key = varied[0] if varied else ("temperature" if sampling == "gumbel" else "budget" if budgets else "retention")
    options: dict[str, Any] = dict(ranking, groups=groups, default=rule)
    if key != "retention" and retentions is not None:
        options["retention"] = retentions[0]
    if key != "budget" and budgets is not None:
        options["budget_tokens"] = int(budgets[0])
    if key != "temperature":
        options.update(sampling=sampling, temperature=temperatures[0])
    ds, reliability = _ranked(data, split, mask, ranking["source_column"], ranking["score_column"], "")
    _say_unranked(ds, ranking, reliability)
    values: dict[str, Any] = {
        "retention": retentions,
        "budget": [int(b) for b in budgets or []],
        "temperature": temperatures,
    }
    table = preview(ds, **{f"{key}s": values[key]}, **options)
    typer.echo(str(table))


def _preview_retentions(
    retention: Optional[str], retention_file: Optional[Path], budgets: Optional[list[float]], default: Optional[str]
) -> tuple[Optional[list[Any]], Any, Any]:
    """The retentions ``--preview`` compares (``0.1,0.25`` or one rule), their groups and the default rule."""
    retentions: list[Any] | None = None
    groups = None
    rule: Any = default
    if retention_file is not None or (retention is not None and budgets is None):
        spec = _retention_spec(retention, retention_file) if retention_file is not None else None
        if spec is None:
            try:
                retentions = json.loads(f"[{retention}]")  # 0.1,0.25 or one JSON rule / mapping
            except json.JSONDecodeError:
                fail(f"--retention {retention!r} is neither numbers nor JSON; e.g. --retention 0.1,0.25,0.5")
        else:
            if isinstance(spec, dict) and "retention" in spec:
                groups, rule, spec = spec.get("groups"), rule or spec.get("default"), spec["retention"]
            retentions = [spec]
    elif budgets is None:
        fail("--preview needs --retention (e.g. 0.1,0.25,0.5), --retention-file or --budget-tokens")
    if isinstance(rule, str):
        rule = _number_or_json(rule, "--default", "0.3")
    return retentions, groups, rule


def _retention_spec(retention: Optional[str], retention_file: Optional[Path]) -> Any:
    """The rules of ``--retention-file`` (YAML/JSON) or of ``--retention`` (a number or JSON)."""
    if retention_file is not None:
        import yaml

        if not retention_file.is_file():
            fail(
                f"--retention-file {retention_file} does not exist; write a YAML/JSON file such as "
                "'agent_openhands: 0.5' (one line per source)"
            )
        try:
            return yaml.safe_load(retention_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            fail(
                f"--retention-file {retention_file} is not valid YAML/JSON ({' '.join(str(e).split())}); "
                "write e.g. 'agent_openhands: 0.5' and 'swe_qa: {min_score: 6}', one line per source"
            )
    if retention is None:
        fail(
            'give --retention (e.g. 0.5, or \'{"agent_openhands": 0.5, "swe_qa": {"min_score": 6}}\') '
            "or --retention-file spec.yaml"
        )
    return _number_or_json(retention, "--retention", "0.5")


def _number_or_json(text: str, flag: str, example: str) -> Any:
    """A flag's value read as JSON (a number is JSON); otherwise one error line with an example."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fail(f"{flag} {text!r} is neither a number nor JSON; e.g. {flag} {example}")


def _number_list(text: str, flag: str, example: str) -> list[float]:
    """``0.5`` or ``0,0.5,1`` → a list of numbers (one ``error:`` line otherwise)."""
    try:
        values = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        values = None
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        fail(f"{flag} {text!r} is not a number or a comma-separated list of numbers; e.g. {flag} {example}")
    return values
