"""The retry policy itself: Retry-After honoured, the deadline respected, bad settings refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from api_cases import documents, expected, ranking, reranker
from rerank_api_server import FakeRerankServer, Fault

from rankwise import BackendError
from rankwise.retry import RemoteCallError, RetryPolicy, call_with_retry, parse_retry_after

FAMILIES = ["cohere", "voyage", "jina"]  # the two SDKs and the httpx backend


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", FAMILIES)
async def test_retry_after_is_honoured(kind: str, mode: str, server: FakeRerankServer) -> None:
    server.script(Fault.http(429, retry_after="0.3"))
    rr = reranker(kind, server)
    docs = documents(6)
    results = rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)
    assert [i for i, _ in ranking(results)] == [i for i, _ in expected(kind, "red apple", docs)]
    first, second = server.requests
    assert second.at - first.at >= 0.28  # backoff alone is ~0.01 s here: the wait came from Retry-After


@pytest.mark.parametrize("kind", FAMILIES)
def test_retry_after_past_the_deadline_fails_fast_and_retryable(kind: str, server: FakeRerankServer) -> None:
    server.script(Fault.http(429, retry_after="30"))
    rr = reranker(kind, server, backend_options={"deadline": 2.0})
    started = time.monotonic()
    with pytest.raises(BackendError, match="asked to wait 30 s") as info:
        rr.rerank("red apple", documents(4))
    assert time.monotonic() - started < 1.0
    assert info.value.retryable is True
    assert len(server.requests) == 1


@pytest.mark.parametrize("kind", FAMILIES)
def test_deadline_bounds_the_whole_call(kind: str, server: FakeRerankServer) -> None:
    server.script(*[Fault("delay", delay=1.0)] * 5)
    rr = reranker(kind, server, timeout=0.3, backend_options={"deadline": 0.5, "max_retries": 5})
    started = time.monotonic()
    with pytest.raises(BackendError, match="no response within") as info:
        rr.rerank("red apple", documents(4))
    assert time.monotonic() - started < 0.9  # 5 retries of 0.3 s would take 1.8 s
    assert info.value.retryable is True
    assert len(server.requests) == 2  # 0.3 s, then the 0.2 s left before the deadline


@pytest.mark.parametrize("kind", FAMILIES)
def test_unauthorised_is_not_retried(kind: str, server: FakeRerankServer) -> None:
    rr = reranker(kind, server, api_key="wrong-key")
    with pytest.raises(BackendError, match="HTTP 401 unauthorised") as info:
        rr.rerank("red apple", documents(4))
    assert info.value.retryable is False
    assert len(server.requests) == 1


def test_default_policy_always_has_a_timeout_and_a_deadline(server: FakeRerankServer) -> None:
    backend = reranker("jina", server, timeout=None, backend_options={"max_retries": 3, "deadline": 60}).backends[0]
    policy = backend.policy  # type: ignore[attr-defined]
    assert (policy.timeout, policy.max_attempts, policy.deadline) == (30.0, 4, 60.0)


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=8.0)
    for attempt, base in [(2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0)]:
        waits = [policy.backoff_before(attempt) for _ in range(50)]
        assert all(base <= w <= base + 0.5 for w in waits)
        assert len(set(waits)) > 1  # jittered
    assert policy.backoff_before(20) == 8.0


def test_non_retryable_error_is_raised_at_once() -> None:
    calls: list[float] = []

    def fail(timeout: float) -> None:
        calls.append(timeout)
        raise RemoteCallError("HTTP 404", retryable=False)

    with pytest.raises(BackendError, match=r"HTTP 404.*not retried"):
        call_with_retry(fail, RetryPolicy(backoff=0.0), backend="demo")
    assert len(calls) == 1


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 < (parse_retry_after(soon) or 0) <= 20
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"deadline": 0}, "positive"),
        ({"backoff": "fast"}, "backoff"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"retries": 3}, "unknown backend_options for 'jina': retries"),
    ],
)
def test_bad_retry_settings_are_refused(options: dict[str, object], message: str, server: FakeRerankServer) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        _ = reranker("jina", server, backend_options=options).backends
