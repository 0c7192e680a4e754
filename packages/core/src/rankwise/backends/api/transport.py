"""How every remote backend talks to its server: clients, one error ladder, and keys kept out of logs.

- `PerLoop`: one async client per event loop (httpx/SDK async clients must not cross loops).
- `ClientPool`: sync clients leased one per attempt in flight, so the watchdog of
  `rankwise.retry` can close the client of an attempt it gave up on without
  touching the others.
- `ErrorLadder`: the one order in which a client library's exceptions are classified:
  an HTTP status → `status_error` (transient or not); a timeout → retryable; a
  transport error → retryable; an unreadable answer → `malformed`, not retried.
- `redacted` and `protect_key`: a key a server echoes never reaches an exception
  (message or chain) or a log record of the SDKs' loggers.

Used by the rerank-API backends (`rankwise.backends.api`) and the chat LLM client
(`rankwise.backends.llm.chat_llm`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from rankwise.retry import RemoteCallError, current_attempt, is_retryable_status, retry_after

C = TypeVar("C")
T = TypeVar("T")

#: The loggers (by exact name: a filter does not see its children's records) of the client
#: libraries the remote backends use; `protect_key` filters each.
SDK_LOGGERS = (
    "voyage",
    "cohere.client",
    "fern",
    "openai",
    "openai._base_client",
    "openai._response",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.proxy",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.util.retry",
    "aiohttp.client",
    "aiohttp.internal",
    "rankwise.retry",
)


class PerLoop(Generic[C]):
    """One async client per event loop: httpx/SDK async clients must not cross loops.

    >>> clients = PerLoop(lambda: object())
    >>> asyncio.run(_same_twice(clients))
    True
    """

    def __init__(self, make: Callable[[], C]) -> None:
        self._make = make
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, C] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self) -> C:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = self._make()
            return client


async def _same_twice(clients: PerLoop[Any]) -> bool:
    return clients.get() is clients.get()


class ClientPool(Generic[C]):
    """Sync clients, one per attempt in flight; an abandoned attempt's client is closed, never reused.

    Clients (and their pooled connections) are reused by later attempts. When the
    retry watchdog gives up on an attempt, `rankwise.retry.Attempt.abort` closes
    that attempt's client, which ends its connection, and the pool forgets it.

    >>> pool = ClientPool(lambda: [], close=lambda client: None)
    >>> with pool.lease() as a:
    ...     pass
    >>> with pool.lease() as b:
    ...     b is a
    True
    """

    def __init__(self, make: Callable[[], C], *, close: Callable[[C], object]) -> None:
        self._make = make
        self._close = close
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def lease(self) -> Iterator[C]:
        with self._lock:
            client = self._idle.pop() if self._idle else None
        if client is None:
            client = self._make()
        state = _Lease()
        attempt = current_attempt()
        if attempt is not None:
            attempt.on_abort(lambda: state.discard(lambda: self._close(client)))
        try:
            yield client
        finally:
            if state.give_back():
                with self._lock:
                    keep = not self._closed
                    if keep:
                        self._idle.append(client)
                if not keep:
                    self._close(client)

    def close(self) -> None:
        """Close the idle clients; clients in use are closed when their lease ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for client in idle:
            self._close(client)


