"""OpenTelemetry spans for rerank calls, in OpenInference's ``RERANKER`` conventions.

Every rerank call can open one span with :func:`rerank_span`. The span carries the attributes that
OpenInference viewers (Arize Phoenix and others) read to show it as a reranker:

- ``openinference.span.kind = "RERANKER"``, ``reranker.model_name``, ``reranker.top_k``;
- ``reranker.input_documents.{i}.document.id`` (and ``.score`` when a first-stage score is known),
  ``reranker.output_documents.{i}.document.id`` / ``.score``, in output order;
- ``reranker.query``, ``input.value`` and ``document.content`` only when the caller opts in with
  ``include_content=True`` (queries and documents are often private data);

and rankwise's own, under ``rankwise.``: ``backend``, ``documents`` (how many went in), ``results``,
``top_n``, ``cache_hits``, ``batches``, ``tokens``, ``billed_units``, ``fallback``, and any other
counter the engine adds. Errors become span events (``exception``, through ``record_exception``) and an
``ERROR`` status; a fallback that fires becomes a ``rankwise.fallback`` event.

Without ``opentelemetry-api`` installed (``pip install 'rankwise[tracing]'``) everything here is a
no-op, and so it is, at the cost of one ``is_recording()`` check, when no tracer provider is set or the
span is not sampled: then no document id is computed and no per-document attribute is built (the
recorder still counts what is added, for its caller).

An OpenTelemetry SDK keeps 128 attributes per span unless told otherwise (``OTEL_ATTRIBUTE_COUNT_LIMIT``),
and drops the newest ones past that, so at most ``max_documents`` (default 16) input and output documents
are listed; ``rankwise.documents`` always has the full count.

>>> with rerank_span("lexical", "q", ["a", "b"], top_n=1, include_content=False) as span:
...     span.add("batches", 1)
...     span.add("backend", "lexical")
>>> span.attributes["rankwise.batches"], span.attributes["rankwise.backend"]
(1, 'lexical')
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

__all__ = ["DEFAULT_MAX_DOCUMENTS", "SpanRecorder", "rerank_span"]

# 16 documents in + 16 out, with id, score and content each, is 96 attributes: under the SDK's default
# limit of 128 per span with room for rankwise's own (about 15).
DEFAULT_MAX_DOCUMENTS = 16
TRACER_NAME = "rankwise"
SPAN_NAME = "rankwise.rerank"

# OpenInference semantic conventions (openinference-semantic-conventions, semconv.trace).
SPAN_KIND = "openinference.span.kind"
RERANKER = "RERANKER"
MODEL_NAME = "reranker.model_name"
QUERY = "reranker.query"
TOP_K = "reranker.top_k"
INPUT_DOCUMENTS = "reranker.input_documents"
OUTPUT_DOCUMENTS = "reranker.output_documents"
DOCUMENT_ID = "document.id"
DOCUMENT_SCORE = "document.score"
DOCUMENT_CONTENT = "document.content"
INPUT_VALUE = "input.value"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
PREFIX = "rankwise."

AttributeValue = str | bool | int | float
Ids = Sequence[str] | Callable[[], Sequence[str]]


class _ResultLike(Protocol):
    """What :meth:`SpanRecorder.record_results` reads of a result (``RerankResult`` has it)."""

    @property
    def index(self) -> int: ...
    @property
    def score(self) -> float: ...


def _trace_api() -> Any:
    """``opentelemetry.trace``, or ``None`` when opentelemetry-api is not installed."""
    try:
        return importlib.import_module("opentelemetry.trace")
    except ImportError:
        return None


def _key(attribute: str) -> str:
    """``"cache_hits"`` -> ``"rankwise.cache_hits"``; a dotted name (``"reranker.top_k"``) is kept as is."""
    return attribute if "." in attribute else PREFIX + attribute


class SpanRecorder:
    """What a rerank call reports into its span; every method is a no-op when nothing records.

    ``attributes`` mirrors what was set on the span, so callers and tests can read it back; while nothing
    records it holds the counters and the call's totals only (no per-document attributes are built).
    ``ids`` are the documents' ids in input order, or a function returning them, called only when the
    span records.

    >>> rec = SpanRecorder(None, model="lexical", ids=["d1", "d2"], texts=["a", "b"], include_content=False)
    >>> rec.add("cache_hits", 2); rec.add("cache_hits", 1)
    >>> rec.attributes["rankwise.cache_hits"]
    3
    """

    def __init__(
        self,
        span: Any,
        *,
        model: str,
        ids: Ids,
        texts: Sequence[str],
        include_content: bool,
        max_documents: int = DEFAULT_MAX_DOCUMENTS,
    ) -> None:
        self._span = span
        self._ids_of = ids if callable(ids) else lambda: ids
        self._ids: Sequence[str] | None = None
        self._texts = texts
        self._include_content = include_content
        self._max_documents = max_documents
        self.model = model
        self.attributes: dict[str, AttributeValue] = {}
        self.events: list[tuple[str, dict[str, AttributeValue]]] = []

    @property
    def recording(self) -> bool:
        """Whether an OpenTelemetry span records what is added (False without a tracer provider)."""
        return self._span is not None and bool(self._span.is_recording())

    @property
    def ids(self) -> Sequence[str]:
        """The documents' ids, in input order (computed on first use)."""
        if self._ids is None:
            self._ids = self._ids_of()
        return self._ids

    def _set(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value
        if self._span is not None:
            self._span.set_attribute(key, value)

    def _set_many(self, attributes: Mapping[str, AttributeValue]) -> None:
        self.attributes.update(attributes)
        if self._span is not None:
            self._span.set_attributes(dict(attributes))

    def _event(self, name: str, attributes: dict[str, AttributeValue]) -> None:
        self.events.append((name, attributes))
        if self._span is not None:
            self._span.add_event(name, attributes)

    def add(self, attribute: str, value: AttributeValue) -> None:
        """Report one fact: numbers add up (call it once per batch), strings and booleans are set.

        ``attribute`` without a dot gets the ``rankwise.`` prefix: ``add("batches", 1)``,
        ``add("tokens", 812)``, ``add("billed_units", 1)``, ``add("backend", "cross-encoder:X")``.
        """
        key = _key(attribute)
        previous = self.attributes.get(key)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and isinstance(previous, int | float)
            and not isinstance(previous, bool)
        ):
            value = previous + value
        self._set(key, value)

    def input_documents(self, query: str) -> None:
        """The input documents' ids (and, opted in, their texts and the query); nothing while not recording."""
        if not self.recording:
            return
        attributes: dict[str, AttributeValue] = {}
        for i, doc_id in enumerate(self.ids[: self._max_documents]):
            attributes[f"{INPUT_DOCUMENTS}.{i}.{DOCUMENT_ID}"] = doc_id
            if self._include_content:
                attributes[f"{INPUT_DOCUMENTS}.{i}.{DOCUMENT_CONTENT}"] = self._texts[i]
        if self._include_content:
            attributes[QUERY] = query
            attributes[INPUT_VALUE] = query
        self._set_many(attributes)

    def input_scores(self, scores: Sequence[float]) -> None:
        """The first-stage scores of the input documents (``reranker.input_documents.{i}.document.score``)."""
        if not self.recording:
            return
        self._set_many(
            {
                f"{INPUT_DOCUMENTS}.{i}.{DOCUMENT_SCORE}": float(score)
                for i, score in enumerate(scores[: self._max_documents])
            }
        )

    def record_results(self, results: Sequence[_ResultLike]) -> None:
        """The output documents, in output order: id, score and (opted in) content; the result count (only
        the count while not recording)."""
        attributes: dict[str, AttributeValue] = {PREFIX + "results": len(results)}
        if not self.recording:
            self._set_many(attributes)
            return
        ids = self.ids
        for rank, result in enumerate(results[: self._max_documents]):
            prefix = f"{OUTPUT_DOCUMENTS}.{rank}."
            attributes[prefix + DOCUMENT_ID] = ids[result.index]
            attributes[prefix + DOCUMENT_SCORE] = float(result.score)
            if self._include_content:
                attributes[prefix + DOCUMENT_CONTENT] = self._texts[result.index]
        if self._include_content:
            attributes[OUTPUT_VALUE] = json.dumps([{"id": ids[r.index], "score": float(r.score)} for r in results])
            attributes[OUTPUT_MIME_TYPE] = "application/json"
        self._set_many(attributes)

    def fallback(self, name: str, error: BaseException) -> None:
        """The fallback ``name`` took over after ``error``: attribute ``rankwise.fallback`` and an event."""
        self._set(PREFIX + "fallback", name)
        self._event(
            PREFIX + "fallback",
            {PREFIX + "fallback": name, "exception.type": type(error).__name__, "exception.message": str(error)},
        )

    def error(self, exc: BaseException) -> None:
        """The call failed: an ``exception`` event with type, message and stack trace, and an ERROR status."""
        self.events.append(("exception", {"exception.type": type(exc).__name__, "exception.message": str(exc)}))
        if self._span is not None:
            self._span.record_exception(exc)
            trace = _trace_api()
            if trace is not None:
                self._span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


