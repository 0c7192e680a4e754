"""Run a real `rankwise serve` app (Starlette + uvicorn) on 127.0.0.1 in a thread, for the serve tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

CORPUS = [
    "cats purr when they are happy",
    "dogs bark at the mail carrier",
    "a red apple a day keeps the doctor away",
    "the river flows to the sea",
    "birds fly south in the winter",
    "green pears and red apples are fruit",
    "the cat sat on the mat and purred",
    "music makes people sing and dance",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(service: Any, *, graceful_shutdown_s: float = 10.0) -> Iterator[tuple[str, Any]]:
    """Serve ``service`` on a free 127.0.0.1 port; yields (base URL, the uvicorn server); stops it after."""
    import uvicorn

    from rankwise.serve.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(service),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=60)


class SlowBackend:
    """A real backend (word overlap) that takes ``delay`` seconds per call: for deadlines and draining."""

    name = "slow-overlap"
    default_normalization = "none"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.calls += 1
        time.sleep(self.delay)
        words = set(query.lower().split())
        return [float(len(words & set(t.lower().split()))) for t in texts]
