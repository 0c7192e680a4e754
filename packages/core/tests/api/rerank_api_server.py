"""A real HTTP server on 127.0.0.1 that speaks each rerank provider's wire format, with scripted faults.

Each provider lives under its own prefix (``/cohere/v2/rerank``, ``/voyage/v1/rerank``,
``/pinecone/rerank``…), checks the auth header and the request body the way the
provider documents them, enforces the provider's documents-per-request cap, and
answers in the provider's response shape, best first (as the real APIs do).
Scores come from `relevance`, so tests know the right ranking independently.

Faults are consumed one per request, in order (`FakeRerankServer.script`). Besides
statuses, delays and broken answers, the server can trickle a valid answer one byte
at a time (``Fault.trickle``: headers and body, or the body after complete headers)
and echo the key it was sent in an error body (``Fault.echo``), as misbehaving
servers and proxies do. ``/openai/v1/chat/completions`` answers like an
OpenAI-compatible chat server (for `rankwise.backends.llm.chat_llm`).
Written for the tests and `benchmarks/api_concurrency.py`; kept deliberately
independent of rankwise's own provider descriptions.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def relevance(query: str, text: str) -> float:
    """Deterministic score in (0, 1): shared query words, with a per-text tie-breaker.

    >>> relevance("red apple", "a red apple") > relevance("red apple", "a green pear")
    True
    """
    words = set(re.findall(r"\w+", query.lower()))
    overlap = len(words & set(re.findall(r"\w+", text.lower())))
    tiebreak = (zlib.crc32(text.encode()) % 1000) / 1000.0
    return (overlap + 0.5 * tiebreak + 0.1) / (len(words) + 1.0)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass
class Fault:
    """One scripted misbehaviour for the next request."""

    kind: str  # "status", "delay", "malformed", "bad_index", "dup_index", "missing_index", "drop", "trickle", "echo"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None  # "status": this body (with content_type) instead of the provider's error JSON
    content_type: str = "application/json"
    interval: float = 0.25  # "trickle": seconds between bytes
    headers_too: bool = False  # "trickle": the status line and headers trickle as well

    @classmethod
    def http(cls, status: int, retry_after: str | None = None, *, text: str | None = None) -> Fault:
        """An error status; ``text``: a plain-text body (a gateway's, not the provider's JSON)."""
        return cls(
            "status",
            status=status,
            headers={"Retry-After": retry_after} if retry_after is not None else {},
            body=None if text is None else text.encode(),
            content_type="application/json" if text is None else "text/plain",
        )

    @classmethod
    def trickle(cls, *, interval: float = 0.25, headers_too: bool = False, lasting: float = 20.0) -> Fault:
        """A valid answer, one byte every ``interval`` s, for at most ``lasting`` s (then the server hangs up)."""
        return cls("trickle", interval=interval, headers_too=headers_too, delay=lasting)

    @classmethod
    def echo(cls, status: int) -> Fault:
        """An error whose body repeats the key the client sent (as some servers and proxies do)."""
        return cls("echo", status=status)


@dataclass
class Seen:
    """One request as the server received it."""

    provider: str
    path: str
    headers: dict[str, str]
    body: Any
    documents: list[str]
    at: float
    fault: str | None


class ProviderError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------- request readers
def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ProviderError(422, f"field {key!r} must be a string")
    return value


def _str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise ProviderError(422, f"{what} must be a non-empty list of strings")
    return value


def _text_objects(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) and "text" in v for v in value):
        raise ProviderError(422, f"{what} must be a non-empty list of {{'text': ...}} objects")
    return _str_list([v["text"] for v in value], what)


def _cohere_style(body: dict[str, Any]) -> tuple[str, list[str]]:
    _str(body, "model")
    return _str(body, "query"), _str_list(body.get("documents"), "documents")


def _mixedbread(body: dict[str, Any]) -> tuple[str, list[str]]:
    _str(body, "model")
    return _str(body, "query"), _str_list(body.get("input"), "input")


def _nvidia(body: dict[str, Any]) -> tuple[str, list[str]]:
    _str(body, "model")
    query = body.get("query")
    if not isinstance(query, dict) or not isinstance(query.get("text"), str):
        raise ProviderError(422, "query must be {'text': ...}")
    return query["text"], _text_objects(body.get("passages"), "passages")


def _pinecone(body: dict[str, Any]) -> tuple[str, list[str]]:
    _str(body, "model")
    return _str(body, "query"), _text_objects(body.get("documents"), "documents")


def _tei(body: dict[str, Any]) -> tuple[str, list[str]]:
    return _str(body, "query"), _str_list(body.get("texts"), "texts")


def _chat(body: dict[str, Any]) -> tuple[str, list[str]]:
    _str(body, "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ProviderError(400, "messages must be a non-empty list of message objects")
    text = str(messages[-1].get("content", ""))
    return text, [text]


# ---------------------------------------------------------------------------- response writers
Ranked = list[tuple[int, float]]


def _cohere_out(ranked: Ranked, model: str) -> Any:
    return {
        "id": "req-1",
        "results": [{"index": i, "relevance_score": s} for i, s in ranked],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }


def _voyage_out(ranked: Ranked, model: str) -> Any:
    return {
        "object": "list",
        "data": [{"index": i, "relevance_score": s} for i, s in ranked],
        "model": model,
        "usage": {"total_tokens": 10 * len(ranked)},
    }


def _jina_out(ranked: Ranked, model: str) -> Any:
    return {
        "model": model,
        "usage": {"total_tokens": 10, "prompt_tokens": 10},
        "results": [{"index": i, "relevance_score": s} for i, s in ranked],
    }


def _mixedbread_out(ranked: Ranked, model: str) -> Any:
    return {
        "usage": {"prompt_tokens": 10, "total_tokens": 10, "completion_tokens": 0},
        "model": model,
        "data": [{"index": i, "score": s, "object": "rank_result"} for i, s in ranked],
        "object": "list",
        "top_k": len(ranked),
        "return_input": False,
    }


def _nvidia_out(ranked: Ranked, model: str) -> Any:
    return {"rankings": [{"index": i, "logit": logit(s)} for i, s in ranked]}


def _pinecone_out(ranked: Ranked, model: str) -> Any:
    return {"model": model, "data": [{"index": i, "score": s} for i, s in ranked], "usage": {"rerank_units": 1}}


def _tei_out(ranked: Ranked, model: str) -> Any:
    return [{"index": i, "score": s} for i, s in ranked]


def _vllm_out(ranked: Ranked, model: str) -> Any:
    return {
        "id": "rerank-1",
        "model": model,
        "usage": {"total_tokens": 10},
        "results": [{"index": i, "document": None, "relevance_score": s} for i, s in ranked],
    }


def _infinity_out(ranked: Ranked, model: str) -> Any:
    return {
        "object": "rerank",
        "results": [{"relevance_score": s, "index": i, "document": None} for i, s in ranked],
        "model": model,
        "usage": {"prompt_tokens": 10, "total_tokens": 10},
        "id": "infinity-1",
        "created": 0,
    }


#: What the chat endpoint answers (a listwise permutation, as the listwise backend asks for).
CHAT_ANSWER = "[2] > [1]"


def _chat_out(ranked: Ranked, model: str) -> Any:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": CHAT_ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _error_openai(status: int, message: str) -> Any:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


def _error_detail(status: int, message: str) -> Any:
    return {"detail": message}


def _error_message(status: int, message: str) -> Any:
    return {"message": message}


def _error_pinecone(status: int, message: str) -> Any:
    return {"error": {"code": "INVALID_ARGUMENT", "message": message}, "status": status}


def _error_tei(status: int, message: str) -> Any:
    return {"error": message, "error_type": "Validation"}


@dataclass(frozen=True)
class WireFormat:
    path: str
    read: Callable[[dict[str, Any]], tuple[str, list[str]]]
    write: Callable[[Ranked, str], Any]
    error: Callable[[int, str], Any]
    cap: int | None
    auth: str = "bearer"  # "bearer" or "api-key"
    key_required: bool = True


WIRE_FORMATS: dict[str, WireFormat] = {
    "cohere": WireFormat("/v2/rerank", _cohere_style, _cohere_out, _error_message, 1000),
    "voyage": WireFormat("/v1/rerank", _cohere_style, _voyage_out, _error_detail, 1000),
    "jina": WireFormat("/v1/rerank", _cohere_style, _jina_out, _error_detail, 1000),
    "mixedbread": WireFormat("/v1/reranking", _mixedbread, _mixedbread_out, _error_detail, 1000),
    "nvidia": WireFormat("/v1/ranking", _nvidia, _nvidia_out, _error_detail, 64),
    "pinecone": WireFormat("/rerank", _pinecone, _pinecone_out, _error_pinecone, 100, auth="api-key"),
    "tei": WireFormat("/rerank", _tei, _tei_out, _error_tei, 32, key_required=False),
    "vllm": WireFormat("/v1/rerank", _cohere_style, _vllm_out, _error_detail, 8, key_required=False),
    "infinity": WireFormat("/rerank", _cohere_style, _infinity_out, _error_detail, 8, key_required=False),
    "openai": WireFormat("/v1/chat/completions", _chat, _chat_out, _error_openai, None),
}


class FakeRerankServer:
    """Serve every provider's rerank endpoint on 127.0.0.1; script faults; record requests.

    >>> with FakeRerankServer(key="k") as server:
    ...     server.base_url("tei").startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, *, key: str, latency: float = 0.0) -> None:
        self.key = key
        self.latency = latency
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.trickling = 0  # connections a "trickle" fault is still sending on
        self.echoed: list[str] = []  # keys an "echo" fault sent back
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def base_url(self, provider: str) -> str:
        """The ``base_url=`` a client of ``provider`` is given (Voyage's SDK appends only ``/rerank``)."""
        return f"{self.url}/{provider}/v1" if provider == "voyage" else f"{self.url}/{provider}"

    def start(self) -> FakeRerankServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeRerankServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *faults: Fault) -> None:
        """Faults for the next requests, one each, in order; later requests are served normally."""
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.echoed.clear()
            self.max_in_flight = 0
        self.latency = 0.0

    def wait_until_no_trickle(self, within: float) -> bool:
        """Whether every trickling connection has ended (the client hung up) within ``within`` s."""
        ends = time.monotonic() + within
        while self.trickling and time.monotonic() < ends:
            time.sleep(0.05)
        return self.trickling == 0

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512
    owner: FakeRerankServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is part of the script, not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out as two writes: without this, Nagle + delayed ACK add ~40 ms per response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        owner = self.server.owner
        owner.enter()
        try:
            trickle = self._serve(owner)
        finally:
            owner.leave()  # a trickle is not "in flight" for the concurrency tests: it is a hung connection
        if trickle is not None:
            self._trickle(owner, *trickle)

    def _serve(self, owner: FakeRerankServer) -> tuple[Fault, bytes] | None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        provider, _, rest = self.path.lstrip("/").partition("/")
        wire = WIRE_FORMATS.get(provider)
        fault = owner.next_fault()
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None
        documents: list[str] = []
        try:
            if wire is None or "/" + rest != wire.path:
                raise ProviderError(404, f"no such endpoint {self.path!s}")
            self._check_auth(owner, provider, wire)
            if not isinstance(body, dict):
                raise ProviderError(400, "the body must be a JSON object")
            query, documents = wire.read(body)
        except ProviderError as exc:
            owner.record(Seen(provider, self.path, dict(self.headers), body, documents, time.monotonic(), None))
            error = wire.error if wire is not None else _error_detail
            self._send(exc.status, error(exc.status, str(exc)))
            return None
        owner.record(
            Seen(
                provider,
                self.path,
                dict(self.headers),
                body,
                documents,
                time.monotonic(),
                fault.kind if fault else None,
            )
        )
        if owner.latency:
            time.sleep(owner.latency)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            if fault.body is not None:
                self._send_raw(fault.status, fault.body, fault.content_type, fault.headers)
            else:
                self._send(fault.status, wire.error(fault.status, f"scripted HTTP {fault.status}"), fault.headers)
            return None
        if fault is not None and fault.kind == "echo":
            sent = self._sent_key(wire)
            owner.echoed.append(sent)
            self._send(fault.status, wire.error(fault.status, f"invalid request for key {sent}"))
            return None
        if fault is not None and fault.kind == "malformed":
            self._send_raw(200, b'{"results": [{"index": 0, "relevance_score": 0.5}', "application/json")
            return None
        if wire.cap is not None and len(documents) > wire.cap:
            message = f"too many documents: {len(documents)} > {wire.cap} per request"
            self._send(400 if provider != "tei" else 413, wire.error(400, message))
            return None
        scored = ((i, relevance(query, d)) for i, d in enumerate(documents))
        ranked = sorted(scored, key=lambda p: p[1], reverse=True)
        if fault is not None and fault.kind == "bad_index":
            ranked[0] = (len(documents), ranked[0][1])
        if fault is not None and fault.kind == "dup_index" and len(ranked) > 1:
            ranked[1] = (ranked[0][0], ranked[1][1])
        if fault is not None and fault.kind == "missing_index":
            ranked = ranked[:-1]
        model = str(body.get("model", "tei"))
        if fault is not None and fault.kind == "trickle":
            return fault, json.dumps(wire.write(ranked, model)).encode()
        self._send(200, wire.write(ranked, model))
        return None

    def _trickle(self, owner: FakeRerankServer, fault: Fault, data: bytes) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        out = head.encode() + data
        ends = time.monotonic() + fault.delay
        with owner._lock:
            owner.trickling += 1
        try:
            if not fault.headers_too:
                self.wfile.write(head.encode())
                out = data
            for i in range(len(out)):
                if time.monotonic() > ends:
                    break
                time.sleep(fault.interval)
                self.wfile.write(out[i : i + 1])
        except OSError:  # the client hung up: what the deadline tests wait for
            pass
        finally:
            self.close_connection = True
            with owner._lock:
                owner.trickling -= 1

    def _sent_key(self, wire: WireFormat) -> str:
        if wire.auth == "api-key":
            return self.headers.get("Api-Key") or ""
        return (self.headers.get("Authorization") or "").removeprefix("Bearer ")

    def _check_auth(self, owner: FakeRerankServer, provider: str, wire: WireFormat) -> None:
        if wire.auth == "api-key":
            if self.headers.get("X-Pinecone-API-Version") is None:
                raise ProviderError(400, "missing X-Pinecone-API-Version header")
            given = self.headers.get("Api-Key")
        else:
            auth = self.headers.get("Authorization")
            given = auth[len("Bearer ") :] if auth and auth.startswith("Bearer ") else None
            if auth is not None and given is None:
                raise ProviderError(401, "malformed Authorization header")
        if given is None and not wire.key_required:
            return
        if given != owner.key:
            raise ProviderError(401, "invalid API key")  # never echoes what was sent

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def free_port() -> int:
    """A port with nothing listening on it (for connection-refused tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