@contextlib.contextmanager
def rerank_span(
    model: str,
    query: str,
    documents: Sequence[str],
    top_n: int | None,
    *,
    include_content: bool,
    ids: Sequence[str | int] | Callable[[], Sequence[str | int]] | None = None,
    max_documents: int = DEFAULT_MAX_DOCUMENTS,
) -> Iterator[SpanRecorder]:
    """Open a ``RERANKER`` span (the current span while the block runs) and yield its recorder.

    ``documents`` are the texts in input order; ``ids`` their ids, or a function returning them, called
    only if the span records (default: the input positions, ``"0"``, ``"1"``, ...). The query and texts
    are recorded only with ``include_content=True``. An exception leaving the block is recorded with
    :meth:`SpanRecorder.error` and re-raised.

    >>> with rerank_span("embedded", "q", ["a"], top_n=None, include_content=False) as span:
    ...     pass
    >>> span.attributes["openinference.span.kind"], span.attributes["rankwise.documents"]
    ('RERANKER', 1)
    """
    trace = _trace_api()
    tracer = trace.get_tracer(TRACER_NAME) if trace is not None else None
    cm: contextlib.AbstractContextManager[Any] = (
        tracer.start_as_current_span(SPAN_NAME, record_exception=False, set_status_on_exception=False)
        if tracer is not None
        else contextlib.nullcontext(None)
    )
    with cm as span:
        recorder = SpanRecorder(
            span if span is not None and span.is_recording() else None,
            model=model,
            ids=lambda: _ids_of(ids, len(documents)),
            texts=documents,
            include_content=include_content,
            max_documents=max_documents,
        )
        attributes: dict[str, AttributeValue] = {
            SPAN_KIND: RERANKER,
            MODEL_NAME: model,
            PREFIX + "documents": len(documents),
        }
        if top_n is not None:
            attributes[TOP_K] = top_n
            attributes[PREFIX + "top_n"] = top_n
        recorder._set_many(attributes)
        recorder.input_documents(query)
        try:
            yield recorder
        except BaseException as exc:
            recorder.error(exc)
            raise


def _ids_of(ids: Sequence[str | int] | Callable[[], Sequence[str | int]] | None, count: int) -> list[str]:
    """The ids as strings: given, computed by the function given, or the input positions."""
    if ids is None:
        return [str(i) for i in range(count)]
    return [str(i) for i in (ids() if callable(ids) else ids)]
