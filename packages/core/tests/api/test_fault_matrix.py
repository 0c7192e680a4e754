"""Every API backend × every fault, sync and async, against a real local server speaking the provider's format.

Documented outcomes (docs/providers/index.md):
- 429 (Retry-After), 500, 503, a timeout, a dropped connection: retried, then the right ranking.
- malformed JSON, an out-of-range / duplicated / missing index, a 400: a clear BackendError, not retried.
- connection refused, or a 5xx that never stops: BackendError(retryable=True) after the bounded attempts.
- more documents than the provider's cap: split into capped requests and merged into one ranking.
"""

from __future__ import annotations

import math

import pytest
from api_cases import FAST, KINDS, TIMEOUT, cap, documents, expected, ranking, reranker
from rerank_api_server import FakeRerankServer, Fault, free_port

from rankwise import BackendError, Reranker

QUERY = "red apple"
ATTEMPTS = FAST["max_retries"] + 1

RECOVERS = {
    "429": Fault.http(429, retry_after="0"),
    "500": Fault.http(500),
    "503": Fault.http(503, retry_after="0"),
    "timeout": Fault("delay", delay=TIMEOUT * 3),
    "dropped": Fault("drop"),
}
REFUSED_ANSWERS = {
    "malformed": (Fault("malformed"), "malformed response"),
    "out-of-range": (Fault("bad_index"), "outside the"),
    "duplicate": (Fault("dup_index"), "twice"),
    "missing": (Fault("missing_index"), "missing indices"),
    "400": (Fault.http(400), "HTTP 400"),
}


async def run(rr: Reranker, mode: str, docs: list[str], query: str = QUERY) -> list[tuple[int, float]]:
    results = rr.rerank(query, docs) if mode == "sync" else await rr.arerank(query, docs)
    assert all(r.document is docs[r.index] for r in results)
    got: list[tuple[int, float]] = ranking(results)
    return got


def assert_same_ranking(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    assert all(math.isclose(g, w, rel_tol=1e-9) for (_, g), (_, w) in zip(got, want, strict=True))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("fault", list(RECOVERS))
@pytest.mark.parametrize("kind", KINDS)
async def test_transient_fault_is_retried_and_the_ranking_is_right(
    kind: str, fault: str, mode: str, server: FakeRerankServer
) -> None:
    docs = documents(8)  # one request for every provider
    server.script(RECOVERS[fault])
    got = await run(reranker(kind, server), mode, docs)
    assert_same_ranking(got, expected(kind, QUERY, docs))
    assert [s.fault for s in server.requests] == [RECOVERS[fault].kind, None]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("fault", list(REFUSED_ANSWERS))
@pytest.mark.parametrize("kind", KINDS)
async def test_bad_answer_is_a_clear_error_and_not_retried(
    kind: str, fault: str, mode: str, server: FakeRerankServer
) -> None:
    scripted, message = REFUSED_ANSWERS[fault]
    server.script(scripted)
    with pytest.raises(BackendError, match=message) as info:
        await run(reranker(kind, server), mode, documents(8))
    assert info.value.retryable is False
    assert info.value.backend == reranker(kind, server).backends[0].name
    assert "not retried" in str(info.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
async def test_connection_refused_gives_up_after_bounded_attempts(
    kind: str, mode: str, server: FakeRerankServer
) -> None:
    base = server.base_url(kind).replace(server.url, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendError, match="connection failed") as info:
        await run(reranker(kind, server, base_url=base), mode, documents(5))
    assert info.value.retryable is True
    assert f"gave up after {ATTEMPTS} attempts" in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
async def test_persistent_server_error_is_retryable_after_bounded_attempts(
    kind: str, mode: str, server: FakeRerankServer
) -> None:
    server.script(*[Fault.http(503)] * (ATTEMPTS + 2))
    with pytest.raises(BackendError, match="HTTP 503") as info:
        await run(reranker(kind, server), mode, documents(5))
    assert info.value.retryable is True
    assert len(server.requests) == ATTEMPTS  # bounded, and the SDKs added no retries of their own


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
async def test_over_cap_request_is_split_and_merged(kind: str, mode: str, server: FakeRerankServer) -> None:
    limit = cap(kind)
    docs = documents(limit + 5)
    got = await run(reranker(kind, server), mode, docs)
    assert_same_ranking(got, expected(kind, QUERY, docs))
    sizes = sorted(len(s.documents) for s in server.requests)
    assert sizes == [5, limit]
    assert sorted(d for s in server.requests for d in s.documents) == sorted(docs)  # nothing cut, nothing twice
