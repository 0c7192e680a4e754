"""rankwise.tracing against the real OpenTelemetry SDK (InMemorySpanExporter, the `spans` fixture), no mocks."""

from __future__ import annotations

import asyncio
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rankwise import Reranker
from rankwise.tracing import DEFAULT_MAX_DOCUMENTS, rerank_span

DOCS = [
    "Bread rises because yeast ferments sugar into carbon dioxide.",
    "The stock market fell on Tuesday.",
    "Sourdough uses wild yeast and lactobacilli to leaven bread.",
    "Cats sleep for most of the day.",
]
QUERY = "why does bread rise"


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    finished = [s for s in exporter.get_finished_spans() if s.name == "rankwise.rerank"]
    assert len(finished) == 1, [s.name for s in exporter.get_finished_spans()]
    return finished[0]


def test_a_real_rerank_as_an_openinference_reranker_span(spans: InMemorySpanExporter) -> None:
    results = Reranker("lexical").rerank(QUERY, DOCS, top_n=2)
    spans.clear()  # Reranker.rerank opens its own span (see the last tests); this one is built by hand
    with rerank_span("lexical", QUERY, DOCS, top_n=2, include_content=False, ids=["a", "b", "c", "d"]) as rec:
        rec.add("backend", results[0].backend)
        rec.add("batches", 1)
        rec.add("cache_hits", 0)
        rec.record_results(results)
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["openinference.span.kind"] == "RERANKER"
    assert attrs["reranker.model_name"] == "lexical"
    assert attrs["reranker.top_k"] == 2
    assert [attrs[f"reranker.input_documents.{i}.document.id"] for i in range(4)] == ["a", "b", "c", "d"]
    ids = ["a", "b", "c", "d"]
    for rank, result in enumerate(results):
        assert attrs[f"reranker.output_documents.{rank}.document.id"] == ids[result.index]
        assert attrs[f"reranker.output_documents.{rank}.document.score"] == pytest.approx(result.score, abs=0)
    assert "reranker.output_documents.2.document.id" not in attrs
    assert attrs["rankwise.documents"] == 4
    assert attrs["rankwise.results"] == 2
    assert attrs["rankwise.backend"] == results[0].backend
    assert attrs["rankwise.batches"] == 1
    # Private by default: neither the query nor any document text is on the span.
    assert "reranker.query" not in attrs
    assert "input.value" not in attrs
    assert not any(k.endswith("document.content") for k in attrs)
    assert QUERY not in attrs.values()
    assert not set(DOCS) & {v for v in attrs.values() if isinstance(v, str)}


def test_content_only_when_opted_in(spans: InMemorySpanExporter) -> None:
    results = Reranker("lexical").rerank(QUERY, DOCS, top_n=1)
    spans.clear()
    with rerank_span("lexical", QUERY, DOCS, top_n=1, include_content=True) as rec:
        rec.record_results(results)
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["reranker.query"] == QUERY
    assert attrs["input.value"] == QUERY
    assert [attrs[f"reranker.input_documents.{i}.document.content"] for i in range(4)] == DOCS
    assert attrs["reranker.input_documents.2.document.id"] == "2"  # no ids given: the input position
    assert attrs["reranker.output_documents.0.document.content"] == DOCS[results[0].index]
    assert attrs["reranker.output_documents.0.document.id"] == str(results[0].index)
    assert attrs["output.mime_type"] == "application/json"


def test_counters_add_up_and_first_stage_scores(spans: InMemorySpanExporter) -> None:
    with rerank_span("cohere:rerank-v3.5", QUERY, DOCS, top_n=None, include_content=False) as rec:
        for batch_tokens in (100, 250, 7):
            rec.add("batches", 1)
            rec.add("tokens", batch_tokens)
        rec.add("billed_units", 1)
        rec.input_scores([12.5, 3.0, 9.25, 1.0])
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["rankwise.batches"] == 3
    assert attrs["rankwise.tokens"] == 357
    assert attrs["rankwise.billed_units"] == 1
    assert "reranker.top_k" not in attrs
    assert [attrs[f"reranker.input_documents.{i}.document.score"] for i in range(4)] == [12.5, 3.0, 9.25, 1.0]


def test_errors_are_span_events_and_the_status(spans: InMemorySpanExporter) -> None:
    with (
        pytest.raises(TimeoutError, match="rerank API"),
        rerank_span("cohere:rerank-v3.5", QUERY, DOCS, top_n=2, include_content=False),
    ):
        raise TimeoutError("rerank API did not answer in 10 s")
    span = only_span(spans)
    assert span.status.status_code is trace.StatusCode.ERROR
    assert "TimeoutError" in (span.status.description or "")
    [event] = [e for e in span.events if e.name == "exception"]
    assert (event.attributes or {})["exception.type"] == "TimeoutError"
    assert "did not answer" in str((event.attributes or {})["exception.message"])


