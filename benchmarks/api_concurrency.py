"""Async throughput of the rerank-API backends as concurrency grows.

A local server (the one the tests use: ``packages/core/tests/api/rerank_api_server.py``, in its own process)
speaks each provider's wire format and sleeps ``--latency`` seconds (default 50 ms) per
request, standing in for the network and the provider's model. For each backend family
(the httpx backend via ``jina:``, the ``cohere`` SDK's ``AsyncClientV2``, the
``voyageai`` SDK's ``AsyncClient``), we keep 1, 10, 50 and 100 ``Reranker.arerank``
calls in flight (an ``asyncio.Semaphore``) until ``max(--min-calls, 3 × concurrency)``
calls are done, and report completed calls per second. Every call has its own query
(no cache hits) and 10 documents (one request each); every result is checked against
the server's scores. A sync baseline runs the same calls one at a time with ``rerank``.
With 50 ms per request, one-at-a-time tops out at 20 calls/s; concurrency should scale
that almost linearly until the client or the server saturates.

    .venv/bin/python benchmarks/api_concurrency.py [--latency 0.05] [--min-calls 30]

Prints a markdown table and writes it to ``benchmarks/results/api_concurrency.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "packages" / "core" / "tests" / "api"))

from rerank_api_server import FakeRerankServer, relevance  # noqa: E402  (the tests' server)

from rankwise import Reranker, RerankResult  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "api_concurrency.md"
KEY = "bench-key"
FAMILIES = {
    "httpx (jina:)": ("jina", "jina:jina-reranker-v2-base-multilingual"),
    "cohere SDK (cohere:)": ("cohere", "cohere:rerank-v3.5"),
    "voyageai SDK (voyage:)": ("voyage", "voyage:rerank-2.5"),
}
LEVELS = (1, 10, 50, 100)
DOCS = [f"document {i} about red apples and green pears, number {i}" for i in range(10)]


def serve(latency: float, address: mp.Queue[str], stop: mp.Event) -> None:  # type: ignore[valid-type]
    """Run the server in its own process, so it does not share the client's interpreter lock."""
    with FakeRerankServer(key=KEY, latency=latency) as server:
        address.put(server.url)
        stop.wait()  # type: ignore[attr-defined]


def base_url(url: str, provider: str) -> str:
    return f"{url}/{provider}/v1" if provider == "voyage" else f"{url}/{provider}"


def make(url: str, provider: str, spec: str, concurrency: int) -> Reranker:
    return Reranker(
        spec,
        api_key=KEY,
        base_url=base_url(url, provider),
        timeout=30.0,
        max_concurrency=concurrency,
        backend_options={"max_retries": 0},
    )


def check(query: str, results: list[RerankResult[str]]) -> None:
    best = max(range(len(DOCS)), key=lambda i: relevance(query, DOCS[i]))
    assert results[0].index == best, "wrong ranking"


async def run_async(rr: Reranker, concurrency: int, calls: int, tag: str) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        query = f"red apple {tag} {i}"
        async with limit:
            check(query, await rr.arerank(query, DOCS))

    await rr.arerank(f"warm-up {tag}", DOCS)  # build the client outside the timing
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return calls / (time.perf_counter() - started)


def run_sync(rr: Reranker, calls: int, tag: str) -> float:
    rr.rerank(f"warm-up {tag}", DOCS)
    started = time.perf_counter()
    for i in range(calls):
        query = f"red apple {tag} sync {i}"
        check(query, rr.rerank(query, DOCS))
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits per request")
    parser.add_argument("--min-calls", type=int, default=30, help="calls per measurement, at least")
    args = parser.parse_args()

    rows: list[list[str]] = []
    address: mp.Queue[str] = mp.Queue()
    stop = mp.Event()
    process = mp.Process(target=serve, args=(args.latency, address, stop), daemon=True)
    process.start()
    try:
        url = address.get(timeout=30)
        for label, (provider, spec) in FAMILIES.items():
            sync_rate = run_sync(make(url, provider, spec, 1), args.min_calls, label)
            rates = {}
            for level in LEVELS:
                calls = max(args.min_calls, 3 * level)
                rates[level] = asyncio.run(run_async(make(url, provider, spec, level), level, calls, f"{label}{level}"))
                print(f"{label:24s} concurrency {level:3d}: {rates[level]:7.1f} calls/s", flush=True)
            rows.append(
                [
                    label,
                    f"{sync_rate:.1f}",
                    *(f"{rates[level]:.1f}" for level in LEVELS),
                    f"{rates[100] / rates[1]:.1f}×",
                ]
            )
    finally:
        stop.set()
        process.join(timeout=10)

    ideal = [f"{1 / args.latency:.0f}", *(f"{level / args.latency:.0f}" for level in LEVELS), ""]
    header = ["backend", "sync, one at a time", *(f"async, {level} in flight" for level in LEVELS), "100 vs 1"]
    lines = [
        "# Rerank-API throughput vs concurrency",
        "",
        f"Completed `Reranker` calls per second against a local server adding {args.latency * 1000:.0f} ms per request",
        "(10 documents per call, one request each, every result checked). Reproduce with",
        "`.venv/bin/python benchmarks/api_concurrency.py`.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "| ideal (latency-bound) | " + " | ".join(ideal) + " |",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, Python {platform.python_version()};",
        "the server is a Python `ThreadingHTTPServer` in a second process on the same two cores, so at high",
        "concurrency client and server compete for CPU: real providers scale further. Numbers vary run to run.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
