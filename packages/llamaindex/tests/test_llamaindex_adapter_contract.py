"""RankwiseRerank's contract: secrets never leak (issue 12 item 5), outputs are independent (item 15), options are
checked at construction (item 17), the score's kind, the retriever's scores, and the instrumentation span tree."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import (
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from pydantic import Field, ValidationError

from rankwise_llamaindex import RankwiseLostInTheMiddle, RankwiseRerank

QUERY = "red apple pie"
TEXTS = ["green pear", "red apple pie recipe", "a red car", "apple tree"]
KEY = "sk-live-TOPSECRET-0123456789"


def make_nodes(scores: list[float | None] | None = None) -> list[NodeWithScore]:
    scores = scores if scores is not None else [0.1 * (4 - i) for i in range(len(TEXTS))]
    return [
        NodeWithScore(
            node=TextNode(
                text=t,
                id_=f"n{i}",
                metadata={"i": i, "nested": {"tags": ["x"]}},
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc{i}")},
            ),
            score=s,
        )
        for i, (t, s) in enumerate(zip(TEXTS, scores, strict=True))
    ]


def secret_reranker() -> RankwiseRerank:
    return RankwiseRerank(model="lexical", reranker_kwargs={"api_key": KEY, "batch_size": 8})


def test_item5_repr_hides_the_key() -> None:
    assert KEY not in repr(secret_reranker())


def test_item5_str_hides_the_key() -> None:
    assert KEY not in str(secret_reranker())


def test_item5_model_dump_json_leaves_the_key_out() -> None:
    reranker = secret_reranker()
    assert KEY not in reranker.model_dump_json()
    assert reranker.model_dump()["reranker_kwargs"] == {"batch_size": 8}


def test_item5_to_dict_and_to_json_leave_the_key_out() -> None:
    reranker = secret_reranker()
    assert "api_key" not in reranker.to_dict()
    assert KEY not in str(reranker.to_dict())
    assert KEY not in reranker.to_json()


def test_item5_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(ValidationError, match="given twice"):
        RankwiseRerank(model="lexical", api_key=KEY, reranker_kwargs={"api_key": KEY})


def test_item5_pickle_refuses_a_direct_key() -> None:
    with pytest.raises(TypeError, match="api_key_env"):
        pickle.dumps(secret_reranker())


def test_item5_the_key_reaches_the_reranker() -> None:
    assert secret_reranker().reranker._config.api_key == KEY


def test_item5_key_from_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANKWISE_TEST_KEY", KEY)
    reranker = RankwiseRerank(model="lexical", api_key_env="RANKWISE_TEST_KEY")
    assert reranker.reranker._config.api_key == KEY
    blob = pickle.dumps(reranker)
    assert KEY.encode() not in blob
    assert KEY not in reranker.to_json()
    again = pickle.loads(blob)
    assert again.reranker._config.api_key == KEY
    from_json = RankwiseRerank.from_json(reranker.to_json())
    assert from_json.reranker._config.api_key == KEY
    assert again.postprocess_nodes(make_nodes(), query_str=QUERY) == reranker.postprocess_nodes(
        make_nodes(), query_str=QUERY
    )
    monkeypatch.delenv("RANKWISE_TEST_KEY")
    with pytest.raises(ValueError, match="RANKWISE_TEST_KEY"):
        RankwiseRerank(model="lexical", api_key_env="RANKWISE_TEST_KEY")


def test_item15_outputs_share_nothing_mutable_with_the_inputs() -> None:
    nodes = make_nodes()
    snapshot = copy.deepcopy(nodes)
    out = RankwiseRerank(model="lexical", top_n=None, keep_retrieval_score=True).postprocess_nodes(
        nodes, query_str=QUERY
    )
    for item in out:
        item.node.set_content("changed")
        item.node.metadata["nested"]["tags"].append("changed")
        item.node.metadata["i"] = -1
        item.node.excluded_llm_metadata_keys.append("i")
        item.node.relationships[NodeRelationship.SOURCE].metadata["x"] = 1  # type: ignore[union-attr]
    assert nodes == snapshot
    assert [n.node.get_content() for n in nodes] == TEXTS


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_k": 5}, "rankwise calls it 'top_n'"),
        ({"unknown_option": 5}, "unknown_option"),
        ({"top_n": True}, "not a bool"),
        ({"score_threshold": False}, "not a bool"),
        ({"score_threshold": float("nan")}, "score_threshold must be a number or None, got nan"),
        ({"reranker_kwargs": {"bogus": 1}}, "Reranker has no option 'bogus': its options are device"),
    ],
)
def test_item17_bad_options_fail_at_construction(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        RankwiseRerank(model="lexical", **kwargs)


def test_item17_lost_in_the_middle_rejects_top_k() -> None:
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseLostInTheMiddle(top_k=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="not a bool"):
        RankwiseLostInTheMiddle(top_n=True)
    assert len(RankwiseLostInTheMiddle(top_n=3).postprocess_nodes(make_nodes())) == 3


def test_score_kind_in_metadata_but_not_in_the_llm_or_embedding_text() -> None:
    out = RankwiseRerank(model="lexical", keep_retrieval_score=True).postprocess_nodes(make_nodes(), query_str=QUERY)
    assert out[0].node.metadata["score_kind"] == "bm25"
    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        text = out[0].node.get_content(metadata_mode=mode)
        assert "score_kind" not in text
        assert "retrieval_score" not in text
        assert "i: 1" in text


def test_the_calibrated_default_ignores_retrieval_scores_unless_told() -> None:
    from rankwise import Reranker

    core = Reranker("embedded")
    default = RankwiseRerank(model=core, top_n=None, metadata_mode=MetadataMode.NONE).postprocess_nodes(
        make_nodes(), query_str=QUERY
    )
    alone = {TEXTS[r.index]: r.score for r in core.rerank(QUERY, TEXTS)}
    assert {n.node.get_content(metadata_mode=MetadataMode.NONE): n.score for n in default} == pytest.approx(alone)
    told = RankwiseRerank(model=core, top_n=None, use_retriever_scores=True, metadata_mode=MetadataMode.NONE)
    fused = {TEXTS[r.index]: r.score for r in core.rerank(QUERY, TEXTS, first_stage_scores=[0.4, 0.3, 0.2, 0.1])}
    assert {
        n.node.get_content(metadata_mode=MetadataMode.NONE): n.score
        for n in told.postprocess_nodes(make_nodes(), query_str=QUERY)
    } == (pytest.approx(fused))
    assert fused != pytest.approx(alone)


def test_use_retriever_scores_switch() -> None:
    used = RankwiseRerank(model="first-stage|lexical", top_n=None).postprocess_nodes(make_nodes(), query_str=QUERY)
    assert [n.node.node_id for n in used] == ["n0", "n1", "n2", "n3"]
    assert used[0].node.metadata["score_kind"] == "first-stage"
    off = RankwiseRerank(model="first-stage|lexical", top_n=1, use_retriever_scores=False)
    assert off.postprocess_nodes(make_nodes(), query_str=QUERY)[0].node.node_id == "n1"  # BM25 instead


class FixedRetriever(BaseRetriever):
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return make_nodes()


class RerankEvents(BaseEventHandler):
    seen: list[BaseEvent] = Field(default_factory=list)

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (ReRankStartEvent, ReRankEndEvent)):
            self.seen.append(event)


@pytest.fixture
def spans_and_events() -> Iterator[tuple[SimpleSpanHandler, RerankEvents]]:
    root = get_dispatcher()
    spans, events = SimpleSpanHandler(), RerankEvents()
    root.add_span_handler(spans)
    root.add_event_handler(events)
    yield spans, events
    root.span_handlers.remove(spans)
    root.event_handlers.remove(events)


def test_the_rerank_span_nests_under_the_query_span(spans_and_events: tuple[SimpleSpanHandler, RerankEvents]) -> None:
    spans, events = spans_and_events
    engine = RetrieverQueryEngine.from_args(
        FixedRetriever(), llm=MockLLM(), node_postprocessors=[RankwiseRerank(model="lexical", top_n=2)]
    )
    engine.query(QUERY)
    by_id = {s.id_: s for s in spans.completed_spans}
    (rerank,) = [s for s in by_id.values() if s.id_.startswith("RankwiseRerank._postprocess_nodes-")]
    chain = []
    parent = rerank.parent_id
    while parent is not None:
        chain.append(parent.split("-")[0])
        parent = by_id[parent].parent_id
    assert chain == ["RetrieverQueryEngine._query", "RetrieverQueryEngine.query"]
    assert [type(e).__name__ for e in events.seen] == ["ReRankStartEvent", "ReRankEndEvent"]
    assert {e.span_id for e in events.seen} == {rerank.id_}  # the events belong to the rerank span
