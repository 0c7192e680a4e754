"""One backend for every Cohere-style HTTP rerank API (Jina, Mixedbread, NVIDIA, Pinecone, TEI, vLLM, Infinity).

What differs per provider is a `rankwise.backends.api.http_providers.Provider`; this
module sends the request with ``httpx`` (sync ``httpx.Client``s leased one per attempt
in flight and, per event loop, an ``httpx.AsyncClient``), always with a timeout, under
the shared retry policy, which also bounds each attempt as a whole.
"""

from __future__ import annotations

import json
from functools import partial
from types import SimpleNamespace
from typing import Any

from rankwise._optional import require
from rankwise.backends.api.api_base import Answer, ApiBackend, resolve_api_key
from rankwise.backends.api.http_providers import PROVIDERS, Provider, usage_of
from rankwise.backends.api.transport import ClientPool, ErrorLadder, PerLoop, malformed, status_error
from rankwise.backends.base import BackendConfig


class HttpRerankBackend(ApiBackend):
    """Rerank through an HTTP API described by a `Provider`.

    >>> b = HttpRerankBackend.from_spec("tei", "", BackendConfig(base_url="http://localhost:8080"))
    >>> b.name, b.url, b.max_batch_size
    ('tei', 'http://localhost:8080/rerank', 32)
    >>> from rankwise import Reranker
    >>> rr = Reranker("jina:jina-reranker-v2-base-multilingual", api_key="...")  # doctest: +SKIP
    """

    def __init__(self, provider: Provider, model: str, config: BackendConfig) -> None:
        self.kind = provider.kind  # per instance: one class serves every provider
        self.score_kind = provider.score_kind
        self.own_options = (*provider.options, "extra_body")
        required = provider.key == "required" or (provider.key == "hosted" and config.base_url is None)
        name = f"{provider.kind}:{model}" if model else provider.kind
        key = resolve_api_key(config.api_key, provider.env_vars, backend=name, required=required)
        cap = provider.cap_for(model)
        if provider.base_url is None and "max_batch_size" in config.options:
            cap = None  # a self-hosted server's limit is its own configuration (e.g. TEI's --max-client-batch-size)
        super().__init__(
            model,
            config,
            api_key=key,
            cap=cap,
            base_url=config.base_url,
            env_vars=provider.env_vars,
        )
        extra = self.options.get("extra_body", {})
        if not isinstance(extra, dict):
            raise TypeError(f"backend_options['extra_body'] must be a dict of extra JSON fields, got {extra!r}")
        self.provider = provider
        self.url = provider.url(model, config.base_url)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", **provider.headers}
        if key:
            self._headers.update(provider.auth(key))
        httpx = self._httpx = require("httpx", extra="http", purpose=f"the {provider.kind} rerank backend")
        self.ladder = ErrorLadder(timeouts=(httpx.TimeoutException,), transport=(httpx.TransportError,))
        self._pool = self._clients = ClientPool(lambda: httpx.Client(timeout=self.policy.timeout), close=_close)
        self._async_clients: PerLoop[Any] = PerLoop(lambda: httpx.AsyncClient(timeout=self.policy.timeout))

    @classmethod
    def from_spec(cls, kind: str, model: str, config: BackendConfig) -> HttpRerankBackend:
        return cls(PROVIDERS[kind], model, config)

    def _body(self, query: str, texts: list[str]) -> dict[str, Any]:
        return {**self.provider.body(self.model, query, texts, self.options), **self.options.get("extra_body", {})}

    def _send(self, query: str, texts: list[str], timeout: float) -> Answer:
        with self._clients.lease() as client:
            response = client.post(self.url, json=self._body(query, texts), headers=self._headers, timeout=timeout)
        return self._read(response)

    async def _asend(self, query: str, texts: list[str], timeout: float) -> Answer:
        response = await self._async_clients.get().post(
            self.url, json=self._body(query, texts), headers=self._headers, timeout=timeout
        )
        return self._read(response)

    def _read(self, response: Any) -> Answer:
        if response.status_code >= 400:
            raise status_error(response.status_code, response.headers, response.text)
        try:
            data = response.json()
            return Answer(self.provider.parse(data), usage_of(data))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise malformed(f"not JSON ({exc}): {response.text}") from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise malformed(str(exc)) from None


def _close(client: Any) -> None:
    client.close()


#: Registry targets: ``rankwise.backends.api.http_rerank:FACTORY.<kind>``.
FACTORY = SimpleNamespace(**{kind: partial(HttpRerankBackend.from_spec, kind) for kind in PROVIDERS})
