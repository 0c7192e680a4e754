"""`RankwiseLostInTheMiddle`: rankwise's lost-in-the-middle order as a LangChain document transformer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from pydantic import BaseModel, ConfigDict, Field

from rankwise import lost_in_the_middle
from rankwise.adapter_support import checked_options


class RankwiseLostInTheMiddle(BaseDocumentTransformer, BaseModel):
    """Place best-first documents so the best sit at both edges of the context, the weakest in the middle.

    Documents must already be ranked best first (e.g. by `RankwiseRerank`). The best
    document stays first, the second goes last (see `rankwise.lost_in_the_middle`
    for how this differs from LangChain's ``LongContextReorder``). ``top_n`` keeps the
    best ``top_n``; ``word_count_threshold`` keeps documents while their total
    word count fits. The same `Document` objects are returned, reordered.

    >>> from langchain_core.documents import Document
    >>> docs = [Document(page_content=str(i)) for i in range(1, 6)]
    >>> [d.page_content for d in RankwiseLostInTheMiddle().transform_documents(docs)]
    ['1', '3', '5', '4', '2']
    """

    top_n: int | None = Field(default=None, gt=0)
    word_count_threshold: int | None = Field(default=None, gt=0)

    model_config = ConfigDict(extra="forbid")

    _checked = checked_options("top_n", "word_count_threshold")

    def transform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Reorder ``documents`` (ranked best first); ``kwargs`` are accepted and not used."""
        return lost_in_the_middle(
            list(documents),
            top_n=self.top_n,
            word_count_threshold=self.word_count_threshold,
            word_count=lambda d: len(d.page_content.split()),
        )

    async def atransform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Same as `transform_documents`: a reorder does no I/O, so it runs inline."""
        return self.transform_documents(documents, **kwargs)
