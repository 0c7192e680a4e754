"""RankwiseDiversityRanker and RankwiseMetaFieldRanker: the core's MMR and metadata-field ranking, translated."""

from __future__ import annotations

import copy

import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.rankers.rankwise import (
    RankwiseDiversityRanker,
    RankwiseMetaFieldRanker,
    RankwiseRanker,
)
from rankwise import Reranker
from rankwise.diversity import Diversifier
from rankwise.meta_field import MetaFieldRanking

TEXTS = [
    "Cats are small domesticated felines that purr.",
    "The domestic cat is a small feline that purrs.",
    "Dogs are loyal animals that bark.",
    "Kittens are young cats.",
]


def test_diversity_is_the_core_mmr_order() -> None:
    docs = [Document(content=t, id=str(i)) for i, t in enumerate(TEXTS)]
    ranker = RankwiseDiversityRanker(lambda_threshold=0.3, top_k=3)
    ranker.warm_up()
    out = ranker.run(query="cats", documents=docs)["documents"]
    core = Diversifier(Reranker("embedded"), lambda_mult=0.3, top_n=3).diversify("cats", TEXTS)
    assert [d.id for d in out] == [str(r.index) for r in core]
    assert all(any(d is o for o in docs) for d in out)
    relevance_only = ranker.run(query="cats", documents=docs, lambda_threshold=1.0, top_k=4)["documents"]
    assert len(relevance_only) == 4
    with pytest.raises(ValueError, match="top_k must be"):
        ranker.run(query="cats", documents=docs, top_k=0)
    with pytest.raises(ValueError, match="lambda_mult"):
        RankwiseDiversityRanker(lambda_threshold=2.0)
    with pytest.raises(ValueError, match="no-such-kind"):
        RankwiseDiversityRanker(model="no-such-kind:x")


def test_meta_field_is_the_core_ranking_on_copies() -> None:
    years = [2001, None, 2024, 2010]
    docs = [
        Document(content=t, id=str(i), meta={"year": y, "m": [i]} if y else {"m": [i]}, score=0.9 - 0.2 * i)
        for i, (t, y) in enumerate(zip(TEXTS, years, strict=True))
    ]
    snapshot = copy.deepcopy(docs)
    ranker = RankwiseMetaFieldRanker(meta_field="year", weight=0.5, ranking_mode="linear_score", missing_meta="drop")
    out = ranker.run(documents=docs)["documents"]
    core = MetaFieldRanking("year", weight=0.5, ranking_mode="linear_score", missing="drop").rank(
        docs, years, scores=[d.score for d in docs]
    )
    assert [d.id for d in out] == [str(r.index) for r in core] == ["2", "0", "3"]
    assert [d.score for d in out] == [r.score for r in core]
    assert {d.meta["score_kind"] for d in out} == {"relative"}
    out[0].meta["m"].append("changed")
    assert docs == snapshot
    assert [d.id for d in ranker.run(documents=docs, weight=1.0, top_k=1)["documents"]] == ["2"]
    with pytest.raises(ValueError, match="missing"):
        RankwiseMetaFieldRanker(meta_field="year", missing_meta="last")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_k must be"):
        RankwiseMetaFieldRanker(meta_field="year", top_k=0)


def test_a_pipeline_with_all_three_round_trips_through_yaml() -> None:
    pipeline = Pipeline()
    pipeline.add_component("rerank", RankwiseRanker(model="lexical", top_k=None))
    pipeline.add_component("recency", RankwiseMetaFieldRanker(meta_field="year", weight=0.3))
    pipeline.add_component("diversity", RankwiseDiversityRanker(top_k=3))
    pipeline.connect("rerank.documents", "recency.documents")
    pipeline.connect("recency.documents", "diversity.documents")
    again = Pipeline.loads(pipeline.dumps())
    docs = [Document(content=t, id=str(i), meta={"year": 2000 + i}) for i, t in enumerate(TEXTS)]
    inputs = {"rerank": {"query": "cats", "documents": docs}, "diversity": {"query": "cats"}}
    out = again.run(inputs)["diversity"]["documents"]
    assert [d.id for d in out] == [d.id for d in pipeline.run(inputs)["diversity"]["documents"]]
    assert len(out) == 3
