"""RankwiseRanker's contract: independent outputs (issue 12 item 15), options checked at construction and named as
the caller named them (item 17), the score's kind, the retriever-score switch, and haystack.tracing spans."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import pytest
from haystack import Document, Pipeline, tracing
from haystack.tracing import Span, Tracer

from haystack_integrations.components.rankers.rankwise import RankwiseRanker

QUERY = "red apple pie"
TEXTS = ["green pear", "red apple pie recipe", "a red car", "apple tree"]


def make_docs() -> list[Document]:
    return [
        Document(
            content=t, id=f"d{i}", meta={"i": i, "nested": {"tags": ["x"]}}, score=0.1 * (4 - i), embedding=[0.5, 0.5]
        )
        for i, t in enumerate(TEXTS)
    ]


def test_item15_outputs_share_nothing_mutable_with_the_inputs() -> None:
    docs = make_docs()
    snapshot = copy.deepcopy(docs)
    out = RankwiseRanker(model="lexical", top_k=None).run(query=QUERY, documents=docs)["documents"]
    for doc in out:
        doc.meta["nested"]["tags"].append("changed")
        doc.meta["i"] = -1
        assert doc.embedding is not None
        doc.embedding.append(9.0)
    assert docs == snapshot


def test_item17_errors_name_top_k_and_bools_are_refused() -> None:
    ranker = RankwiseRanker(model="lexical")
    with pytest.raises(ValueError, match="top_k must be a positive integer or None, got 0"):
        ranker.run(query=QUERY, documents=make_docs(), top_k=0)
    with pytest.raises(ValueError, match="top_k"):
        RankwiseRanker(model="lexical", top_k=True)
    with pytest.raises(ValueError, match="score_threshold must be a number, not a bool"):
        RankwiseRanker(model="lexical", score_threshold=True)
    with pytest.raises(ValueError, match="no-such-kind"):
        RankwiseRanker(model="no-such-kind:x")
    with pytest.raises(ValueError, match="batch_size"):
        RankwiseRanker(model="lexical", reranker_kwargs={"batch_size": 0})
    with pytest.raises(ValueError, match="Reranker has no option 'no_such_option': its options are device"):
        RankwiseRanker(model="lexical", reranker_kwargs={"no_such_option": 1})
    with pytest.raises(ValueError, match="score_threshold must be a number or None, got nan"):
        RankwiseRanker(model="lexical", score_threshold=float("nan"))


def test_the_calibrated_default_ignores_retriever_scores_unless_told() -> None:
    from rankwise import Reranker

    core = Reranker("embedded")
    alone = {TEXTS[r.index]: r.score for r in core.rerank(QUERY, TEXTS)}
    fused = {TEXTS[r.index]: r.score for r in core.rerank(QUERY, TEXTS, first_stage_scores=[0.4, 0.3, 0.2, 0.1])}
    assert fused != pytest.approx(alone)
    for switch, want in ((None, alone), (True, fused)):
        ranker = RankwiseRanker(model="embedded", top_k=None, use_retriever_scores=switch)
        ranker.warm_up()
        got = {d.content: d.score for d in ranker.run(query=QUERY, documents=make_docs())["documents"]}
        assert got == pytest.approx(want)
    assert RankwiseRanker.from_dict(RankwiseRanker(model="embedded").to_dict()).use_retriever_scores is None


def test_score_kind_in_meta_and_the_retriever_score_switch() -> None:
    used = RankwiseRanker(model="first-stage|lexical", top_k=None).run(query=QUERY, documents=make_docs())
    assert [d.id for d in used["documents"]] == ["d0", "d1", "d2", "d3"]
    assert {d.meta["score_kind"] for d in used["documents"]} == {"first-stage"}
    off = RankwiseRanker(model="first-stage|lexical", top_k=1, use_retriever_scores=False)
    (best,) = off.run(query=QUERY, documents=make_docs())["documents"]
    assert best.id == "d1"  # BM25 instead
    assert best.meta["score_kind"] == "bm25"
    assert RankwiseRanker.from_dict(off.to_dict()).use_retriever_scores is False


class RecordedSpan(Span):
    def __init__(self, name: str, parent: RecordedSpan | None) -> None:
        self.name, self.parent, self.tags = name, parent, {}

    def set_tag(self, key: str, value: Any) -> None:
        self.tags[key] = value


class RecordingTracer(Tracer):
    """A real haystack.tracing Tracer that keeps every span with its parent."""

    def __init__(self) -> None:
        self.spans: list[RecordedSpan] = []
        self.stack: list[RecordedSpan] = []

    @contextlib.contextmanager
    def trace(
        self, operation_name: str, tags: dict[str, Any] | None = None, parent_span: Span | None = None
    ) -> Iterator[Span]:
        span = RecordedSpan(operation_name, self.stack[-1] if self.stack else None)
        span.set_tags(tags or {})
        self.spans.append(span)
        self.stack.append(span)
        try:
            yield span
        finally:
            self.stack.pop()

    def current_span(self) -> Span | None:
        return self.stack[-1] if self.stack else None


@pytest.fixture
def recording_tracer() -> Iterator[RecordingTracer]:
    recorder = RecordingTracer()
    tracing.enable_tracing(recorder)
    content = tracing.tracer.is_content_tracing_enabled
    tracing.tracer.is_content_tracing_enabled = True
    yield recorder
    tracing.tracer.is_content_tracing_enabled = content
    tracing.disable_tracing()


@pytest.mark.parametrize("use_async", [False, True])
async def test_each_run_is_a_span_under_the_component_span(recording_tracer: RecordingTracer, use_async: bool) -> None:
    pipeline = Pipeline()
    pipeline.add_component("ranker", RankwiseRanker(model="lexical", top_k=2))
    if use_async:
        result = await pipeline.run_async({"ranker": {"query": QUERY, "documents": make_docs()}})
    else:
        result = pipeline.run({"ranker": {"query": QUERY, "documents": make_docs()}})
    (span,) = [s for s in recording_tracer.spans if s.name == "rankwise.haystack.rerank"]
    assert span.parent is not None
    assert span.parent.name == "haystack.component.run"
    assert span.parent.tags["haystack.component.name"] == "ranker"
    assert span.tags["rankwise.model"] == "lexical"
    assert span.tags["rankwise.top_k"] == 2
    assert span.tags["rankwise.input_documents"] == 4
    assert span.tags["rankwise.output_documents"] == 2
    assert span.tags["rankwise.first_stage_scores"] is True
    assert span.tags["rankwise.backend"] == ["lexical"]
    assert span.tags["rankwise.score_kind"] == ["bm25"]
    assert span.tags["rankwise.query"] == QUERY  # content tags: only with content tracing on
    ids = [d.id for d in result["ranker"]["documents"]]
    assert [o["id"] for o in span.tags["rankwise.output"]] == ids


def test_content_is_not_traced_by_default(recording_tracer: RecordingTracer) -> None:
    tracing.tracer.is_content_tracing_enabled = False
    RankwiseRanker(model="lexical").run(query=QUERY, documents=make_docs())
    (span,) = [s for s in recording_tracer.spans if s.name == "rankwise.haystack.rerank"]
    assert "rankwise.query" not in span.tags
    assert "rankwise.output" not in span.tags
    assert span.tags["rankwise.output_documents"] == 3


def test_item17_numpy_numbers_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    ranker = RankwiseRanker(model="lexical", top_k=np.int64(2))
    assert type(ranker.top_k) is int
    assert len(ranker.run(query=QUERY, documents=make_docs(), top_k=np.int32(1))["documents"]) == 1
    assert ranker.to_dict()["init_parameters"]["top_k"] == 2
