"""``MixtureScorer``: one ``datasets.map`` callable that sends each row to its group's ``Scorer`` by its source.

Groups served by endpoints run at the same time (one thread each); groups on the in-process engine run one
after the other, and an engine is freed only when the next group needs different engine settings. Rows come
back in input order with two more columns, ``mira_group`` and ``mira_rubric``. ``mira_hf.score_dataset(ds,
mixture)`` streams every group instead of batch by batch (`mira_hf.mixture.streaming`; ``mira-hf run``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mira_hf.errors import ColumnNotFoundError, PlanError
from mira_hf.mixture.plan import Plan, check_sources
from mira_hf.records.batches import as_list, batch_records, is_numpy_batch, ray_table, record_column
from mira_hf.schema.columns import mixture_schema, typed_rows
from mira_hf.scoring.scorer import Scorer


def group_scorer(plan: Plan, group: str, *, cache_dir: str | os.PathLike | None = None, engine: Any = None) -> Scorer:
    """The ``Scorer`` a plan's group describes (its key read from the variable the plan names).

    ``engine`` replaces the plan's engine with an object of your own (e.g. a test double).
    """
    g = plan.groups[group]
    s = g.scorer
    api_key = None
    if s.api_key_env and engine is None:
        api_key = os.environ.get(s.api_key_env)
        if api_key is None:
            raise PlanError(
                f"groups.{group}.scorer.api_key_env: the environment variable {s.api_key_env} is not "
                "set; export it with the endpoints' API key"
            )
    return Scorer(
        s.model,
        engine=engine if engine is not None else s.engine,
        rubric=plan.rubric_ref(group),
        base_url=s.base_urls or None,
        api_key=api_key,
        text_column=plan.text_column,
        cache_dir=str(cache_dir) if cache_dir else None,
        **s.settings,
    )


class _Locked:
    """A progress object updated from the group threads one at a time."""

    def __init__(self, progress: Any):
        self._progress = progress
        self._lock = threading.Lock()

    def update(self, **counts: Any) -> None:
        with self._lock:
            self._progress.update(**counts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._progress, name)


class MixtureScorer:
    """Score a mixture: each row by its group's scorer, chosen by the row's source; for ``Dataset.map(batched=True)``.

    Args:
        plan: a [`Plan`][mira_hf.mixture.plan.Plan] (or a path to a plan file).
        cache_dir: a folder for the per-row resume store, shared by every group (a row's key holds its group
            scorer's settings, so groups never read each other's rows, and a renamed group keeps its rows).
        engines: ``{group: engine object}`` to replace a group's engine (e.g. a test double).

    After ``mira_hf.score_dataset(ds, mixture)`` (every group streaming), ``stream_stats`` holds each group's
    [`StreamStats`][mira_hf.scoring.streaming.StreamStats].

    Example:
        >>> import mira_hf                                                         # doctest: +SKIP
        >>> ds = ds.map(mira_hf.MixtureScorer("plan.yaml"), batched=True)          # doctest: +SKIP
        >>> ds = mira_hf.score_dataset(ds, mira_hf.MixtureScorer("plan.yaml"))    # doctest: +SKIP
    """

    def __init__(
        self,
        plan: Plan | str | os.PathLike[str],
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        engines: Mapping[str, Any] | None = None,
    ):
        if not isinstance(plan, Plan):
            from mira_hf.mixture.plan import load_plan

            plan = load_plan(plan)
        self.plan = plan
        self.cache_dir = str(cache_dir) if cache_dir is not None else None
        self.group_of = plan.group_of()
        self.scorers: dict[str, Scorer] = {
            name: group_scorer(plan, name, cache_dir=self.cache_dir, engine=(engines or {}).get(name))
            for name in plan.groups
        }
        self.n = max(s.config.n for s in self.scorers.values())

    def __getstate__(self) -> dict[str, Any]:
        # What decides the output: the plan and each group's scorer identity (never a key or an engine).
        return {
            "plan": self.plan.model_dump(mode="json"),
            "cache_dir": self.cache_dir,
            "identities": {k: s.identity() for k, s in self.scorers.items()},
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        MixtureScorer.__init__(self, Plan.model_validate(state["plan"]), cache_dir=state["cache_dir"])

    def __repr__(self) -> str:
        return f"MixtureScorer(groups={list(self.scorers)})"

    @property
    def progress(self) -> Any:
        """One progress line for every group (rows, tokens/s, errors): set it to a ``ScoreProgress``."""
        return getattr(self, "_progress", None)

    @progress.setter
    def progress(self, value: Any) -> None:
        self._progress = value
        shared = _Locked(value)
        for scorer in self.scorers.values():
            scorer.progress = shared

    @property
    def features(self):
        """The ``datasets.Features`` of the columns this scorer adds."""
        import pyarrow as pa
        from datasets import Features

        return Features.from_arrow_schema(pa.schema(list(mixture_schema(self.n).items())))

    def _score_group(self, name: str, records: list[Any]) -> list[dict[str, Any]]:
        rows = self.scorers[name].score_records(records)
        for row in rows:
            row["mira_group"] = name
            row["mira_rubric"] = self.scorers[name].rubric.name
        return rows

    def score_records(self, records: list[Any], sources: list[Any]) -> list[dict[str, Any]]:
        """Score ``records`` (one source each), every group with its scorer; one dict per record, in order."""
        check_sources(sources, self.group_of, self.plan.source_column)
        positions: dict[str, list[int]] = {}
        for i, s in enumerate(sources):
            positions.setdefault(self.group_of[s], []).append(i)
        out: list[dict[str, Any] | None] = [None] * len(records)

        def place(name: str, rows: list[dict[str, Any]]) -> None:
            for i, row in zip(positions[name], rows):
                out[i] = row

        served = [g for g in positions if self.scorers[g].config.engine == "openai"]
        local = [g for g in self.plan.groups if g in positions and g not in served]
        with ThreadPoolExecutor(max_workers=max(len(served), 1), thread_name_prefix="mira-group") as pool:
            futures = {g: pool.submit(self._score_group, g, [records[i] for i in positions[g]]) for g in served}
            for g in local:  # one in-process model at a time, while the endpoint groups run
                self._switch_engine(g)
                place(g, self._score_group(g, [records[i] for i in positions[g]]))
            for g, fut in futures.items():
                place(g, fut.result())
        return out  # type: ignore[return-value]

    def stream_dataset(self, ds: Any, **kwargs: Any) -> Any:
        """What [`mira_hf.score_dataset`][mira_hf.scoring.streaming.score_dataset] does with a mixture: every group
        streams (see `mira_hf.mixture.streaming.score_mixture`)."""
        from mira_hf.mixture.streaming import score_mixture

        return score_mixture(ds, self, **kwargs)

    def _switch_engine(self, group: str) -> None:
        """Free the in-process engines whose settings differ from ``group``'s (one model in memory at a time)."""
        from mira_hf.engines import vllm as vllm_engines

        wanted = self.scorers[group].engine_settings()
        if wanted is None:
            return
        for engine in vllm_engines.engines():
            if engine.settings != wanted and engine.started:
                engine.close()

    def __call__(self, batch: Mapping[str, Any]) -> Any:
        """Score one batch: the ``mira_*`` columns (typed), ``mira_group`` and ``mira_rubric``."""
        columns = list(batch.keys())
        source = self.plan.source_column
        if source not in columns:
            raise ColumnNotFoundError(
                f"the plan routes rows by column {source!r}, which is not in this dataset; its "
                f"columns are {columns} (set source_column in the plan)"
            )
        column = record_column(columns, self.plan.text_column)
        rows = self.score_records(batch_records(batch, column), as_list(batch[source]))
        out = typed_rows(rows, mixture_schema(self.n))
        if is_numpy_batch(batch):
            return ray_table(batch, out)
        return out
