"""One retry policy for every remote backend: bounded attempts, backoff with jitter, a total deadline that holds.

A backend turns each failed attempt into a `RemoteCallError` that says whether the
failure is transient (HTTP 408/409/429/5xx, a timeout, a refused or dropped
connection) and, for a 429/503, how long the server asked us to wait
(``Retry-After``). `call_with_retry` / `acall_with_retry` retry transient failures
with exponential backoff plus jitter, never sleep past the total deadline, never
retry other errors, and turn the final failure into a `rankwise.errors.BackendError`
whose ``retryable`` flag says whether trying again later could help.

The deadline is enforced here, not delegated to a client library's timeouts: an
HTTP client's timeout is per read, so a server that sends one byte now and then
keeps it waiting forever. Each attempt runs under a hard limit of the time left
before the deadline: sync attempts in a worker thread the caller stops waiting for
(then `Attempt.abort` closes what the attempt registered), async attempts under
``asyncio.timeout``. The clock and the sleep are injectable, so tests decide time.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from rankwise.errors import BackendError

T = TypeVar("T")
logger = logging.getLogger("rankwise.retry")

#: ``backend_options`` keys every remote backend reads for its retry policy.
RETRY_OPTIONS = ("max_retries", "backoff", "max_backoff", "deadline")

#: Status codes worth retrying besides every 5xx: request timeout, conflict, rate limit. 409 is
#: included because the official SDKs rankwise wraps (cohere's and openai's) both retry it: these
#: services answer 409 for a transient lock or concurrent-update conflict that a resend resolves,
#: and reranking is idempotent, so resending is always safe.
RETRYABLE_STATUS = frozenset({408, 409, 429})

Clock = Callable[[], float]


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is transient (`RETRYABLE_STATUS` or any 5xx).

    >>> [is_retryable_status(s) for s in (400, 409, 429, 503)]
    [False, True, True, True]
    """
    return status in RETRYABLE_STATUS or status >= 500


class RemoteCallError(Exception):
    """One failed attempt at a remote call, classified for the retry loop.

    >>> RemoteCallError("HTTP 503", retryable=True, retry_after=2.0).retry_after
    2.0
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Attempt:
    """One attempt of a remote call: its number, its limits, and what to close if it overruns.

    ``timeout`` is what the client library is given (connect, each read);
    ``limit`` is the hard bound on the whole attempt (the time left before the
    deadline). Code running inside an attempt finds it with `current_attempt` and
    registers, with `on_abort`, how to stop what it started (close a client, shut
    a socket); the sync watchdog calls `abort` when the attempt outlives ``limit``.

    >>> attempt = Attempt(1, timeout=2.0, limit=5.0)
    >>> attempt.on_abort(lambda: print("closed"))
    >>> attempt.abort()
    closed
    >>> attempt.aborted
    True
    """

    def __init__(self, number: int, *, timeout: float, limit: float) -> None:
        self.number = number
        self.timeout = timeout
        self.limit = limit
        self._closers: list[Callable[[], object]] = []
        self._aborted = False
        self._lock = threading.Lock()

    @property
    def aborted(self) -> bool:
        return self._aborted

    def on_abort(self, close: Callable[[], object]) -> None:
        """Call ``close`` if this attempt is abandoned (at once, if it already was)."""
        with self._lock:
            if not self._aborted:
                self._closers.append(close)
                return
        _quietly(close)

    def abort(self) -> None:
        """Stop what the attempt registered; idempotent. Failures to close are logged, never raised."""
        with self._lock:
            if self._aborted:
                return
            self._aborted = True
            closers, self._closers = self._closers, []
        for close in closers:
            _quietly(close)


def _quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception as exc:  # closing a half-dead connection may fail; the caller has moved on
        logger.debug("closing an abandoned attempt failed: %s: %s", type(exc).__name__, exc)


_CURRENT: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar("rankwise_attempt", default=None)


def current_attempt() -> Attempt | None:
    """The `Attempt` the calling code runs in, if any (a transport registers its closers with it)."""
    return _CURRENT.get()


@dataclass(frozen=True)
class RetryPolicy:
    """How a remote backend times out and retries.

    ``timeout`` is each attempt's client timeout (seconds to connect, and between
    bytes of the answer); ``max_retries`` extra attempts follow a transient
    failure, waiting ``backoff * 2**n`` seconds plus up to ``backoff`` of jitter,
    at most ``max_backoff``, and at least what ``Retry-After`` asked for.
    ``deadline`` bounds the whole call, attempts and waits together, whatever the
    server does: an attempt still running at the deadline is stopped, and a wait
    that would cross it is not started.

    >>> p = RetryPolicy.from_options({"max_retries": 1, "backoff": 0.01}, timeout=5)
    >>> (p.max_attempts, p.timeout, p.deadline)
    (2, 5.0, 60.0)
    """

    timeout: float = 30.0
    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 60.0

    def __post_init__(self) -> None:
        for name in ("timeout", "backoff", "max_backoff", "deadline"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
        if self.timeout <= 0 or self.deadline <= 0:
            raise ValueError(f"timeout and deadline must be positive, got {self.timeout!r} and {self.deadline!r}")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {self.max_retries!r}")

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, timeout: float | None = None) -> RetryPolicy:
        """Read the retry keys of ``backend_options`` (others are ignored here)."""
        values: dict[str, Any] = {k: options[k] for k in RETRY_OPTIONS if k in options}
        if timeout is not None:
            values["timeout"] = timeout
        policy = cls(**values)
        # normalise ints to floats so reprs and serialised configs are stable
        return cls(
            timeout=float(policy.timeout),
            max_retries=policy.max_retries,
            backoff=float(policy.backoff),
            max_backoff=float(policy.max_backoff),
            deadline=float(policy.deadline),
        )

    def backoff_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2, 3, …): exponential, plus up to ``backoff`` of jitter, capped."""
        exponential = self.backoff * 2.0 ** min(attempt - 2, 30)
        return min(exponential + random.uniform(0.0, self.backoff), self.max_backoff)

    def final_error(self, exc: RemoteCallError, backend: str, attempts: int, elapsed: float) -> BackendError:
        if exc.retryable:
            why = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''} in {elapsed:.2f} s"
            if exc.retry_after is not None and attempts < self.max_attempts:
                why += f" (the server asked to wait {exc.retry_after:g} s, past the {self.deadline:g} s deadline)"
            hint = "the service is unavailable or rate-limited; try later, raise deadline/max_retries, or set fallback="
        else:
            why, hint = (
                "not retried",
                "this is not a transient failure; check the request, model name, key and base_url",
            )
        return BackendError(f"{backend}: {exc} — {why}; {hint}", backend=backend, retryable=exc.retryable)


