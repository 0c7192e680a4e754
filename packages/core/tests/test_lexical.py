"""The lexical backend: the same BM25 scores as a bm25s index, and a token cache that changes nothing."""

from __future__ import annotations

import random

import bm25s
import pytest

from rankwise.backends import lexical
from rankwise.backends.lexical import LexicalBackend

WORDS = [
    "cell",
    "protein",
    "immune",
    "virus",
    "mouse",
    "cancer",
    "gene",
    "therapy",
    "dose",
    "trial",
    "blood",
    "brain",
    "heart",
    "risk",
]


def _bm25s_scores(backend: LexicalBackend, query: str, texts: list[str]) -> list[float]:
    retriever = bm25s.BM25(k1=backend.k1, b=backend.b)
    retriever.index(backend.tokenize(texts), show_progress=False)
    known = [t for t in backend.tokenize([query])[0] if t in retriever.vocab_dict]
    return [float(s) for s in retriever.get_scores(known)] if known else [0.0] * len(texts)


@pytest.mark.parametrize("seed", range(20))
def test_scores_equal_a_bm25s_index(seed: int) -> None:
    rng = random.Random(seed)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(0, 40))) for _ in range(rng.randint(1, 30))]
    query = " ".join(rng.choices(WORDS, k=rng.randint(1, 5)))
    backend = LexicalBackend(k1=rng.choice([0.9, 1.2, 1.5]), b=rng.choice([0.4, 0.75, 1.0]))
    if not any(backend.tokenize(texts)):
        pytest.skip("every random text is empty")
    assert backend.score(query, texts) == pytest.approx(_bm25s_scores(backend, query, texts), rel=1e-5, abs=1e-6)


def test_a_repeated_query_term_counts_twice() -> None:
    backend = LexicalBackend()
    texts = ["virus in blood", "heart risk", "virus virus dose"]
    once, twice = backend.score("virus", texts), backend.score("virus virus", texts)
    assert twice == pytest.approx([2 * s for s in once])
    assert once[1] == 0.0
    assert once[2] > once[0] > 0


def test_the_token_cache_is_bounded_and_changes_no_score(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "TOKEN_CACHE_SIZE", 5)
    backend, fresh = LexicalBackend(), LexicalBackend()
    texts = [f"gene therapy trial number {i} in mouse cells" for i in range(12)]
    first = backend.score("gene therapy", texts)
    assert len(backend._tokens) == 5
    assert backend.score("gene therapy", texts) == first == fresh.score("gene therapy", texts)
    assert backend.tokenize(["Cells", "cells"]) == [["cell"], ["cell"]]


def test_the_token_cache_keeps_the_texts_used_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "TOKEN_CACHE_SIZE", 2)
    backend = LexicalBackend()
    backend.tokenize(["gene one", "gene two"])
    backend.tokenize(["gene one", "gene three"])  # "gene one" used again: "gene two" is the one dropped
    assert list(backend._tokens) == ["gene one", "gene three"]
