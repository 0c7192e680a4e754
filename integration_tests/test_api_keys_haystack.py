"""A Haystack pipeline with a Cohere-backed RankwiseRanker: the key stays a Secret, the rerank hits a real local server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from haystack import Document, Pipeline
from haystack.utils import Secret

from haystack_integrations.components.rankers.rankwise import RankwiseRanker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages" / "core" / "tests" / "api"))
from rerank_api_server import FakeRerankServer, relevance

KEY = "co-test-SECRET-7d1e0a9b44"
QUERY = "what do cats eat"
DOCS = [
    Document(content="cats eat fish", id="a", meta={"source": "x"}),
    Document(content="dogs bark at cars", id="b"),
    Document(content="what cats eat: fish and meat", id="c"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeRerankServer]:
    with FakeRerankServer(key=KEY) as server:
        yield server


def build(server: FakeRerankServer) -> Pipeline:
    pipeline = Pipeline()
    ranker = RankwiseRanker(
        model="cohere:rerank-v3.5",
        top_k=2,
        api_key=Secret.from_env_var("COHERE_API_KEY"),
        reranker_kwargs={"base_url": server.base_url("cohere"), "timeout": 5.0},
    )
    pipeline.add_component("ranker", ranker)
    return pipeline


def test_pipeline_serialises_without_the_key_and_reranks_against_the_api(
    server: FakeRerankServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.delenv("CO_API_KEY", raising=False)
    yaml = build(server).dumps()
    assert KEY not in yaml
    assert "COHERE_API_KEY" in yaml  # the Secret is stored by the env var's name

    loaded = Pipeline.loads(yaml)
    out = loaded.run({"ranker": {"query": QUERY, "documents": DOCS}})["ranker"]["documents"]
    want = sorted(DOCS, key=lambda d: -relevance(QUERY, d.content or ""))[:2]
    assert [(d.id, d.score) for d in out] == [(d.id, relevance(QUERY, d.content or "")) for d in want]
    assert out[0].meta == {**next(d.meta for d in DOCS if d.id == out[0].id), "score_kind": "relevance"}
    assert all(d.score is None for d in DOCS)  # inputs untouched
    assert server.requests[-1].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(loaded) + str(loaded.to_dict())


async def test_run_async_uses_the_same_api(server: FakeRerankServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    ranker = build(server).get_component("ranker")
    assert isinstance(ranker, RankwiseRanker)
    out = (await ranker.run_async(query=QUERY, documents=DOCS))["documents"]
    assert [d.id for d in out] == [d.id for d in sorted(DOCS, key=lambda d: -relevance(QUERY, d.content or ""))[:2]]


def test_a_token_secret_refuses_to_serialise(server: FakeRerankServer) -> None:
    pipeline = Pipeline()
    pipeline.add_component("ranker", RankwiseRanker(model="cohere:rerank-v3.5", api_key=Secret.from_token(KEY)))
    with pytest.raises(ValueError, match=r"[Tt]oken"):
        pipeline.dumps()
