"""LangChain end to end: a real vector-store retriever, ContextualCompressionRetriever and LCEL, sync and async."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from rankwise import Reranker, lost_in_the_middle
from rankwise_langchain import RankwiseLostInTheMiddle, RankwiseRerank

from .conftest import CORPUS, QUERY


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings over the bundled all-MiniLM-L6-v2."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.model.encode(texts, normalize_embeddings=True)]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@pytest.fixture(scope="module")
def retriever(minilm: Any) -> BaseRetriever:
    docs = [Document(page_content=text, id=doc_id, metadata=dict(meta)) for doc_id, text, meta in CORPUS]
    store = InMemoryVectorStore.from_documents(docs, MiniLMEmbeddings(minilm))
    return store.as_retriever(search_kwargs={"k": 8})


def expected(reranker: Reranker, retrieved: list[Document], top_n: int) -> list[tuple[str | None, float]]:
    """What the core alone says about the retriever's documents."""
    results = reranker.rerank(QUERY, [d.page_content for d in retrieved], top_n=top_n)
    return [(retrieved[r.index].id, r.score) for r in results]


def pairs(docs: Any) -> list[tuple[str | None, float]]:
    return [(d.id, d.metadata["relevance_score"]) for d in docs]


async def test_contextual_compression_retriever(retriever: BaseRetriever, reranker: Reranker) -> None:
    retrieved = retriever.invoke(QUERY)
    assert len(retrieved) == 8
    pipeline = ContextualCompressionRetriever(
        base_compressor=RankwiseRerank(model=reranker, top_n=4), base_retriever=retriever
    )
    out = pipeline.invoke(QUERY)
    assert pairs(out) == expected(reranker, retrieved, 4)
    meta = {doc_id: m for doc_id, _, m in CORPUS}
    for doc in out:  # text, id and metadata survive the trip; only the score and its kind are added
        assert doc.page_content == next(text for doc_id, text, _ in CORPUS if doc_id == doc.id)
        added = ("relevance_score", "relevance_score_kind")
        assert {k: v for k, v in doc.metadata.items() if k not in added} == meta[doc.id]
        assert doc.metadata["relevance_score_kind"] == reranker.rerank(QUERY, ["x"])[0].score_kind
    assert pairs(await pipeline.ainvoke(QUERY)) == pairs(out)


async def test_lcel_composition_with_lost_in_the_middle(retriever: BaseRetriever, reranker: Reranker) -> None:
    rerank = RankwiseRerank(model=reranker, top_n=5)
    reorder = RankwiseLostInTheMiddle()

    def sync_step(x: dict[str, Any]) -> list[Document]:
        return list(rerank.compress_documents(x["docs"], x["query"]))

    async def async_step(x: dict[str, Any]) -> list[Document]:
        return list(await rerank.acompress_documents(x["docs"], x["query"]))

    chain = (
        RunnableParallel(docs=retriever, query=RunnablePassthrough())
        | RunnableLambda(sync_step, afunc=async_step)
        | RunnableLambda(reorder.transform_documents, afunc=reorder.atransform_documents)
    )
    out = chain.invoke(QUERY)
    assert pairs(out) == lost_in_the_middle(expected(reranker, retriever.invoke(QUERY), 5))
    assert pairs(await chain.ainvoke(QUERY)) == pairs(out)


def test_a_spec_string_builds_its_own_reranker(retriever: BaseRetriever, spec: str, reranker: Reranker) -> None:
    pipeline = ContextualCompressionRetriever(
        base_compressor=RankwiseRerank(model=spec, top_n=3), base_retriever=retriever
    )
    out = pipeline.invoke(QUERY)
    assert pipeline.base_compressor.reranker is not reranker  # type: ignore[attr-defined]
    assert [d for d, _ in pairs(out)] == [d for d, _ in expected(reranker, retriever.invoke(QUERY), 3)]
    assert [s for _, s in pairs(out)] == pytest.approx([s for _, s in expected(reranker, retriever.invoke(QUERY), 3)])