def test_fallback_is_an_attribute_and_an_event(spans: InMemorySpanExporter) -> None:
    results = Reranker("lexical").rerank(QUERY, DOCS, top_n=2)
    spans.clear()
    with rerank_span("cohere:rerank-v3.5", QUERY, DOCS, top_n=2, include_content=False) as rec:
        rec.fallback("lexical", ConnectionError("connection refused"))
        rec.record_results(results)
    span = only_span(spans)
    assert (span.attributes or {})["rankwise.fallback"] == "lexical"
    [event] = [e for e in span.events if e.name == "rankwise.fallback"]
    assert dict(event.attributes or {}) == {
        "rankwise.fallback": "lexical",
        "exception.type": "ConnectionError",
        "exception.message": "connection refused",
    }
    assert span.status.status_code is trace.StatusCode.UNSET  # the call itself succeeded


def test_large_candidate_lists_keep_the_output_documents(spans: InMemorySpanExporter) -> None:
    """The SDK keeps 128 attributes and drops the newest: the output list must still be there."""
    docs = [f"document {i} about bread and yeast {i % 7}" for i in range(200)]
    results = Reranker("lexical").rerank(QUERY, docs, top_n=50)
    spans.clear()
    with rerank_span("lexical", QUERY, docs, top_n=50, include_content=True) as rec:
        rec.add("batches", 4)
        rec.record_results(results)
    span = only_span(spans)
    attrs = dict(span.attributes or {})
    assert span.dropped_attributes == 0
    assert attrs["rankwise.documents"] == 200
    assert attrs["rankwise.results"] == 50
    last = DEFAULT_MAX_DOCUMENTS - 1
    assert attrs[f"reranker.output_documents.{last}.document.id"] == str(results[last].index)
    assert f"reranker.output_documents.{last + 1}.document.id" not in attrs
    assert f"reranker.input_documents.{last + 1}.document.id" not in attrs


async def test_concurrent_async_calls_get_their_own_spans_under_the_caller(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")

    async def one(query: str) -> None:
        with rerank_span("lexical", query, DOCS, top_n=1, include_content=True) as rec:
            await asyncio.sleep(0.01)
            rec.add("batches", 1)

    with tracer.start_as_current_span("rag-pipeline") as parent:
        await asyncio.gather(one("q1"), one("q2"))
    finished = spans.get_finished_spans()
    children = [s for s in finished if s.name == "rankwise.rerank"]
    assert sorted(str((s.attributes or {})["reranker.query"]) for s in children) == ["q1", "q2"]
    parent_id = parent.get_span_context().span_id
    assert all(s.parent is not None and s.parent.span_id == parent_id for s in children)
    assert len({s.context.span_id for s in children if s.context is not None}) == 2


def test_no_op_without_opentelemetry(monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter) -> None:
    results = Reranker("lexical").rerank(QUERY, DOCS, top_n=1)
    spans.clear()
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)  # `import opentelemetry.trace` fails
    with rerank_span("lexical", QUERY, DOCS, top_n=1, include_content=False) as rec:
        rec.add("batches", 1)
        rec.fallback("lexical", RuntimeError("x"))
        rec.record_results(results)
    assert not rec.recording
    assert rec.attributes["rankwise.batches"] == 1  # still readable by the caller
    assert spans.get_finished_spans() == ()
    with pytest.raises(ValueError, match="boom"), rerank_span("lexical", QUERY, DOCS, None, include_content=False):
        raise ValueError("boom")


def test_attribute_names_are_openinference_s() -> None:
    """The names come from OpenInference's own package, not from memory."""
    from openinference.semconv.trace import (
        DocumentAttributes,
        OpenInferenceSpanKindValues,
        RerankerAttributes,
        SpanAttributes,
    )

    from rankwise import tracing

    assert tracing.SPAN_KIND == SpanAttributes.OPENINFERENCE_SPAN_KIND
    assert OpenInferenceSpanKindValues.RERANKER.value == tracing.RERANKER
    assert tracing.MODEL_NAME == RerankerAttributes.RERANKER_MODEL_NAME
    assert tracing.QUERY == RerankerAttributes.RERANKER_QUERY
    assert tracing.TOP_K == RerankerAttributes.RERANKER_TOP_K
    assert tracing.INPUT_DOCUMENTS == RerankerAttributes.RERANKER_INPUT_DOCUMENTS
    assert tracing.OUTPUT_DOCUMENTS == RerankerAttributes.RERANKER_OUTPUT_DOCUMENTS
    assert tracing.DOCUMENT_ID == DocumentAttributes.DOCUMENT_ID
    assert tracing.DOCUMENT_SCORE == DocumentAttributes.DOCUMENT_SCORE
    assert tracing.DOCUMENT_CONTENT == DocumentAttributes.DOCUMENT_CONTENT
    assert tracing.INPUT_VALUE == SpanAttributes.INPUT_VALUE
    assert tracing.OUTPUT_VALUE == SpanAttributes.OUTPUT_VALUE
    assert tracing.OUTPUT_MIME_TYPE == SpanAttributes.OUTPUT_MIME_TYPE


