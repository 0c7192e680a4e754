"""The retry policy itself: Retry-After honoured, the deadline respected, bad settings refused.

The schedule (how many attempts, each one's timeout, each wait) is checked against a
fake clock and a recording sleep, so no assertion depends on how fast the machine is;
against the real server only what holds on any machine is asserted (request counts
the arithmetic allows, the waits the policy logged, and our own upper bound on the
deadline).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from api_cases import documents, expected, ranking, reranker
from rerank_api_server import FakeRerankServer, Fault

from rankwise import BackendError
from rankwise.backends.api.transport import status_error
from rankwise.retry import RemoteCallError, RetryPolicy, acall_with_retry, call_with_retry, parse_retry_after

FAMILIES = ["cohere", "voyage", "jina"]  # the two SDKs and the httpx backend


class FakeClock:
    """Time that moves only when told: by a scripted attempt, or by the policy's sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def timing_out(clock: FakeClock, seen: list[float]):  # type: ignore[no-untyped-def]
    """An attempt that uses its whole timeout and then fails as a timeout does."""

    def attempt(timeout: float) -> None:
        seen.append(timeout)
        clock.now += timeout
        raise RemoteCallError(f"no response within {timeout:g} s", retryable=True)

    return attempt


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_attempts_get_the_time_left_and_stop_at_the_deadline(mode: str) -> None:
    clock, seen = FakeClock(), []
    policy = RetryPolicy(timeout=0.3, deadline=0.5, max_retries=5, backoff=0.0)
    attempt = timing_out(clock, seen)

    async def aattempt(timeout: float) -> None:
        attempt(timeout)

    async def run() -> None:
        if mode == "sync":
            call_with_retry(attempt, policy, backend="demo", clock=clock, sleep=clock.sleep)
        else:
            await acall_with_retry(aattempt, policy, backend="demo", clock=clock, sleep=clock.asleep)

    with pytest.raises(BackendError, match=r"gave up after 2 attempts in 0\.50 s") as info:
        await run()
    assert seen == pytest.approx([0.3, 0.2])  # 5 retries of 0.3 s would take 1.8 s: the deadline cut them
    assert clock.sleeps == [0.0]
    assert info.value.retryable is True


def test_retry_after_sets_the_wait_and_a_wait_past_the_deadline_is_not_started() -> None:
    clock = FakeClock()
    answers: list[RemoteCallError | str] = [RemoteCallError("HTTP 429", retryable=True, retry_after=2.5), "ok"]

    def attempt(timeout: float) -> str:
        answer = answers.pop(0)
        if isinstance(answer, RemoteCallError):
            raise answer
        return answer

    policy = RetryPolicy(backoff=0.001, max_backoff=0.01, deadline=10.0)
    assert call_with_retry(attempt, policy, backend="demo", clock=clock, sleep=clock.sleep) == "ok"
    assert clock.sleeps == [2.5]

    clock, calls = FakeClock(), []

    def limited(timeout: float) -> None:
        calls.append(timeout)
        raise RemoteCallError("HTTP 429", retryable=True, retry_after=3600.0)

    with pytest.raises(BackendError, match="asked to wait 3600 s, past the 10 s deadline") as info:
        call_with_retry(limited, policy, backend="demo", clock=clock, sleep=clock.sleep)
    assert (len(calls), clock.sleeps, info.value.retryable) == (1, [], True)


def test_409_is_retried_like_408_and_429() -> None:
    assert [status_error(s, {}, "").retryable for s in (408, 409, 429, 500, 503)] == [True] * 5
    assert [status_error(s, {}, "").retryable for s in (400, 401, 403, 404, 422)] == [False] * 5
    assert status_error(429, {"retry-after-ms": "1500", "Retry-After": "9"}, "").retry_after == 1.5


def logged_waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [float(m) for m in re.findall(r"retrying in ([0-9.]+) s", caplog.text)]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", FAMILIES)
async def test_retry_after_is_honoured(
    kind: str, mode: str, server: FakeRerankServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rankwise.retry")
    server.script(Fault.http(429, retry_after="0.3"))
    rr = reranker(kind, server)
    docs = documents(6)
    results = rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)
    assert [i for i, _ in ranking(results)] == [i for i, _ in expected(kind, "red apple", docs)]
    assert len(server.requests) == 2
    assert logged_waits(caplog) == [0.3]  # backoff alone is ~0.01 s here: the wait came from Retry-After


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", FAMILIES)
async def test_409_is_retried(kind: str, mode: str, server: FakeRerankServer) -> None:
    server.script(Fault.http(409))
    rr = reranker(kind, server)
    docs = documents(5)
    results = rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)
    assert ranking(results) == expected(kind, "red apple", docs)
    assert [s.fault for s in server.requests] == ["status", None]


@pytest.mark.parametrize("kind", FAMILIES)
def test_retry_after_past_the_deadline_fails_fast_and_retryable(kind: str, server: FakeRerankServer) -> None:
    server.script(Fault.http(429, retry_after="30"))
    rr = reranker(kind, server, backend_options={"deadline": 2.0})
    with pytest.raises(BackendError, match="asked to wait 30 s") as info:
        rr.rerank("red apple", documents(4))
    assert info.value.retryable is True
    assert len(server.requests) == 1


@pytest.mark.parametrize("kind", FAMILIES)
def test_deadline_bounds_the_whole_call(kind: str, server: FakeRerankServer) -> None:
    server.script(*[Fault("delay", delay=1.0)] * 5)
    deadline = 0.5
    rr = reranker(kind, server, timeout=0.3, backend_options={"deadline": deadline, "max_retries": 5})
    started = time.monotonic()
    with pytest.raises(BackendError, match="no response within") as info:
        rr.rerank("red apple", documents(4))
    assert time.monotonic() - started < deadline + 0.5  # our own bound: 5 retries of 0.3 s would take 1.8 s
    assert info.value.retryable is True
    # 0.3 s, then at most the 0.2 s left (a loaded machine may leave no time for a second one);
    # the exact schedule is test_attempts_get_the_time_left_and_stop_at_the_deadline's
    assert 1 <= len(server.requests) <= 2


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
