"""Voyage AI Rerank (``voyage:<model>``, e.g. ``voyage:rerank-2.5``) through the official ``voyageai`` SDK."""

from __future__ import annotations

import contextlib
import functools
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

from rankwise._optional import require
from rankwise.backends.api.api_base import Answer, ApiBackend, resolve_api_key, result_pairs
from rankwise.backends.api.transport import ClientPool, ErrorLadder, HttpStatus
from rankwise.backends.base import BackendConfig
from rankwise.report import ApiUsage
from rankwise.retry import RemoteCallError, current_attempt

ENV_VARS = ("VOYAGE_API_KEY",)
#: Voyage's documented limit: at most 1,000 documents per request.
MAX_DOCUMENTS = 1000


class VoyageBackend(ApiBackend):
    """Voyage's ``/v1/rerank`` via ``voyageai.Client`` (requests) / ``voyageai.AsyncClient`` (aiohttp).

    The SDK's retries stay off (``max_retries=0``, its default) so rankwise's policy
    is the only one. A client is built per attempt (it holds only settings), so
    each attempt gets the time left before the deadline as its timeout. The
    SDK's HTTP sessions are rankwise's: a ``requests.Session`` leased per sync
    attempt and an ``aiohttp.ClientSession`` per async attempt, each watching
    the response, so that ``Retry-After`` is honoured even where the SDK drops
    the headers (a 4xx body without Voyage's ``detail`` field) and a sync
    attempt past its time limit is stopped by shutting its connection. An
    application's own ``voyageai.requestssession`` / ``voyageai.aiosession``
    wins over these. ``base_url`` defaults to the SDK's choice
    (``https://api.voyageai.com/v1``); a self-hosted or proxy URL ends in ``/v1``.
    ``backend_options``: ``truncation`` (default ``True``: Voyage truncates
    query+document pairs past the model's context; ``False`` makes that an error). The tokens Voyage
    counts (``total_tokens``) are each call's `ApiUsage`.

    >>> from rankwise import Reranker
    >>> rr = Reranker("voyage:rerank-2.5", api_key="...")  # doctest: +SKIP
    """

    kind = "voyage"
    own_options = ("truncation",)

    def __init__(self, model: str, config: BackendConfig) -> None:
        key = resolve_api_key(config.api_key, ENV_VARS, backend=f"voyage:{model}", required=True)
        super().__init__(model, config, api_key=key, cap=MAX_DOCUMENTS, base_url=config.base_url, env_vars=ENV_VARS)
        self._voyageai = require("voyageai", extra="voyage", purpose="the voyage rerank backend")
        self._requestor = require("voyageai.api_resources.api_requestor", extra="voyage", purpose="the voyage backend")
        errors = require("voyageai.error", extra="voyage", purpose="the voyage rerank backend")
        self._sdk_error = errors.VoyageError
        self.ladder = ErrorLadder(timeouts=(errors.Timeout,), transport=(errors.APIConnectionError,), status=_status)
        self._pool = self._sessions = ClientPool(self._session, close=lambda session: session.close())
        truncation = self.options.get("truncation", True)
        if not isinstance(truncation, bool):
            raise TypeError(f"backend_options['truncation'] must be True or False, got {truncation!r}")
        self._truncation = truncation

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> VoyageBackend:
        return cls(model, config)

    def _session(self) -> Any:
        """A ``requests.Session`` whose connections can be shut by an abandoned attempt (see `_watched_pools`)."""
        requests = require("requests", extra="voyage", purpose="the voyage rerank backend")
        pools = _watched_pools()

        base: Any = requests.adapters.HTTPAdapter

        class Adapter(base):  # type: ignore[misc]
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = pools

        session = requests.Session()
        for prefix in ("http://", "https://"):
            session.mount(prefix, Adapter())
        if self._voyageai.proxy:
            session.proxies = self._requestor._requests_proxies_arg(self._voyageai.proxy)
        return session

    def _client_kwargs(self, timeout: float) -> dict[str, Any]:
        return {"api_key": self._api_key, "max_retries": 0, "timeout": timeout, "base_url": self.base_url}

    def _send(self, query: str, texts: list[str], timeout: float) -> Answer:
        client = self._voyageai.Client(**self._client_kwargs(timeout))
        seen = _Seen()
        with self._sessions.lease() as session, self._sdk_session(session, seen), self._headers_into_errors(seen):
            return _answer(client.rerank(query, texts, self.model, truncation=self._truncation))

    async def _asend(self, query: str, texts: list[str], timeout: float) -> Answer:
        client = self._voyageai.AsyncClient(**self._client_kwargs(timeout))
        if self._voyageai.aiosession.get() is not None:  # the application's own session
            return _answer(await client.rerank(query, texts, self.model, truncation=self._truncation))
        aiohttp = require("aiohttp", extra="voyage", purpose="the voyage rerank backend")
        seen = _Seen()
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(seen.aiohttp_response)
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            token = self._voyageai.aiosession.set(session)
            try:
                with self._headers_into_errors(seen):
                    return _answer(await client.rerank(query, texts, self.model, truncation=self._truncation))
            finally:
                self._voyageai.aiosession.reset(token)

    @contextlib.contextmanager
    def _sdk_session(self, session: Any, seen: _Seen) -> Iterator[None]:
        """Make ``session`` the SDK's session in this (attempt's worker) thread, watching its responses."""
        context = getattr(self._requestor, "_thread_context", None)
        if context is None or self._voyageai.requestssession is not None or current_attempt() is None:
            yield  # an SDK without the per-thread session, or the application's own: left alone
            return
        session.hooks["response"] = [seen.requests_response]
        before = {name: getattr(context, name) for name in ("session", "session_create_time") if hasattr(context, name)}
        context.session, context.session_create_time = session, time.time()
        try:
            yield
        finally:
            for name in ("session", "session_create_time"):
                if name in before:
                    setattr(context, name, before[name])
                else:
                    delattr(context, name)

    @contextlib.contextmanager
    def _headers_into_errors(self, seen: _Seen) -> Iterator[None]:
        """Give an SDK error the response headers it dropped (``Retry-After`` among them)."""
        try:
            yield
        except self._sdk_error as exc:
            if not exc.headers and seen.headers is not None:
                exc.headers = seen.headers
            raise

    def _classify(self, exc: Exception, timeout: float) -> RemoteCallError:
        if isinstance(exc, IndexError):  # the SDK looks documents up by the returned index
            return RemoteCallError("the response gave an index outside the documents sent", retryable=False)
        return super()._classify(exc, timeout)


