"""Send one traced rankwise rerank to a local Arize Phoenix over OTLP/HTTP (the screenshot in docs/tracing.md).

Phoenix is large and not a project dependency: install it in a throwaway environment, start it, run this
there with the core on the path, then open the trace URL it prints (headless: ``chromium --screenshot``):

    python3 -m venv /tmp/phoenix-venv && /tmp/phoenix-venv/bin/pip install arize-phoenix bm25s PyStemmer
    PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=6006 /tmp/phoenix-venv/bin/phoenix serve &
    PYTHONPATH=packages/core/src /tmp/phoenix-venv/bin/python benchmarks/phoenix_trace.py
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from rankwise import Reranker

PHOENIX = "http://127.0.0.1:6006"
DOCS = [
    "Bread rises because yeast ferments sugar into carbon dioxide.",
    "The stock market fell on Tuesday.",
    "Sourdough uses wild yeast and lactobacilli to leaven bread.",
    "Cats sleep for most of the day.",
]


def main() -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "rankwise-demo"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{PHOENIX}/v1/traces")))
    trace.set_tracer_provider(provider)
    reranker = Reranker("lexical", trace_content=True)  # opt in: the query and texts go on the span
    documents = [{"id": f"d{i + 1}", "text": text} for i, text in enumerate(DOCS)]
    with trace.get_tracer("demo").start_as_current_span("rag-pipeline") as root:
        results = reranker.rerank("why does bread rise", documents, top_n=2)
    provider.shutdown()
    print([(r.document["id"], round(r.score, 3), r.backend) for r in results])
    print(f"trace {format(root.get_span_context().trace_id, '032x')}: open it under {PHOENIX}/projects/")


if __name__ == "__main__":
    main()
