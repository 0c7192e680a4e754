"""The ASGI app (Starlette) and the uvicorn runner behind ``rankwise serve``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.serve.service import RerankService

log = logging.getLogger("rankwise.serve")


def create_app(service: RerankService) -> Any:
    """A Starlette app that hands every request to ``service``; closing the app closes the service.

    >>> from rankwise.serve import RerankService
    >>> app = create_app(RerankService("lexical"))
    >>> type(app).__name__
    'Starlette'
    """
    applications = require("starlette.applications", extra="serve", purpose="rankwise serve")
    responses = require("starlette.responses", extra="serve", purpose="rankwise serve")
    routing = require("starlette.routing", extra="serve", purpose="rankwise serve")
    limit = service.limits.max_body_bytes

    async def endpoint(request: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            body = b"x" * (limit + 1)  # let the service answer 413 in the protocol's format without reading it
        else:
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                chunks.append(chunk)
                if size > limit:
                    break
            body = b"".join(chunks)
        reply = await service.handle(request.method, request.url.path, dict(request.headers), body)
        return responses.Response(reply.body, status_code=reply.status, media_type=reply.media_type)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        service.close()

    routes = [routing.Route("/{path:path}", endpoint, methods=["GET", "POST"])]
    return applications.Starlette(routes=routes, lifespan=lifespan)


def read_api_keys(env_var: str | None = None, key_file: str | os.PathLike[str] | None = None) -> list[str]:
    """Bearer keys from an environment variable (comma-separated) and/or a file (one per line, ``#`` comments).

    >>> os.environ["RANKWISE_DOCTEST_KEYS"] = "k1, k2"
    >>> read_api_keys("RANKWISE_DOCTEST_KEYS")
    ['k1', 'k2']
    """
    keys: list[str] = []
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise ValueError(f"--api-key-env {env_var}: the environment variable is not set or empty; export it first")
        keys += [k.strip() for k in value.split(",") if k.strip()]
    if key_file:
        lines = Path(key_file).read_text(encoding="utf-8").splitlines()
        keys += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not keys:
            raise ValueError(f"--api-key-file {key_file}: no keys in the file (one per line)")
    return keys


def run_server(
    service: RerankService,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    graceful_shutdown_s: float = 30.0,
    announce: Iterable[str] = (),
) -> None:
    """Serve ``service`` with uvicorn until SIGINT/SIGTERM; in-flight requests finish first (up to the grace time)."""
    uvicorn = require("uvicorn", extra="serve", purpose="rankwise serve")
    config = uvicorn.Config(
        create_app(service),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=graceful_shutdown_s,
        lifespan="on",
    )
    for line in announce:
        log.info(line)

    class Server(uvicorn.Server):  # type: ignore[misc, name-defined]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            """SIGINT/SIGTERM start the graceful shutdown; the process then exits 0 (uvicorn re-raises them)."""
            if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    Server(config).run()
