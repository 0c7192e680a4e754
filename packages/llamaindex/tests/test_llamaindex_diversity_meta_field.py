"""RankwiseDiversityRerank and RankwiseMetaFieldRerank: the core's MMR and metadata-field ranking, translated."""

from __future__ import annotations

import copy

import pytest
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode
from pydantic import ValidationError

from rankwise import Reranker
from rankwise.diversity import Diversifier
from rankwise.meta_field import MetaFieldRanking
from rankwise_llamaindex import RankwiseDiversityRerank, RankwiseMetaFieldRerank, RankwiseRerank

TEXTS = [
    "Cats are small domesticated felines that purr.",
    "The domestic cat is a small feline that purrs.",
    "Dogs are loyal animals that bark.",
    "Kittens are young cats.",
]


@pytest.fixture(scope="module")
def embedded() -> Reranker:
    return Reranker("embedded").load()


def test_diversity_is_the_core_mmr_order(embedded: Reranker) -> None:
    nodes = [NodeWithScore(node=TextNode(text=t, id_=str(i))) for i, t in enumerate(TEXTS)]
    post = RankwiseDiversityRerank(model=embedded, lambda_mult=0.3, top_n=3, metadata_mode=MetadataMode.NONE)
    out = post.postprocess_nodes(nodes, query_str="cats")
    core = Diversifier(embedded, lambda_mult=0.3, top_n=3).diversify("cats", TEXTS)
    assert [n.node.node_id for n in out] == [str(r.index) for r in core]
    assert all(any(n is o for o in nodes) for n in out)  # the same objects, reordered
    with pytest.raises(ValueError, match="needs a query"):
        post.postprocess_nodes(nodes)
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseDiversityRerank(top_k=2)  # type: ignore[call-arg]


def test_meta_field_is_the_core_ranking_on_copies() -> None:
    years = [2001, None, 2024, 2010]
    nodes = [
        NodeWithScore(node=TextNode(text=t, id_=str(i), metadata={"year": y, "m": [i]}), score=0.9 - 0.2 * i)
        for i, (t, y) in enumerate(zip(TEXTS, years, strict=True))
    ]
    snapshot = copy.deepcopy(nodes)
    out = RankwiseMetaFieldRerank(meta_field="year", weight=0.5).postprocess_nodes(nodes)
    core = MetaFieldRanking("year", weight=0.5).rank(nodes, years)
    assert [n.node.node_id for n in out] == [str(r.index) for r in core]
    assert [n.score for n in out] == [r.score for r in core]
    assert {n.node.metadata["score_kind"] for n in out} == {"relative"}
    out[0].node.metadata["m"].append("changed")
    assert nodes == snapshot
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseMetaFieldRerank(meta_field="year", top_k=1)  # type: ignore[call-arg]


def test_rerank_recency_diversity_chain(embedded: Reranker) -> None:
    nodes = [NodeWithScore(node=TextNode(text=t, id_=str(i), metadata={"year": 2000 + i})) for i, t in enumerate(TEXTS)]
    steps = [
        RankwiseRerank(model=embedded, top_n=None),
        RankwiseMetaFieldRerank(meta_field="year", weight=0.3, ranking_mode="linear_score"),
        RankwiseDiversityRerank(model=embedded, top_n=3),
    ]
    for step in steps:
        nodes = step.postprocess_nodes(nodes, query_str="cats")
    assert len(nodes) == 3
    assert len({n.node.node_id for n in nodes}) == 3
