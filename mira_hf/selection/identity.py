"""JSON-safe identities of the scorer, the reliability object and the rubric, scrubbed of secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mira_hf._util.redaction import is_secret_key, redact
from mira_hf.errors import ConfigurationError
from mira_hf.schema.selection import RubricInfo


def _scrub(value: Any) -> Any:
    """Drop secret-looking keys and URL credentials from an identity / reliability dump."""
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return _scrub(value.tolist())
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def scorer_identity(scorer: Any) -> dict[str, Any] | None:
    """A JSON-safe identity from a [`Scorer`][mira_hf.scoring.scorer.Scorer] (``identity()``) or a plain dict."""
    if scorer is None:
        return None
    if isinstance(scorer, Mapping):
        return _scrub(scorer)
    if callable(getattr(scorer, "identity", None)):
        ident = scorer.identity()
        if not isinstance(ident, Mapping):
            raise ConfigurationError(f"scorer.identity() returned {type(ident).__name__}, expected a dict")
        return _scrub(ident)
    raise ConfigurationError(
        f"scorer= got a {type(scorer).__name__}; pass a mira_hf.Scorer (anything with identity() -> dict) or a dict "
        "such as {'model': 'whw06/MIRA-Agent-Group4', 'rubric_hash': '...', 'prompt_version': '...'}"
    )


def reliability_payload(reliability: Any) -> dict[str, Any] | None:
    """The reliability object as JSON: ``model_dump()``, ``to_dict()``, ``save()`` to a file, or a plain mask dict."""
    if reliability is None:
        return None
    if isinstance(reliability, Mapping):
        payload: Any = dict(reliability)
        if (
            payload
            and all(isinstance(v, (list, tuple, np.ndarray)) for v in payload.values())
            and "mask" not in payload
        ):
            payload = {"mask": payload}  # a bare mask: {source: [bool, ...]}
        return _scrub(payload)
    for attr in ("model_dump", "to_dict"):
        fn = getattr(reliability, attr, None)
        if callable(fn):
            dumped = fn(mode="json") if attr == "model_dump" else fn()
            if isinstance(dumped, Mapping):
                return _scrub(dumped)
    save = getattr(reliability, "save", None)
    if callable(save):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "reliability.json"
            save(target)
            return _scrub(json.loads(target.read_text(encoding="utf-8")))
    raise ConfigurationError(
        f"reliability= got a {type(reliability).__name__}; pass the mira_hf.Reliability object, the metric's "
        "result dict, or a mask {source: [bool per rubric slot]}"
    )


def rubric_info(rubric: Any, identity: Mapping[str, Any] | None) -> RubricInfo | None:
    """Rubric name, hash and dimension names from ``rubric=`` (name, path or Rubric) or the scorer identity."""
    from mira_hf.rubric import Rubric, load_rubric

    if rubric is None and identity:
        name = identity.get("rubric") or identity.get("rubric_name")
        if not name:
            return None
        try:
            loaded = load_rubric(str(name))
        except ConfigurationError:
            return RubricInfo(name=str(identity.get("rubric_name") or name), hash=identity.get("rubric_hash"))
        return RubricInfo(
            name=loaded.name, hash=identity.get("rubric_hash") or loaded.content_hash, dimensions=loaded.names
        )
    if rubric is None:
        return None
    loaded = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    return RubricInfo(name=loaded.name, hash=loaded.content_hash, dimensions=loaded.names)
