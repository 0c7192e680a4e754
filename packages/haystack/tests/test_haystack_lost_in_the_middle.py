"""RankwiseLostInTheMiddleRanker: the core reorderer over Haystack Documents."""

from __future__ import annotations

import pytest
from haystack import Document

from haystack_integrations.components.rankers.rankwise import RankwiseLostInTheMiddleRanker
from rankwise import lost_in_the_middle


def ranked(n: int) -> list[Document]:
    return [Document(content="w " * i, id=str(i), score=1.0 / i) for i in range(1, n + 1)]


def ids(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


def test_order_is_the_core_order_with_the_callers_objects() -> None:
    docs = ranked(6)
    out = RankwiseLostInTheMiddleRanker().run(documents=docs)["documents"]
    assert ids(out) == ids(lost_in_the_middle(docs)) == ["1", "3", "5", "6", "4", "2"]
    assert all(any(o is d for d in docs) for o in out)
    assert ids(docs) == ["1", "2", "3", "4", "5", "6"]


def test_top_k_and_word_budget_at_init_and_run() -> None:
    docs = ranked(6)
    assert ids(RankwiseLostInTheMiddleRanker(top_k=4).run(documents=docs)["documents"]) == ["1", "3", "4", "2"]
    assert ids(RankwiseLostInTheMiddleRanker().run(documents=docs, top_k=3)["documents"]) == ["1", "3", "2"]
    assert ids(RankwiseLostInTheMiddleRanker(word_count_threshold=3).run(documents=docs)["documents"]) == ["1", "2"]
    assert ids(RankwiseLostInTheMiddleRanker().run(documents=docs, word_count_threshold=1)["documents"]) == ["1"]


def test_serialisation_round_trip() -> None:
    component = RankwiseLostInTheMiddleRanker(top_k=5, word_count_threshold=100)
    data = component.to_dict()
    assert data["init_parameters"] == {"top_k": 5, "word_count_threshold": 100}
    assert RankwiseLostInTheMiddleRanker.from_dict(data).to_dict() == data


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="top_k must be"):
        RankwiseLostInTheMiddleRanker(top_k=0)
    with pytest.raises(ValueError, match="word_count_threshold"):
        RankwiseLostInTheMiddleRanker(word_count_threshold=-3)
    with pytest.raises(ValueError, match="top_k must be"):
        RankwiseLostInTheMiddleRanker().run(documents=ranked(3), top_k=0)
    with pytest.raises(ValueError, match="top_k must be"):
        RankwiseLostInTheMiddleRanker(top_k=True)