class _Run:
    """The bookkeeping of one call under a policy, shared by the sync and async loops."""

    def __init__(self, policy: RetryPolicy, backend: str, clock: Clock) -> None:
        self.policy = policy
        self.backend = backend
        self.clock = clock
        self.started = clock()
        self.attempts = 0

    def next_attempt(self) -> Attempt:
        self.attempts += 1
        left = float(max(0.001, self.policy.deadline - (self.clock() - self.started)))
        return Attempt(self.attempts, timeout=min(float(self.policy.timeout), left), limit=left)

    def wait_after(self, exc: RemoteCallError) -> float:
        """Seconds to wait before the next attempt; raises the final `BackendError` when there is none."""
        policy = self.policy
        if exc.retryable and self.attempts < policy.max_attempts:
            wait = max(policy.backoff_before(self.attempts + 1), exc.retry_after or 0.0)
            if self.clock() - self.started + wait < policy.deadline:
                logger.info("%s: attempt %d failed (%s); retrying in %.3f s", self.backend, self.attempts, exc, wait)
                return wait
        raise policy.final_error(exc, self.backend, self.attempts, self.clock() - self.started)


def call_with_retry(
    fn: Callable[[float], T],
    policy: RetryPolicy,
    *,
    backend: str,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Run ``fn(timeout)`` under ``policy``; raise `BackendError` after the final failure.

    Each attempt runs in a worker thread and is given up on at the deadline,
    whatever the server does; ``clock`` and ``sleep`` decide the retry schedule.

    >>> call_with_retry(lambda timeout: timeout, RetryPolicy(timeout=3), backend="demo")
    3.0
    """
    run = _Run(policy, backend, clock)
    while True:
        attempt = run.next_attempt()
        try:
            return _bounded(fn, attempt, policy)
        except RemoteCallError as exc:
            error = exc
        sleep(run.wait_after(error))


async def acall_with_retry(
    fn: Callable[[float], Awaitable[T]],
    policy: RetryPolicy,
    *,
    backend: str,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Async `call_with_retry`: each attempt under ``asyncio.timeout`` (the time left); waits let others proceed."""
    run = _Run(policy, backend, clock)
    while True:
        attempt = run.next_attempt()
        scope = asyncio.timeout(attempt.limit)
        try:
            async with scope:
                return await fn(attempt.timeout)
        except TimeoutError:
            if not scope.expired():  # not the deadline's: fn's own
                raise
            error = _overran(attempt, policy)
        except RemoteCallError as exc:
            error = exc
        await sleep(run.wait_after(error))


def _overran(attempt: Attempt, policy: RetryPolicy) -> RemoteCallError:
    return RemoteCallError(
        f"no response within the {policy.deadline:g} s deadline (attempt {attempt.number} was stopped "
        f"after {attempt.limit:.2f} s)",
        retryable=True,
    )


def _bounded(fn: Callable[[float], T], attempt: Attempt, policy: RetryPolicy) -> T:
    """``fn(attempt.timeout)`` in a worker thread; after ``attempt.limit`` stop waiting and abort it."""
    outcome: list[Any] = []
    done = threading.Event()
    context = contextvars.copy_context()  # the caller's context (tracing spans...) plus this attempt
    context.run(_CURRENT.set, attempt)

    def work() -> None:
        try:
            outcome.append((True, context.run(fn, attempt.timeout)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=work, name=f"rankwise-attempt-{attempt.number}", daemon=True).start()
    try:
        finished = done.wait(attempt.limit)
    except BaseException:  # KeyboardInterrupt while waiting: nobody will read the answer
        attempt.abort()
        raise
    if not finished:  # closing may block on the worker's locks: the caller does not wait for it
        threading.Thread(target=attempt.abort, name="rankwise-abort", daemon=True).start()
        raise _overran(attempt, policy)
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or unreadable.

    >>> parse_retry_after("2"), parse_retry_after("0.5"), parse_retry_after("soon")
    (2.0, 0.5, None)
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` (as cohere's and openai's SDKs read it), else ``Retry-After``.

    >>> retry_after({"Retry-After": "3"}), retry_after({"retry-after-ms": "250"}), retry_after({})
    (3.0, 0.25, None)
    """
    milliseconds = header(headers, "retry-after-ms")
    if milliseconds is not None:
        try:
            value = float(milliseconds)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value / 1000.0
    return parse_retry_after(header(headers, "Retry-After"))


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value, matched case-insensitively (SDKs hand headers over as plain dicts)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return None
