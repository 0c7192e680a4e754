"""Diversity: order documents by maximal marginal relevance (MMR) over their embeddings.

MMR (Carbonell & Goldstein, 1998) picks, one at a time, the document that maximises

    lambda_mult * sim(query, d) - (1 - lambda_mult) * max(sim(d, s) for s already picked)

with cosine similarity, so near-duplicates of what is already picked sink. ``lambda_mult=1``
is plain relevance order, ``0`` pure novelty. This is the formula of LangChain's
``maximal_marginal_relevance`` and Haystack's ``SentenceTransformersDiversityRanker``
(``lambda_threshold``); ties go to the earlier document. Relevance is the query's cosine,
or the ``relevance`` scores you pass (e.g. a reranker's calibrated probabilities).

The embeddings come from a bi-encoder: ``"embedded"`` (the bundled all-MiniLM-L6-v2) or
any spec with a bi-encoder term, a `Reranker` (its bi-encoder and embedding cache are
shared, so documents it already scored are not encoded again), an object with
``embed_documents(texts)`` (`BiEncoderBackend`), or any callable ``texts -> vectors``.

Written here rather than taken from ``pyversity``: pyversity's MMR clips similarities at
0 and computes in float32, so its order differs from the LangChain and Haystack MMR that
users compare against; its other strategies (DPP, MSD, cover) are not asked for by any of
the three frameworks. MMR itself is ten lines of numpy (`mmr_order`).

>>> import numpy as np
>>> vectors = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
>>> [(i, round(gain, 3)) for i, gain in mmr_order([0.9, 0.85, 0.5], vectors, lambda_mult=0.5)]
[(0, 0.45), (2, 0.25), (1, -0.07)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from rankwise.documents import document_texts
from rankwise.result import RerankResult
from rankwise.validation import optional_positive_int

D = TypeVar("D")
Vectors = npt.NDArray[np.floating[Any]]


@runtime_checkable
class EmbedsDocuments(Protocol):
    """What MMR needs from an encoder: one vector per text (`BiEncoderBackend` has it)."""

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...


@runtime_checkable
class EmbedsQueries(Protocol):
    """An encoder that embeds a query differently from a document (e.g. a query prefix)."""

    def embed_query(self, text: str) -> Vectors: ...


Embedder = EmbedsDocuments | Callable[[Sequence[str]], Any]


def mmr_order(
    relevance: Sequence[float], vectors: Vectors, *, lambda_mult: float = 0.5, top_n: int | None = None
) -> list[tuple[int, float]]:
    """Greedy MMR: ``(index, marginal gain)`` pairs, in pick order, rounded to 1e-12 (cosines of ``vectors``)."""
    _check_lambda(lambda_mult)
    unit = _unit_rows(np.asarray(vectors, dtype=np.float64))
    rel = np.asarray(relevance, dtype=np.float64)
    if unit.shape[0] != rel.shape[0]:
        raise ValueError(f"{rel.shape[0]} relevance scores for {unit.shape[0]} vectors: give one per document")
    count = rel.shape[0] if top_n is None else min(top_n, rel.shape[0])
    similarity = unit @ unit.T
    redundancy = np.full(rel.shape[0], -np.inf)
    free = np.ones(rel.shape[0], dtype=bool)
    picked: list[tuple[int, float]] = []
    for _ in range(count):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        gains = np.where(free, lambda_mult * rel - (1.0 - lambda_mult) * penalty, -np.inf)
        best = int(np.argmax(gains))  # the first maximum: ties keep input order
        picked.append((best, round(float(gains[best]), 12)))
        free[best] = False
        redundancy = np.maximum(redundancy, similarity[best])
    return picked


class Diversifier:
    """Order documents by MMR over bi-encoder embeddings (see the module docstring for the formula).

    >>> div = Diversifier(lambda texts: [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts], lambda_mult=0.3)
    >>> [r.document for r in div.diversify("cats", ["a cat", "cat food", "dog"], relevance=[0.9, 0.8, 0.1])]
    ['a cat', 'dog', 'cat food']
    """

    def __init__(self, embedder: str | Any = "embedded", *, lambda_mult: float = 0.5, top_n: int | None = None) -> None:
        _check_lambda(lambda_mult)
        optional_positive_int("top_n", top_n)
        self.lambda_mult = lambda_mult
        self.top_n = top_n
        self._source = embedder
        if isinstance(embedder, str):
            from rankwise.reranker import Reranker

            self._source = Reranker(embedder)  # parses the spec now; loads nothing
        self._embedder: EmbedsDocuments | Callable[[Sequence[str]], Any] | None = None

    def load(self) -> Diversifier:
        """Load the encoder now (idempotent); otherwise it loads on first use."""
        self._resolve()
        return self

    def _resolve(self) -> EmbedsDocuments | Callable[[Sequence[str]], Any]:
        if self._embedder is None:
            self._embedder = _embedder_of(self._source)
        return self._embedder

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length embeddings of ``texts`` (cached by the bi-encoder where it has a cache)."""
        embedder = self._resolve()
        if not texts:
            return np.zeros((0, 0))
        raw = embedder.embed_documents(texts) if isinstance(embedder, EmbedsDocuments) else embedder(texts)
        return _unit_rows(np.asarray(raw, dtype=np.float64))

    def embed_query(self, query: str) -> Vectors:
        """The query's unit embedding (the encoder's own ``embed_query`` where it has one)."""
        embedder = self._resolve()
        if isinstance(embedder, EmbedsQueries):
            vector: Vectors = _unit_rows(np.asarray(embedder.embed_query(query), dtype=np.float64).reshape(1, -1))[0]
            return vector
        first: Vectors = self.embed([query])[0]
        return first

    def diversify(
        self,
        query: str,
        documents: Sequence[D],
        *,
        top_n: int | None = None,
        lambda_mult: float | None = None,
        relevance: Sequence[float] | None = None,
        text_field: str = "text",
    ) -> list[RerankResult[D]]:
        """``documents`` in MMR order, cut to ``top_n``; each result's score is its marginal gain (kind ``relative``)."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query is empty: MMR needs a query to measure relevance against")
        optional_positive_int("top_n", top_n)
        texts = document_texts(documents, text_field=text_field)
        if not texts:
            return []
        vectors = self.embed(texts)
        if relevance is None:
            rel = vectors @ self.embed_query(query)
        else:
            rel = np.asarray([float(s) for s in relevance], dtype=np.float64)
            if rel.shape[0] != len(texts) or not np.all(np.isfinite(rel)):
                raise ValueError(f"relevance needs one finite score per document ({len(texts)}), got {list(relevance)}")
        order = mmr_order(
            rel.tolist(),
            vectors,
            lambda_mult=self.lambda_mult if lambda_mult is None else lambda_mult,
            top_n=self.top_n if top_n is None else top_n,
        )
        return [
            RerankResult(documents[i], gain, index=i, rank=rank, backend="mmr", score_kind="relative")
            for rank, (i, gain) in enumerate(order, start=1)
        ]


def _embedder_of(source: Any) -> EmbedsDocuments | Callable[[Sequence[str]], Any]:
    from rankwise.reranker import Reranker

    if isinstance(source, Reranker):
        for backend in source.backends:
            if isinstance(backend, EmbedsDocuments):
                return backend
        raise ValueError(
            f"model {source.model!r} has no embedding backend for MMR: use 'embedded' or 'bi-encoder:<model>'"
        )
    if isinstance(source, EmbedsDocuments) or callable(source):
        embedder: EmbedsDocuments | Callable[[Sequence[str]], Any] = source
        return embedder
    raise TypeError(
        f"embedder must be a spec, a Reranker, an object with embed_documents(texts) or a callable, "
        f"got {type(source).__name__}"
    )


def _unit_rows(vectors: Vectors) -> Vectors:
    if vectors.ndim != 2:
        raise ValueError(f"embeddings must be one vector per text (a 2-D array), got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = vectors / np.where(norms > 0, norms, 1.0)
    return unit


def _check_lambda(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"lambda_mult must be a number in [0, 1] (1: relevance only, 0: novelty only), got {value!r}")
    if math.isnan(float(value)):
        raise ValueError("lambda_mult is NaN")
