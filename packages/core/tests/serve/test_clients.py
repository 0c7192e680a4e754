"""Real clients against a real `rankwise serve` on 127.0.0.1: the scores are the in-process Reranker's.

The cohere SDK (v2 sync and async, v1), rankwise's own API backends (cohere:, jina:, vllm:, tei:,
infinity:) and the frameworks' native Cohere integrations (cohere-haystack here; langchain-cohere
and llama-index's Cohere postprocessor when installed, see docs/serving.md).
"""

from __future__ import annotations

import pytest
from serve_support import CORPUS

from rankwise import Reranker

QUERY = "red apple fruit"
KEY = "test-key"


@pytest.fixture
def expected(lexical_reranker: Reranker) -> list[tuple[int, float]]:
    return [(r.index, r.score) for r in lexical_reranker.rerank(QUERY, CORPUS)]


def test_cohere_client_v2_sync(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    cohere = pytest.importorskip("cohere")
    client = cohere.ClientV2(api_key=KEY, base_url=lexical_server)
    response = client.rerank(model="rerank-v3.5", query=QUERY, documents=CORPUS, top_n=4)
    assert [(r.index, r.relevance_score) for r in response.results] == expected[:4]
    assert response.meta.billed_units.search_units == 1


async def test_cohere_client_v2_async(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    cohere = pytest.importorskip("cohere")
    client = cohere.AsyncClientV2(api_key=KEY, base_url=lexical_server)
    response = await client.rerank(model="rerank-v3.5", query=QUERY, documents=CORPUS)
    assert [(r.index, r.relevance_score) for r in response.results] == expected


def test_cohere_client_v1_with_documents(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    cohere = pytest.importorskip("cohere")
    client = cohere.Client(api_key=KEY, base_url=lexical_server)
    response = client.rerank(model="rerank-english-v3.0", query=QUERY, documents=CORPUS, return_documents=True)
    assert [(r.index, r.relevance_score) for r in response.results] == expected
    assert [r.document.text for r in response.results] == [CORPUS[i] for i, _ in expected]


def test_cohere_client_errors_are_typed(lexical_server: str) -> None:
    cohere = pytest.importorskip("cohere")
    from cohere.errors import UnauthorizedError, UnprocessableEntityError

    with pytest.raises(UnauthorizedError) as unauthorized:
        cohere.ClientV2(api_key="wrong", base_url=lexical_server).rerank(model="m", query=QUERY, documents=CORPUS)
    assert "invalid api token" in str(unauthorized.value.body)
    with pytest.raises(UnprocessableEntityError):
        cohere.ClientV2(api_key=KEY, base_url=lexical_server).rerank(model="m", query=" ", documents=CORPUS)


@pytest.mark.parametrize("kind", ["cohere", "jina", "vllm", "tei", "infinity"])
def test_rankwise_api_backends(lexical_server: str, expected: list[tuple[int, float]], kind: str) -> None:
    client = Reranker(f"{kind}:served-model", base_url=lexical_server, api_key=KEY)
    results = client.rerank(QUERY, CORPUS)
    assert [(r.index, r.score) for r in results] == expected


async def test_rankwise_cohere_backend_async(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    client = Reranker("cohere:served-model", base_url=lexical_server, api_key=KEY)
    assert [(r.index, r.score) for r in await client.arerank(QUERY, CORPUS)] == expected


def test_haystack_cohere_ranker(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    pytest.importorskip("haystack_integrations.components.rankers.cohere")
    from haystack import Document
    from haystack.utils import Secret

    from haystack_integrations.components.rankers.cohere import CohereRanker

    ranker = CohereRanker(api_key=Secret.from_token(KEY), api_base_url=lexical_server, top_k=3)
    documents = [Document(content=t, id=str(i)) for i, t in enumerate(CORPUS)]
    ranked = ranker.run(query=QUERY, documents=documents)["documents"]
    assert [(int(d.id), d.score) for d in ranked] == expected[:3]


async def test_haystack_cohere_ranker_async(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    pytest.importorskip("haystack_integrations.components.rankers.cohere")
    from haystack import Document
    from haystack.utils import Secret

    from haystack_integrations.components.rankers.cohere import CohereRanker

    ranker = CohereRanker(api_key=Secret.from_token(KEY), api_base_url=lexical_server, top_k=8)
    documents = [Document(content=t, id=str(i)) for i, t in enumerate(CORPUS)]
    ranked = (await ranker.run_async(query=QUERY, documents=documents))["documents"]
    assert [(int(d.id), d.score) for d in ranked] == expected


def test_langchain_cohere_rerank(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    pytest.importorskip("langchain_cohere", reason="langchain-cohere needs cohere<6 (see docs/serving.md)")
    import cohere
    from langchain_cohere import CohereRerank
    from langchain_core.documents import Document

    reranker = CohereRerank(
        model="rerank-v3.5",
        top_n=3,
        client=cohere.ClientV2(api_key=KEY, base_url=lexical_server),
        cohere_api_key=KEY,
    )
    documents = [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(CORPUS)]
    ranked = reranker.compress_documents(documents, QUERY)
    assert [(d.metadata["i"], d.metadata["relevance_score"]) for d in ranked] == expected[:3]


def test_llamaindex_cohere_rerank(lexical_server: str, expected: list[tuple[int, float]]) -> None:
    pytest.importorskip("llama_index.postprocessor.cohere_rerank", reason="needs cohere<7 (see docs/serving.md)")
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
    from llama_index.postprocessor.cohere_rerank import CohereRerank

    reranker = CohereRerank(api_key=KEY, top_n=3, base_url=lexical_server)
    nodes = [NodeWithScore(node=TextNode(text=t, id_=str(i)), score=0.0) for i, t in enumerate(CORPUS)]
    ranked = reranker.postprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert [(int(n.node.node_id), n.score) for n in ranked] == expected[:3]
