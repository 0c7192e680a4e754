"""`RankwiseMetaFieldRerank`: rankwise's metadata-field ranking as a LangChain document transformer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from rankwise.adapter_support import checked_options, meta_field_ranking
from rankwise.meta_field import MetaFieldRanking, MissingPolicy, RankingMode, SortOrder
from rankwise_langchain._documents import scored_copies, texts_of


class RankwiseMetaFieldRerank(BaseDocumentTransformer, BaseModel):
    """Combine the previous ranking with ``metadata[meta_field]`` (recency, popularity), as in `rankwise.meta_field`.

    Put it after `RankwiseRerank` (documents ranked best first). ``weight`` 1 ranks by the
    field alone, 0 keeps the previous order; ``ranking_mode`` is reciprocal-rank fusion or
    a linear mix with the previous scores (``metadata[score_key]``); ``missing_meta``
    places documents without the field (``"bottom"``, ``"top"``, ``"drop"``). Returns
    copies with the combined score under ``metadata[score_key]`` (kind ``relative``).

    >>> from langchain_core.documents import Document
    >>> docs = [Document(page_content="old", metadata={"year": 2001}), Document(page_content="new", metadata={"year": 2024})]
    >>> [d.page_content for d in RankwiseMetaFieldRerank(meta_field="year").transform_documents(docs)]
    ['new', 'old']
    """

    meta_field: str
    """The metadata key to rank by (numbers, dates or ISO-8601 strings)."""
    weight: float = Field(default=1.0, ge=0.0, le=1.0)
    ranking_mode: RankingMode = "reciprocal_rank_fusion"
    sort_order: SortOrder = "descending"
    missing_meta: MissingPolicy = "bottom"
    top_n: int | None = Field(default=None, gt=0)
    score_key: str = "relevance_score"
    """Where the previous score is read from and the combined score written to."""

    model_config = ConfigDict(extra="forbid")

    _ranking: MetaFieldRanking = PrivateAttr()

    _checked = checked_options("top_n", "weight")

    def model_post_init(self, context: Any, /) -> None:
        self._ranking = meta_field_ranking(self, top_n=self.top_n)

    def transform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Re-rank ``documents`` by the field; ``kwargs`` are accepted and not used."""
        texts_of(documents)  # checks the input
        values = [d.metadata.get(self.meta_field) for d in documents]
        scores = [d.metadata.get(self.score_key) for d in documents]
        results = self._ranking.rank(list(documents), values, scores=scores)
        return scored_copies(documents, [(r.index, r.score, r.score_kind) for r in results], self.score_key)

    async def atransform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Same as `transform_documents`: no I/O, so it runs inline."""
        return self.transform_documents(documents, **kwargs)
