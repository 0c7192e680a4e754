"""Voyage AI Rerank (``voyage:<model>``, e.g. ``voyage:rerank-2.5``) through the official ``voyageai`` SDK."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rankwise._optional import require
from rankwise.backends.api.api_base import ApiBackend, malformed, resolve_api_key, status_error
from rankwise.backends.base import BackendConfig
from rankwise.retry import RemoteCallError

ENV_VARS = ("VOYAGE_API_KEY",)
#: Voyage's documented limit: at most 1,000 documents per request.
MAX_DOCUMENTS = 1000


class VoyageBackend(ApiBackend):
    """Voyage's ``/v1/rerank`` via ``voyageai.Client`` (requests) / ``voyageai.AsyncClient`` (aiohttp).

    The SDK's retries stay off (``max_retries=0``, its default) so rankwise's policy
    is the only one. A client is built per attempt, which is cheap (it holds only
    settings; the SDK pools connections per thread), so each attempt gets the
    timeout left before the deadline. ``base_url`` defaults to the SDK's choice
    (``https://api.voyageai.com/v1``); a self-hosted or proxy URL ends in ``/v1``.
    ``backend_options``: ``truncation`` (default ``True``: Voyage truncates
    query+document pairs past the model's context; ``False`` makes that an error).

    >>> from rankwise import Reranker
    >>> rr = Reranker("voyage:rerank-2.5", api_key="...")  # doctest: +SKIP
    """

    kind = "voyage"
    own_options = ("truncation",)

    def __init__(self, model: str, config: BackendConfig) -> None:
        key = resolve_api_key(config.api_key, ENV_VARS, backend=f"voyage:{model}", required=True)
        super().__init__(model, config, api_key=key, cap=MAX_DOCUMENTS, base_url=config.base_url, env_vars=ENV_VARS)
        self._voyageai = require("voyageai", extra="voyage", purpose="the voyage rerank backend")
        self._errors = require("voyageai.error", extra="voyage", purpose="the voyage rerank backend")
        truncation = self.options.get("truncation", True)
        if not isinstance(truncation, bool):
            raise TypeError(f"backend_options['truncation'] must be True or False, got {truncation!r}")
        self._truncation = truncation

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> VoyageBackend:
        return cls(model, config)

    def _client_kwargs(self, timeout: float) -> dict[str, Any]:
        return {"api_key": self._api_key, "max_retries": 0, "timeout": timeout, "base_url": self.base_url}

    def _send(self, query: str, texts: list[str], timeout: float) -> Iterable[tuple[object, object]]:
        client = self._voyageai.Client(**self._client_kwargs(timeout))
        return _pairs(client.rerank(query, texts, self.model, truncation=self._truncation))

    async def _asend(self, query: str, texts: list[str], timeout: float) -> Iterable[tuple[object, object]]:
        client = self._voyageai.AsyncClient(**self._client_kwargs(timeout))
        return _pairs(await client.rerank(query, texts, self.model, truncation=self._truncation))

    def _classify(self, exc: Exception, timeout: float) -> RemoteCallError:
        errors = self._errors
        if isinstance(exc, errors.Timeout):
            return RemoteCallError(f"no response within {timeout:g} s", retryable=True)
        if isinstance(exc, errors.APIConnectionError):  # refused, reset, dropped
            return RemoteCallError(f"connection failed ({exc})", retryable=True)
        if isinstance(exc, errors.VoyageError) and exc.http_status is not None:
            if 200 <= exc.http_status < 300:  # the SDK could not decode a success body
                return malformed(f"not JSON: {exc.http_body}")
            return status_error(exc.http_status, exc.headers, exc.user_message or exc.http_body)
        if isinstance(exc, IndexError):  # the SDK looks documents up by the returned index
            return RemoteCallError("the response gave an index outside the documents sent", retryable=False)
        if isinstance(exc, (AttributeError, TypeError, ValueError, KeyError)):
            return malformed(f"{type(exc).__name__}: {exc}")
        return super()._classify(exc, timeout)


def _pairs(result: Any) -> list[tuple[object, object]]:
    results = getattr(result, "results", None)
    if not isinstance(results, list):
        raise malformed(f"no results in {result!r}")
    return [(getattr(r, "index", None), getattr(r, "relevance_score", None)) for r in results]
