"""RankwiseRerank: a thin translation of LangChain Documents to the rankwise core and back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from rankwise import Reranker, UnknownModelSpecError
from rankwise_langchain import RankwiseRerank

QUERY = "red apple pie"


def make_docs() -> list[Document]:
    texts = ["green pear", "red apple pie recipe", "a red car", "apple tree", "pie crust", "blue sky"]
    return [Document(page_content=t, id=f"id-{i}", metadata={"n": i, "tags": ["x"]}) for i, t in enumerate(texts)]


class AsyncOnlyBackend:
    """A backend whose sync path is off-limits: proves acompress goes through the core's async path."""

    name = "async-only"
    default_normalization = "none"

    def __init__(self) -> None:
        self.async_calls = 0

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        raise AssertionError("the sync score() must not be used by acompress_documents")

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        self.async_calls += 1
        await asyncio.sleep(0)
        return [float(len(set(query.split()) & set(t.split()))) for t in texts]


def test_output_keeps_text_metadata_and_id_and_adds_the_core_score() -> None:
    docs = make_docs()
    snapshot = [d.model_copy(deep=True) for d in docs]
    out = RankwiseRerank(model="lexical", top_n=None).compress_documents(docs, QUERY)
    expected = Reranker("lexical").rerank(QUERY, [d.page_content for d in docs])
    assert [d.id for d in out] == [docs[r.index].id for r in expected]
    assert [d.metadata["relevance_score"] for d in out] == [r.score for r in expected]
    for doc in out:
        original = next(d for d in docs if d.id == doc.id)
        assert doc is not original
        assert doc.page_content == original.page_content
        added = ("relevance_score", "relevance_score_kind")
        assert {k: v for k, v in doc.metadata.items() if k not in added} == original.metadata
        assert isinstance(doc.metadata["relevance_score"], float)
    assert docs == snapshot  # the caller's documents are untouched
    assert all("relevance_score" not in d.metadata for d in docs)


def test_default_top_n_is_three_and_score_key_is_configurable() -> None:
    out = RankwiseRerank(model="lexical", score_key="rw").compress_documents(make_docs(), QUERY)
    assert len(out) == 3
    assert all("rw" in d.metadata and "relevance_score" not in d.metadata for d in out)


def test_top_n_and_threshold_pass_through_to_the_core() -> None:
    docs = make_docs()
    texts = [d.page_content for d in docs]
    for top_n, threshold in [(2, None), (5, 1.0), (None, 0.5)]:
        core = Reranker("lexical").rerank(QUERY, texts, top_n=top_n, score_threshold=threshold)
        out = RankwiseRerank(model="lexical", top_n=top_n, score_threshold=threshold).compress_documents(docs, QUERY)
        assert [d.id for d in out] == [docs[r.index].id for r in core]
        assert [d.metadata["relevance_score"] for d in out] == [r.score for r in core]
    assert len(RankwiseRerank(model="lexical", top_n=5, score_threshold=1.0).compress_documents(docs, QUERY)) == 1


def test_a_ready_reranker_is_used_as_is() -> None:
    reranker = Reranker("lexical", normalize="minmax")
    compressor = RankwiseRerank(model=reranker, top_n=1)
    out = compressor.compress_documents(make_docs(), QUERY)
    assert compressor.reranker is reranker
    assert out[0].metadata["relevance_score"] == 1.0  # minmax: the best is 1


def test_item17_an_invalid_spec_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="no-such-kind") as caught:
        RankwiseRerank(model="no-such-kind:model")
    assert isinstance(caught.value, (UnknownModelSpecError, ValidationError))
    with pytest.raises(ValueError, match="batch_size"):
        RankwiseRerank(model="lexical", reranker_kwargs={"batch_size": 0})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"top_n": 0}, ValidationError),
        ({"top_n": -2}, ValidationError),
        ({"unknown_option": 1}, ValidationError),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        RankwiseRerank(model="lexical", **kwargs)


def test_bad_input_gets_a_clear_error() -> None:
    compressor = RankwiseRerank(model="lexical")
    with pytest.raises(TypeError, match="index 1 is a str"):
        compressor.compress_documents([Document(page_content="a"), "b"], QUERY)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of langchain Documents"):
        compressor.compress_documents("not a list", QUERY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="query is empty"):
        compressor.compress_documents(make_docs(), "  ")
    with pytest.raises(ValueError, match=r"\[.batch_size.\] only apply when model is a spec"):
        RankwiseRerank(model=Reranker("lexical"), reranker_kwargs={"batch_size": 2})


def test_empty_input_gives_empty_output() -> None:
    assert list(RankwiseRerank(model="lexical").compress_documents([], QUERY)) == []


async def test_async_goes_through_the_core_async_path() -> None:
    backend = AsyncOnlyBackend()
    docs = make_docs()
    out = await RankwiseRerank(model=Reranker(backend), top_n=2).acompress_documents(docs, QUERY)
    assert backend.async_calls >= 1
    assert [d.id for d in out] == ["id-1", "id-2"]  # 3 words shared, then 1 ("red"), ties keep input order
    assert [d.metadata["relevance_score"] for d in out] == [3.0, 1.0]


async def test_async_and_sync_agree() -> None:
    compressor = RankwiseRerank(model="lexical", top_n=None)
    sync = compressor.compress_documents(make_docs(), QUERY)
    assert await compressor.acompress_documents(make_docs(), QUERY) == sync


def test_settings_round_trip_through_model_dump() -> None:
    compressor = RankwiseRerank(model="lexical", top_n=2, score_threshold=0.1, reranker_kwargs={"cache_size": 0})
    again = RankwiseRerank(**compressor.model_dump())
    assert again.model_dump() == compressor.model_dump()
    assert again.compress_documents(make_docs(), QUERY) == compressor.compress_documents(make_docs(), QUERY)
