"""RankwiseLostInTheMiddle: the core reorderer over LangChain Documents."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from rankwise import lost_in_the_middle
from rankwise_langchain import RankwiseLostInTheMiddle


def ranked(n: int) -> list[Document]:
    return [Document(page_content=f"doc {i} " + "word " * i, id=str(i)) for i in range(1, n + 1)]


def test_order_is_the_core_order_and_objects_are_the_callers() -> None:
    docs = ranked(7)
    out = RankwiseLostInTheMiddle().transform_documents(docs)
    assert [d.id for d in out] == [d.id for d in lost_in_the_middle(docs)] == ["1", "3", "5", "7", "6", "4", "2"]
    assert all(any(o is d for d in docs) for o in out)
    assert [d.id for d in docs] == [str(i) for i in range(1, 8)]  # the input list is not reordered in place


def test_top_n_and_word_budget() -> None:
    docs = ranked(6)
    assert [d.id for d in RankwiseLostInTheMiddle(top_n=3).transform_documents(docs)] == ["1", "3", "2"]
    # words: doc1 = 3, doc2 = 4, doc3 = 5 -> the budget of 7 is crossed by doc2, which is kept
    assert [d.id for d in RankwiseLostInTheMiddle(word_count_threshold=7).transform_documents(docs)] == ["1", "2"]


async def test_async_matches_sync() -> None:
    docs = ranked(5)
    transformer = RankwiseLostInTheMiddle()
    assert await transformer.atransform_documents(docs) == transformer.transform_documents(docs)


def test_bad_settings() -> None:
    with pytest.raises(ValidationError):
        RankwiseLostInTheMiddle(top_n=0)
    with pytest.raises(ValidationError):
        RankwiseLostInTheMiddle(word_count_threshold=-1)
