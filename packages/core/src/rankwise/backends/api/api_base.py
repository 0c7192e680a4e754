"""What every rerank-API backend shares: keys, retries, timeouts, caps and checking the answer.

A subclass only says how to send one request (`ApiBackend._send` / `_asend`,
returning the provider's ``(index, score)`` pairs, or an `Answer` that adds what
the request cost) and how to classify the exceptions its client raises
(`ApiBackend._classify`). This class turns that into one raw score per input
text, in input order, with every index checked, under the single
`rankwise.retry.RetryPolicy`; the cost, when known, is the call's report (an
`rankwise.report.ApiUsage`, see `ApiBackend.score_with_report`).
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rankwise.backends.api.transport import (
    ClientPool,
    ErrorLadder,
    aguarded,
    guarded,
    malformed,
    protect_key,
    redacted,
)
from rankwise.backends.base import BackendConfig, Normalization
from rankwise.errors import MissingApiKeyError
from rankwise.report import ApiUsage
from rankwise.retry import RETRY_OPTIONS, RemoteCallError, RetryPolicy, acall_with_retry, call_with_retry
from rankwise.score_kind import ScoreKind
from rankwise.validation import positive_int

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


Pairs = Iterable[tuple[object, object]]


@dataclass(frozen=True)
class Answer:
    """One request's answer: the provider's ``(index, score)`` pairs and, when it says, what the request cost."""

    pairs: Pairs
    usage: ApiUsage | None = None


def result_pairs(response: Any) -> list[tuple[object, object]]:
    """The ``(index, relevance_score)`` pairs of an SDK's rerank response (Cohere's and Voyage's share the shape)."""
    results = getattr(response, "results", None)
    if not isinstance(results, list):
        raise malformed(f"no 'results' list in {response!r}")
    return [(getattr(r, "index", None), getattr(r, "relevance_score", None)) for r in results]


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
    score_kind: ScoreKind = "relevance"
    #: How this backend's client exceptions are classified (`rankwise.backends.api.transport.ErrorLadder`).
    ladder: ErrorLadder = ErrorLadder()
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
        protect_key(api_key)  # nor logged by the client libraries, should a server echo it
        self._pool: ClientPool[Any] | None = None  # a subclass's sync clients, closed by close()

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
        return self.score_with_report(query, texts)[0]

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        return (await self.ascore_with_report(query, texts))[0]

    def score_with_report(self, query: str, texts: Sequence[str]) -> tuple[list[float], ApiUsage | None]:
        """`score`, and what the provider said the request cost (``None`` when it did not say)."""
        batch = list(texts)
        return call_with_retry(lambda timeout: self._attempt(query, batch, timeout), self.policy, backend=self.name)

    async def ascore_with_report(self, query: str, texts: Sequence[str]) -> tuple[list[float], ApiUsage | None]:
        """Async `score_with_report`."""
        batch = list(texts)
        return await acall_with_retry(
            lambda timeout: self._aattempt(query, batch, timeout), self.policy, backend=self.name
        )

    # ---------------------------------------------------------------- one attempt
    def _attempt(self, query: str, texts: list[str], timeout: float) -> tuple[list[float], ApiUsage | None]:
        sent = guarded(lambda: self._send(query, texts, timeout), lambda exc: self._failure(exc, timeout))
        return _scored(sent, len(texts))

    async def _aattempt(self, query: str, texts: list[str], timeout: float) -> tuple[list[float], ApiUsage | None]:
        sent = await aguarded(lambda: self._asend(query, texts, timeout), lambda exc: self._failure(exc, timeout))
        return _scored(sent, len(texts))

    def _failure(self, exc: Exception, timeout: float) -> RemoteCallError:
        """The classified failure, key masked, with no exception chain (a server may echo the key)."""
        return redacted(self._classify(exc, timeout), self.__key)

    def close(self) -> None:
        """Close the pooled sync clients (async clients close with their event loop)."""
        if self._pool is not None:
            self._pool.close()

    # ---------------------------------------------------------------- for subclasses
    def _send(self, query: str, texts: list[str], timeout: float) -> Pairs | Answer:
        """Send one request; return the provider's ``(index, score)`` pairs, or an `Answer` with its cost."""
        raise NotImplementedError

    def _asend(self, query: str, texts: list[str], timeout: float) -> Awaitable[Pairs | Answer]:
        """Async `_send`; by default the sync one in a worker thread."""
        return asyncio.to_thread(self._send, query, texts, timeout)

    def _classify(self, exc: Exception, timeout: float) -> RemoteCallError:
        """Map a client exception to a `RemoteCallError` (transient or not), by `ladder`."""
        return self.ladder.classify(exc, timeout)


def _scored(sent: Pairs | Answer, count: int) -> tuple[list[float], ApiUsage | None]:
    answer = sent if isinstance(sent, Answer) else Answer(sent)
    return scores_in_input_order(answer.pairs, count), answer.usage


def _batch_cap(cap: int | None, requested: object) -> int | None:
    if requested is None:
        return cap
    requested = positive_int("max_batch_size", requested)
    return requested if cap is None else min(cap, requested)
