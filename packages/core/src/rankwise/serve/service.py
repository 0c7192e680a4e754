"""`RerankService`: one model behind every wire format, independent of the HTTP stack that carries it.

The Starlette app (`rankwise.serve.app`) and the Ray Serve deployment
(`rankwise.ray.deployment`) both hand it ``(method, path, headers, body)`` and send
back the `Reply` it returns, so limits, keys, errors, batching and metrics are the
same under either.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hmac
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from rankwise.backends.base import Backend, Normalization
from rankwise.chunking import truncate_words
from rankwise.errors import BackendError
from rankwise.reranker import Reranker
from rankwise.score_kind import ScoreKind, final_kind
from rankwise.serve.batching import BatchingBackend, SerialBackend, passthrough
from rankwise.serve.metrics import ServeMetrics
from rankwise.serve.protocols import Protocol, RequestError, RerankCall, Scored, error_body, parse, protocol_of, render

# Texts that reached a backend during the current request (cache misses), per backend, for the cache-hit metric.
_SCORED: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar("rankwise_serve_scored", default=None)


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for; beyond it the server answers 413 (size) or 422 (length), or 504 (time).

    >>> ServeLimits(max_documents=100).max_documents
    100
    """

    max_documents: int = 1000
    max_body_bytes: int = 10 * 1024 * 1024
    max_query_chars: int = 10_000
    max_document_chars: int = 100_000
    request_timeout_s: float = 30.0


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body bytes and content type."""

    status: int
    body: bytes
    media_type: str = "application/json"


def _json(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


class _Counted:
    """Counts, per request, the texts that reach the backend (the rest came from the score cache)."""

    def __init__(self, backend: Backend, metrics: ServeMetrics) -> None:
        self.inner = backend
        self.name: str = backend.name
        self.default_normalization: Normalization = backend.default_normalization
        self._metrics = metrics

    def __getattr__(self, attribute: str) -> Any:
        return passthrough(self, attribute)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        scored = _SCORED.get()
        if scored is not None:
            scored[self.name] = scored.get(self.name, 0) + len(texts)
        self._metrics.pairs.labels(self.name).inc(len(texts))
        return [float(s) for s in self.inner.score(query, texts)]


def _single_backend(reranker: Reranker) -> Backend | None:
    """The one backend of a single-term spec (no fusion, no weight, no alias); None otherwise."""
    spec = getattr(reranker, "spec", None)
    if getattr(spec, "alias", None) or reranker.model == "embedded":
        return None
    terms = getattr(spec, "terms", None)
    if terms and (len(terms) != 1 or terms[0].weight != 1.0):
        return None
    backends = reranker.backends
    return backends[0] if len(backends) == 1 else None


class RerankService:
    """A `Reranker` behind the Cohere, Jina/vLLM, Infinity and TEI rerank wire formats.

    ``model`` is a spec or a ready `Reranker`. With ``batching`` (default), concurrent
    requests' score calls are coalesced per backend (`BatchingBackend`:
    ``max_batch_pairs``, ``max_wait_ms``). ``api_keys``: accepted bearer keys (none:
    no auth). ``threads``: requests scored at once (each waits in its own thread for
    its share of a batch).

    >>> import asyncio, json
    >>> service = RerankService("lexical")
    >>> body = json.dumps({"model": "x", "query": "purring cats", "documents": ["dogs bark", "cats purr"]})
    >>> reply = asyncio.run(service.handle("POST", "/v2/rerank", {}, body.encode()))
    >>> reply.status, [r["index"] for r in json.loads(reply.body)["results"]]
    (200, [1, 0])
    >>> service.close()
    """

    def __init__(
        self,
        model: str | Reranker = "embedded",
        *,
        batching: bool = True,
        max_batch_pairs: int = 256,
        max_wait_ms: float = 5.0,
        limits: ServeLimits | None = None,
        api_keys: Iterable[str] = (),
        threads: int = 64,
        reranker_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.limits = limits or ServeLimits()
        self.metrics = ServeMetrics()
        self._keys = tuple(k.encode("utf-8") for k in api_keys if k)
        self._batchers: list[BatchingBackend] = []

        def wrap(backend: Backend) -> Backend:
            inner: Backend = backend
            if not batching and not getattr(backend, "set_dependent", False):
                inner = SerialBackend(backend)
            if batching and not getattr(backend, "set_dependent", False):
                batcher = BatchingBackend(
                    backend,
                    max_batch_pairs=max_batch_pairs,
                    max_wait_ms=max_wait_ms,
                    observer=functools.partial(self.metrics.observe_batch, backend.name),
                )
                self._batchers.append(batcher)
                inner = batcher
            return _Counted(inner, self.metrics)

        # A twin of the given Reranker (which stays as it was) whose backends are batched (or serialised) and counted.
        self.reranker = Reranker.of(model, **dict(reranker_options or {})).with_wrapped_backends(wrap)
        self.spec = self.reranker.model
        self._cacheable = {b.name for b in self.reranker.backends if not getattr(b, "set_dependent", False)}
        self.batching = bool(self._batchers)
        self.batching_options = {"max_batch_pairs": max_batch_pairs, "max_wait_ms": max_wait_ms}
        single = _single_backend(self.reranker)
        same = {
            k: v for k, v in (reranker_options or {}).items() if k in ("batch_size", "max_length", "long_documents")
        }
        self._raw = Reranker(single, normalize="none", **same) if single is not None else None
        self._kind: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rankwise-serve")
        self._max_length = getattr(single, "max_length", None) if single is not None else None

    # ------------------------------------------------------------ info
    def score_kind(self) -> ScoreKind | str:
        """What kind of number ``relevance_score`` / ``score`` is (see `rankwise.score_kind`).

        The engine's own word (``RerankResult.score_kind``) once a request has been answered;
        before that, derived from the backend's declared raw kind and its normalisation.
        """
        if self._kind is not None:
            return self._kind
        single = _single_backend(self.reranker)
        if single is None:
            return "relative"
        raw: ScoreKind = getattr(single, "score_kind", "raw")
        normalization = getattr(getattr(self.reranker, "settings", self.reranker), "normalize", None)
        return final_kind(raw, normalization or single.default_normalization)

    def info(self) -> dict[str, Any]:
        """What ``GET /info`` answers: the model spec, its backends, the score kind, batching and limits."""
        from rankwise import __version__

        single = _single_backend(self.reranker)
        return {
            "model": self.spec,
            "backends": [b.name for b in self.reranker.backends],
            "score_kind": self.score_kind(),
            "raw_score_kind": getattr(single, "score_kind", "raw") if single is not None else "relative",
            "batching": {"enabled": self.batching, **self.batching_options},
            "limits": asdict(self.limits),
            "auth": bool(self._keys),
            "endpoints": ["POST /v2/rerank", "POST /v1/rerank", "POST /rerank", "GET /health", "GET /metrics"],
            "version": __version__,
        }

    def close(self) -> None:
        """Let queued batches finish, then stop the batching threads and the request threads."""
        for batcher in self._batchers:
            batcher.close()
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------ requests
    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (``headers`` with lower-case names, as ASGI gives them)."""
        path = "/" + path.strip("/")
        if method == "GET":
            if path == "/health":
                return _json(200, {"status": "ok"})
            if path == "/info":
                return _json(200, self.info())
            if path == "/metrics":
                content, media_type = self.metrics.exposition()
                return Reply(200, content, media_type)
        if method == "POST" and path in ("/v2/rerank", "/v1/rerank", "/rerank"):
            return await self._rerank_request(path, headers, body)
        return _json(404, {"error": f"no route {method} {path}", "error_type": "Validation"})

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        if not self._keys:
            return True
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = token.strip().encode("utf-8")
        return any(hmac.compare_digest(given, key) for key in self._keys)

    async def _rerank_request(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        protocol: Protocol = protocol_of(path, None) or "tei"
        try:
            too_big = len(body) > self.limits.max_body_bytes
            data, problem = (None, None) if too_big else _decoded(body)
            protocol = protocol_of(path, data) or protocol  # /rerank: TEI or Infinity, told by the body
            if not self._authorized(headers):
                raise RequestError(
                    401, "invalid api token: send 'Authorization: Bearer <key>' with a key the server accepts"
                )
            if too_big:
                raise RequestError(
                    413, f"request body is {len(body)} bytes; this server accepts at most {self.limits.max_body_bytes}"
                )
            if problem is not None:
                raise RequestError(422, problem)
            call = self._checked(parse(protocol, data))
            reply = await asyncio.wait_for(self._answer(call, request_id), self.limits.request_timeout_s)
        except RequestError as exc:
            reply = _json(exc.status, error_body(protocol, exc.status, exc.message, request_id=request_id))
        except TimeoutError:
            message = f"the request took longer than the server's deadline of {self.limits.request_timeout_s:g} s"
            reply = _json(504, error_body(protocol, 504, message, request_id=request_id))
        except BackendError as exc:
            status = 424 if protocol == "tei" else 502
            reply = _json(status, error_body(protocol, status, f"the model failed: {exc}", request_id=request_id))
        except (ValueError, TypeError) as exc:  # rejected by the Reranker (an empty query, a bad top_n)
            reply = _json(422, error_body(protocol, 422, str(exc), request_id=request_id))
        self.metrics.observe_request(protocol, reply.status, time.perf_counter() - started)
        return reply

    def _checked(self, call: RerankCall) -> RerankCall:
        limits = self.limits
        if len(call.documents) > limits.max_documents:
            raise RequestError(
                413, f"batch size {len(call.documents)} > maximum allowed batch size {limits.max_documents}"
            )
        if call.protocol == "tei" and not call.documents:
            raise RequestError(422, "`texts` cannot be empty")
        if len(call.query) > limits.max_query_chars:
            raise RequestError(
                422, f"the query has {len(call.query)} characters; the limit is {limits.max_query_chars}"
            )
        for index, text in enumerate(call.documents):
            if len(text) > limits.max_document_chars:
                raise RequestError(
                    422,
                    f"document {index} has {len(text)} characters; the limit is {limits.max_document_chars}",
                )
        if call.protocol == "tei" and not call.truncate and self._max_length:
            # Words never outnumber tokens, so more words than the model reads means more tokens too.
            for index, text in enumerate(call.documents):
                words = len((call.query + " " + text).split())
                if words > self._max_length:
                    raise RequestError(
                        413,
                        f"Input validation error: `inputs` {index} must have less than {self._max_length} tokens. "
                        f"Given: at least {words}; send truncate=true to cut it",
                    )
        return call

    async def _answer(self, call: RerankCall, request_id: str) -> Reply:
        texts = call.documents
        if call.max_tokens_per_doc is not None:
            texts = [truncate_words(t, call.max_tokens_per_doc) for t in texts]
        reranker = self._raw if call.raw_scores and self._raw is not None else self.reranker
        top_n = call.top_n if call.protocol != "tei" else None
        context = contextvars.copy_context()
        scored: dict[str, int] = {}
        context.run(_SCORED.set, scored)
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._executor, context.run, _rerank, reranker, call.query, texts, top_n)
        unique = len(set(texts))
        hits = sum(max(0, unique - scored.get(name, 0)) for name in self._cacheable)
        if hits:
            self.metrics.cache_hits.inc(hits)
        if results and reranker is self.reranker and getattr(results[0], "score_kind", "raw") != "raw":
            self._kind = results[0].score_kind
        ranked = [Scored(r.index, r.score, call.documents[r.index]) for r in results]
        return _json(200, render(call, ranked, model=self.spec, request_id=request_id))


def _decoded(body: bytes) -> tuple[Any, str | None]:
    try:
        return json.loads(body), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the request body is not valid JSON: {exc}"


def _rerank(reranker: Reranker, query: str, texts: list[str], top_n: int | None) -> list[Any]:
    return reranker.rerank(query, texts, top_n=top_n) if texts else []
