"""Issue 12, the engine's items: each test is named after the item it pins down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np
import pytest
from rankwise_fakes import ConstantBackend, WordOverlapBackend

from rankwise import BackendError, Reranker
from rankwise.convenience import MAX_KEPT, kept, rerank
from rankwise.normalize import normalize


class _Failing:
    """Fails on the texts it is told to; counts the calls it gets (async)."""

    name = "failing"
    default_normalization = "none"
    max_batch_size = 1

    def __init__(self, fail_on: str) -> None:
        self.fail_on, self.started, self.finished = fail_on, 0, 0

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        raise AssertionError("the async path must be used")

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        self.started += 1
        if texts[0] == self.fail_on:
            raise BackendError("gave up", backend=self.name)
        await asyncio.sleep(5)  # a sibling still retrying: cancelled, never finishes
        self.finished += 1
        return [1.0]


async def test_item9_a_batch_failing_for_good_cancels_its_siblings() -> None:
    backend = _Failing("d3")
    rr = Reranker(backend, max_concurrency=10)
    with pytest.raises(BackendError, match="gave up"):
        await asyncio.wait_for(rr.arerank("q", [f"d{i}" for i in range(10)]), timeout=4)
    assert backend.finished == 0


def test_item10_extreme_finite_first_stage_scores_never_give_nan() -> None:
    scores = [1e308, -1e308, 0.0]
    assert normalize(scores, "minmax").tolist() == [1.0, 0.0, 0.5]
    results = Reranker("0.5*first-stage+0.5*lexical").rerank(
        "cats", ["cats", "dogs", "fish"], first_stage_scores=scores
    )
    assert all(np.isfinite(r.score) for r in results)
    assert results[0].index == 0  # the best document is first, not last
    minmax = Reranker(ConstantBackend(0.0), normalize="minmax").score("q", ["a"])
    assert minmax == [1.0]


@pytest.mark.parametrize("where", ["document", "query"])
def test_item11_a_lone_surrogate_is_a_clear_error_naming_the_index(where: str) -> None:
    docs, query = ["fine", "also fine", "bad \ud800 text"], "q"
    if where == "query":
        docs, query = ["fine"], "bad \ud800"
    with pytest.raises(ValueError, match="index 2" if where == "document" else "the query") as info:
        Reranker("lexical").rerank(query, docs)
    assert "surrogate" in str(info.value)


class _Recorder:
    name = "recorder"
    default_normalization = "none"
    max_length = 8

    def __init__(self) -> None:
        self.queries: list[str] = []

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.queries.append(query)
        return [float(len(t)) for t in texts]


def test_item12_backends_with_a_tokenizer_cut_by_tokens_not_words() -> None:
    class Tokenized(_Recorder):
        def cut_to_tokens(self, text: str) -> str:
            return " ".join(w for w in text.split() if w != "\u200b")[:40]  # zero-width spaces are no tokens

    padded = " ".join(["\u200b"] * 300) + " the real text"
    assert Reranker(Tokenized()).rerank("q", [padded])[0].score == float(len("the real text"))
    assert Reranker(_Recorder()).rerank("q", [padded])[0].score == 15.0  # by words: 8 zero-width "words", text lost


def test_item13_a_huge_query_is_cut_once_to_a_share_of_max_length() -> None:
    backend = _Recorder()
    Reranker(backend).rerank(" ".join(["word"] * 50_000), [f"doc {i}" for i in range(20)])
    assert len(backend.queries) == 1
    assert len(backend.queries[0].split()) == 4  # QUERY_SHARE (0.5) of max_length (8)


@pytest.mark.parametrize("bad", [None, "abc", "1.0", [1.0], True])
def test_item14_non_numbers_from_a_custom_backend_are_a_backend_error_and_the_fallback_answers(bad: object) -> None:
    class Broken:
        name = "broken"
        default_normalization = "none"

        def score(self, query: str, texts: Sequence[str]) -> list[object]:
            return [bad for _ in texts]

    with pytest.raises(BackendError, match="non-number"):
        Reranker(Broken()).rerank("q", ["a"])
    fallback = Reranker(Broken(), fallback=Reranker(WordOverlapBackend()))
    assert fallback.rerank("a", ["a"])[0].backend == "overlap"


def test_item14_a_backend_returning_a_string_is_a_backend_error() -> None:
    class Stringy:
        name = "stringy"
        default_normalization = "none"

        def score(self, query: str, texts: Sequence[str]) -> str:
            return "1"

    with pytest.raises(BackendError, match="not a list of scores"):
        Reranker(Stringy()).rerank("q", ["a"])


def test_item16_first_stage_scores_a_spec_does_not_use_are_not_validated() -> None:
    results = Reranker("lexical").rerank("cats", ["cats", "dogs"], first_stage_scores=[float("nan"), 1.0])
    assert [r.index for r in results] == [0, 1]
    with pytest.raises(ValueError, match="NaN"):
        Reranker("0.5*lexical+0.5*first-stage").rerank("cats", ["cats", "dogs"], first_stage_scores=[float("nan"), 1])


def test_item17_numpy_numbers_are_accepted_for_top_n_and_the_threshold() -> None:
    rr = Reranker(WordOverlapBackend())
    docs = ["cats", "cats dogs", "fish"]
    assert len(rr.rerank("cats dogs", docs, top_n=np.int64(2))) == 2  # type: ignore[arg-type]
    assert len(rr.rerank("cats dogs", docs, score_threshold=np.float32(1.0))) == 2  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_n"):
        rr.rerank("q", docs, top_n=np.bool_(True))  # type: ignore[arg-type]


def test_item18_warm_returns_the_total_over_backends() -> None:
    class Warm(WordOverlapBackend):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.warmed: list[str] = []

        def warm(self, texts: Sequence[str]) -> None:
            self.warmed.extend(texts)

    rr = Reranker(Warm("a"))
    assert rr.warm(["x", "y", "x"]) == 2


def test_item18_the_convenience_cache_is_bounded() -> None:
    for size in range(MAX_KEPT + 5):
        rerank("cats", ["cats", "dogs"], model="lexical", cache_size=size + 1)
    assert kept() == MAX_KEPT


def test_item18_an_explicit_batch_size_is_kept() -> None:
    from rankwise.backends.encoders.cross_encoder_factory import _forward_batch

    assert _forward_batch(32) == 32
    assert _forward_batch(None) == 16
    assert Reranker("lexical", batch_size=32).settings.engine().batch_size == 32


def test_item18_onnx_backend_defaults_to_fp32_like_the_spec() -> None:
    import inspect

    from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

    assert inspect.signature(OnnxCrossEncoderBackend).parameters["precision"].default == "fp32"


def test_item18_a_fallback_is_logged_and_score_uses_it(caplog: pytest.LogCaptureFixture) -> None:
    rr = Reranker(ConstantBackend(float("nan")), fallback=Reranker(WordOverlapBackend()))
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        assert rr.score("cats", ["dogs", "cats"]) == [0.0, 1.0]
    assert "fallback" in caplog.text
    _, report = rr.rerank_with_report("cats", ["dogs", "cats"])
    assert (report.fallback_from, report.backend) == ("constant", "overlap")
    assert "NaN" in (report.error or "")


def test_item18_rerank_many_takes_first_stage_scores() -> None:
    rr = Reranker("first-stage")
    out = rr.rerank_many([("q", ["a", "b"], [0.1, 0.9]), ("q", ["a", "b"], [0.8, 0.2])])
    assert [[r.index for r in one] for one in out] == [[1, 0], [0, 1]]
    assert [r.index for r in Reranker("lexical").rerank_many([("cats", ["dogs", "cats"])])[0]] == [1, 0]