def _answer(response: Any) -> Answer:
    """The SDK response's pairs, and the tokens it says it counted."""
    return Answer(result_pairs(response), ApiUsage.of(tokens=getattr(response, "total_tokens", None)))


def _status(exc: BaseException) -> HttpStatus | None:
    status = getattr(exc, "http_status", None)
    if not isinstance(status, int):  # not a VoyageError, or one raised before any response
        return None
    return HttpStatus(
        status, getattr(exc, "headers", None), getattr(exc, "user_message", None) or getattr(exc, "http_body", None)
    )


class _Seen:
    """The last response of one attempt, as the HTTP session saw it."""

    def __init__(self) -> None:
        self.headers: Mapping[str, Any] | None = None

    def requests_response(self, response: Any, *args: object, **kwargs: object) -> Any:
        self.headers = response.headers
        return response

    async def aiohttp_response(self, session: object, context: object, params: Any) -> None:
        self.headers = params.response.headers


@functools.cache
def _watched_pools() -> dict[str, type]:
    """urllib3 pool classes whose connections, on sending, register a socket shutdown with the current attempt.

    An attempt the watchdog abandons then ends at once, wherever the server stalls it
    (headers or body); closing a ``requests.Session`` would only close idle connections.
    """
    urllib3 = require("urllib3", extra="voyage", purpose="the voyage rerank backend")

    def watched(base: type) -> type:
        def getresponse(self: Any, *args: Any, **kwargs: Any) -> Any:
            attempt, sock = current_attempt(), self.sock
            if attempt is not None and sock is not None:
                attempt.on_abort(lambda: _shut(sock))
            return base.getresponse(self, *args, **kwargs)  # type: ignore[attr-defined]

        return type(f"Watched{base.__name__}", (base,), {"getresponse": getresponse})

    pool, connection = urllib3.connectionpool, urllib3.connection
    return {
        "http": type("WatchedPool", (pool.HTTPConnectionPool,), {"ConnectionCls": watched(connection.HTTPConnection)}),
        "https": type(
            "WatchedHTTPSPool", (pool.HTTPSConnectionPool,), {"ConnectionCls": watched(connection.HTTPSConnection)}
        ),
    }


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the worker
        sock.shutdown(socket.SHUT_RDWR)
