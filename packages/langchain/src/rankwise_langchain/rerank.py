"""`RankwiseRerank`: a LangChain document compressor that reranks with a rankwise `Reranker`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr

from rankwise import Reranker, RerankResult


class RankwiseRerank(BaseDocumentCompressor):
    """Rerank retrieved documents with any rankwise model, keeping their text, metadata and id.

    ``model`` is a rankwise spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``,
    ``"lexical"``, a fusion such as ``"0.8*cross-encoder:…+0.2*lexical"``) or a
    ready `rankwise.Reranker`. The reranker is built on first use, not here.
    Output documents are new `Document` objects (the inputs are not touched)
    with the score under ``metadata[score_key]``, best first, cut to ``top_n``
    and ``score_threshold``. ``callbacks`` are accepted and not used.

    >>> from langchain_core.documents import Document
    >>> docs = [Document(page_content="dogs bark", id="d1"), Document(page_content="cats purr", id="d2")]
    >>> out = RankwiseRerank(model="lexical", top_n=1).compress_documents(docs, "cats")
    >>> out[0].id, out[0].page_content, out[0].metadata["relevance_score"] > 0
    ('d2', 'cats purr', True)
    """

    model: str | Reranker = "embedded"
    """A rankwise model spec, or a ready `Reranker` (then ``reranker_kwargs`` must be empty)."""
    top_n: int | None = Field(default=3, gt=0)
    """How many documents to return (``None``: all of them)."""
    score_threshold: float | None = None
    """Drop documents whose score is below this value."""
    score_key: str = "relevance_score"
    """The metadata key the score is written to."""
    reranker_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Options for `rankwise.Reranker` when ``model`` is a spec (``device``, ``batch_size``, ``normalize``, …)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _reranker: Reranker | None = PrivateAttr(default=None)

    @property
    def reranker(self) -> Reranker:
        """The `Reranker` in use, built from ``model`` on first access."""
        if self._reranker is None:
            self._reranker = Reranker.of(self.model, **self.reranker_kwargs)
        return self._reranker

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Rerank ``documents`` for ``query``: new documents, best first, score in metadata."""
        results = self.reranker.rerank(query, _texts(documents), top_n=self.top_n, score_threshold=self.score_threshold)
        return self._scored(documents, results)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async `compress_documents` through `Reranker.arerank` (API backends use their async clients)."""
        results = await self.reranker.arerank(
            query, _texts(documents), top_n=self.top_n, score_threshold=self.score_threshold
        )
        return self._scored(documents, results)

    def _scored(self, documents: Sequence[Document], results: list[RerankResult[str]]) -> list[Document]:
        return [
            documents[r.index].model_copy(update={"metadata": {**documents[r.index].metadata, self.score_key: r.score}})
            for r in results
        ]


def _texts(documents: Sequence[Document]) -> list[str]:
    """The page contents, with a clear error for anything that is not a LangChain `Document`."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a sequence of langchain Documents, got {type(documents).__name__}")
    for index, document in enumerate(documents):
        if not isinstance(document, Document):
            raise TypeError(
                f"document at index {index} is a {type(document).__name__}, expected a langchain_core Document"
            )
    return [d.page_content for d in documents]
