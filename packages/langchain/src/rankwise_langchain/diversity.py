"""`RankwiseDiversityRerank`: rankwise's MMR diversity order as a LangChain document compressor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr

from rankwise import Reranker
from rankwise.adapter_support import checked_options
from rankwise.diversity import Diversifier
from rankwise_langchain._documents import texts_of


class RankwiseDiversityRerank(BaseDocumentCompressor):
    """Order documents by maximal marginal relevance, so near-duplicates sink (see `rankwise.diversity`).

    ``model`` gives the embeddings: ``"embedded"`` (the bundled MiniLM), a spec with a
    bi-encoder term, or a ready `Reranker` (pass ``RankwiseRerank(...).reranker`` to
    share its embedding cache). ``lambda_mult`` is LangChain's MMR trade-off (1:
    relevance only, 0: novelty only). The same `Document` objects are returned,
    reordered and cut to ``top_n``; their metadata is not changed.

    >>> from langchain_core.documents import Document
    >>> docs = [Document(page_content=t) for t in ["cats purr", "a cat purrs", "dogs bark"]]
    >>> out = RankwiseDiversityRerank(lambda_mult=0.3).compress_documents(docs, "cats")
    >>> out[-1].page_content != "dogs bark"
    True
    """

    model: str | Reranker = "embedded"
    """Where the embeddings come from: a spec with a bi-encoder term, or a ready `Reranker`."""
    lambda_mult: float = Field(default=0.5, ge=0.0, le=1.0)
    """The relevance/novelty trade-off: 1 relevance only, 0 novelty only."""
    top_n: int | None = Field(default=None, gt=0)
    """How many documents to return (``None``: all of them, reordered)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _diversifier: Diversifier = PrivateAttr()

    _checked = checked_options("top_n", "lambda_mult")

    def model_post_init(self, context: Any, /) -> None:
        self._diversifier = Diversifier(self.model, lambda_mult=self.lambda_mult, top_n=self.top_n)

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """``documents`` in MMR order for ``query``, cut to ``top_n``; ``callbacks`` are not used."""
        return [documents[r.index] for r in self._diversifier.diversify(query, texts_of(documents))]