def test_every_rerank_call_is_one_reranker_span(spans: InMemorySpanExporter) -> None:
    """Reranker.rerank opens the span itself (the engine wires rerank_span in): one per call, private by default."""
    docs = [{"id": f"doc-{i}", "text": text} for i, text in enumerate(DOCS)]
    results = Reranker("lexical").rerank(QUERY, docs, top_n=2)
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["openinference.span.kind"] == "RERANKER"
    assert attrs["reranker.model_name"] == "lexical"
    assert attrs["reranker.top_k"] == 2
    assert attrs["rankwise.documents"] == 4
    assert attrs["rankwise.backend"] == results[0].backend
    assert isinstance(attrs["rankwise.batches"], int)
    assert attrs["rankwise.batches"] >= 1
    assert [attrs[f"reranker.output_documents.{i}.document.id"] for i in range(2)] == [
        r.document["id"] for r in results
    ]
    assert [attrs[f"reranker.output_documents.{i}.document.score"] for i in range(2)] == [r.score for r in results]
    assert "reranker.query" not in attrs
    assert not any(k.endswith("document.content") for k in attrs)


def test_a_rerank_with_first_stage_scores_records_them_on_the_input_documents(spans: InMemorySpanExporter) -> None:
    Reranker("0.5*lexical+0.5*first-stage").rerank(QUERY, DOCS, first_stage_scores=[4.0, 3.0, 2.0, 1.0])
    attrs = dict(only_span(spans).attributes or {})
    assert [attrs[f"reranker.input_documents.{i}.document.score"] for i in range(4)] == [4.0, 3.0, 2.0, 1.0]
    assert attrs["rankwise.score_kind"] == "relative"


def _unsampled_parent() -> trace.NonRecordingSpan:
    """A parent span an upstream decided not to sample: the SDK's default sampler then records no child."""
    context = trace.SpanContext(trace_id=1, span_id=1, is_remote=True, trace_flags=trace.TraceFlags(0))
    return trace.NonRecordingSpan(context)


def test_no_document_id_or_per_document_attribute_is_built_while_no_span_records(
    spans: InMemorySpanExporter,
) -> None:
    calls: list[int] = []

    def ids() -> list[str]:
        calls.append(1)
        return ["a", "b", "c", "d"]

    results = Reranker("lexical").rerank(QUERY, DOCS, top_n=2)
    spans.clear()
    with (
        trace.use_span(_unsampled_parent()),
        rerank_span("lexical", QUERY, DOCS, 2, include_content=True, ids=ids) as rec,
    ):
        assert not rec.recording
        rec.input_scores([4.0, 3.0, 2.0, 1.0])
        rec.record_results(results)
        rec.add("batches", 1)
    assert calls == []
    assert not any(key.startswith(("reranker.input_documents", "reranker.output_documents")) for key in rec.attributes)
    assert "output.value" not in rec.attributes
    assert "reranker.query" not in rec.attributes
    assert (rec.attributes["rankwise.documents"], rec.attributes["rankwise.results"]) == (4, 2)  # totals stay
    assert rec.attributes["rankwise.batches"] == 1
    assert spans.get_finished_spans() == ()
    with rerank_span("lexical", QUERY, DOCS, 2, include_content=False, ids=ids) as rec:
        assert rec.recording
        rec.record_results(results)
    assert calls == [1]  # once, however many attributes read the ids
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["reranker.output_documents.0.document.id"] == "abcd"[results[0].index]


class _CountedId:
    """A document whose ``id`` counts how often it is read."""

    reads = 0

    def __init__(self, text: str, doc_id: str) -> None:
        self.text = text
        self._id = doc_id

    @property
    def id(self) -> str:
        _CountedId.reads += 1
        return self._id


def test_a_rerank_reads_no_document_id_when_its_span_is_not_sampled(spans: InMemorySpanExporter) -> None:
    reranker = Reranker("0.5*lexical+0.5*first-stage")
    docs = [_CountedId(text, f"doc-{i}") for i, text in enumerate(DOCS)]
    _CountedId.reads = 0
    with trace.use_span(_unsampled_parent()):
        unsampled = reranker.rerank(QUERY, docs, top_n=2, first_stage_scores=[4.0, 3.0, 2.0, 1.0])
    assert _CountedId.reads == 0
    assert spans.get_finished_spans() == ()
    sampled = reranker.rerank(QUERY, docs, top_n=2, first_stage_scores=[4.0, 3.0, 2.0, 1.0])
    assert _CountedId.reads == len(DOCS)
    assert [r.index for r in sampled] == [r.index for r in unsampled]
    attrs = dict(only_span(spans).attributes or {})
    assert attrs["reranker.output_documents.0.document.id"] == f"doc-{sampled[0].index}"
    assert attrs["reranker.input_documents.3.document.score"] == 1.0
