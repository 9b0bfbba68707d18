"""One HTML report for a mixture: a section per group (its scores, its mask, its selection), from report.py's pieces."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from mira_hf._util.atomic import atomic_path
from mira_hf.mixture.plan import Plan
from mira_hf.mixture.steps import group_rows
from mira_hf.reliability import Reliability
from mira_hf.report.html import escape

_MAIN = re.compile(r"<main>(.*)</main>", re.S)
_HEAD = re.compile(r"^(.*?<body>)", re.S)


def _prefix_anchors(html: str, group: str) -> str:
    """Anchors made unique per group (``#summary`` → ``#<group>-summary``)."""
    html = re.sub(r'id="([^"]+)"', lambda m: f'id="{group}-{m.group(1)}"', html)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{group}-{m.group(1)}"', html)


def _group_selection(selection: dict[str, Any] | None, group: str, sources: list[str]) -> dict[str, Any] | None:
    """The selection report restricted to a group's sources, with the group's own parameters (its sampling, τ,
    seed, rules and share of the budget) in place of the plan-wide ones."""
    if selection is None:
        return None
    keep = set(sources)
    out = dict(selection)
    for key in ("sources", "cuts"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k in keep}
    params = dict(out.get("parameters") or {})
    own = (params.pop("per_group", None) or {}).get(group)
    if own is not None:
        share = own.get("budget_tokens")
        params.update({k: own.get(k) for k in ("retention", "sampling", "temperature", "seed")})
        if share is not None:
            params["group_budget_tokens"] = share
        out["parameters"] = params
    return out


def mixture_report(plan: Plan, ds: Any, *, masks_dir: Path, selection: Path | None, path: Path) -> Path:
    """Write ``path``: one page with a section per group, each the single-group report of its rows.

    Example:
        >>> mixture_report(plan, ds, masks_dir=out / "masks", selection=None,
        ...                path=out / "report.html")  # doctest: +SKIP
    """
    from mira_hf.report import build_report

    sel = json.loads(selection.read_text()) if selection is not None and selection.is_file() else None
    head, bodies, nav = None, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, group in plan.groups.items():
            sub = ds.select(group_rows(ds, name))
            rel = Reliability.load(masks_dir / f"{name}.json")
            page = build_report(
                sub,
                reliability=rel,
                selection=_group_selection(sel, name, group.sources),
                rubric=plan.rubric_ref(name),
                source_column=plan.source_column,
                title=f"group {name}",
                path=Path(tmp) / f"{name}.html",
            ).read_text(encoding="utf-8")
            head = head or _HEAD.match(page).group(1)  # type: ignore[union-attr]
            body = _prefix_anchors(_MAIN.search(page).group(1), name)  # type: ignore[union-attr]
            bodies.append(f'<section id="group-{escape(name)}" class="group">{body}</section>')
            nav.append(
                f'<a href="#group-{escape(name)}">{escape(name)} ({len(sub):,} rows, {len(group.sources)} sources)</a>'
            )
    head = re.sub(r"<title>.*?</title>", "<title>MIRA mixture report</title>", head or "<html><body>")
    text = "\n".join(
        [
            head,
            "<main><header><h1>MIRA mixture report</h1></header>",
            f"<nav>{''.join(nav)}</nav>",
            *bodies,
            "</main></body></html>",
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp_path:
        tmp_path.write_text(text, encoding="utf-8")
    return path
