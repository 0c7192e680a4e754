"""The bi-encoder's on-disk embedding cache: survives the backend, keyed by model and text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from bi_encoder_support import build_tiny_bi_encoder

from rankwise.backends.encoders.bi_encoder import BiEncoderBackend
from rankwise.backends.encoders.embedding_store import EmbeddingStore

DOCS = ["cats eat fish", "dogs bark at the car", "the river is blue"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("tiny-bi")
    return build_tiny_bi_encoder(root / "a", seed=1), build_tiny_bi_encoder(root / "b", seed=2)


def never_encode(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError(f"encoded {list(texts)!r} again instead of reading the disk cache")


def test_round_trip_across_two_backend_instances(tiny_models: tuple[str, str], tmp_path: Path) -> None:
    first = BiEncoderBackend(tiny_models[0], embedding_cache_dir=tmp_path)
    first.warm(DOCS)
    expected = first.embed_documents(DOCS)
    second = BiEncoderBackend(tiny_models[0], embedding_cache_dir=tmp_path)
    second._encode_fp32 = never_encode  # type: ignore[method-assign]
    np.testing.assert_array_equal(second.embed_documents(DOCS), expected)
    assert len(EmbeddingStore(tmp_path, model_key=second._store.model_key)) == len(DOCS)  # type: ignore[union-attr]


def test_new_texts_are_encoded_and_stored_beside_cached_ones(tiny_models: tuple[str, str], tmp_path: Path) -> None:
    BiEncoderBackend(tiny_models[0], embedding_cache_dir=tmp_path).warm(DOCS[:1])
    backend = BiEncoderBackend(tiny_models[0], embedding_cache_dir=tmp_path)
    reference = BiEncoderBackend(tiny_models[0])
    np.testing.assert_allclose(backend.embed_documents(DOCS), reference.embed_documents(DOCS), atol=1e-6)
    assert backend.score("cats", DOCS) == pytest.approx(reference.score("cats", DOCS), abs=1e-6)


def test_cache_is_keyed_by_model(tiny_models: tuple[str, str], tmp_path: Path) -> None:
    BiEncoderBackend(tiny_models[0], embedding_cache_dir=tmp_path).warm(DOCS)
    other = BiEncoderBackend(tiny_models[1], embedding_cache_dir=tmp_path)
    assert other._store.get_many(DOCS) == {}  # type: ignore[union-attr]
    fresh = BiEncoderBackend(tiny_models[1]).embed_documents(DOCS)
    np.testing.assert_allclose(other.embed_documents(DOCS), fresh, atol=1e-6)


def test_store_keys_texts_exactly(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path, model_key="m")
    store.put_many({"a": np.array([1, 2], dtype=np.float32), "a ": np.array([3, 4], dtype=np.float32)})
    got = store.get_many(["a", "a ", "b"])
    assert sorted(got) == ["a", "a "]
    assert got["a "].tolist() == [3.0, 4.0]
    assert EmbeddingStore(tmp_path, model_key="other").get_many(["a"]) == {}


def test_reranker_warm_stores_the_texts_rerank_will_look_up(tiny_models: tuple[str, str], tmp_path: Path) -> None:
    from rankwise import Reranker

    long_doc = " ".join(["cats eat fish"] * 30)  # 90 words: cut to max_length words before scoring
    options = {"embedding_cache_dir": str(tmp_path)}
    Reranker(f"bi-encoder:{tiny_models[0]}", max_length=16, backend_options=options).warm([long_doc, DOCS[1]])
    later = Reranker(f"bi-encoder:{tiny_models[0]}", max_length=16, backend_options=options)
    store = later.backends[0]._store  # type: ignore[attr-defined]
    stored = len(store)
    assert stored == 2
    later.rerank("cats", [long_doc, DOCS[1]])
    assert len(store) == stored  # nothing was encoded again: warm stored exactly what rerank asks for
