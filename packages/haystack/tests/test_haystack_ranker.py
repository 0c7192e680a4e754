"""RankwiseRanker: a thin translation of Haystack Documents to the rankwise core and back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest
from haystack import Document
from haystack.utils import Secret

from haystack_integrations.components.rankers.rankwise import RankwiseRanker
from rankwise import BackendConfig, Reranker
from rankwise.backends import registry

QUERY = "red apple pie"
TEXTS = ["green pear", "red apple pie recipe", "a red car", "apple tree", "pie crust", "blue sky"]


def make_docs(scores: Sequence[float | None] | None = None) -> list[Document]:
    scores = scores if scores is not None else [None] * len(TEXTS)
    return [
        Document(content=t, id=f"d{i}", meta={"i": i}, score=s)
        for i, (t, s) in enumerate(zip(TEXTS, scores, strict=True))
    ]


class KeyedBackend:
    """Records the API key the Reranker's config carried; scores by word overlap."""

    default_normalization = "none"
    keys: ClassVar[list[str | None]] = []

    def __init__(self, model: str, config: BackendConfig) -> None:
        self.name = f"keyed:{model}"
        KeyedBackend.keys.append(config.api_key)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(len(set(query.split()) & set(t.split()))) for t in texts]


@pytest.fixture
def keyed_kind() -> Iterator[None]:
    """A backend kind ``keyed:<model>`` that sees the api_key, registered (public plugin API) for one test."""
    registry.register_kind("keyed", KeyedBackend, help="test")
    KeyedBackend.keys = []
    yield
    registry.unregister_kind("keyed")


def test_replaced_documents_with_core_scores_and_untouched_inputs() -> None:
    docs = make_docs()
    out = RankwiseRanker(model="lexical", top_k=None).run(query=QUERY, documents=docs)["documents"]
    expected = Reranker("lexical").rerank(QUERY, TEXTS)
    assert [d.id for d in out] == [f"d{r.index}" for r in expected]
    assert [d.score for d in out] == [r.score for r in expected]
    assert all(type(d.score) is float for d in out)
    assert all(d.score is None for d in docs)  # dataclasses.replace: the inputs keep their score
    for doc in out:
        original = docs[int(doc.id[1:])]
        assert doc is not original
        assert doc.content == original.content
        assert {k: v for k, v in doc.meta.items() if k != "score_kind"} == original.meta
        assert doc.meta["score_kind"] == "bm25"


def test_top_k_is_top_n_and_run_arguments_override_init() -> None:
    ranker = RankwiseRanker(model="lexical")
    assert len(ranker.run(query=QUERY, documents=make_docs())["documents"]) == 3  # default top_k
    for top_k, threshold in [(2, None), (5, 1.0), (None, 0.5)]:
        core = Reranker("lexical").rerank(QUERY, TEXTS, top_n=top_k or 3, score_threshold=threshold)
        out = ranker.run(query=QUERY, documents=make_docs(), top_k=top_k, score_threshold=threshold)["documents"]
        assert [d.id for d in out] == [f"d{r.index}" for r in core]
    init = RankwiseRanker(model="lexical", top_k=5, score_threshold=1.0)
    assert [d.id for d in init.run(query=QUERY, documents=make_docs())["documents"]] == ["d1"]


def test_retriever_scores_reach_the_core_as_first_stage_scores() -> None:
    retrieval = [0.1, 0.9, 0.3, 0.8, 0.2, 0.7]
    out = RankwiseRanker(model="first-stage", top_k=None).run(query=QUERY, documents=make_docs(retrieval))
    assert [d.score for d in out["documents"]] == sorted(retrieval, reverse=True)


def test_meta_fields_are_embedded_with_the_separator() -> None:
    docs = [Document(content="plain words", id="a", meta={"topic": "apple"}), Document(content="other", id="b")]
    plain = RankwiseRanker(model="lexical", top_k=None).run(query="apple", documents=docs)["documents"]
    with_meta = RankwiseRanker(model="lexical", top_k=None, meta_fields_to_embed=["topic"]).run(
        query="apple", documents=docs
    )["documents"]
    assert plain[0].score == plain[1].score
    assert with_meta[0].id == "a"
    assert with_meta[0].score > with_meta[1].score
    assert with_meta[0].content == "plain words"  # the returned document is not rewritten


