"""The bi-encoder's ONNX runtime: sentence-transformers' fp32 numbers, a cached export that loads without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bi_encoder_support import build_tiny_bi_encoder

from rankwise.backends.encoders.bi_encoder import BiEncoderBackend
from rankwise.backends.encoders.onnx_bi_encoder import MANIFEST, OnnxSentenceEncoder

SENTENCES = [
    "How do vaccines train the immune system?",
    "Vaccines expose the immune system to a harmless piece of a pathogen so it learns to recognise it.",
    "The stock market fell sharply on Monday.",
    "a",
    "Ünïcode, punctuation (n = 12) and numbers: 3.14159 — p < 0.05!",
    " ".join(["Antibodies and memory T cells protect against later infection."] * 40),  # over 256 tokens
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-bi")


@pytest.fixture(scope="module")
def tiny_bi(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("tiny-bi-onnx"), seed=3)


def cosine_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(1.0 - np.sum(a * b, axis=1))))


def test_minilm_matches_sentence_transformers_fp32(minilm_path: str, onnx_cache: Path) -> None:
    from sentence_transformers import SentenceTransformer

    expected = SentenceTransformer(minilm_path).encode(SENTENCES, normalize_embeddings=True, batch_size=4)
    encoder = OnnxSentenceEncoder(minilm_path, onnx_cache_dir=onnx_cache)
    got = encoder.encode(SENTENCES, batch_size=4)
    assert got.shape == expected.shape == (len(SENTENCES), 384)
    assert cosine_gap(got, expected) <= 1e-4
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    one = encoder.encode(SENTENCES[:1], single_thread=True)  # the query path's one-thread session
    np.testing.assert_allclose(one, expected[:1], atol=1e-4)


def test_the_minilm_export_has_fused_attention(minilm_path: str, onnx_cache: Path) -> None:
    import onnx

    encoder = OnnxSentenceEncoder(minilm_path, onnx_cache_dir=onnx_cache)
    manifest = json.loads((encoder.directory / MANIFEST).read_text())
    ops = {node.op_type for node in onnx.load(str(encoder.directory / "model.onnx")).graph.node}
    assert manifest["fused"] is True
    assert "Attention" in ops
    assert "Softmax" not in ops


def test_a_token_budget_cuts_batches_and_changes_no_embedding(minilm_path: str, onnx_cache: Path) -> None:
    encoder = OnnxSentenceEncoder(minilm_path, onnx_cache_dir=onnx_cache)
    widths: list[tuple[int, int]] = []
    real_run = encoder._session.run

    def recording_run(names: object, feeds: dict[str, np.ndarray]) -> object:
        widths.append(feeds["input_ids"].shape)
        return real_run(names, feeds)

    unlimited = encoder.encode(SENTENCES, batch_size=32, max_tokens=None)
    encoder._session.run = recording_run  # type: ignore[method-assign]
    try:
        budgeted = encoder.encode(SENTENCES, batch_size=32, max_tokens=64)
    finally:
        del encoder._session.run
    assert sum(rows for rows, _ in widths) == len(SENTENCES)
    assert len(widths) > 1
    assert all(rows == 1 or rows * width <= 64 for rows, width in widths)  # one over-long text still gets a batch
    np.testing.assert_allclose(budgeted, unlimited, atol=1e-5)


def test_tiny_random_bert_matches_sentence_transformers(tiny_bi: str, onnx_cache: Path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["cats eat fish", "dogs bark at the car and the birds fly", "blue", "cats " * 100]
    expected = SentenceTransformer(tiny_bi).encode(texts, normalize_embeddings=True)
    got = BiEncoderBackend(tiny_bi, runtime="onnx", onnx_cache_dir=onnx_cache).embed_documents(texts)
    assert cosine_gap(got, expected) <= 1e-4
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_runtimes_give_the_same_scores_and_cuts(minilm_path: str, onnx_cache: Path) -> None:
    torch_backend = BiEncoderBackend(minilm_path, runtime="torch", max_length=128)
    onnx_backend = BiEncoderBackend(minilm_path, runtime="onnx", max_length=128, onnx_cache_dir=onnx_cache)
    assert onnx_backend.max_length == torch_backend.max_length == 128
    query, docs = SENTENCES[0], SENTENCES[1:]
    assert onnx_backend.score(query, docs) == pytest.approx(torch_backend.score(query, docs), abs=1e-4)
    zero_width = " ".join(["\u200b"] * 3000) + " vaccines train the immune system"  # over 16 chars/token: cut
    for text in [SENTENCES[-1], zero_width]:
        assert onnx_backend.cut_to_tokens(text) == torch_backend.cut_to_tokens(text)
    assert onnx_backend.cut_to_tokens(zero_width).endswith("immune system")


def test_a_cached_export_loads_without_torch_or_sentence_transformers(minilm_path: str, onnx_cache: Path) -> None:
    OnnxSentenceEncoder(minilm_path, onnx_cache_dir=onnx_cache)  # made (or found) here
    code = (
        "import json, sys\n"
        "from rankwise.backends.encoders.bi_encoder import BiEncoderBackend\n"
        f"b = BiEncoderBackend({minilm_path!r}, runtime='onnx', onnx_cache_dir={str(onnx_cache)!r})\n"
        "scores = b.score('vaccines', ['the immune system', 'stock prices'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(json.dumps({'scores': scores, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["scores"][0] > result["scores"][1]


def test_an_incomplete_cache_entry_is_made_again(tiny_bi: str, tmp_path: Path) -> None:
    first = OnnxSentenceEncoder(tiny_bi, onnx_cache_dir=tmp_path)
    (first.directory / MANIFEST).unlink()  # as if the process died before the manifest went in
    (first.directory / "model.onnx").write_bytes(b"half a model")
    again = OnnxSentenceEncoder(tiny_bi, onnx_cache_dir=tmp_path)
    np.testing.assert_allclose(again.encode(["cats eat fish"]), first.encode(["cats eat fish"]), atol=1e-6)


def test_an_unwritable_cache_directory_falls_back_to_torch(tiny_bi: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go")
    with pytest.warns(RuntimeWarning, match="running on torch"):
        backend = BiEncoderBackend(tiny_bi, runtime="onnx", onnx_cache_dir=blocker / "onnx")
    assert backend.runtime == "torch"
    assert backend.score("cats", ["cats eat fish"])[0] == pytest.approx(
        BiEncoderBackend(tiny_bi).score("cats", ["cats eat fish"])[0], abs=1e-6
    )


def test_options_the_onnx_runtime_cannot_honour_are_errors(tiny_bi: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fp32"):
        BiEncoderBackend(tiny_bi, runtime="onnx", precision="bf16", onnx_cache_dir=tmp_path)
    with pytest.raises(ValueError, match="runtime"):
        BiEncoderBackend(tiny_bi, runtime="tensorflow")
    auto = BiEncoderBackend(tiny_bi, runtime="onnx", precision="auto", onnx_cache_dir=tmp_path)
    assert auto.precision == "fp32"


def test_embedded_with_the_onnx_runtime_matches_torch_fp32(onnx_cache: Path) -> None:
    from rankwise import Reranker

    docs = SENTENCES[1:]
    onnx = Reranker("embedded", backend_options={"bi-encoder": {"runtime": "onnx", "onnx_cache_dir": str(onnx_cache)}})
    exact = Reranker("embedded", backend_options={"bi-encoder": {"runtime": "torch", "precision": "fp32"}})
    assert onnx.score(SENTENCES[0], docs) == pytest.approx(exact.score(SENTENCES[0], docs), abs=1e-4)
    again = Reranker("embedded", backend_options={"bi-encoder": {"runtime": "onnx", "onnx_cache_dir": str(onnx_cache)}})
    assert again.score(SENTENCES[0], docs) == onnx.score(SENTENCES[0], docs)  # fp32, same batches: identical
