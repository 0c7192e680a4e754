"""RankwiseRerank: a thin translation of LlamaIndex nodes to the rankwise core and back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from pydantic import Field, ValidationError

from rankwise import Reranker, UnknownModelSpecError
from rankwise_llamaindex import RankwiseRerank

QUERY = "red apple pie"
TEXTS = ["green pear", "red apple pie recipe", "a red car", "apple tree", "pie crust", "blue sky"]


def make_nodes(scores: list[float | None] | None = None) -> list[NodeWithScore]:
    scores = scores if scores is not None else [None] * len(TEXTS)
    return [
        NodeWithScore(node=TextNode(text=t, id_=f"n{i}", metadata={"i": i}), score=s)
        for i, (t, s) in enumerate(zip(TEXTS, scores, strict=True))
    ]


class EventLog(BaseEventHandler):
    """Keeps the rerank instrumentation events it sees."""

    seen: list[BaseEvent] = Field(default_factory=list)

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (ReRankStartEvent, ReRankEndEvent)):
            self.seen.append(event)


@pytest.fixture
def event_log() -> Iterator[EventLog]:
    log = EventLog()
    root = get_dispatcher()
    root.add_event_handler(log)
    yield log
    root.event_handlers.remove(log)


def test_new_nodes_with_core_scores_and_untouched_inputs() -> None:
    nodes = make_nodes([0.5] * len(TEXTS))
    snapshot = [n.model_copy(deep=True) for n in nodes]
    out = RankwiseRerank(model="lexical", top_n=None, metadata_mode=MetadataMode.NONE).postprocess_nodes(
        nodes, query_str=QUERY
    )
    expected = Reranker("lexical").rerank(QUERY, TEXTS)
    assert [n.node.node_id for n in out] == [f"n{r.index}" for r in expected]
    assert [n.score for n in out] == [r.score for r in expected]
    assert all(type(n.score) is float for n in out)
    assert all(o is not n for o in out for n in nodes)
    assert nodes == snapshot  # scores and metadata of the inputs are unchanged
    assert out[0].node is not nodes[1].node  # always a copy (issue 12 item 15)
    assert out[0].node.node_id == nodes[1].node.node_id


def test_default_top_n_is_three_and_cuts_pass_through() -> None:
    assert len(RankwiseRerank(model="lexical").postprocess_nodes(make_nodes(), query_str=QUERY)) == 3
    for top_n, threshold in [(2, None), (5, 1.0), (None, 0.5)]:
        core = Reranker("lexical").rerank(QUERY, TEXTS, top_n=top_n, score_threshold=threshold)
        out = RankwiseRerank(
            model="lexical", top_n=top_n, score_threshold=threshold, metadata_mode=MetadataMode.NONE
        ).postprocess_nodes(make_nodes(), query_str=QUERY)
        assert [n.node.node_id for n in out] == [f"n{r.index}" for r in core]


def test_retrieval_scores_reach_the_core_as_first_stage_scores() -> None:
    retrieval = [0.1, 0.9, 0.3, 0.8, 0.2, 0.7]
    out = RankwiseRerank(model="first-stage", top_n=None).postprocess_nodes(make_nodes(retrieval), query_str=QUERY)
    assert [n.score for n in out] == sorted(retrieval, reverse=True)
    assert [n.node.node_id for n in out] == ["n1", "n3", "n5", "n2", "n4", "n0"]


def test_a_missing_retrieval_score_means_no_first_stage_scores() -> None:
    nodes = make_nodes([0.1, None, 0.3, 0.8, 0.2, 0.7])
    with pytest.raises(ValueError, match="first_stage_scores"):
        RankwiseRerank(model="first-stage").postprocess_nodes(nodes, query_str=QUERY)
    # "first-stage|lexical" falls back to BM25 over the candidates when scores are missing
    out = RankwiseRerank(model="first-stage|lexical", top_n=1).postprocess_nodes(nodes, query_str=QUERY)
    assert out[0].node.node_id == "n1"


def test_keep_retrieval_score_copies_the_node() -> None:
    nodes = make_nodes([0.25] * len(TEXTS))
    out = RankwiseRerank(model="lexical", keep_retrieval_score=True).postprocess_nodes(nodes, query_str=QUERY)
    assert all(n.node.metadata["retrieval_score"] == 0.25 for n in out)
    assert all("retrieval_score" not in n.node.metadata for n in nodes)
    assert out[0].node.node_id == "n1"
    assert out[0].node is not nodes[1].node


def test_metadata_mode_decides_the_text() -> None:
    nodes = [
        NodeWithScore(node=TextNode(text="plain words", id_="a", metadata={"topic": "apple"})),
        NodeWithScore(node=TextNode(text="other words", id_="b")),
    ]
    embed = RankwiseRerank(model="lexical", top_n=None).postprocess_nodes(nodes, query_str="apple")
    none = RankwiseRerank(model="lexical", top_n=None, metadata_mode=MetadataMode.NONE).postprocess_nodes(
        nodes, query_str="apple"
    )
    assert embed[0].node.node_id == "a"
    assert embed[0].score > embed[1].score
    assert none[0].score == none[1].score  # without metadata nothing matches "apple"


def test_events_are_emitted(event_log: EventLog) -> None:
    debug = LlamaDebugHandler()
    reranker = RankwiseRerank(model="lexical", top_n=2, callback_manager=CallbackManager([debug]))
    out = reranker.postprocess_nodes(make_nodes(), query_bundle=QueryBundle(QUERY))
    start, end = event_log.seen
    assert isinstance(start, ReRankStartEvent)
    assert start.top_n == 2
    assert start.model_name == "lexical"
    assert isinstance(end, ReRankEndEvent)
    assert end.nodes == out
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 1
    assert pairs[0][1].payload is not None


async def test_async_uses_the_core_async_path_and_matches_sync(event_log: EventLog) -> None:
    reranker = RankwiseRerank(model="lexical", top_n=4)
    sync = reranker.postprocess_nodes(make_nodes(), query_str=QUERY)
    assert await reranker.apostprocess_nodes(make_nodes(), query_str=QUERY) == sync
    assert [type(e).__name__ for e in event_log.seen] == ["ReRankStartEvent", "ReRankEndEvent"] * 2


def test_bad_input_and_settings() -> None:
    reranker = RankwiseRerank(model="lexical")
    with pytest.raises(ValueError, match="needs a query"):
        reranker.postprocess_nodes(make_nodes())
    with pytest.raises(TypeError, match="index 0 is a TextNode"):
        reranker.postprocess_nodes([TextNode(text="x")], query_str=QUERY)  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        RankwiseRerank(top_n=0)
    with pytest.raises(ValueError, match="no-such-kind") as caught:  # at construction (issue 12 item 17)
        RankwiseRerank(model="no-such-kind:x")
    assert isinstance(caught.value, (UnknownModelSpecError, ValidationError))
    assert reranker.postprocess_nodes([], query_str=QUERY) == []


def test_class_name_and_serialisation_round_trip() -> None:
    reranker = RankwiseRerank(model="lexical", top_n=2, score_threshold=0.1, keep_retrieval_score=True)
    assert RankwiseRerank.class_name() == "RankwiseRerank"
    data = reranker.to_dict()
    assert data["class_name"] == "RankwiseRerank"
    assert data["model"] == "lexical"
    again = RankwiseRerank.from_dict(data)
    assert again.postprocess_nodes(make_nodes(), query_str=QUERY) == reranker.postprocess_nodes(
        make_nodes(), query_str=QUERY
    )
