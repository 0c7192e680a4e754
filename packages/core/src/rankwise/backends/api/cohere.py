"""Cohere Rerank (``cohere:<model>``, e.g. ``cohere:rerank-v3.5``) through the official ``cohere`` SDK."""

from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple

from rankwise._optional import require
from rankwise.backends.api.api_base import Answer, ApiBackend, resolve_api_key, result_pairs
from rankwise.backends.api.transport import ClientPool, ErrorLadder, HttpStatus, PerLoop
from rankwise.backends.base import BackendConfig
from rankwise.report import ApiUsage

DEFAULT_BASE_URL = "https://api.cohere.com"
ENV_VARS = ("CO_API_KEY", "COHERE_API_KEY")
#: Cohere's documented guidance: no more than 1,000 documents per request.
MAX_DOCUMENTS = 1000


class CohereBackend(ApiBackend):
    """Cohere's ``/v2/rerank`` via ``cohere.ClientV2`` / ``cohere.AsyncClientV2``.

    The SDK's own retries are switched off so rankwise's policy is the only one: every
    request carries ``request_options={"max_retries": 0}``, which every cohere 5.16+ honours,
    and the clients are built with ``max_retries=0`` too where the SDK's constructor takes it
    (`constructor_takes_max_retries`). ``base_url`` is always passed explicitly: the SDK reads
    ``CO_API_URL`` once, at import, which would otherwise win silently. Each sync
    client gets its own ``httpx.Client`` (leased one per attempt in flight), so an
    attempt past its time limit is stopped by closing that client alone.
    ``backend_options``: ``max_tokens_per_doc`` (Cohere truncates longer documents;
    default 4096) and ``priority``. The search units Cohere bills (``meta.billed_units.search_units``) are
    each call's `ApiUsage` (``billed_units``).

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
        self._httpx = httpx = require("httpx", extra="cohere", purpose="the cohere rerank backend")
        api_error = require("cohere.core.api_error", extra="cohere", purpose="the cohere rerank backend").ApiError

        def status(exc: BaseException) -> HttpStatus | None:
            return HttpStatus(exc.status_code or 0, exc.headers, exc.body) if isinstance(exc, api_error) else None

        self.ladder = ErrorLadder(timeouts=(httpx.TimeoutException,), transport=(httpx.TransportError,), status=status)
        self._pool = self._clients = ClientPool(self._sync_client, close=lambda client: client.http.close())
        self._async_clients: PerLoop[Any] = PerLoop(
            lambda: self._cohere.AsyncClientV2(**self._client_kwargs(self._cohere.AsyncClientV2))
        )

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> CohereBackend:
        return cls(model, config)

    def _client_kwargs(self, client_class: type) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "api_key": self._api_key,
            "base_url": self.base_url,
            "timeout": self.policy.timeout,
            "client_name": "rankwise",
        }
        if constructor_takes_max_retries(client_class):
            kwargs["max_retries"] = 0
        return kwargs

    def _sync_client(self) -> _Client:
        http = self._httpx.Client(timeout=self.policy.timeout)
        client_class = self._cohere.ClientV2
        return _Client(client_class(**self._client_kwargs(client_class), httpx_client=http), http)

    def _request(self, query: str, texts: list[str], timeout: float) -> dict[str, Any]:
        return {
            "model": self.model,
            "query": query,
            "documents": texts,
            "request_options": {"timeout_in_seconds": timeout, "max_retries": 0},
            **self.options,
        }

    def _send(self, query: str, texts: list[str], timeout: float) -> Answer:
        with self._clients.lease() as client:
            return _answer(client.sdk.rerank(**self._request(query, texts, timeout)))

    async def _asend(self, query: str, texts: list[str], timeout: float) -> Answer:
        return _answer(await self._async_clients.get().rerank(**self._request(query, texts, timeout)))


def _answer(response: Any) -> Answer:
    """The SDK response's pairs, and the search units it says were billed."""
    billed = getattr(getattr(response, "meta", None), "billed_units", None)
    return Answer(result_pairs(response), ApiUsage.of(billed_units=getattr(billed, "search_units", None)))


@functools.cache
def constructor_takes_max_retries(client_class: type) -> bool:
    """Whether this cohere SDK's client constructor takes ``max_retries`` (cohere 7.0.5 and later).

    ``cohere.ClientV2(max_retries=...)`` raises ``TypeError`` before 7.0.5: the generated base client
    took it from 7.0.0, but the hand-written ``Client``/``ClientV2`` constructors forwarded it only from
    cohere-python PR #779, first released in 7.0.5 (read in the SDK's tags). The per-request
    ``request_options["max_retries"]``, which wins over it, works in every release the extra allows (5.16+).
    """
    try:
        return "max_retries" in inspect.signature(client_class).parameters
    except (TypeError, ValueError):  # no signature to read: do not pass it
        return False


class _Client(NamedTuple):
    sdk: Any  # cohere.ClientV2
    http: Any  # the httpx.Client it sends with
