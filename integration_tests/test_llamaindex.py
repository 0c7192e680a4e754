"""LlamaIndex end to end: VectorStoreIndex + retriever in a RetrieverQueryEngine with MockLLM, query and aquery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

from rankwise import Reranker, lost_in_the_middle
from rankwise_llamaindex import RankwiseLostInTheMiddle, RankwiseRerank

from .conftest import CORPUS, QUERY


class MiniLMEmbedding(BaseEmbedding):
    """A LlamaIndex embedding over the bundled all-MiniLM-L6-v2."""

    _model: Any = PrivateAttr()

    def __init__(self, model: Any) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2")
        self._model = model

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self._model.encode(text, normalize_embeddings=True)]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)


class RerankEventNames(BaseEventHandler):
    """Names of the rerank events the instrumentation dispatcher delivers."""

    names: list[str] = Field(default_factory=list)

    def handle(self, event: Any, **kwargs: Any) -> None:
        if event.class_name().startswith("ReRank"):
            self.names.append(event.class_name())


@pytest.fixture
def rerank_events() -> Iterator[RerankEventNames]:
    handler = RerankEventNames()
    get_dispatcher().add_event_handler(handler)
    yield handler
    get_dispatcher().event_handlers.remove(handler)


@pytest.fixture(scope="module")
def retriever(minilm: Any) -> BaseRetriever:
    nodes = [TextNode(text=text, id_=doc_id, metadata=dict(meta)) for doc_id, text, meta in CORPUS]
    index = VectorStoreIndex(nodes=nodes, embed_model=MiniLMEmbedding(minilm))
    return index.as_retriever(similarity_top_k=8)


def expected(reranker: Reranker, retrieved: list[NodeWithScore], top_n: int) -> list[tuple[str, float]]:
    """The core alone on the retriever's nodes: EMBED-mode text, retrieval scores as first-stage scores unless
    the reranker is calibrated (a vector store's cosine is not the BM25 scale a calibration was fitted on)."""
    texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in retrieved]
    scores = [float(n.score or 0.0) for n in retrieved]
    first_stage = None if reranker.calibration is not None else scores
    results = reranker.rerank(QUERY, texts, top_n=top_n, first_stage_scores=first_stage)
    return [(retrieved[r.index].node.node_id, r.score) for r in results]


def pairs(nodes: list[NodeWithScore]) -> list[tuple[str, float]]:
    return [(n.node.node_id, n.score) for n in nodes]  # type: ignore[misc]


async def test_query_engine_sync_and_async(
    retriever: BaseRetriever, reranker: Reranker, rerank_events: RerankEventNames
) -> None:
    retrieved = retriever.retrieve(QUERY)
    assert len(retrieved) == 8
    assert all(n.score is not None for n in retrieved)
    engine = RetrieverQueryEngine.from_args(
        retriever,
        llm=MockLLM(),
        node_postprocessors=[RankwiseRerank(model=reranker, top_n=5), RankwiseLostInTheMiddle()],
    )
    response = engine.query(QUERY)
    assert pairs(response.source_nodes) == lost_in_the_middle(expected(reranker, retrieved, 5))
    assert all(type(n.score) is float for n in response.source_nodes)
    for node in response.source_nodes:  # copies of the index's nodes: text, id, metadata, plus the score's kind
        metadata = {k: v for k, v in node.node.metadata.items() if k != "score_kind"}
        assert metadata == next(m for doc_id, _, m in CORPUS if doc_id == node.node.node_id)
        assert node.node.metadata["score_kind"] == reranker.rerank(QUERY, ["x"])[0].score_kind
    assert rerank_events.names == ["ReRankStartEvent", "ReRankEndEvent"]

    again = await engine.aquery(QUERY)
    assert pairs(again.source_nodes) == pairs(response.source_nodes)
    assert rerank_events.names == ["ReRankStartEvent", "ReRankEndEvent"] * 2
    assert str(again) == str(response)  # MockLLM echoes the prompt: the same context reached the LLM


def test_a_spec_string_builds_its_own_reranker(retriever: BaseRetriever, spec: str, reranker: Reranker) -> None:
    rerank = RankwiseRerank(model=spec, top_n=3, keep_retrieval_score=True)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(), node_postprocessors=[rerank])
    nodes = engine.query(QUERY).source_nodes
    want = expected(reranker, retriever.retrieve(QUERY), 3)
    assert rerank.reranker is not reranker
    assert [doc_id for doc_id, _ in pairs(nodes)] == [doc_id for doc_id, _ in want]
    assert [score for _, score in pairs(nodes)] == pytest.approx([score for _, score in want])
    assert all(isinstance(n.node.metadata["retrieval_score"], float) for n in nodes)
