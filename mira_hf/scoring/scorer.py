"""``Scorer``: the ``datasets.map`` callable that grades every record of a batch with the MIRA scorer.

Every input row yields exactly one output row, in order. A bad row gets a ``mira_status`` and a
``mira_error``; only configuration mistakes (unknown column, bad rubric, no engine) raise.

Example:
    >>> import mira_hf                                                       # doctest: +SKIP
    >>> ds = ds.map(mira_hf.score, batched=True)                             # doctest: +SKIP
    >>> scorer = mira_hf.Scorer(model="whw06/MIRA-Agent-Group4", text_column="messages")   # doctest: +SKIP
    >>> ds = ds.map(scorer, batched=True, batch_size=256)                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from mira_hf._util.redaction import redact
from mira_hf._version import __version__
from mira_hf.config import ScorerConfig, build_config, env_settings
from mira_hf.engines.base import Completion, Engine, Sampling
from mira_hf.errors import ColumnNotFoundError, ConfigurationError, EngineUnavailableError, InvalidRecordError
from mira_hf.prompting.prompt import PROMPT_VERSION, Budget, build_prompts
from mira_hf.prompting.template import PromptTemplate, load_prompt
from mira_hf.records.batches import batch_records, is_numpy_batch, ray_table, record_column
from mira_hf.rubric import Rubric, load_rubric, parse_rubric
from mira_hf.schema.columns import typed_batch
from mira_hf.schema.scorecard import ScoreCard

if TYPE_CHECKING:
    from mira_hf._util.progress import ScoreProgress

logger = logging.getLogger(__name__)

_UNSET = object()


def _failure(status: str, error: str, n_slots: int, truncated: bool = False) -> dict[str, Any]:
    return {
        "mira_scores": [None] * n_slots,
        "mira_rationales": [None] * n_slots,
        "mira_status": status,
        "mira_error": error,
        "mira_truncated": truncated,
        "mira_prompt_tokens": 0,
        "mira_completion_tokens": 0,
        "mira_raw": None,
    }


def _card_error(card: ScoreCard, rubric: Rubric) -> str | None:
    if card.status == "ok":
        return None
    if card.status == "parse_error":
        return f"no [A1]..[A{len(rubric)}] score line could be read from the model output"
    missing = [slot for slot, s in zip(rubric.slots, card.scores) if s is None]
    if card.overall is None:
        missing.append("overall")
    if card.recommendation is None:
        missing.append("training_recommendation")
    return "missing or invalid in the model output: " + ", ".join(missing)


def _row_from_card(card: ScoreCard, rubric: Rubric) -> dict[str, Any]:
    return {
        "mira_scores": card.scores,
        "mira_rationales": card.rationales,
        "mira_overall": card.overall,
        "mira_recommendation": card.recommendation,
        "mira_domain_tag": card.domain_tag,
        "mira_brief": card.brief,
        "mira_status": card.status,
        "mira_error": _card_error(card, rubric),
    }


def combine_samples(cards: Sequence[ScoreCard], rubric: Rubric) -> tuple[ScoreCard, list[float | None]]:
    """Self-consistency: per-slot mean of the parsed samples, and the per-slot standard deviation."""
    n_slots = len(rubric)
    matrix = np.array([[np.nan if s is None else s for s in c.scores] for c in cards], dtype=np.float64)
    counts = np.sum(~np.isnan(matrix), axis=0)
    with np.errstate(all="ignore"):
        mean = np.where(counts > 0, np.nansum(matrix, axis=0) / np.maximum(counts, 1), np.nan)
        std = np.where(counts > 0, np.sqrt(np.nansum((matrix - mean) ** 2, axis=0) / np.maximum(counts, 1)), np.nan)
    overalls = [c.overall for c in cards if c.overall is not None]
    recs = Counter(c.recommendation for c in cards if c.recommendation is not None)
    first = next((c for c in cards if c.status != "parse_error"), cards[0])
    scores = [None if math.isnan(v) else float(v) for v in mean]
    parsed = [c for c in cards if c.status != "parse_error"]
    status: Literal["ok", "partial", "parse_error"] = (
        "parse_error"
        if not parsed
        else ("ok" if all(s is not None for s in scores) and overalls and recs else "partial")
    )
    card = ScoreCard(
        scores=scores,
        rationales=[
            next((c.rationales[i] for c in cards if c.rationales[i] is not None), None) for i in range(n_slots)
        ],
        overall=float(np.mean(overalls)) if overalls else None,
        recommendation=recs.most_common(1)[0][0] if recs else None,
        domain_tag=first.domain_tag,
        brief=first.brief,
        status=status,
    )
    return card, [None if math.isnan(v) else float(v) for v in std]


@dataclass
class Pending:
    """One prompt still to send: its row's position in the batch, messages, shortening and resume key."""

    index: int
    messages: list[dict[str, Any]]
    truncated: bool
    key: str | None
    row: dict[str, Any] | None = None
    token_ids: list[int] | None = None  # the chat-templated prompt, for an engine that takes token ids


