"""Fallback to a local backend when an API still fails, and many concurrent async calls."""

from __future__ import annotations

import asyncio
import time

import pytest
from api_cases import FAST, documents, expected, ranking, reranker
from rerank_api_server import FakeRerankServer, Fault, free_port

from rankwise import BackendError, Reranker

ATTEMPTS = FAST["max_retries"] + 1


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["cohere", "voyage", "pinecone"])
async def test_fallback_answers_when_the_api_still_fails(kind: str, mode: str, server: FakeRerankServer) -> None:
    server.script(*[Fault.http(503)] * ATTEMPTS)
    rr = reranker(kind, server, fallback="lexical")
    docs = ["a green pear", "a red apple pie", "red apple"]
    results = rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)
    assert {r.backend for r in results} == {"lexical"}
    assert results[0].document in ("red apple", "a red apple pie")
    assert results[-1].document == "a green pear"
    assert len(server.requests) == ATTEMPTS  # the API really was tried, with retries, first

    server.reset()  # the API is back: its own scores, and .backend says so
    results = rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)
    assert {r.backend for r in results} == {rr.backends[0].name}
    assert ranking(results) == expected(kind, "red apple", docs)


def test_without_fallback_the_error_reaches_the_caller(server: FakeRerankServer) -> None:
    base = f"http://127.0.0.1:{free_port()}/cohere"
    with pytest.raises(BackendError, match=r"cohere:rerank-v3\.5") as info:
        reranker("cohere", server, base_url=base).rerank("red apple", documents(3))
    assert info.value.retryable is True


@pytest.mark.slow
def test_fallback_to_embedded(server: FakeRerankServer) -> None:
    rr = reranker("cohere", server, base_url=f"http://127.0.0.1:{free_port()}/cohere", fallback="embedded")
    docs = ["The cat sat on the mat.", "Stock markets fell sharply today.", "Kittens are young cats."]
    results = rr.rerank("Tell me about cats", docs)
    assert {r.backend for r in results} == {"embedded"}
    assert results[-1].document == "Stock markets fell sharply today."


@pytest.mark.parametrize("kind", ["jina", "cohere", "voyage"])
async def test_100_concurrent_arerank_calls_are_correct_and_concurrent(kind: str, server: FakeRerankServer) -> None:
    server.latency = 0.5  # one at a time, 100 calls would take over 50 s; overlapped, about 1 s
    rr = reranker(kind, server, timeout=10.0, backend_options={"max_retries": 0})
    queries = [f"red apple {i}" for i in range(100)]
    docs = documents(6)
    started = time.monotonic()
    results = await asyncio.gather(*(rr.arerank(q, docs) for q in queries))
    elapsed = time.monotonic() - started
    for query, got in zip(queries, results, strict=True):
        assert ranking(got) == expected(kind, query, docs)
    assert len(server.requests) == 100
    assert server.max_in_flight >= 50
    assert elapsed < 25.0, f"100 calls took {elapsed:.1f} s: they did not overlap"  # room for a loaded CI machine


async def test_split_request_runs_batches_concurrently_under_max_concurrency(server: FakeRerankServer) -> None:
    server.latency = 0.05
    rr = reranker("tei", server, max_concurrency=3)
    docs = documents(32 * 9)
    got = ranking(await rr.arerank("red apple", docs))
    assert got == expected("tei", "red apple", docs)
    assert len(server.requests) == 9
    assert server.max_in_flight == 3


def test_default_normalization_is_none_so_scores_are_the_providers(server: FakeRerankServer) -> None:
    docs = documents(4)
    rr = reranker("nvidia", server)  # NVIDIA returns logits: passed through as they are
    assert rr.backends[0].default_normalization == "none"
    assert rr.score("red apple", docs) == [s for _, s in sorted(expected("nvidia", "red apple", docs))]
    assert Reranker(rr.backends[0], normalize="sigmoid").score("red apple", docs)[0] < 1.0
