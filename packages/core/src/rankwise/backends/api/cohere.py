"""Cohere Rerank (``cohere:<model>``, e.g. ``cohere:rerank-v3.5``) through the official ``cohere`` SDK."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from rankwise._optional import require
from rankwise.backends.api.api_base import ApiBackend, PerLoop, malformed, resolve_api_key, status_error
from rankwise.backends.base import BackendConfig
from rankwise.retry import RemoteCallError

DEFAULT_BASE_URL = "https://api.cohere.com"
ENV_VARS = ("CO_API_KEY", "COHERE_API_KEY")
#: Cohere's documented guidance: no more than 1,000 documents per request.
MAX_DOCUMENTS = 1000


class CohereBackend(ApiBackend):
    """Cohere's ``/v2/rerank`` via ``cohere.ClientV2`` / ``cohere.AsyncClientV2``.

    The SDK's own retries are switched off (``max_retries=0``) so rankwise's policy
    is the only one, and ``base_url`` is always passed explicitly: the SDK reads
    ``CO_API_URL`` once, at import, which would otherwise win silently.
    ``backend_options``: ``max_tokens_per_doc`` (Cohere truncates longer documents;
    default 4096) and ``priority``.

    >>> from rankwise import Reranker
    >>> rr = Reranker("cohere:rerank-v3.5", api_key="...")  # doctest: +SKIP
    >>> rr.rerank("what is rankwise?", ["a reranking library", "a fruit"], top_n=1)  # doctest: +SKIP
    """

    kind = "cohere"
    own_options = ("max_tokens_per_doc", "priority")

    def __init__(self, model: str, config: BackendConfig) -> None:
        key = resolve_api_key(config.api_key, ENV_VARS, backend=f"cohere:{model}", required=True)
        super().__init__(
            model,
            config,
            api_key=key,
            cap=MAX_DOCUMENTS,
            base_url=config.base_url or DEFAULT_BASE_URL,
            env_vars=ENV_VARS,
        )
        self._cohere = require("cohere", extra="cohere", purpose="the cohere rerank backend")
        self._httpx = require("httpx", extra="cohere", purpose="the cohere rerank backend")
        self._api_error = require("cohere.core.api_error", extra="cohere", purpose="the cohere rerank backend").ApiError
        self._client: Any = None
        self._lock = threading.Lock()
        self._async_clients: PerLoop[Any] = PerLoop(lambda: self._cohere.AsyncClientV2(**self._client_kwargs()))

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> CohereBackend:
        return cls(model, config)

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            "base_url": self.base_url,
            "timeout": self.policy.timeout,
            "max_retries": 0,
            "client_name": "rankwise",
        }

    def _sync_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._cohere.ClientV2(**self._client_kwargs())
            return self._client

    def _request(self, query: str, texts: list[str], timeout: float) -> dict[str, Any]:
        return {
            "model": self.model,
            "query": query,
            "documents": texts,
            "request_options": {"timeout_in_seconds": timeout, "max_retries": 0},
            **self.options,
        }

    def _send(self, query: str, texts: list[str], timeout: float) -> Iterable[tuple[object, object]]:
        return _pairs(self._sync_client().rerank(**self._request(query, texts, timeout)))

    async def _asend(self, query: str, texts: list[str], timeout: float) -> Iterable[tuple[object, object]]:
        return _pairs(await self._async_clients.get().rerank(**self._request(query, texts, timeout)))

    def _classify(self, exc: Exception, timeout: float) -> RemoteCallError:
        httpx = self._httpx
        if isinstance(exc, self._api_error):
            status = exc.status_code or 0
            if 200 <= status < 300:  # the SDK could not decode a success body
                return malformed(f"not JSON: {exc.body}")
            return status_error(status, exc.headers, exc.body)
        if isinstance(exc, httpx.TimeoutException):
            return RemoteCallError(f"no response within {timeout:g} s ({type(exc).__name__})", retryable=True)
        if isinstance(exc, httpx.TransportError):
            return RemoteCallError(f"connection failed ({type(exc).__name__}: {exc})", retryable=True)
        if isinstance(exc, (AttributeError, TypeError, ValueError, KeyError)):
            return malformed(f"{type(exc).__name__}: {exc}")
        return super()._classify(exc, timeout)


def _pairs(response: Any) -> list[tuple[object, object]]:
    results = getattr(response, "results", None)
    if not isinstance(results, list):
        raise malformed(f"no 'results' list in {response!r}")
    return [(getattr(r, "index", None), getattr(r, "relevance_score", None)) for r in results]
