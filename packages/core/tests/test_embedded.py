"""The embedded default on the real bundled all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise import Reranker
from rankwise.backends.lexical import LexicalBackend
from rankwise.embedded import LEXICAL_WEIGHT, SEMANTIC_WEIGHT

QUERY = "How do vaccines train the immune system?"
DOCS = [
    "The stock market fell sharply on Monday after the central bank raised interest rates.",
    "Vaccines expose the immune system to a harmless piece of a pathogen so it learns to recognise it.",
    "Tomatoes grow best in warm weather with plenty of sunlight and regular watering.",
    "Antibodies and memory T cells produced after vaccination protect against later infection.",
    "The immune system of plants differs from that of animals.",
]


def minmax(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


def test_puts_relevant_documents_first(embedded_reranker: Reranker) -> None:
    results = embedded_reranker.rerank(QUERY, DOCS)
    assert results[0].index == 1
    assert {r.index for r in results[-2:]} == {0, 2}  # finance and gardening: unrelated
    assert results[0].backend == "embedded"


TORCH_FP32 = {"bi-encoder": {"precision": "fp32", "runtime": "torch"}}


@pytest.fixture(scope="module")
def embedded_fp32() -> Reranker:
    """The weighted min-max fusion the default was before its calibration (``normalize="none"``)."""
    return Reranker("embedded", normalize="none", backend_options=TORCH_FP32).load()


def test_the_default_score_is_the_shipped_calibration_of_the_raw_terms(minilm_path: str) -> None:
    from sentence_transformers import SentenceTransformer

    from rankwise.calibration import RawTerm, shipped

    model = SentenceTransformer(minilm_path)
    q = model.encode([QUERY], normalize_embeddings=True)[0]
    cosine = model.encode(DOCS, normalize_embeddings=True) @ q
    calibration = shipped("embedded-v2")
    default = Reranker("embedded", backend_options=TORCH_FP32)
    results = default.rerank(QUERY, DOCS)
    assert {r.score_kind for r in results} == {"calibrated"}
    first_stage = [3.0, 1.0, 0.0, 2.0, 5.0]
    for given in (None, first_stage):
        lexical = RawTerm("first-stage", "first-stage", 0.7, np.array(given, dtype=float)) if given else None
        terms = [RawTerm("bi-encoder", "similarity", 1.3, cosine.astype(float))]
        terms.append(lexical or RawTerm("lexical", "bm25", 0.7, np.array(LexicalBackend().score(QUERY, DOCS))))
        expected = calibration.apply(QUERY, DOCS, terms)
        got = default.score(QUERY, DOCS, first_stage_scores=given)
        assert got == pytest.approx(expected.tolist(), abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in got)


def test_score_is_the_documented_fusion(embedded_fp32: Reranker, minilm_path: str) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path)
    q = model.encode([QUERY], normalize_embeddings=True)[0]
    d = model.encode(DOCS, normalize_embeddings=True)
    cosine = d @ q
    lexical = np.array(LexicalBackend().score(QUERY, DOCS))
    expected = SEMANTIC_WEIGHT * minmax(cosine) + LEXICAL_WEIGHT * minmax(lexical)
    assert embedded_fp32.score(QUERY, DOCS) == pytest.approx(expected.tolist(), abs=1e-5)
    first_stage = [3.0, 1.0, 0.0, 2.0, 5.0]
    expected_fs = SEMANTIC_WEIGHT * minmax(cosine) + LEXICAL_WEIGHT * minmax(np.array(first_stage))
    fused = embedded_fp32.score(QUERY, DOCS, first_stage_scores=first_stage)
    assert fused == pytest.approx(expected_fs.tolist(), abs=1e-5)


async def test_async_and_sync_agree(embedded_reranker: Reranker) -> None:
    assert await embedded_reranker.arerank(QUERY, DOCS) == embedded_reranker.rerank(QUERY, DOCS)


def test_warm_then_score_encodes_nothing_new(embedded_reranker: Reranker) -> None:
    docs = [f"{d} (warm copy)" for d in DOCS]
    assert embedded_reranker.warm(docs) == len(docs)
    bi_encoder = embedded_reranker.backends[0]
    calls = []
    original = bi_encoder._encode  # type: ignore[attr-defined]
    bi_encoder._encode = lambda texts: calls.append(list(texts)) or original(texts)  # type: ignore[attr-defined]
    try:
        embedded_reranker.rerank("a brand new query about immunity", docs)
    finally:
        bi_encoder._encode = original  # type: ignore[attr-defined]
    assert calls == [["a brand new query about immunity"]]


def test_auto_precision_is_bf16_only_with_native_cpu_support(embedded_fp32: Reranker) -> None:
    import torch

    auto_reranker = Reranker(
        "embedded", normalize="none", backend_options={"bi-encoder": {"precision": "auto", "runtime": "torch"}}
    )
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert auto_reranker.load().backends[0].precision == ("bf16" if native else "fp32")  # type: ignore[attr-defined]
    auto = auto_reranker.score(QUERY, DOCS)
    exact = embedded_fp32.score(QUERY, DOCS)
    assert auto == pytest.approx(exact, abs=0.05)
    assert [r.index for r in auto_reranker.rerank(QUERY, DOCS)] == [r.index for r in embedded_fp32.rerank(QUERY, DOCS)]
