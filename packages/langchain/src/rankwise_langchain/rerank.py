"""`RankwiseRerank`: a LangChain document compressor that reranks with a rankwise `Reranker`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager, Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from rankwise import Reranker, RerankResult
from rankwise.adapter_support import checked_options, reranker_from, state_to_pickle
from rankwise.retriever_scores import retriever_scores
from rankwise_langchain._documents import scored_copies, texts_of


class RankwiseRerank(BaseDocumentCompressor):
    """Rerank retrieved documents with any rankwise model, keeping their text, metadata and id.

    ``model`` is a rankwise spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``,
    ``"lexical"``, a fusion such as ``"0.8*cross-encoder:…+0.2*first-stage"``) or a ready
    `rankwise.Reranker`; the spec is checked here (nothing is loaded until first use).
    Output documents are independent copies (metadata deep-copied) with the score under
    ``metadata[score_key]`` and its kind under ``metadata[score_key + "_kind"]``, best
    first, cut to ``top_n`` and ``score_threshold``. With ``use_retriever_scores``, the
    scores in ``metadata[retriever_score_key]`` (when every document has one) are the
    first-stage scores. ``api_key`` (or ``api_key_env``, a variable's name) is a secret:
    never in ``repr``, dumps or pickles. Each call is reported to ``callbacks`` as a
    retriever run named ``RankwiseRerank``.

    >>> from langchain_core.documents import Document
    >>> docs = [Document(page_content="dogs bark", id="d1"), Document(page_content="cats purr", id="d2")]
    >>> out = RankwiseRerank(model="lexical", top_n=1).compress_documents(docs, "cats")
    >>> out[0].id, out[0].page_content, out[0].metadata["relevance_score"] > 0, out[0].metadata["relevance_score_kind"]
    ('d2', 'cats purr', True, 'bm25')
    """

    model: str | Reranker = "embedded"
    """A rankwise model spec, or a ready `Reranker` (then ``reranker_kwargs`` must be empty)."""
    top_n: int | None = Field(default=3, gt=0)
    """How many documents to return (``None``: all of them)."""
    score_threshold: float | None = None
    """Drop documents whose score is below this value (see docs/calibration.md for its scale)."""
    score_key: str = "relevance_score"
    """The metadata key the score is written to (its kind goes under ``score_key + "_kind"``)."""
    use_retriever_scores: bool | None = None
    """Pass ``metadata[retriever_score_key]`` to the core as first-stage scores when every document has one
    (``None``: unless the scores are calibrated, whose first-stage scale is fixed; `rankwise.retriever_scores`)."""
    retriever_score_key: str = "score"
    """Where the previous stage left its score in each document's metadata."""
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """The API key for API backends; excluded from every serialisation (prefer ``api_key_env``)."""
    api_key_env: str | None = None
    """The name of an environment variable holding the API key (serialised by name, read at construction)."""
    reranker_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Options for `rankwise.Reranker` when ``model`` is a spec (``device``, ``batch_size``, ``normalize``, …)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _reranker: Reranker = PrivateAttr()

    _checked = checked_options("top_n", "score_threshold", moves_api_key=True)

    def model_post_init(self, context: Any, /) -> None:
        self._reranker = self._build()

    def _build(self) -> Reranker:
        return reranker_from(self.model, self.api_key, self.api_key_env, self.reranker_kwargs)

    @property
    def reranker(self) -> Reranker:
        """The `Reranker` in use (built from ``model`` at construction)."""
        return self._reranker

    def __getstate__(self) -> dict[Any, Any]:
        return state_to_pickle("RankwiseRerank", self.api_key, super().__getstate__())

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._reranker = self._build()

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Rerank ``documents`` for ``query``: new documents, best first, score in metadata."""
        texts, options = self._prepare(documents)
        run = CallbackManager.configure(callbacks, local_metadata=self._trace()).on_retriever_start(
            None, query, name=type(self).__name__
        )
        try:
            out = self._scored(documents, self._reranker.rerank(query, texts, **options))
        except BaseException as exc:
            run.on_retriever_error(exc)
            raise
        run.on_retriever_end(out)
        return out

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async `compress_documents` through `Reranker.arerank` (API backends use their async clients)."""
        texts, options = self._prepare(documents)
        run = await AsyncCallbackManager.configure(callbacks, local_metadata=self._trace()).on_retriever_start(
            None, query, name=type(self).__name__
        )
        try:
            out = self._scored(documents, await self._reranker.arerank(query, texts, **options))
        except BaseException as exc:
            await run.on_retriever_error(exc)
            raise
        await run.on_retriever_end(out)
        return out

    def _prepare(self, documents: Sequence[Document]) -> tuple[list[str], dict[str, Any]]:
        texts = texts_of(documents)
        first_stage = retriever_scores(
            [d.metadata.get(self.retriever_score_key) for d in documents],
            use=self.use_retriever_scores,
            calibrated=self._reranker.calibration is not None,
        )
        return texts, {"top_n": self.top_n, "score_threshold": self.score_threshold, "first_stage_scores": first_stage}

    def _trace(self) -> dict[str, Any]:
        return {"rankwise_model": self._reranker.model, "rankwise_top_n": self.top_n}

    def _scored(self, documents: Sequence[Document], results: list[RerankResult[str]]) -> list[Document]:
        return scored_copies(documents, [(r.index, r.score, r.score_kind) for r in results], self.score_key)
