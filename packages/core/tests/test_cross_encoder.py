"""The cross-encoder path on a tiny random BERT built locally: real loading, exact arithmetic."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rankwise import Reranker

QUERY = "what do cats eat"
DOCS = [
    "cats eat fish",
    "dogs bark at the car",
    "the river is blue and the sky is blue",
    "cats",
    "science study of protein in the cell",
]

# The exact fp32 mode: the CPU default is reduced precision (see rankwise.backends.encoders.cross_encoder).
EXACT = {"backend": "torch", "precision": "fp32"}


def direct_logits(model_dir: str, query: str, docs: list[str]) -> list[float]:
    """The hand computation: tokenizer + model forward, no sentence-transformers, no rankwise."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    logits = []
    with torch.inference_mode():
        for doc in docs:  # one pair at a time: no padding involved
            batch = tokenizer(query, doc, return_tensors="pt", truncation=True, max_length=128)
            logits.append(float(model(**batch).logits[0, 0]))
    return logits


@pytest.fixture(scope="module")
def reranker(tiny_cross_encoder: str) -> Reranker:
    return Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT).load()


def test_scores_are_sigmoid_of_the_models_logits(reranker: Reranker, tiny_cross_encoder: str) -> None:
    expected = [1 / (1 + math.exp(-x)) for x in direct_logits(tiny_cross_encoder, QUERY, DOCS)]
    assert len({round(e, 4) for e in expected}) == len(DOCS), "tiny model gives flat scores"
    assert reranker.score(QUERY, DOCS) == pytest.approx(expected, abs=1e-4)
    results = reranker.rerank(QUERY, DOCS)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: -expected[i])


def test_the_tiny_model_scores_by_content(reranker: Reranker) -> None:
    """Documents of the same token length score differently: the fixture's words are real tokens, not [UNK]."""
    tokenizer = reranker.backends[0].model.tokenizer  # type: ignore[attr-defined]
    same_length = ["cats eat fish", "dogs bark car", "river sky blue"]
    assert len({len(tokenizer(QUERY, d)["input_ids"]) for d in same_length}) == 1
    assert tokenizer.unk_token_id not in tokenizer(QUERY, same_length[0])["input_ids"]
    logits = reranker.backends[0].score(QUERY, same_length)
    assert max(logits) - min(logits) > 0.1


def test_raw_logits_with_normalize_none(tiny_cross_encoder: str) -> None:
    rr = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT, normalize="none")
    assert rr.score(QUERY, DOCS) == pytest.approx(direct_logits(tiny_cross_encoder, QUERY, DOCS), abs=1e-4)


def test_batching_does_not_change_scores(tiny_cross_encoder: str, reranker: Reranker) -> None:
    one_by_one = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT, batch_size=1)
    assert one_by_one.score(QUERY, DOCS) == pytest.approx(reranker.score(QUERY, DOCS), abs=1e-4)


def test_huge_document_is_scored_within_max_length(reranker: Reranker) -> None:
    huge = "cats eat fish " * 34_000  # ~100,000 words
    results = reranker.rerank(QUERY, [huge, "dogs"])
    assert len(results) == 2
    assert all(math.isfinite(r.score) for r in results)


def test_chunk_mode_max_pools_window_scores(tiny_cross_encoder: str) -> None:
    long_doc = " ".join(["river sky blue"] * 40 + ["cats eat fish"])
    rr = Reranker(
        f"cross-encoder:{tiny_cross_encoder}",
        max_length=128,
        backend_options=EXACT,
        long_documents="chunk",
        chunk_size=30,
    )
    windows = [" ".join(long_doc.split()[i : i + 30]) for i in range(0, 123, 30 - 7)]
    windows = [w for w in windows if w]
    window_scores = rr.score(QUERY, windows)
    assert rr.score(QUERY, [long_doc])[0] == pytest.approx(max(window_scores[: len(windows)]), abs=1e-6)


def test_two_label_models_use_the_logit_difference(tmp_path: Path) -> None:
    from core_support import build_tiny_cross_encoder

    model_dir = str(build_tiny_cross_encoder(tmp_path / "two", num_labels=2))
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        logits = model(**tokenizer(QUERY, DOCS[0], return_tensors="pt")).logits[0]
    expected = float(torch.softmax(logits, dim=-1)[1])
    assert Reranker(f"cross-encoder:{model_dir}", max_length=128, backend_options=EXACT).score(QUERY, DOCS[:1])[
        0
    ] == pytest.approx(expected, abs=1e-5)


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"does-not-exist|not a valid|Repo id|not found|No such"):
        Reranker(f"cross-encoder:{tmp_path / 'does-not-exist'}").rerank("q", ["d"])
