"""One retry policy for every remote backend: bounded attempts, backoff with jitter, a total deadline.

A backend turns each failed attempt into a `RemoteCallError` that says whether the
failure is transient (HTTP 408/429/5xx, a timeout, a refused or dropped connection)
and, for a 429/503, how long the server asked us to wait (``Retry-After``).
`call_with_retry` / `acall_with_retry` retry transient failures with exponential
backoff plus jitter, never sleep past the total deadline, never retry other
errors, and turn the final failure into a `rankwise.errors.BackendError` whose
``retryable`` flag says whether trying again later could help. tenacity runs the
loop; the policy is what rankwise decides, once, for every provider.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from rankwise._optional import require
from rankwise.errors import BackendError

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")
logger = logging.getLogger("rankwise.retry")

#: ``backend_options`` keys every remote backend reads for its retry policy.
RETRY_OPTIONS = ("max_retries", "backoff", "max_backoff", "deadline")


class RemoteCallError(Exception):
    """One failed attempt at a remote call, classified for the retry loop.

    >>> RemoteCallError("HTTP 503", retryable=True, retry_after=2.0).retry_after
    2.0
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How a remote backend times out and retries.

    ``timeout`` bounds each attempt (seconds); ``max_retries`` extra attempts follow a
    transient failure, waiting ``backoff * 2**n`` seconds plus up to ``backoff`` of
    jitter, at most ``max_backoff``, and at least what ``Retry-After`` asked for.
    ``deadline`` bounds the whole call, attempts and waits together: a wait that
    would cross it is not started.

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

    def _tenacity(self, backend: str) -> dict[str, Any]:
        tenacity = _tenacity()

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            asked = exc.retry_after if isinstance(exc, RemoteCallError) and exc.retry_after is not None else 0.0
            return max(self.backoff_before(state.attempt_number + 1), asked)

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            sleep = state.next_action.sleep if state.next_action is not None else 0.0
            logger.info("%s: attempt %d failed (%s); retrying in %.3f s", backend, state.attempt_number, exc, sleep)

        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_before_delay(self.deadline),
            "wait": wait,
            "retry": tenacity.retry_if_exception(lambda e: isinstance(e, RemoteCallError) and e.retryable),
            "before_sleep": log_retry,
            "reraise": True,
        }

    def backoff_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2, 3, …): exponential, plus up to ``backoff`` of jitter, capped."""
        exponential = self.backoff * 2.0 ** min(attempt - 2, 30)
        return min(exponential + random.uniform(0.0, self.backoff), self.max_backoff)

    def attempt_timeout(self, started: float) -> float:
        """This attempt's timeout: ``timeout``, or less when the deadline is nearer."""
        left = self.deadline - (time.monotonic() - started)
        return float(max(0.001, min(self.timeout, left)))

    def final_error(self, exc: RemoteCallError, backend: str, attempts: int, started: float) -> BackendError:
        elapsed = time.monotonic() - started
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


def call_with_retry(fn: Callable[[float], T], policy: RetryPolicy, *, backend: str) -> T:
    """Run ``fn(timeout)`` under ``policy``; raise `BackendError` after the final failure.

    >>> call_with_retry(lambda timeout: timeout, RetryPolicy(timeout=3), backend="demo")
    3.0
    """
    started = time.monotonic()
    retrying = _tenacity().Retrying(**policy._tenacity(backend))
    try:
        for attempt in retrying:
            with attempt:
                return fn(policy.attempt_timeout(started))
    except RemoteCallError as exc:
        raise policy.final_error(exc, backend, retrying.statistics.get("attempt_number", 1), started) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


async def acall_with_retry(fn: Callable[[float], Awaitable[T]], policy: RetryPolicy, *, backend: str) -> T:
    """Async `call_with_retry`: waits with ``asyncio.sleep``, so other calls proceed meanwhile."""
    started = time.monotonic()
    retrying = _tenacity().AsyncRetrying(**policy._tenacity(backend))
    try:
        async for attempt in retrying:
            with attempt:
                return await fn(policy.attempt_timeout(started))
    except RemoteCallError as exc:
        raise policy.final_error(exc, backend, retrying.statistics.get("attempt_number", 1), started) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def _tenacity() -> ModuleType:
    return require("tenacity", extra="http", purpose="retrying rerank API calls")


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


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value, matched case-insensitively (SDKs hand headers over as plain dicts)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return None
