"""`RankwiseRanker`: a Haystack ranker component that reranks with a rankwise `Reranker`."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations to build the sockets.
import asyncio
from typing import Any

from haystack import Document, component
from haystack.tracing.tracer import Span
from haystack.utils import Secret

from haystack_integrations.components.rankers.rankwise._documents import (
    Settings,
    check_threshold,
    check_top_k,
    rerank_span,
    scored_copy,
    text_of,
)
from rankwise import Reranker, RerankResult
from rankwise.retriever_scores import retriever_scores


@component
class RankwiseRanker(Settings):
    """Rank documents for a query with any rankwise model; returns copies of the documents with ``score`` set.

    ``model`` is a rankwise spec: ``"embedded"`` (the default), ``"cross-encoder:<hub
    id or path>"``, ``"lexical"``, or a fusion such as ``"0.8*cross-encoder:…+0.2*first-stage"``;
    it is checked here (nothing loads before `warm_up`). ``top_k`` is Haystack's name
    for rankwise's ``top_n``. With ``use_retriever_scores``, the documents' ``score``
    (when all have one, e.g. from a BM25 or embedding retriever) are the first-stage
    scores. The text scored is ``meta_fields_to_embed`` values and ``content`` joined
    with ``embedding_separator``. ``api_key`` (a `Secret`) is resolved in `warm_up`;
    ``reranker_kwargs`` (``device``, ``batch_size``, ``normalize``, …) go to
    `rankwise.Reranker`. Returned documents are copies (``meta`` deep-copied, with
    ``meta["score_kind"]``); each run is a ``rankwise.haystack.rerank`` span in ``haystack.tracing``.

    >>> from haystack import Document
    >>> ranker = RankwiseRanker(model="lexical", top_k=1)
    >>> ranker.warm_up()
    >>> docs = [Document(content="dogs bark", id="d1"), Document(content="cats purr", id="d2")]
    >>> out = ranker.run(query="cats", documents=docs)["documents"]
    >>> out[0].id, out[0].score > 0, out[0].meta["score_kind"], docs[1].score is None
    ('d2', True, 'bm25', True)
    """

    #: The init parameters `to_dict` stores; an env-var `Secret` is stored by name, a token `Secret` refuses.
    settings = (
        "model",
        "top_k",
        "score_threshold",
        "meta_fields_to_embed",
        "embedding_separator",
        "use_retriever_scores",
        "api_key",
        "reranker_kwargs",
    )

    def __init__(
        self,
        model: str = "embedded",
        *,
        top_k: int | None = 3,
        score_threshold: float | None = None,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        use_retriever_scores: bool | None = None,
        api_key: Secret | None = None,
        reranker_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(model, str):
            raise TypeError(f"model must be a rankwise spec string (serialisable), got {type(model).__name__}")
        top_k = check_top_k(top_k)
        check_threshold(score_threshold)
        if "api_key" in (reranker_kwargs or {}):
            raise ValueError("pass the API key as api_key=Secret.from_env_var(...), not in reranker_kwargs")
        Reranker.of(model, **(reranker_kwargs or {}))  # checks the spec and options now; parses only, loads nothing
        self.model = model
        self.top_k = top_k
        self.score_threshold = score_threshold
        self.meta_fields_to_embed = meta_fields_to_embed or []
        self.embedding_separator = embedding_separator
        self.use_retriever_scores = use_retriever_scores
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

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, documents: list[Document], top_k: int | None = None, score_threshold: float | None = None
    ) -> dict[str, list[Document]]:
        """Rank ``documents`` for ``query``, best first; ``top_k``/``score_threshold`` override the init values."""
        texts, options = self._prepare(documents, top_k, score_threshold)
        with rerank_span("rankwise.haystack.rerank", self._tags(len(texts), options)) as span:
            return self._finish(span, query, documents, self._get_reranker().rerank(query, texts, **options))

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, documents: list[Document], top_k: int | None = None, score_threshold: float | None = None
    ) -> dict[str, list[Document]]:
        """Async `run` through `Reranker.arerank` (API backends use their async clients)."""
        texts, options = self._prepare(documents, top_k, score_threshold)
        with rerank_span("rankwise.haystack.rerank", self._tags(len(texts), options)) as span:
            results = await self._get_reranker().arerank(query, texts, **options)
            return self._finish(span, query, documents, results)

    def _prepare(
        self, documents: list[Document], top_k: int | None, score_threshold: float | None
    ) -> tuple[list[str], dict[str, Any]]:
        top_k = check_top_k(top_k)
        check_threshold(score_threshold)
        texts = [text_of(d, i, self.meta_fields_to_embed, self.embedding_separator) for i, d in enumerate(documents)]
        return texts, {
            "top_n": self.top_k if top_k is None else top_k,
            "score_threshold": self.score_threshold if score_threshold is None else score_threshold,
            "first_stage_scores": retriever_scores(
                [d.score for d in documents],
                use=self.use_retriever_scores,
                calibrated=self._get_reranker().calibration is not None,
            ),
        }

    def _tags(self, count: int, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "rankwise.model": self.model,
            "rankwise.top_k": options["top_n"],
            "rankwise.input_documents": count,
            "rankwise.first_stage_scores": options["first_stage_scores"] is not None,
        }

    @staticmethod
    def _finish(
        span: Span, query: str, documents: list[Document], results: list[RerankResult[str]]
    ) -> dict[str, list[Document]]:
        span.set_tags(
            {"rankwise.output_documents": len(results), "rankwise.backend": sorted({r.backend for r in results})}
        )
        span.set_tag("rankwise.score_kind", sorted({r.score_kind for r in results}))
        span.set_content_tag("rankwise.query", query)
        span.set_content_tag("rankwise.output", [{"id": documents[r.index].id, "score": r.score} for r in results])
        return {"documents": [scored_copy(documents[r.index], r.score, r.score_kind) for r in results]}
