"""RankwiseLostInTheMiddle: the core reorderer over LlamaIndex nodes."""

from __future__ import annotations

import pytest
from llama_index.core.schema import NodeWithScore, TextNode
from pydantic import ValidationError

from rankwise import lost_in_the_middle
from rankwise_llamaindex import RankwiseLostInTheMiddle


def ranked(n: int) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text="w " * i, id_=str(i)), score=1.0 / i) for i in range(1, n + 1)]


def ids(nodes: list[NodeWithScore]) -> list[str]:
    return [n.node.node_id for n in nodes]


def test_order_is_the_core_order_with_the_callers_objects() -> None:
    nodes = ranked(6)
    out = RankwiseLostInTheMiddle().postprocess_nodes(nodes)
    assert ids(out) == ids(lost_in_the_middle(nodes)) == ["1", "3", "5", "6", "4", "2"]
    assert all(any(o is n for n in nodes) for o in out)
    assert ids(nodes) == ["1", "2", "3", "4", "5", "6"]


def test_top_n_and_word_budget_count_text_words_only() -> None:
    nodes = ranked(6)
    assert ids(RankwiseLostInTheMiddle(top_n=4).postprocess_nodes(nodes)) == ["1", "3", "4", "2"]
    assert ids(RankwiseLostInTheMiddle(word_count_threshold=3).postprocess_nodes(nodes)) == ["1", "2"]


async def test_async_matches_sync() -> None:
    reorder = RankwiseLostInTheMiddle()
    assert await reorder.apostprocess_nodes(ranked(5)) == reorder.postprocess_nodes(ranked(5))
    assert RankwiseLostInTheMiddle.class_name() == "RankwiseLostInTheMiddle"


def test_bad_settings() -> None:
    with pytest.raises(ValidationError):
        RankwiseLostInTheMiddle(top_n=0)