class _Lease:
    """Whether a leased client went back to the pool or was closed by an abort: exactly one of the two."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._over = False
        self._lost = False

    def discard(self, close: Callable[[], object]) -> None:
        with self._lock:
            if self._over:
                return
            self._lost = True
        close()

    def give_back(self) -> bool:
        with self._lock:
            self._over = True
            return not self._lost


class HttpStatus(NamedTuple):
    """The HTTP answer an exception carries: status, headers, body."""

    status: int
    headers: Mapping[str, Any] | None
    body: object


def _no_status(exc: BaseException) -> HttpStatus | None:
    return None


@dataclass(frozen=True)
class ErrorLadder:
    """How one client library's exceptions become `RemoteCallError`s, in the order every backend uses.

    >>> ladder = ErrorLadder(timeouts=(TimeoutError,), transport=(ConnectionError,))
    >>> ladder.classify(ConnectionResetError("reset"), 2.0).retryable
    True
    >>> ladder.classify(ValueError("bad JSON"), 2.0)
    RemoteCallError('malformed response: ValueError: bad JSON')
    """

    timeouts: tuple[type[BaseException], ...] = ()
    transport: tuple[type[BaseException], ...] = ()
    status: Callable[[BaseException], HttpStatus | None] = _no_status
    malformed: tuple[type[BaseException], ...] = (AttributeError, TypeError, ValueError, KeyError)

    def classify(self, exc: BaseException, timeout: float) -> RemoteCallError:
        if isinstance(exc, RemoteCallError):
            return exc
        answer = self.status(exc)
        if answer is not None:
            if 200 <= answer.status < 300:  # the client could not decode a success body
                return malformed(f"not JSON: {answer.body}")
            return status_error(answer.status, answer.headers, answer.body)
        if isinstance(exc, self.timeouts):
            return RemoteCallError(f"no response within {timeout:g} s ({type(exc).__name__})", retryable=True)
        if isinstance(exc, self.transport):  # refused, reset, dropped mid-response
            return RemoteCallError(f"connection failed ({type(exc).__name__}: {short(exc)})", retryable=True)
        if isinstance(exc, self.malformed):
            return malformed(f"{type(exc).__name__}: {exc}")
        return RemoteCallError(f"{type(exc).__name__}: {short(exc)}", retryable=False)


def guarded(send: Callable[[], T], failure: Callable[[Exception], RemoteCallError]) -> T:
    """``send()``, or ``failure(exc)`` raised in its place, outside the ``except`` block (so with no chain).

    >>> guarded(lambda: 1 / 0, lambda exc: RemoteCallError("boom", retryable=False))
    Traceback (most recent call last):
    ...
    rankwise.retry.RemoteCallError: boom
    """
    try:
        return send()
    except Exception as exc:
        error = failure(exc)
    raise error


async def aguarded(send: Callable[[], Awaitable[T]], failure: Callable[[Exception], RemoteCallError]) -> T:
    """Async `guarded`."""
    try:
        return await send()
    except Exception as exc:
        error = failure(exc)
    raise error


def status_error(status: int, headers: Mapping[str, Any] | None, body: object) -> RemoteCallError:
    """Classify an HTTP error status: `rankwise.retry.is_retryable_status` ones honour ``Retry-After``.

    >>> status_error(429, {"Retry-After": "2"}, "slow down").retry_after
    2.0
    >>> status_error(401, {}, "no").retryable
    False
    """
    retryable = is_retryable_status(status)
    what = {401: "unauthorised (check the API key)", 403: "forbidden (check the API key's permissions)"}.get(
        status, "rate-limited" if status == 429 else "server error" if status >= 500 else "request rejected"
    )
    return RemoteCallError(
        f"HTTP {status} {what}: {short(body)}",
        retryable=retryable,
        retry_after=retry_after(headers) if retryable else None,
    )


def malformed(what: str) -> RemoteCallError:
    """A response the provider should never send (not JSON, wrong shape): reported, not retried."""
    return RemoteCallError(f"malformed response: {short(what)}", retryable=False)


def short(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "…"


def redacted(exc: RemoteCallError, key: str | None) -> RemoteCallError:
    """A fresh copy of ``exc`` with ``key`` masked and no exception chain (the chain may hold the key).

    Raise it outside the ``except`` block that caught the original, so that
    ``__context__`` stays empty too.

    >>> redacted(RemoteCallError("bad key sk-1", retryable=False), "sk-1")
    RemoteCallError('bad key ***')
    """
    message = mask(str(exc), key)
    return RemoteCallError(message, retryable=exc.retryable, retry_after=exc.retry_after)


def mask(text: str, key: str | None) -> str:
    return text.replace(key, "***") if key else text


class KeyFilter(logging.Filter):
    """Masks the keys of the live remote backends in every record of the logger it filters.

    >>> record = logging.LogRecord("voyage", logging.INFO, "", 0, "body=%s", ("echo sk-9",), None)
    >>> f = KeyFilter(); f.add("sk-9"); f.filter(record); record.getMessage()
    True
    'body=echo ***'
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys.add(key)

    def filter(self, record: logging.LogRecord) -> bool:
        keys = self._keys
        if not keys:
            return True
        message = record.getMessage()
        if any(k in message for k in keys):
            for key in keys:
                message = mask(message, key)
            record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if any(k in text for k in keys):  # else left to the handler's own formatter
                record.exc_text = text
        for field in ("exc_text", "stack_info"):
            text = getattr(record, field)
            if text and any(k in text for k in keys):
                for key in keys:
                    text = mask(text, key)
                setattr(record, field, text)
        return True


_KEY_FILTER = KeyFilter()
_installed = False
_install_lock = threading.Lock()


def protect_key(key: str | None) -> None:
    """Mask ``key`` in every record of `SDK_LOGGERS` (at any level) from now on.

    The voyageai SDK logs error bodies at INFO; a server that echoes the key would
    otherwise put it in the application's logs. A filter, not a raised level: an
    application that wants those loggers at DEBUG keeps them, without the key.
    """
    global _installed
    if not key:
        return
    _KEY_FILTER.add(key)
    with _install_lock:
        if not _installed:
            for name in SDK_LOGGERS:
                logging.getLogger(name).addFilter(_KEY_FILTER)
            _installed = True
