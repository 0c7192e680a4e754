"""`RankwiseRanker`: a Haystack ranker component that reranks with a rankwise `Reranker`."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations to build the sockets.
import asyncio
import dataclasses
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.utils import Secret

from rankwise import Reranker, RerankResult


@component
class RankwiseRanker:
    """Rank documents for a query with any rankwise model; returns copies of the documents with ``score`` set.

    ``model`` is a rankwise spec: ``"embedded"`` (the default), ``"cross-encoder:<hub
    id or path>"``, ``"lexical"``, or a fusion such as
    ``"0.8*cross-encoder:…+0.2*first-stage"``. ``top_k`` is Haystack's name for
    rankwise's ``top_n``. When every input document has a ``score`` (e.g. from a
    BM25 or embedding retriever), those scores reach the core as
    ``first_stage_scores``, used by specs with a ``first-stage`` term. The text
    scored is ``meta_fields_to_embed`` values and ``content`` joined with
    ``embedding_separator``, as in Haystack's own rankers. ``api_key`` (a
    `Secret`) is resolved in `warm_up` for API backends; ``reranker_kwargs``
    (JSON-serialisable: ``device``, ``batch_size``, ``normalize``, …) go to
    `rankwise.Reranker`. Documents are returned as ``dataclasses.replace(doc,
    score=...)``: the inputs are not touched.

    >>> from haystack import Document
    >>> ranker = RankwiseRanker(model="lexical", top_k=1)
    >>> ranker.warm_up()
    >>> docs = [Document(content="dogs bark", id="d1"), Document(content="cats purr", id="d2")]
    >>> out = ranker.run(query="cats", documents=docs)["documents"]
    >>> out[0].id, out[0].score > 0, docs[1].score is None
    ('d2', True, True)
    """

    def __init__(
        self,
        model: str = "embedded",
        *,
        top_k: int | None = 3,
        score_threshold: float | None = None,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        api_key: Secret | None = None,
        reranker_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(model, str):
            raise TypeError(f"model must be a rankwise spec string (serialisable), got {type(model).__name__}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0):
            raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
        if "api_key" in (reranker_kwargs or {}):
            raise ValueError("pass the API key as api_key=Secret.from_env_var(...), not in reranker_kwargs")
        self.model = model
        self.top_k = top_k
        self.score_threshold = score_threshold
        self.meta_fields_to_embed = meta_fields_to_embed or []
        self.embedding_separator = embedding_separator
        self.api_key = api_key
        self.reranker_kwargs = reranker_kwargs or {}
        self._reranker: Reranker | None = None

    def _get_reranker(self) -> Reranker:
        """The `Reranker`, built (not loaded) on first need; resolving the secret happens here."""
        if self._reranker is None:
            key = self.api_key.resolve_value() if self.api_key is not None else None
            self._reranker = Reranker(self.model, api_key=key, **self.reranker_kwargs)
        return self._reranker

    def warm_up(self) -> None:
        """Build the reranker and load its model(s); calling it again does nothing."""
        self._get_reranker().load()

    async def warm_up_async(self) -> None:
        """`warm_up` in a worker thread, so an `AsyncPipeline` keeps its event loop free while a model loads."""
        await asyncio.to_thread(self.warm_up)

    def close(self) -> None:
        """Drop the loaded reranker (its model memory); a later `warm_up` or run loads it again."""
        self._reranker = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise the settings; an env-var `Secret` is stored by name, a token `Secret` refuses to serialise."""
        return default_to_dict(
            self,
            model=self.model,
            top_k=self.top_k,
            score_threshold=self.score_threshold,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
            api_key=self.api_key,
            reranker_kwargs=self.reranker_kwargs,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RankwiseRanker":
        """Rebuild a ranker from `to_dict` output (the `Secret` is deserialised too)."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """Rank ``documents`` for ``query``, best first; ``top_k``/``score_threshold`` override the init values."""
        texts, options = self._prepare(documents, top_k, score_threshold)
        return {"documents": _scored(documents, self._get_reranker().rerank(query, texts, **options))}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """Async `run` through `Reranker.arerank` (API backends use their async clients)."""
        texts, options = self._prepare(documents, top_k, score_threshold)
        return {"documents": _scored(documents, await self._get_reranker().arerank(query, texts, **options))}

    def _prepare(
        self, documents: list[Document], top_k: int | None, score_threshold: float | None
    ) -> tuple[list[str], dict[str, Any]]:
        texts = [self._text(doc, index) for index, doc in enumerate(documents)]
        scores = [doc.score for doc in documents]
        first_stage = [float(s) for s in scores if s is not None] if all(s is not None for s in scores) else None
        return texts, {
            "top_n": self.top_k if top_k is None else top_k,
            "score_threshold": self.score_threshold if score_threshold is None else score_threshold,
            "first_stage_scores": first_stage,
        }

    def _text(self, doc: Document, index: int) -> str:
        if not isinstance(doc, Document):
            raise TypeError(f"document at index {index} is a {type(doc).__name__}, expected a haystack Document")
        if doc.content is None:
            raise ValueError(f"document at index {index} (id {doc.id!r}) has no text content to rank")
        meta = [str(doc.meta[k]) for k in self.meta_fields_to_embed if doc.meta.get(k) is not None]
        return self.embedding_separator.join([*meta, doc.content])


def _scored(documents: list[Document], results: list[RerankResult[str]]) -> list[Document]:
    return [dataclasses.replace(documents[r.index], score=r.score) for r in results]
