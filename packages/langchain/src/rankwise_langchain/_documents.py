"""LangChain `Document` in and out: the texts the core scores, and independent scored copies."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from langchain_core.documents import Document

from rankwise.adapter_support import kind_key


def texts_of(documents: Sequence[Document]) -> list[str]:
    """The page contents, with a clear error for anything that is not a LangChain `Document`."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a sequence of langchain Documents, got {type(documents).__name__}")
    for index, document in enumerate(documents):
        if not isinstance(document, Document):
            raise TypeError(
                f"document at index {index} is a {type(document).__name__}, expected a langchain_core Document"
            )
    return [d.page_content for d in documents]


def scored_copies(
    documents: Sequence[Document], picks: Sequence[tuple[int, float, str]], score_key: str
) -> list[Document]:
    """A copy of ``documents[index]`` per ``(index, score, kind)``: metadata deep-copied, score and kind added."""
    return [
        documents[index].model_copy(
            update={
                "metadata": {**copy.deepcopy(documents[index].metadata), score_key: score, kind_key(score_key): kind}
            }
        )
        for index, score, kind in picks
    ]
