"""RankwiseDiversityRerank and RankwiseMetaFieldRerank: the core's MMR and metadata-field ranking, translated."""

from __future__ import annotations

import copy

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ValidationError

from rankwise import Reranker
from rankwise.diversity import Diversifier
from rankwise.meta_field import MetaFieldRanking
from rankwise_langchain import RankwiseDiversityRerank, RankwiseMetaFieldRerank, RankwiseRerank

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
    docs = [Document(page_content=t, id=str(i), metadata={"m": {"k": i}}) for i, t in enumerate(TEXTS)]
    out = RankwiseDiversityRerank(model=embedded, lambda_mult=0.3, top_n=3).compress_documents(docs, "cats")
    core = Diversifier(embedded, lambda_mult=0.3, top_n=3).diversify("cats", TEXTS)
    assert [d.id for d in out] == [str(r.index) for r in core]
    assert all(any(d is o for o in docs) for d in out)  # the same objects, reordered, untouched


def test_diversity_checks_its_options() -> None:
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseDiversityRerank(top_k=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RankwiseDiversityRerank(lambda_mult=1.5)
    with pytest.raises(ValidationError, match="not a bool"):
        RankwiseDiversityRerank(top_n=True)
    with pytest.raises(ValidationError, match="no-such-kind"):
        RankwiseDiversityRerank(model="no-such-kind:x")


def test_meta_field_is_the_core_ranking_on_copies() -> None:
    years = [2001, None, 2024, 2010]
    docs = [
        Document(page_content=t, id=str(i), metadata={"year": y, "relevance_score": 0.9 - 0.2 * i, "m": {"k": [i]}})
        for i, (t, y) in enumerate(zip(TEXTS, years, strict=True))
    ]
    snapshot = copy.deepcopy(docs)
    ranker = RankwiseMetaFieldRerank(meta_field="year", weight=0.5, ranking_mode="linear_score", missing_meta="top")
    out = ranker.transform_documents(docs)
    core = MetaFieldRanking("year", weight=0.5, ranking_mode="linear_score", missing="top").rank(
        docs, years, scores=[d.metadata["relevance_score"] for d in docs]
    )
    assert [d.id for d in out] == [str(r.index) for r in core] == ["1", "2", "0", "3"]
    assert [d.metadata["relevance_score"] for d in out] == [r.score for r in core]
    assert {d.metadata["relevance_score_kind"] for d in out} == {"relative"}
    out[0].metadata["m"]["k"].append("changed")
    assert docs == snapshot
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseMetaFieldRerank(meta_field="year", top_k=2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RankwiseMetaFieldRerank(meta_field="year", missing_meta="last")  # type: ignore[arg-type]


class ListRetriever(BaseRetriever):
    docs: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return list(self.docs)


def test_rerank_then_recency_then_diversity_in_a_compressor_pipeline(embedded: Reranker) -> None:
    docs = [Document(page_content=t, id=str(i), metadata={"year": 2000 + i}) for i, t in enumerate(TEXTS)]
    pipeline = DocumentCompressorPipeline(
        transformers=[
            RankwiseRerank(model=embedded, top_n=None),
            RankwiseMetaFieldRerank(meta_field="year", weight=0.3),
            RankwiseDiversityRerank(model=embedded, top_n=3),
        ]
    )
    retriever = ContextualCompressionRetriever(base_compressor=pipeline, base_retriever=ListRetriever(docs=docs))
    out = retriever.invoke("cats")
    assert len(out) == 3
    assert len({d.id for d in out}) == 3
    assert all(d.metadata["relevance_score_kind"] == "relative" for d in out)
