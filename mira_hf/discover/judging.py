"""Free-form teacher judging: a frontier teacher reads each record and proposes its own quality dimensions.

Each proposal has a name, a one-line definition, a 0–10 score and a rationale. The teacher is asked for JSON
``{"dimensions": [{"name", "definition", "score", "rationale"}, ...]}``; with ``structured=True`` the JSON
schema goes to the server's structured outputs (``response_format`` ``json_schema``, which vLLM and OpenAI
read), and the answer is parsed leniently either way (code fences, prose around the object). Requests go
through the endpoint pool of [`OpenAIEngine`][mira_hf.engines.openai.OpenAIEngine] (retries, 429/5xx, resets,
timeouts, ejection); every record gets a row with its status (``ok``, ``error``, ``invalid_output``), and
with ``store=`` a per-row resume store keeps finished rows, so a rerun sends only the unfinished ones.

Example:
    >>> parse_proposals('Sure:\\n```json\\n{"dimensions": [{"name": "Tests", "definition": "Runs tests.",'
    ...                 ' "score": 7, "rationale": "ran pytest"}]}\\n```')
    [{'dimension': 'Tests', 'definition': 'Runs tests.', 'score': 7.0, 'rationale': 'ran pytest'}]
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from mira_hf._util.problems import missing_column
from mira_hf._util.progress import ScoreProgress
from mira_hf.discover.grouping import _sample, record_texts
from mira_hf.engines.base import Completion, Sampling
from mira_hf.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: Version of the judging prompt and parsing; part of every resume key.
JUDGE_VERSION = "judge-v1"
#: Characters of a rendered record the teacher reads (the start and the end of long trajectories).
MAX_RECORD_CHARS = 60_000
#: Characters of the record kept with each proposal, as the anchor example's excerpt.
EXCERPT_CHARS = 300
STATUSES = ("ok", "error", "invalid_output")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "dimensions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "definition": {"type": "string"},
                    "score": {"type": "number", "minimum": 0, "maximum": 10},
                    "rationale": {"type": "string"},
                },
                "required": ["name", "definition", "score", "rationale"],
            },
        }
    },
    "required": ["dimensions"],
}

SYSTEM_PROMPT = (
    "You are an expert reviewer of AI agent trajectories and other training records. Read the record and decide "
    "for yourself which quality dimensions matter for judging it (typically 3 to 8). For each dimension give a "
    "short name, a one-line definition that would apply to any record, a score from 0 (worst) to 10 (best) for "
    "this record, and a one-sentence rationale citing what the record shows. Answer with JSON only, exactly of "
    'the form {"dimensions": [{"name": "...", "definition": "...", "score": 0-10, "rationale": "..."}]}.'
)


def messages_for(record_text: str) -> list[dict[str, str]]:
    """The teacher's conversation for one rendered record (long records keep their start and end).

    Example:
        >>> [m["role"] for m in messages_for("### user\\nFix it.")]
        ['system', 'user']
    """
    if len(record_text) > MAX_RECORD_CHARS:
        half = MAX_RECORD_CHARS // 2
        record_text = (
            f"{record_text[:half]}\n[… {len(record_text) - MAX_RECORD_CHARS:,} characters cut …]\n{record_text[-half:]}"
        )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": record_text}]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _json_candidates(text: str) -> list[str]:
    found = [m.group(1) for m in _FENCE.finditer(text)]
    for open_, close in (("{", "}"), ("[", "]")):
        a, b = text.find(open_), text.rfind(close)
        if 0 <= a < b:
            found.append(text[a : b + 1])
    return [text, *found]


def parse_proposals(text: str | None) -> list[dict[str, Any]]:
    """The proposals in a teacher answer, leniently; raises ``ValueError`` saying why when there are none.

    Example:
        >>> answer = '[{"name": "Style", "definition": "Ok.", "score": "8", "rationale": "ok"}]'
        >>> parse_proposals(answer)[0]["score"]
        8.0
    """
    data = None
    for candidate in _json_candidates(text or ""):
        try:
            data = json.loads(candidate)
            break
        except ValueError:
            continue
    if data is None:
        raise ValueError("the answer holds no JSON object")
    items = data.get("dimensions") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("the JSON has no 'dimensions' list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name = " ".join(str(item.get("name") or item.get("dimension") or "").split())
        try:
            raw: Any = item.get("score")
            score = float(raw)
        except (TypeError, ValueError):
            continue
        if not name or not 0 <= score <= 10:
            continue
        out.append(
            {
                "dimension": name,
                "definition": " ".join(str(item.get("definition") or "").split()) or name,
                "score": score,
                "rationale": " ".join(str(item.get("rationale") or "").split()),
            }
        )
    if not out:
        raise ValueError("no dimension with a name and a 0-10 score")
    return out


class JudgeProgress(ScoreProgress):
    """Judging progress: rows, tokens so far and their cost (``price`` in currency per million tokens, in/out)."""

    def __init__(self, total: int | None, *, price: tuple[float, float] | None = None, **kw: Any):
        super().__init__(total, desc="judging", **kw)
        self.price = price

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "ok")

    @property
    def cost(self) -> float | None:
        """What the tokens so far cost at ``price`` (``None`` without a price)."""
        if self.price is None:
            return None
        return (self.prompt_tokens * self.price[0] + self.completion_tokens * self.price[1]) / 1e6

    def _tokens(self) -> str:
        cost = f", cost {self.cost:,.4f}" if self.cost is not None else ""
        return f"tokens {self.prompt_tokens:,} in / {self.completion_tokens:,} out{cost}"

    def update(self, *args: Any, **kw: Any) -> None:
        super().update(*args, **kw)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._tokens()}, errors {self.errors}", refresh=False)

    def line(self) -> str:
        return f"{super().line()}, {self._tokens()}"

    def summary_line(self) -> str:
        return super().summary_line().replace("scored", "judged", 1) + f"; {self._tokens()}"


def _key(model: str, structured: bool, messages: list[dict[str, str]]) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(
        json.dumps([JUDGE_VERSION, model, structured, messages], ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
    return h.hexdigest()


def _outcome(completion: Completion) -> dict[str, Any]:
    """The stored row of one answer: status, error, raw text, tokens, proposals."""
    row: dict[str, Any] = {
        "status": "ok",
        "error": None,
        "raw": completion.text,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "proposals": [],
    }
    if completion.error is not None:
        row.update(status="error", error=completion.error)
        return row
    try:
        row["proposals"] = parse_proposals(completion.text)
    except ValueError as e:
        row.update(status="invalid_output", error=str(e))
    return row


def judge(
    ds: Any,
    *,
    model: str,
    base_url: str | list[str],
    text_column: str | None = None,
    source_column: str = "source",
    id_column: str = "id",
    api_key: str | None = None,
    structured: bool = True,
    store: Any = None,
    sample_per_source: int | None = None,
    seed: int = 0,
    max_in_flight: int = 64,
    progress: bool = True,
    batch_size: int = 256,
    max_tokens: int = 2048,
    temperature: float = 0.0,
    price: tuple[float, float] | None = None,
    engine_options: dict[str, Any] | None = None,
):
    """Ask the teacher for free-form dimensions on (a per-source sample of) ``ds``; see the module docstring.

    Returns a ``DatasetDict`` with ``records`` (id, source, status, error, raw, prompt_tokens,
    completion_tokens; rows in = rows out) and ``proposals`` (record_id, source, dimension, definition, score,
    rationale, excerpt). ``store`` is a directory (or a [`RowStore`][mira_hf.scoring.store.RowStore]); ``price`` is
    (input, output) per million tokens for the cost on the progress line; ``engine_options`` go to
    ``OpenAIEngine`` (``timeout``, ``max_retries``, ...).

    Example:
        >>> out = judge(ds, model="moonshotai/Kimi-K2.6", base_url="http://teacher:8000/v1")  # doctest: +SKIP
        >>> out["proposals"].to_pandas().dimension.value_counts()                            # doctest: +SKIP
    """
    import datasets

    from mira_hf.engines.openai import OpenAIEngine
    from mira_hf.scoring.store import RowStore

    if source_column not in ds.column_names and sample_per_source is None:  # no sources: one group, every row
        ds = ds.add_column(source_column, [""] * len(ds))
    samples = _sample(ds, source_column, sample_per_source, seed)
    order = sorted(i for idx in samples.values() for i in idx)
    ids = ds[id_column] if id_column in ds.column_names else None
    if id_column != "id" and ids is None:
        raise ConfigurationError(missing_column(id_column, ds.column_names, "id_column"))
    sources = ds[source_column]
    extra = (
        {"response_format": {"type": "json_schema", "json_schema": {"name": "dimensions", "schema": SCHEMA}}}
        if structured
        else None
    )
    opts = {"max_in_flight": max_in_flight, **(engine_options or {})}
    sampling = Sampling(temperature=temperature, max_tokens=max_tokens, seed=seed)
    rows_store = store if isinstance(store, RowStore) or store is None else RowStore(store)
    meter = JudgeProgress(len(order), price=price, enabled=progress, log_every=30.0 if progress else 0)
    records: list[dict[str, Any]] = []
    proposals: list[dict[str, Any]] = []
    engine = OpenAIEngine(model, base_url, api_key=api_key, extra_body=extra, **opts)
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            texts = record_texts(ds, chunk, text_column)
            outcomes, fresh = _judge_batch(engine, texts, model, structured, sampling, rows_store)
            for j, i in enumerate(chunk):
                row = outcomes[j]
                rid = str(ids[i]) if ids is not None else str(i)
                records.append(_record_row(rid, str(sources[i]), row))
                excerpt = " ".join(texts[j][: EXCERPT_CHARS * 2].split())[:EXCERPT_CHARS]
                proposals.extend(
                    {"record_id": rid, "source": str(sources[i]), **p, "excerpt": excerpt} for p in row["proposals"]
                )
            meter.update(
                rows=len(chunk),
                prompt_tokens=sum(fresh[j]["prompt_tokens"] for j in fresh),
                completion_tokens=sum(fresh[j]["completion_tokens"] for j in fresh),
                statuses=[r["status"] for r in outcomes],
                stored=len(chunk) - len(fresh),
            )
    finally:
        engine.close()
        meter.close()
    return datasets.DatasetDict(
        {
            "records": datasets.Dataset.from_list(records, features=record_features()),
            "proposals": datasets.Dataset.from_list(proposals, features=proposal_features()),
        }
    )


def _judge_batch(
    engine: Any, texts: list[str], model: str, structured: bool, sampling: Sampling, rows_store: Any
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Each text's outcome (stored, fresh or "no readable text") and the fresh ones by position; stores them."""
    convs = [messages_for(t) for t in texts]
    keys = [_key(model, structured, c) for c in convs]
    done = rows_store.get_many(keys) if rows_store is not None else {}
    todo = [j for j, (t, k) in enumerate(zip(texts, keys)) if t and k not in done]
    fresh = dict(zip(todo, (_outcome(c) for c in engine.generate([convs[j] for j in todo], sampling))))
    if rows_store is not None:
        keep = {keys[j]: {**row, "mira_status": row["status"]} for j, row in fresh.items() if row["status"] != "error"}
        rows_store.put_many(keep)
    outcomes = [
        fresh.get(j)
        or done.get(keys[j])
        or {
            "status": "error",
            "error": "the record has no readable text",
            "raw": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "proposals": [],
        }
        for j in range(len(texts))
    ]
    return outcomes, fresh


def _record_row(rid: str, source: str, row: dict[str, Any]) -> dict[str, Any]:
    """The ``records`` split's row of one judged record."""
    return {
        "id": rid,
        "source": source,
        "status": row["status"],
        "error": row["error"],
        "raw": row["raw"],
        "prompt_tokens": int(row["prompt_tokens"]),
        "completion_tokens": int(row["completion_tokens"]),
    }


def record_features():
    """The ``records`` split's features."""
    from datasets import Features, Value

    return Features(
        {
            "id": Value("string"),
            "source": Value("string"),
            "status": Value("string"),
            "error": Value("string"),
            "raw": Value("string"),
            "prompt_tokens": Value("int64"),
            "completion_tokens": Value("int64"),
        }
    )


def proposal_features():
    """The ``proposals`` split's features."""
    from datasets import Features, Value

    return Features(
        {
            "record_id": Value("string"),
            "source": Value("string"),
            "dimension": Value("string"),
            "definition": Value("string"),
            "score": Value("float64"),
            "rationale": Value("string"),
            "excerpt": Value("string"),
        }
    )