@dataclass
class Plan:
    """A batch before generation: the rows already known (bad or stored), the record shapes, the prompts to send."""

    rows: list[dict[str, Any] | None]
    formats: list[str | None]
    todo: list[Pending] = field(default_factory=list)
    stored: int = 0
    #: rows whose prompt repeats an earlier one of the batch: (position, the request sent for both)
    copies: list[tuple[int, Pending]] = field(default_factory=list)

    def fill_copies(self) -> None:
        """Give each repeated prompt's row the answer of the request sent for its first occurrence."""
        for index, leader in self.copies:
            self.rows[index] = dict(leader.row) if leader.row is not None else None


@dataclass
class _Runtime:
    """What a Scorer builds on first use in a process (never pickled)."""

    engine: Engine
    budget: Budget
    sampling: Sampling
    store: Any = None
    progress: Any = None


def _check_endpoints(config: ScorerConfig) -> None:
    """Before any engine: servers only with ``engine="openai"``, which needs at least one ``http(s)://`` URL."""
    if config.engine == "openai" and not config.base_url:
        raise ConfigurationError(
            "engine='openai' needs base_url= (one URL or a list), e.g. "
            "'http://localhost:8000/v1', or set MIRA_BASE_URL."
        )
    if config.engine == "vllm" and config.base_url:
        raise ConfigurationError(
            f"base_url= {', '.join(redact(u) for u in config.base_url)} is for engine='openai' (servers); pass "
            "engine='openai' to score through them, or leave base_url= out (and MIRA_BASE_URL unset) to score "
            "in this process"
        )
    bad = [u for u in config.base_url if not u.startswith(("http://", "https://"))]
    if bad:
        raise ConfigurationError(
            f"base_url= {redact(bad[0])} is not a URL; write it whole, e.g. 'http://{redact(bad[0])}/v1'"
        )


