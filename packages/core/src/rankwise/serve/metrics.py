"""Prometheus metrics of one server (its own registry, so several servers in one process never clash)."""

from __future__ import annotations

from typing import Any

from rankwise._optional import require

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PAIR_BUCKETS = (1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280)
_REQUEST_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


class ServeMetrics:
    """Requests, errors, latency, pairs scored, batch sizes and cache hits, exposed at ``GET /metrics``.

    >>> metrics = ServeMetrics()
    >>> metrics.observe_request("cohere", 200, 0.01)
    >>> b"rankwise_requests_total" in metrics.exposition()[0]
    True
    """

    def __init__(self) -> None:
        prometheus = require("prometheus_client", extra="serve", purpose="rankwise serve's /metrics")
        self._prometheus = prometheus
        self.registry: Any = prometheus.CollectorRegistry()
        counter, histogram = prometheus.Counter, prometheus.Histogram
        self.requests = counter(
            "rankwise_requests", "Rerank requests answered", ["protocol", "status"], registry=self.registry
        )
        self.errors = counter(
            "rankwise_errors", "Rerank requests answered with an error", ["protocol", "status"], registry=self.registry
        )
        self.latency = histogram(
            "rankwise_request_latency_seconds",
            "Time from request received to answer",
            ["protocol"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.pairs = counter(
            "rankwise_pairs_scored", "(query, document) pairs sent to a model", ["backend"], registry=self.registry
        )
        self.batch_pairs = histogram(
            "rankwise_batch_pairs",
            "Pairs per dynamic batch (one model call shared by concurrent requests)",
            ["backend"],
            buckets=_PAIR_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = histogram(
            "rankwise_batch_requests",
            "Concurrent score calls coalesced into one dynamic batch",
            ["backend"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.cache_hits = counter(
            "rankwise_cache_hits", "Documents answered from the score cache, not the model", registry=self.registry
        )

    def observe_request(self, protocol: str, status: int, seconds: float) -> None:
        self.requests.labels(protocol, str(status)).inc()
        if status >= 400:
            self.errors.labels(protocol, str(status)).inc()
        self.latency.labels(protocol).observe(seconds)

    def observe_batch(self, backend: str, pairs: int, requests: int) -> None:
        self.batch_pairs.labels(backend).observe(pairs)
        self.batch_requests.labels(backend).observe(requests)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return self._prometheus.generate_latest(self.registry), self._prometheus.CONTENT_TYPE_LATEST
