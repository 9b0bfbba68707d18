"""Embedders: texts → unit-length vectors, for grouping sources and clustering proposed dimensions.

Three kinds, chosen by [`get_embedder`][mira_hf.discover.embed.get_embedder]:

* ``"tfidf"`` (the default): scikit-learn TF-IDF over words and bigrams, reduced by a seeded truncated SVD. It
  needs no model and no network, and separates dimensions whose names and definitions use different words.
* an OpenAI-compatible ``/v1/embeddings`` endpoint (``vllm serve <model> --runner pooling``): a URL string
  ``"http://host:8000/v1"`` or an [`HttpEmbedder`][mira_hf.discover.embed.HttpEmbedder].
* a local sentence-transformers model folder (the package is imported only then; it is not a dependency).

Example:
    >>> vectors = get_embedder("tfidf")(["fixes the bug", "fixes the failing bug", "writes clear messages"])
    >>> vectors.shape[0], round(float((vectors[0] ** 2).sum()), 6)
    (3, 1.0)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mira_hf.errors import ConfigurationError, EngineUnavailableError

Embedder = Callable[[Sequence[str]], np.ndarray]


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (zero rows stay zero), so dot products are cosine similarities.

    Example:
        >>> normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class TfidfEmbedder:
    """TF-IDF (words and bigrams, sublinear tf) then truncated SVD to ``dim`` components, seeded; offline.

    Example:
        >>> TfidfEmbedder(dim=2)(["a b", "a c", "d e"]).shape
        (3, 2)
    """

    def __init__(self, dim: int = 64, seed: int = 0):
        self.dim = dim
        self.seed = seed

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [t if t.strip() else "(empty)" for t in texts]
        tfidf = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w+\b"
        ).fit_transform(texts)
        n_comp = min(self.dim, tfidf.shape[0] - 1, tfidf.shape[1] - 1)
        if n_comp < 1:
            return normalize_rows(tfidf.toarray())
        svd = TruncatedSVD(n_components=n_comp, random_state=self.seed, algorithm="randomized", n_iter=5)
        return normalize_rows(svd.fit_transform(tfidf))

    def __repr__(self) -> str:
        return f"TfidfEmbedder(dim={self.dim}, seed={self.seed})"


class HttpEmbedder:
    """An OpenAI-compatible ``POST {base_url}/embeddings`` (vLLM's pooling runner), in batches of ``batch_size``.

    Example:
        >>> HttpEmbedder("http://localhost:8000/v1", "BAAI/bge-small-en-v1.5")   # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        *,
        batch_size: int = 256,
        timeout: float = 120.0,
    ):
        from mira_hf.engines.openai import normalize_url, split_credentials

        # a user:password in the URL is basic auth, sent as a header: the URL kept (and quoted in errors) has none
        self.base_url, self._basic = split_credentials(normalize_url(base_url))
        if self._basic and api_key:
            raise ConfigurationError(
                f"the embeddings URL {self.base_url} carries a user:password (sent as "
                "'Authorization: Basic') and an API key is given too; a request has one "
                "Authorization header: drop one of them"
            )
        self.model = model
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout = timeout

    def _post(self, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"input": texts}
        if self.model:
            body["model"] = self.model
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:
            headers["Authorization"] = self._basic
        req = urllib.request.Request(f"{self.base_url}/embeddings", data=json.dumps(body).encode(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise EngineUnavailableError(
                f"the embeddings endpoint {self.base_url} answered HTTP {e.code}; check "
                "the model name and that the server runs a pooling model"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            raise EngineUnavailableError(
                f"no embeddings endpoint answered at {self.base_url} ({e}); start one, "
                "e.g. `vllm serve <model> --runner pooling`, or use embedder='tfidf'"
            ) from None
        items = sorted(data.get("data") or [], key=lambda d: d.get("index", 0))
        if len(items) != len(texts):
            raise EngineUnavailableError(f"{self.base_url} returned {len(items)} embeddings for {len(texts)} texts")
        return [d["embedding"] for d in items]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._post(list(texts[start : start + self.batch_size])))
        return normalize_rows(np.asarray(rows, dtype=np.float64))

    def __repr__(self) -> str:
        return f"HttpEmbedder({self.base_url!r}, model={self.model!r})"


class SentenceTransformerEmbedder:
    """A local sentence-transformers model folder (``sentence-transformers`` must be installed)."""

    def __init__(self, path: str | Path):
        self.path = str(path)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigurationError(
                f"embedder={self.path!r} is a model folder, which needs the "
                "sentence-transformers package: `pip install sentence-transformers`, or use "
                "embedder='tfidf' (no model needed)"
            ) from None
        model = SentenceTransformer(self.path, local_files_only=True)
        return normalize_rows(np.asarray(model.encode(list(texts), batch_size=64, show_progress_bar=False)))

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.path!r})"


def get_embedder(spec: str | Embedder = "tfidf", *, seed: int = 0) -> Embedder:
    """``"tfidf"``, an ``http(s)://…/v1`` URL, a model folder, or any callable texts → array.

    Example:
        >>> get_embedder("tfidf")
        TfidfEmbedder(dim=64, seed=0)
        >>> get_embedder("http://localhost:8000/v1")
        HttpEmbedder('http://localhost:8000/v1', model=None)
    """
    if callable(spec):
        return spec
    if not isinstance(spec, (str, Path)):
        raise ConfigurationError(f"embedder must be 'tfidf', a URL, a model folder or a callable; got {spec!r}")
    text = str(spec)
    if text == "tfidf":
        return TfidfEmbedder(seed=seed)
    if text.startswith(("http://", "https://")):
        return HttpEmbedder(text)
    if Path(text).expanduser().is_dir():
        return SentenceTransformerEmbedder(Path(text).expanduser())
    raise ConfigurationError(
        f"embedder={text!r} is neither 'tfidf', an http(s) URL of an OpenAI-compatible "
        "/v1/embeddings server, nor an existing sentence-transformers model folder"
    )
