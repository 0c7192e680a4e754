"""What every rerank-API backend shares: keys, retries, timeouts, caps and checking the answer.

A subclass only says how to send one request (`ApiBackend._send` / `_asend`,
returning the provider's ``(index, score)`` pairs) and how to classify the
exceptions its client raises (`ApiBackend._classify`). This class turns that
into one raw score per input text, in input order, with every index checked,
under the single `rankwise.retry.RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from rankwise.backends.base import BackendConfig, Normalization
from rankwise.errors import MissingApiKeyError
from rankwise.retry import RETRY_OPTIONS, RemoteCallError, RetryPolicy, acall_with_retry, call_with_retry, header
from rankwise.retry import parse_retry_after as _parse_retry_after

C = TypeVar("C")

#: Status codes worth retrying: request timeout, rate limit, and every server error.
RETRYABLE_STATUS = frozenset({408, 429})

#: ``backend_options`` keys every API backend accepts besides its own.
COMMON_OPTIONS = (*RETRY_OPTIONS, "max_batch_size")


def resolve_api_key(api_key: str | None, env_vars: Sequence[str], *, backend: str, required: bool) -> str | None:
    """The key from ``api_key=`` or the first set environment variable; a clear error when required and absent.

    >>> resolve_api_key("k", ("NO_SUCH_VAR",), backend="demo", required=True)
    'k'
    >>> resolve_api_key(None, ("NO_SUCH_VAR",), backend="demo", required=False) is None
    True
    """
    if api_key is not None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise MissingApiKeyError(
                f"{backend}: api_key is empty; pass the key or leave api_key=None to read it from the environment"
            )
        return api_key.strip()
    for var in env_vars:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    if required:
        names = " or ".join(env_vars)
        raise MissingApiKeyError(f"{backend} needs an API key: set {names} in the environment or pass api_key=...")
    return None


def status_error(status: int, headers: Mapping[str, Any] | None, body: object) -> RemoteCallError:
    """Classify an HTTP error status: 408/429/5xx are transient (honouring ``Retry-After``), other 4xx are not."""
    detail = _short(body)
    retryable = status in RETRYABLE_STATUS or status >= 500
    retry_after = _parse_retry_after(header(headers, "Retry-After")) if retryable else None
    what = {401: "unauthorised (check the API key)", 403: "forbidden (check the API key's permissions)"}.get(
        status, "rate-limited" if status == 429 else "server error" if status >= 500 else "request rejected"
    )
    return RemoteCallError(f"HTTP {status} {what}: {detail}", retryable=retryable, retry_after=retry_after)


def malformed(what: str) -> RemoteCallError:
    """A response the provider should never send (not JSON, wrong shape): reported, not retried."""
    return RemoteCallError(f"malformed response: {_short(what)}", retryable=False)


def scores_in_input_order(pairs: Iterable[tuple[object, object]], count: int) -> list[float]:
    """Turn the provider's ``(index, score)`` pairs into one score per input text, in input order.

    Every index must be an integer in ``range(count)`` and appear exactly once;
    otherwise a score could land on the wrong document, so the answer is refused.

    >>> scores_in_input_order([(1, 0.9), (0, 0.1)], 2)
    [0.1, 0.9]
    """
    scores: list[float | None] = [None] * count
    for index, score in pairs:
        if isinstance(index, bool) or not isinstance(index, int):
            raise RemoteCallError(f"the response gave a non-integer index {index!r}", retryable=False)
        if not 0 <= index < count:
            raise RemoteCallError(
                f"the response gave index {index}, outside the {count} documents sent (0..{count - 1})",
                retryable=False,
            )
        if scores[index] is not None:
            raise RemoteCallError(f"the response gave index {index} twice", retryable=False)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise RemoteCallError(f"the response gave a non-numeric score {score!r} for index {index}", retryable=False)
        scores[index] = float(score)
    missing = [i for i, s in enumerate(scores) if s is None]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", …" if len(missing) > 10 else "")
        raise RemoteCallError(
            f"the response scored {count - len(missing)} of {count} documents; missing indices {shown}",
            retryable=False,
        )
    return [s for s in scores if s is not None]


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


class ApiBackend:
    """Base of the rerank-API backends (Cohere, Voyage, the Cohere-style HTTP APIs).

    Scores are the provider's per-pair relevance scores, so merging the batches of
    a split request by score gives the same ranking as one big request would.
    ``default_normalization`` is ``"none"``: providers already return relevance
    scores (probabilities for most; logits for NVIDIA, see its docs page).

    >>> class Echo(ApiBackend):
    ...     kind = "echo"
    ...     def _send(self, query, texts, timeout):
    ...         return [(i, float(len(t))) for i, t in enumerate(texts)]
    >>> Echo("m", BackendConfig(), api_key=None, cap=None).score("q", ["a", "bbb"])
    [1.0, 3.0]
    """

    kind: str = "api"
    default_normalization: Normalization = "none"
    #: ``backend_options`` keys this backend reads besides `COMMON_OPTIONS`.
    own_options: tuple[str, ...] = ()

    def __init__(
        self,
        model: str,
        config: BackendConfig,
        *,
        api_key: str | None,
        cap: int | None,
        base_url: str | None = None,
        env_vars: Sequence[str] = (),
    ) -> None:
        options = dict(config.options)
        unknown = sorted(set(options) - set(COMMON_OPTIONS) - set(self.own_options))
        if unknown:
            known = ", ".join(sorted({*COMMON_OPTIONS, *self.own_options}))
            raise ValueError(f"unknown backend_options for {self.kind!r}: {', '.join(unknown)} (known: {known})")
        self.model = model
        self.name = f"{self.kind}:{model}" if model else self.kind
        self.base_url = base_url
        self.env_vars = tuple(env_vars)
        self.policy = RetryPolicy.from_options(options, timeout=config.timeout)
        self.options = {k: v for k, v in options.items() if k in self.own_options}
        self.max_batch_size = _batch_cap(cap, options.get("max_batch_size"))
        self.__key = api_key  # name-mangled and never printed: see __repr__ and to_dict

    @property
    def _api_key(self) -> str | None:
        return self.__key

    def __repr__(self) -> str:
        key = "set" if self.__key else "none"
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, api_key=<{key}>, policy={self.policy!r})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings, for logs and configs: never the key, only where it comes from."""
        return {
            "kind": self.kind,
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": list(self.env_vars),
            "timeout": self.policy.timeout,
            "max_retries": self.policy.max_retries,
            "deadline": self.policy.deadline,
            "max_batch_size": self.max_batch_size,
            "options": dict(self.options),
        }

    # ---------------------------------------------------------------- Backend protocol
    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        batch = list(texts)
        return call_with_retry(lambda timeout: self._attempt(query, batch, timeout), self.policy, backend=self.name)

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        batch = list(texts)
        return await acall_with_retry(
            lambda timeout: self._aattempt(query, batch, timeout), self.policy, backend=self.name
        )

    # ---------------------------------------------------------------- one attempt
    def _attempt(self, query: str, texts: list[str], timeout: float) -> list[float]:
        try:
            pairs = self._send(query, texts, timeout)
        except RemoteCallError as exc:
            raise self._redacted(exc) from exc
        except Exception as exc:
            raise self._redacted(self._classify(exc, timeout)) from exc
        return scores_in_input_order(pairs, len(texts))

    async def _aattempt(self, query: str, texts: list[str], timeout: float) -> list[float]:
        try:
            pairs = await self._asend(query, texts, timeout)
        except RemoteCallError as exc:
            raise self._redacted(exc) from exc
        except Exception as exc:
            raise self._redacted(self._classify(exc, timeout)) from exc
        return scores_in_input_order(pairs, len(texts))

    def _redacted(self, exc: RemoteCallError) -> RemoteCallError:
        """The same error with the key masked, should a server or SDK ever echo it."""
        key = self.__key
        message = str(exc)
        if key and key in message:
            return RemoteCallError(message.replace(key, "***"), retryable=exc.retryable, retry_after=exc.retry_after)
        return exc

    # ---------------------------------------------------------------- for subclasses
    def _send(self, query: str, texts: list[str], timeout: float) -> Iterable[tuple[object, object]]:
        """Send one request; return the provider's ``(index, score)`` pairs."""
        raise NotImplementedError

    def _asend(self, query: str, texts: list[str], timeout: float) -> Awaitable[Iterable[tuple[object, object]]]:
        """Async `_send`; by default the sync one in a worker thread."""
        return asyncio.to_thread(self._send, query, texts, timeout)

    def _classify(self, exc: Exception, timeout: float) -> RemoteCallError:
        """Map a client exception to a `RemoteCallError` (transient or not)."""
        return RemoteCallError(f"{type(exc).__name__}: {_short(exc)}", retryable=False)


def _batch_cap(cap: int | None, requested: object) -> int | None:
    if requested is None:
        return cap
    if isinstance(requested, bool) or not isinstance(requested, int) or requested <= 0:
        raise ValueError(f"max_batch_size must be a positive integer, got {requested!r}")
    return requested if cap is None else min(cap, requested)


def _short(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "…"