class Scorer:
    """Grade agent trajectories with a MIRA scorer; a callable for ``Dataset.map(..., batched=True)``.

    A setting not given keeps the default shown. The ready ``mira_hf.score`` and ``mira-hf score`` read the same
    settings from ``MIRA_*`` variables (``MIRA_TEMPERATURE`` for ``temperature``).

    Args:
        model: the scorer (Hub id or local path).
        engine: ``"vllm"`` (in-process, shared per process), ``"openai"`` (a server pool at ``base_url``),
            or any object with ``generate(conversations, sampling)``.
        rubric: ``"agent-group4"``, a path to a ``*_dim_anchors.jsonl`` file or a
            [`Rubric`][mira_hf.rubric.Rubric].
        base_url: with ``engine="openai"``, the server's URL or a list of them (a pool).
        api_key: the servers' key; ``MIRA_API_KEY`` or ``OPENAI_API_KEY`` when not given. Never logged or stored.
        tokenizer: counts prompt tokens for the budget (a tokenizer or a Hub id); by default the engine's own
            tokenizer, else the model's.
        prompt: a Jinja2 prompt template file (``system`` and ``user`` blocks); the built-in one by default.
        text_column: the record column; detected from ``messages``, ``conversations``, ``events``,
            ``trajectory``, ``history``, ``text`` when not given (a ``.traj`` loaded with ``datasets``, or a
            trajectory beside a ``system`` / ``instruction`` / ``problem_statement`` column, is read row by row).
        record_format: read every record as this shape (``mira_hf.records.FORMATS``) instead of detecting it;
            the shape used is in the ``mira_format`` column.
        temperature: sampling temperature (the card's).
        top_p: nucleus sampling (the card's).
        max_tokens: the longest answer, in tokens (the card's).
        seed: the sampling seed, so a record's score is reproducible.
        n: samples per record; ``n`` > 1 averages them (and adds ``mira_scores_std``).
        structured: constrain the output to the template with the parser's regex (structured decoding).
        cache_dir: a per-row resume store: finished rows are never scored twice.
        **settings: the other settings: ``revision``, ``source_column``, ``id_column``, ``max_rationale_chars``,
            ``tensor_parallel_size``, ``dtype``, ``max_model_len``, ``max_num_batched_tokens``,
            ``gpu_memory_utilization``, ``max_in_flight``, ``engine_kwargs``, ``trust_remote_code``, ``progress``.

    Example:
        >>> scorer = Scorer(tensor_parallel_size=8)  # the card's scorer on 8 GPUs  # doctest: +SKIP
        >>> ds = ds.map(scorer, batched=True, batch_size=512)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        engine: str | Engine = "vllm",
        rubric: str | os.PathLike | Rubric = "agent-group4",
        base_url: str | Sequence[str] | None = None,
        api_key: str | None = None,
        tokenizer: Any = None,
        prompt: str | os.PathLike | PromptTemplate | None = None,
        **settings: Any,
    ):
        self._custom_engine: Engine | None = None
        if not isinstance(engine, str):
            if not callable(getattr(engine, "generate", None)):
                raise ConfigurationError(
                    f"engine must be 'vllm', 'openai' or an object with a generate(conversations, sampling) "
                    f"method; got {type(engine).__name__}"
                )
            self._custom_engine = engine
            engine = "custom"
        self.rubric = load_rubric(rubric if isinstance(rubric, Rubric) else str(rubric))
        if prompt is not None:
            settings["prompt"] = prompt.name if isinstance(prompt, PromptTemplate) else str(prompt)
        self.prompt = load_prompt(prompt if isinstance(prompt, PromptTemplate) else settings.get("prompt"))
        self.prompt.system(self.rubric)  # a template that cannot render fails here, not in the first batch
        kwargs = dict(
            settings,
            engine=engine,
            base_url=base_url,
            rubric=str(rubric) if not isinstance(rubric, Rubric) else rubric.name,
        )
        if model is not None:
            kwargs["model"] = model
        self.config: ScorerConfig = build_config(**kwargs)
        _check_endpoints(self.config)
        self._api_key = api_key
        self._tokenizer = tokenizer
        self._runtime: _Runtime | None = None
        self._progress: ScoreProgress | None = None
        self._column: Any = _UNSET

    # ------------------------------------------------------------ fingerprint
    def _engine_identity(self) -> Any:
        if self._custom_engine is None:
            return None
        ident = getattr(self._custom_engine, "identity", None)
        if callable(ident):
            return ident()
        return f"{type(self._custom_engine).__module__}.{type(self._custom_engine).__qualname__}"

    def identity(self) -> dict[str, Any]:
        """Everything that decides the output (model, rubric hash, prompt version, sampling, version)."""
        from mira_hf.records import RENDER_VERSION

        return {
            **self.config.fingerprint_fields(),
            "rubric_name": self.rubric.name,
            "rubric_hash": self.rubric.content_hash,
            "prompt_version": PROMPT_VERSION,
            "prompt_hash": self.prompt.content_hash,
            "render_version": RENDER_VERSION,
            "mira_hf_version": __version__,
            "engine_identity": self._engine_identity(),
        }

    @property
    def fingerprint(self) -> str:
        """A short stable hash of [`identity`][mira_hf.scoring.scorer.Scorer.identity], used for resume keys."""
        blob = json.dumps(self.identity(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def __getstate__(self) -> dict[str, Any]:
        # Carries the configuration, never the engine, the store or the API key: the datasets fingerprint
        # hashes exactly what decides the output.
        return {
            "config": self.config,
            "rubric_name": self.rubric.name,
            "rubric_jsonl": self.rubric.to_jsonl(),
            "prompt_source": self.prompt.source,
            "prompt_name": self.prompt.name,
            "identity": self.identity(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self.rubric = parse_rubric(state["rubric_jsonl"], name=state["rubric_name"])
        self.prompt = PromptTemplate(source=state["prompt_source"], name=state["prompt_name"])
        self._custom_engine = None
        self._api_key = None
        self._tokenizer = None
        self._runtime = None
        self._progress = None
        self._column = _UNSET
        if self.config.engine == "custom":
            self._lost_engine = state["identity"]["engine_identity"]

    def __repr__(self) -> str:
        c = self.config
        return f"Scorer(model={c.model!r}, engine={c.engine!r}, rubric={self.rubric.name!r}, n={c.n})"

    # ---------------------------------------------------------------- runtime
    @property
    def sampling(self) -> Sampling:
        c = self.config
        regex = None
        if c.structured:
            from mira_hf.answer.regex import template_regex

            bound = c.max_rationale_chars
            regex = template_regex(self.rubric, max_rationale_chars=bound, max_tag_chars=bound, max_brief_chars=bound)
        return Sampling(
            temperature=c.temperature, top_p=c.top_p, max_tokens=c.max_tokens, seed=c.seed, n=c.n, regex=regex
        )

    def _make_engine(self) -> Engine:
        c = self.config
        if c.engine == "custom":
            if self._custom_engine is None:
                raise ConfigurationError(
                    "this Scorer was copied to another process without its custom engine object "
                    "(engines are never pickled); use engine='vllm' or 'openai' with num_proc > 1"
                )
            return self._custom_engine
        if c.engine == "openai":
            from mira_hf.engines.openai import OpenAIEngine

            return OpenAIEngine(
                model=c.model,
                base_url=list(c.base_url),
                api_key=self._api_key,
                max_in_flight=c.max_in_flight,
                **dict(c.engine_kwargs),
            )
        from mira_hf.engines.vllm import get_engine

        _refuse_forked_worker()
        return get_engine(self.engine_settings())

    def engine_settings(self) -> Any:
        """The in-process engine's `VLLMSettings` (``None`` for other engines)."""
        if self.config.engine != "vllm":
            return None
        from mira_hf.config import remote_code_trusted
        from mira_hf.engines.vllm import VLLMSettings

        c = self.config
        return VLLMSettings(
            model=c.model,
            revision=c.revision,
            trust_remote_code=remote_code_trusted(c),
            dtype=c.dtype,
            tensor_parallel_size=c.tensor_parallel_size,
            max_model_len=c.max_model_len,
            max_num_batched_tokens=c.max_num_batched_tokens,
            gpu_memory_utilization=c.gpu_memory_utilization,
            extra=c.engine_kwargs,
        )

    def _budget_tokenizer(self, engine: Engine) -> Any:
        if self._tokenizer is not None:
            from mira_hf.prompting.tokens import as_tokenizer

            return as_tokenizer(self._tokenizer)
        tok = getattr(engine, "tokenizer", None)
        if tok is None and self.config.engine == "openai":
            from mira_hf._util.offline import load_tokenizer  # the local cache first; the Hub only when it answers

            return load_tokenizer(self.config.model, revision=self.config.revision)
        return tok

    def budget_for(self, tokenizer: Any, *, max_model_len: int | None = None, token_ids: bool = False) -> Budget:
        """The budget this scorer's prompts are cut to: its rubric and template, the context (at most the
        engine's ``max_model_len``) less the answer's ``max_tokens``, counted with ``tokenizer`` (``None``: bytes).
        """
        context = min(max_model_len or self.config.max_model_len, self.config.max_model_len)
        return Budget(
            self.rubric,
            max_model_len=context,
            max_tokens=self.config.max_tokens,
            tokenizer=tokenizer,
            prompt=self.prompt,
            token_ids=token_ids,
        )

    def _ensure_runtime(self) -> _Runtime:
        if self._runtime is None:
            engine = self._make_engine()
            max_model_len = getattr(engine, "max_model_len", None) or self.config.max_model_len
            # The engine's own tokenizer: the prompts go to it as token ids (never tokenized twice).
            ids = bool(getattr(engine, "accepts_token_ids", False)) and self._tokenizer is None
            budget = self.budget_for(self._budget_tokenizer(engine), max_model_len=max_model_len, token_ids=ids)
            store = None
            if self.config.cache_dir:
                from mira_hf.scoring.store import RowStore

                store = RowStore(self.config.cache_dir)
            self._runtime = _Runtime(
                engine=engine, budget=budget, sampling=self.sampling, store=store, progress=self.progress
            )
        return self._runtime

    @property
    def progress(self):
        """Running totals of this scorer in this process (rows, tokens/s, errors); logged every 30 s.

        ``datasets.map`` draws the row bar; the CLI swaps in a bar that also shows tokens/s and errors.
        """
        if getattr(self, "_progress", None) is None:
            from mira_hf._util.progress import ScoreProgress

            self._progress = ScoreProgress(total=None, enabled=False, log_every=30.0 if self.config.progress else 0)
        return self._progress

    @progress.setter
    def progress(self, value) -> None:
        self._progress = value
        if self._runtime is not None:
            self._runtime.progress = value

    @property
    def engine(self) -> Engine:
        """The engine this scorer uses (created on first access)."""
        return self._ensure_runtime().engine

    def estimate(self, ds: Any, *, sample: int = 256, records_per_s: float | None = None, gpus: int = 1):
        """Tokens, shortened rows and GPU-hours of scoring ``ds``, from ``sample`` rows; starts no engine.

        See [`mira_hf.scoring.estimate.estimate`][mira_hf.scoring.estimate.estimate].

        Example:
            >>> Scorer().estimate(ds, records_per_s=3.0, gpus=8).gpu_hours   # doctest: +SKIP
        """
        from mira_hf.scoring.estimate import estimate

        return estimate(ds, self, sample=sample, records_per_s=records_per_s, gpus=gpus)

    # ----------------------------------------------------------------- columns
    def record_column(self, columns: Sequence[str]) -> str | None:
        """The record column for a batch with ``columns``; ``None`` when each whole row is the record.

        A ``.traj`` file loaded with ``datasets`` has one column per top-level key (``history``, ``trajectory``,
        ``info``, …): those rows are read whole, so the issue text and the outcome are not lost.
        """
        return record_column(columns, self.config.text_column)

    def _check_columns(self, columns: Sequence[str]) -> str | None:
        if self._column is _UNSET or (self._column is not None and self._column not in columns):
            for name in (self.config.source_column, self.config.id_column):
                if name is not None and name not in columns:
                    raise ColumnNotFoundError(
                        f"column {name!r} is not in this dataset; its columns are {list(columns)}."
                    )
            self._column = self.record_column(columns)
        return self._column

    @property
    def features(self):
        """The ``datasets.Features`` of the columns this scorer adds."""
        from mira_hf.schema.columns import score_features

        return score_features(self.config.n)

    # ---------------------------------------------------------------- scoring
    def row_key(self, user_content: str, fingerprint: str | None = None) -> str:
        """Resume key of one prompt: the record as the model sees it, under this configuration (``fingerprint``:
        this scorer's, when already computed for a whole batch)."""
        h = hashlib.blake2b(digest_size=20)
        h.update((fingerprint or self.fingerprint).encode())
        h.update(user_content.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def plan_records(self, records: Sequence[Any]) -> Plan:
        """Build and budget the prompts of ``records`` and read the finished ones from the store.

        The rows already known (bad records, stored rows) are filled in; ``todo`` lists the prompts still to send,
        each once: a prompt repeated in the batch (a duplicated record) is sent once and its answer copied
        (``Plan.copies``), so duplicates cost nothing and get the same row wherever they stand.
        """
        rt = self._ensure_runtime()
        n_slots = len(self.rubric)
        plan = Plan(rows=[None] * len(records), formats=[None] * len(records))
        todo: list[Pending] = []
        leaders: dict[str, Pending] = {}
        fingerprint = self.fingerprint
        for i, prompt in enumerate(build_prompts(list(records), self.rubric, rt.budget, self.config.record_format)):
            if isinstance(prompt, Exception):
                reason = (
                    str(prompt) if isinstance(prompt, InvalidRecordError) else "record is nested too deeply to read"
                )
                plan.rows[i] = _failure("invalid_input", reason, n_slots)
                continue
            plan.formats[i] = prompt.format
            key = self.row_key(prompt.messages[1]["content"], fingerprint)
            if key in leaders:
                plan.copies.append((i, leaders[key]))
                continue
            leaders[key] = item = Pending(i, prompt.messages, prompt.truncated, key, token_ids=prompt.token_ids)
            todo.append(item)
        if rt.store is not None and todo:
            done = rt.store.get_many([p.key for p in todo])
            remaining = []
            for item in todo:
                cached = done.get(item.key)
                if cached is not None:
                    plan.rows[item.index] = item.row = cached
                else:
                    remaining.append(item)
            plan.stored, todo = len(todo) - len(remaining), remaining
        unmeasured = [p for p in todo if p.token_ids is None] if rt.budget.token_ids else []
        if unmeasured:  # only the prompts that will be sent: a row read from the store is never tokenized
            for item, ids in zip(unmeasured, rt.budget.prompt_token_ids([p.messages for p in unmeasured]) or []):
                item.token_ids = ids
        plan.todo = todo
        return plan

    def complete(self, pending: Sequence[Pending], completions: Sequence[Completion]) -> dict[str, dict[str, Any]]:
        """The rows of finished requests (key → row), written to the store; ``engine_error`` rows are not kept."""
        rt = self._ensure_runtime()
        fresh: dict[str, dict[str, Any]] = {}
        for item, completion in zip(pending, completions):
            item.row = self._row(completion, item.truncated)
            if item.key is not None and item.row["mira_status"] != "engine_error":
                fresh[item.key] = item.row
        if fresh and rt.store is not None:
            rt.store.put_many(fresh)
        return fresh

    def score_records(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        """Score a list of records; one dict of ``mira_*`` values per record, in order."""
        rt = self._ensure_runtime()
        plan = self.plan_records(records)
        if plan.todo:
            self.complete(plan.todo, self._generate(rt, plan.todo))
            for item in plan.todo:
                plan.rows[item.index] = item.row
        plan.fill_copies()
        rows = cast("list[dict[str, Any]]", plan.rows)  # every row is known now
        for row, fmt in zip(rows, plan.formats):
            row["mira_format"] = fmt
        if rt.progress is not None:
            rt.progress.update(
                rows=len(rows),
                prompt_tokens=sum(r["mira_prompt_tokens"] for r in rows),
                completion_tokens=sum(r["mira_completion_tokens"] for r in rows),
                statuses=[r["mira_status"] for r in rows],
                stored=plan.stored,
            )
        return rows

    def _generate(self, rt: _Runtime, pending: Sequence[Pending]) -> list[Completion]:
        conversations = [p.messages for p in pending]
        try:
            if rt.budget.token_ids and all(p.token_ids is not None for p in pending):
                completions = rt.engine.generate(
                    conversations,
                    rt.sampling,  # type: ignore[call-arg]
                    token_ids=[p.token_ids for p in pending],
                )
            else:
                completions = rt.engine.generate(conversations, rt.sampling)
        except (EngineUnavailableError, ConfigurationError):
            raise  # nothing can be scored here: say so at once
        except Exception as e:  # the engine failed for the whole batch: every row says so, the map goes on
            logger.error("The engine failed for a batch of %d records: %s: %s", len(conversations), type(e).__name__, e)
            completions = [Completion(error=f"engine failed for the whole batch: {type(e).__name__}: {e}")] * len(
                conversations
            )
        if len(completions) != len(conversations):
            msg = f"engine returned {len(completions)} completions for {len(conversations)} conversations"
            completions = [Completion(error=msg)] * len(conversations)
        return completions

    def _row(self, completion: Completion, truncated: bool) -> dict[str, Any]:
        from mira_hf.answer.parse import parse_output

        n_slots = len(self.rubric)
        if completion.error is not None:
            row = _failure("engine_error", completion.error, n_slots, truncated)
            row["mira_prompt_tokens"] = completion.prompt_tokens
            return row
        texts = completion.texts
        if self.config.n > 1 and len(texts) > 1:
            card, spread = combine_samples([parse_output(t, self.rubric) for t in texts], self.rubric)
        else:
            card, spread = parse_output(completion.text, self.rubric), None
        row = _row_from_card(card, self.rubric)
        row.update(
            mira_truncated=truncated,
            mira_prompt_tokens=completion.prompt_tokens,
            mira_completion_tokens=completion.completion_tokens,
            mira_raw=completion.text,
        )
        if self.config.n > 1:
            row["mira_scores_std"] = spread
        return row

    def __call__(self, batch: Mapping[str, Any]) -> Any:
        """Score one batch: returns the ``mira_*`` columns (typed) for ``datasets.map`` or Ray Data."""
        column = self._check_columns(list(batch.keys()))
        rows = self.score_records(batch_records(batch, column))
        out = typed_batch(rows, self.config.n)
        if is_numpy_batch(batch):
            return ray_table(batch, out)
        return out


def _refuse_forked_worker() -> None:
    """One in-process engine per process: refuse to start one inside a forked ``num_proc`` worker."""
    import multiprocessing

    proc = multiprocessing.current_process()
    try:
        import multiprocess

        proc2 = multiprocess.current_process()
    except ImportError:  # pragma: no cover
        proc2 = proc
    if proc.name != "MainProcess" or proc2.name != "MainProcess":
        raise ConfigurationError(
            "The in-process vLLM engine is one engine per process (it holds every GPU it uses), so it cannot run "
            "in datasets' num_proc workers. Use num_proc=1 with a large batch_size (vLLM batches internally), or "
            "engine='openai' against one or more `vllm serve` endpoints, or Ray Data map_batches."
        )


class _EnvScorer(Scorer):
    """The ready default ``mira_hf.score``: configured from ``MIRA_*`` env vars, re-read when they change.

    Example:
        >>> import os, mira_hf
        >>> os.environ["MIRA_TENSOR_PARALLEL_SIZE"] = "4"
        >>> settings = mira_hf.score.identity()   # what decides the output, read from the environment now
        >>> settings["tensor_parallel_size"], settings["model"]
        (4, 'whw06/MIRA-Agent-Group4')
        >>> del os.environ["MIRA_TENSOR_PARALLEL_SIZE"]
        >>> scored = ds.map(mira_hf.score, batched=True, batch_size=1024)  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._env: dict[str, str] | None = None
        self._sync()

    def _sync(self) -> None:
        env = env_settings()
        if env != self._env:
            settings = dict(env)
            model = settings.pop("model", None)
            engine = settings.pop("engine", "vllm")
            rubric = settings.pop("rubric", "agent-group4")
            Scorer.__init__(self, model, engine=engine, rubric=rubric, **settings)
            self._env = env

    def __call__(self, batch: Mapping[str, Any]) -> Any:
        self._sync()
        return super().__call__(batch)

    def __getstate__(self) -> dict[str, Any]:
        self._sync()
        return super().__getstate__()

    def identity(self) -> dict[str, Any]:
        self._sync()
        return super().identity()

    @property
    def fingerprint(self) -> str:
        self._sync()
        return Scorer.fingerprint.fget(self)  # type: ignore[attr-defined]

    def __reduce__(self):
        return (Scorer.__new__, (Scorer,), self.__getstate__())


#: The default scorer: ``ds.map(mira_hf.score, batched=True)``. Configure it with ``MIRA_*`` env vars.
score = _EnvScorer()
