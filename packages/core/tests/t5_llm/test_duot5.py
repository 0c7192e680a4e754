"""DuoT5 on a tiny random T5: pair probabilities by hand, symmetric aggregation, top-k above the rest."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import pytest

from rankwise import Reranker
from rankwise.backends.t5.duot5 import DuoT5Backend


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> tuple[Any, Any]:
    """Tokenizer and model, loaded once per directory for the hand computations."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()


QUERY = "what do cats eat"
DOCS = [
    "cats eat fish",
    "dogs bark at the car",
    "the river is blue",
    "cats",
    "protein in the cell",
    "a bird can fly",
    "apple and pear fruit",
]


class FixedFirstPass:
    """A first pass with known scores (higher = better)."""

    name = "fixed"
    default_normalization = "none"

    def __init__(self, scores: Sequence[float]) -> None:
        self.scores = list(scores)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return self.scores[: len(texts)]


def hand_pair_prob(model_dir: str, query: str, a: str, b: str) -> float:
    import torch

    tok, model = load(model_dir)
    enc = tok(f"Query: {query} Document0: {a} Document1: {b} Relevant:", return_tensors="pt")
    with torch.inference_mode():
        logits = model(**enc, decoder_input_ids=torch.tensor([[0]])).logits[0, 0]
    two = torch.softmax(logits[[tok.convert_tokens_to_ids("false"), tok.convert_tokens_to_ids("true")]], 0)
    return float(two[1])


FIRST = [0.1, 0.9, 0.5, 0.8, 0.0, 0.3, 0.7]  # first-pass order: 1, 3, 6, 2, 5, 0, 4


def test_aggregate_is_the_symmetric_sum_of_pair_probabilities(tiny_t5: str) -> None:
    backend = DuoT5Backend(tiny_t5, first_pass=FixedFirstPass(FIRST), top_k=3)
    scores, report = backend.score_with_report(QUERY, DOCS)
    assert backend.score(QUERY, DOCS) == scores
    assert report.first_pass_order == (1, 3, 6, 2, 5, 0, 4)
    top = [1, 3, 6]
    assert report.pairs == 6
    p = {(i, j): hand_pair_prob(tiny_t5, QUERY, DOCS[i], DOCS[j]) for i in top for j in top if i != j}
    for i in top:
        expected = sum(0.5 * (p[i, j] + 1 - p[j, i]) for j in top if j != i)
        assert report.duo_scores[i] == pytest.approx(expected, abs=1e-5)
    duo_order = sorted(top, key=lambda i: -report.duo_scores[i])
    final = sorted(range(len(DOCS)), key=lambda i: -scores[i])
    assert final[:3] == duo_order  # the top-k reordered by the duo aggregate ...
    assert final[3:] == [2, 5, 0, 4]  # ... and the rest keep first-pass order below them
    assert sorted(scores) == [float(x) for x in range(1, len(DOCS) + 1)]


def test_through_the_reranker_with_a_monot5_first_pass(tiny_t5: str) -> None:
    rr = Reranker(f"duot5:{tiny_t5}", backend_options={"first_pass": f"monot5:{tiny_t5}", "top_k": 4})
    results = rr.rerank(QUERY, DOCS)
    backend = rr.backends[0]
    assert isinstance(backend, DuoT5Backend)
    mono = backend.first_pass.score(QUERY, DOCS)  # type: ignore[union-attr]
    first_order = sorted(range(len(DOCS)), key=lambda i: -mono[i])
    assert sorted(r.index for r in results[:4]) == sorted(first_order[:4])
    assert [r.index for r in results[4:]] == first_order[4:]
    assert [r.score for r in results] == [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    assert {r.score_kind for r in results} == {"rank"}


def test_the_engine_runs_the_first_pass_cached_and_reports_per_call(tiny_t5: str) -> None:
    rr = Reranker(f"duot5:{tiny_t5}", backend_options={"first_pass": f"monot5:{tiny_t5}", "top_k": 3})
    first, report = rr.rerank_with_report(QUERY, DOCS)
    duo = rr.backends[0]
    assert isinstance(duo, DuoT5Backend)
    assert duo.first_pass is not None
    assert not hasattr(duo, "last_run_report")  # nothing per call is stored on the shared backend
    (own,) = report.reports.values()
    assert own.pairs == 6  # type: ignore[attr-defined]
    mono = duo.first_pass.score(QUERY, DOCS)
    assert list(own.first_pass_order) == sorted(range(len(DOCS)), key=lambda i: -mono[i])  # type: ignore[attr-defined]
    again, second = rr.rerank_with_report(QUERY, DOCS)
    assert [r.index for r in again] == [r.index for r in first]
    assert second.cache_hits >= len(DOCS)  # the MonoT5 first pass came from the score cache the second time


async def test_async_and_input_order_first_pass(tiny_t5: str) -> None:
    rr = Reranker(f"duot5:{tiny_t5}", backend_options={"first_pass": "input", "top_k": 2})
    sync = [r.index for r in rr.rerank(QUERY, DOCS)]
    assert sorted(sync[:2]) == [0, 1]
    assert sync[2:] == [2, 3, 4, 5, 6]
    assert [r.index for r in await rr.arerank(QUERY, DOCS)] == sync


def test_k_larger_than_n_and_a_single_document(tiny_t5: str) -> None:
    backend = DuoT5Backend(tiny_t5, first_pass="input", top_k=10)
    assert sorted(backend.score(QUERY, DOCS[:3])) == [1.0, 2.0, 3.0]
    scores, report = backend.score_with_report(QUERY, DOCS[:1])
    assert scores == [1.0]
    assert report.pairs == 0


def test_first_pass_is_required_and_top_k_checked(tiny_t5: str) -> None:
    with pytest.raises(ValueError, match="first_pass"):
        Reranker(f"duot5:{tiny_t5}").load()
    with pytest.raises(ValueError, match="top_k"):
        DuoT5Backend(tiny_t5, first_pass="input", top_k=0)
    assert math.isfinite(DuoT5Backend(tiny_t5, first_pass=tiny_t5).score(QUERY, DOCS[:2])[0])  # bare path = MonoT5
