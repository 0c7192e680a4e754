"""What enforcing the deadline costs a sync call: the worker thread each attempt runs in.

`rankwise.retry.call_with_retry` runs every attempt in a worker thread, so that the
caller can stop waiting at the deadline whatever the server does (an HTTP client's
timeout is per read). This measures that cost:

1. the bare loop: ``call_with_retry(noop)`` against ``noop()`` called directly;
2. a whole sync ``Reranker.rerank`` of 10 documents against the tests' local server
   (in its own process, no added latency) for the httpx backend (``jina:``), the
   ``cohere`` SDK and the ``voyageai`` SDK.

Median and fastest of ``--calls`` calls (default 300), after 20 warm-up calls. The machine's
load average is printed with the CPU: on a shared machine the spread is large.

    .venv/bin/python benchmarks/retry_overhead.py [--calls 300]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "packages" / "core" / "tests" / "api"))
sys.path.insert(0, str(REPO))

from rerank_api_server import FakeRerankServer  # noqa: E402  (the tests' server)

from benchmarks.speed.cpu_class import cpu_line  # noqa: E402
from rankwise import Reranker  # noqa: E402
from rankwise.retry import RetryPolicy, call_with_retry  # noqa: E402

KEY = "bench-key"
FAMILIES = {
    "httpx (jina:)": ("jina", "jina:jina-reranker-v2-base-multilingual"),
    "cohere SDK (cohere:)": ("cohere", "cohere:rerank-v3.5"),
    "voyageai SDK (voyage:)": ("voyage", "voyage:rerank-2.5"),
}
DOCS = [f"document {i} about red apples and green pears, number {i}" for i in range(10)]


def serve(address: mp.Queue[str], stop: Event) -> None:
    with FakeRerankServer(key=KEY) as server:
        address.put(server.url)
        stop.wait()


def timed_us(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(median, fastest) microseconds per call: on a shared machine the fastest shows the floor."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6, min(times) * 1e6


def _distinct_calls(rr: Reranker) -> Callable[[], object]:
    counter = iter(range(10**9))
    return lambda: rr.rerank(f"q {next(counter)}", DOCS)  # a new query each call: no cache hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    policy = RetryPolicy(timeout=10.0)

    def noop(timeout: float = 0.0) -> None:
        return None

    rows = [
        ("`noop()` called directly", timed_us(noop, args.calls)),
        (
            "`call_with_retry(noop)` (one worker thread)",
            timed_us(lambda: call_with_retry(noop, policy, backend="b"), args.calls),
        ),
    ]
    address: mp.Queue[str] = mp.Queue()
    stop = mp.Event()
    process = mp.Process(target=serve, args=(address, stop), daemon=True)
    process.start()
    url = address.get(timeout=30)
    try:
        for label, (kind, spec) in FAMILIES.items():
            base = f"{url}/{kind}/v1" if kind == "voyage" else f"{url}/{kind}"
            rr = Reranker(spec, api_key=KEY, base_url=base, timeout=10.0)
            rows.append((f"sync `rerank`, 10 docs, {label}", timed_us(_distinct_calls(rr), args.calls)))
    finally:
        stop.set()
        process.join(timeout=10)
    print(f"CPU: {cpu_line()}; load average {os.getloadavg()[0]:.1f}\n")
    print("| what | median per call | fastest call |\n|---|---|---|")
    for label, (median, fastest) in rows:
        print(f"| {label} | {median:,.0f} µs | {fastest:,.0f} µs |")


if __name__ == "__main__":
    main()
