"""RankwiseRerank's contract: secrets never leak (issue 12 item 5), outputs are independent (item 15), options are
checked at construction (item 17), the score's kind and the retriever's scores, and callbacks (issue 17)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.load import dumps
from langchain_core.retrievers import BaseRetriever
from langchain_core.tracers.run_collector import RunCollectorCallbackHandler
from pydantic import ValidationError

from rankwise import Reranker
from rankwise_langchain import RankwiseLostInTheMiddle, RankwiseRerank

QUERY = "red apple pie"
KEY = "sk-live-TOPSECRET-0123456789"


def make_docs() -> list[Document]:
    texts = ["green pear", "red apple pie recipe", "a red car", "apple tree"]
    return [
        Document(page_content=t, id=f"id-{i}", metadata={"n": i, "nested": {"tags": ["x"]}, "score": 0.1 * (4 - i)})
        for i, t in enumerate(texts)
    ]


def secret_compressor() -> RankwiseRerank:
    return RankwiseRerank(model="lexical", reranker_kwargs={"api_key": KEY, "batch_size": 8})


def test_item5_repr_hides_the_key() -> None:
    assert KEY not in repr(secret_compressor())


def test_item5_str_hides_the_key() -> None:
    assert KEY not in str(secret_compressor())


def test_item5_model_dump_and_json_leave_the_key_out() -> None:
    compressor = secret_compressor()
    assert KEY not in compressor.model_dump_json()
    assert "api_key" not in compressor.model_dump()
    assert compressor.model_dump()["reranker_kwargs"] == {"batch_size": 8}


def test_item5_langchain_dumps_hides_the_key() -> None:
    assert KEY not in dumps(secret_compressor())


def test_item5_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(ValidationError, match="given twice"):
        RankwiseRerank(model="lexical", api_key=KEY, reranker_kwargs={"api_key": KEY})


def test_item5_pickle_refuses_a_direct_key() -> None:
    with pytest.raises(TypeError, match="api_key_env"):
        pickle.dumps(secret_compressor())


def test_item5_the_key_reaches_the_reranker() -> None:
    compressor = secret_compressor()
    assert compressor.api_key is not None
    assert compressor.api_key.get_secret_value() == KEY
    assert compressor.reranker._config.api_key == KEY  # what an API backend is built with


def test_item5_key_from_an_environment_variable_pickles_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANKWISE_TEST_KEY", KEY)
    compressor = RankwiseRerank(model="lexical", api_key_env="RANKWISE_TEST_KEY")
    assert compressor.reranker._config.api_key == KEY
    blob = pickle.dumps(compressor)
    assert KEY.encode() not in blob
    assert KEY not in compressor.model_dump_json()
    assert KEY not in dumps(compressor)
    again = pickle.loads(blob)
    assert again.reranker._config.api_key == KEY
    assert again.compress_documents(make_docs(), QUERY) == compressor.compress_documents(make_docs(), QUERY)
    monkeypatch.delenv("RANKWISE_TEST_KEY")
    with pytest.raises(ValueError, match="RANKWISE_TEST_KEY"):
        RankwiseRerank(model="lexical", api_key_env="RANKWISE_TEST_KEY")
    with pytest.raises(ValueError, match="not both"):
        RankwiseRerank(model="lexical", api_key=KEY, api_key_env="RANKWISE_TEST_KEY")


def test_item15_outputs_share_nothing_mutable_with_the_inputs() -> None:
    docs = make_docs()
    snapshot = copy.deepcopy(docs)
    out = RankwiseRerank(model="lexical", top_n=None).compress_documents(docs, QUERY)
    for doc in out:
        doc.metadata["nested"]["tags"].append("changed")
        doc.metadata["n"] = -1
    assert docs == snapshot


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_k": 5}, "rankwise calls it 'top_n'"),
        ({"top_n": True}, "not a bool"),
        ({"score_threshold": True}, "not a bool"),
        ({"score_threshold": float("nan")}, "score_threshold must be a number or None, got nan"),
        ({"reranker_kwargs": {"bogus": 1}}, "Reranker has no option 'bogus': its options are device"),
    ],
)
def test_item17_bad_options_fail_at_construction(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        RankwiseRerank(model="lexical", **kwargs)


def test_item17_lost_in_the_middle_rejects_top_k_and_bools() -> None:
    with pytest.raises(ValidationError, match="rankwise calls it 'top_n'"):
        RankwiseLostInTheMiddle(top_k=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="not a bool"):
        RankwiseLostInTheMiddle(top_n=True)


def test_item17_numpy_numbers_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    compressor = RankwiseRerank(model="lexical", top_n=np.int64(2), score_threshold=np.float32(0.0))
    assert compressor.top_n == 2
    assert type(compressor.top_n) is int


def test_score_kind_sits_next_to_the_score() -> None:
    out = RankwiseRerank(model="lexical", top_n=2, score_key="rw").compress_documents(make_docs(), QUERY)
    expected = Reranker("lexical").rerank(QUERY, [d.page_content for d in make_docs()], top_n=2)
    assert [d.metadata["rw_kind"] for d in out] == [r.score_kind for r in expected]
    assert out[0].metadata["rw_kind"] == "bm25"


def test_the_calibrated_default_ignores_retriever_scores_unless_told() -> None:
    from rankwise import Reranker

    docs = make_docs()  # metadata["score"]: similarity-like 0.4 ... 0.1, not BM25
    texts = [d.page_content for d in docs]
    core = Reranker("embedded")
    default = RankwiseRerank(model=core, top_n=None).compress_documents(docs, QUERY)
    alone = {texts[r.index]: r.score for r in core.rerank(QUERY, texts)}
    assert {d.page_content: d.metadata["relevance_score"] for d in default} == pytest.approx(alone)
    told = RankwiseRerank(model=core, top_n=None, use_retriever_scores=True).compress_documents(docs, QUERY)
    fused = {texts[r.index]: r.score for r in core.rerank(QUERY, texts, first_stage_scores=[0.4, 0.3, 0.2, 0.1])}
    assert {d.page_content: d.metadata["relevance_score"] for d in told} == pytest.approx(fused)
    assert fused != pytest.approx(alone)  # the switch matters here


def test_retriever_scores_from_metadata_are_first_stage_scores() -> None:
    docs = make_docs()  # metadata["score"]: 0.4, 0.3, 0.2, 0.1
    used = RankwiseRerank(model="first-stage|lexical", top_n=None).compress_documents(docs, QUERY)
    assert [d.id for d in used] == ["id-0", "id-1", "id-2", "id-3"]
    assert [d.metadata["relevance_score"] for d in used] == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert used[0].metadata["relevance_score_kind"] == "first-stage"
    off = RankwiseRerank(model="first-stage|lexical", top_n=1, use_retriever_scores=False)
    assert off.compress_documents(docs, QUERY)[0].id == "id-1"  # BM25 instead
    other_key = RankwiseRerank(model="first-stage|lexical", top_n=1, retriever_score_key="n")
    assert other_key.compress_documents(docs, QUERY)[0].id == "id-3"  # n = 3 is the largest
    partial = [*docs[:3], Document(page_content="apple tree", id="id-3")]
    assert RankwiseRerank(model="first-stage|lexical", top_n=1).compress_documents(partial, QUERY)[0].id == "id-1"
    bad = [Document(page_content="x", metadata={"score": "high"})]
    with pytest.raises(TypeError, match="index 0 is 'high'"):
        RankwiseRerank(model="first-stage|lexical").compress_documents(bad, QUERY)


class ListRetriever(BaseRetriever):
    """A real LangChain retriever over a fixed list."""

    docs: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return list(self.docs)


def test_the_compressor_reports_through_the_callbacks_it_is_given() -> None:
    collector = RunCollectorCallbackHandler()
    retriever = ContextualCompressionRetriever(
        base_compressor=RankwiseRerank(model="lexical", top_n=2), base_retriever=ListRetriever(docs=make_docs())
    )
    out = retriever.invoke(QUERY, config={"callbacks": [collector]})
    (root,) = collector.traced_runs
    rerank_runs = [run for run in root.child_runs if run.name == "RankwiseRerank"]
    assert len(rerank_runs) == 1
    run = rerank_runs[0]
    assert run.parent_run_id == root.id
    assert run.run_type == "retriever"
    assert run.inputs == {"query": QUERY}
    assert [d.id for d in run.outputs["documents"]] == [d.id for d in out]
    assert run.extra["metadata"]["rankwise_model"] == "lexical"
    assert run.error is None


async def test_async_reports_errors_through_the_callbacks() -> None:
    collector = RunCollectorCallbackHandler()
    retriever = ContextualCompressionRetriever(
        base_compressor=RankwiseRerank(model="lexical"), base_retriever=ListRetriever(docs=make_docs())
    )
    with pytest.raises(ValueError, match="query is empty"):
        await retriever.ainvoke("   ", config={"callbacks": [collector]})
    (root,) = collector.traced_runs
    (run,) = [r for r in root.child_runs if r.name == "RankwiseRerank"]
    assert run.error is not None
    assert "query is empty" in run.error