async def test_run_async_matches_run() -> None:
    ranker = RankwiseRanker(model="lexical", top_k=4)
    assert await ranker.run_async(query=QUERY, documents=make_docs()) == ranker.run(query=QUERY, documents=make_docs())


def test_bad_input_and_settings() -> None:
    ranker = RankwiseRanker(model="lexical")
    with pytest.raises(ValueError, match="index 1 \\(id 'x'\\) has no text"):
        ranker.run(query=QUERY, documents=[Document(content="a"), Document(id="x", content=None)])
    with pytest.raises(TypeError, match="index 0 is a str"):
        ranker.run(query=QUERY, documents=["text"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="query is empty"):
        ranker.run(query="", documents=make_docs())
    with pytest.raises(ValueError, match="top_k"):
        RankwiseRanker(top_k=0)
    with pytest.raises(ValueError, match="top_k must be"):  # Haystack's name, not the core's top_n (item 17)
        ranker.run(query=QUERY, documents=make_docs(), top_k=-1)
    with pytest.raises(ValueError, match="api_key=Secret"):
        RankwiseRanker(reranker_kwargs={"api_key": "sk-plain"})
    with pytest.raises(TypeError, match="spec string"):
        RankwiseRanker(model=Reranker("lexical"))  # type: ignore[arg-type]
    assert ranker.run(query=QUERY, documents=[])["documents"] == []


def test_init_is_cheap_and_warm_up_is_idempotent() -> None:
    with pytest.raises(ValueError, match="no-such-kind"):  # the spec is parsed in __init__ (issue 12 item 17)
        RankwiseRanker(model="no-such-kind:x")
    good = RankwiseRanker(model="lexical")
    assert good._reranker is None  # nothing built or loaded before warm_up
    good.warm_up()
    first = good._reranker
    good.warm_up()
    assert good._reranker is first
    assert first is not None
    good.close()
    assert good._reranker is None
    assert good.run(query=QUERY, documents=make_docs())["documents"]  # runs again after close


def test_serialisation_round_trip() -> None:
    ranker = RankwiseRanker(
        model="lexical", top_k=2, score_threshold=0.1, meta_fields_to_embed=["i"], reranker_kwargs={"cache_size": 0}
    )
    data = ranker.to_dict()
    assert data["type"] == "haystack_integrations.components.rankers.rankwise.ranker.RankwiseRanker"
    assert data["init_parameters"]["top_k"] == 2
    assert data["init_parameters"]["api_key"] is None
    again = RankwiseRanker.from_dict(data)
    assert again.to_dict() == data
    assert again.run(query=QUERY, documents=make_docs()) == ranker.run(query=QUERY, documents=make_docs())


def test_env_secret_is_serialised_by_name_and_resolved_in_warm_up(
    keyed_kind: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANKWISE_TEST_API_KEY", "sk-from-env")
    ranker = RankwiseRanker(model="keyed:m", api_key=Secret.from_env_var("RANKWISE_TEST_API_KEY"))
    data = ranker.to_dict()
    assert data["init_parameters"]["api_key"] == {
        "type": "env_var",
        "env_vars": ["RANKWISE_TEST_API_KEY"],
        "strict": True,
    }
    assert "sk-from-env" not in repr(data)
    assert KeyedBackend.keys == []  # not resolved at construction
    again = RankwiseRanker.from_dict(data)
    again.warm_up()
    assert KeyedBackend.keys == ["sk-from-env"]
    assert again.run(query="red apple", documents=make_docs())["documents"][0].id == "d1"


def test_token_secret_never_reaches_to_dict(keyed_kind: None) -> None:
    ranker = RankwiseRanker(model="keyed:m", api_key=Secret.from_token("sk-literal"))
    with pytest.raises(ValueError, match="token"):
        ranker.to_dict()
    ranker.warm_up()
    assert KeyedBackend.keys == ["sk-literal"]


async def test_warm_up_async_loads_once_off_the_event_loop() -> None:
    ranker = RankwiseRanker(model="lexical")
    await ranker.warm_up_async()
    first = ranker._reranker
    assert first is not None
    assert first._components is not None  # built and loaded
    await ranker.warm_up_async()
    assert ranker._reranker is first
