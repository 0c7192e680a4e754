"""MonoT5 on a tiny random T5 built locally: real transformers path, arithmetic checked by hand."""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest

from rankwise import Reranker
from rankwise.backends.t5.monot5 import MonoT5Backend


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> tuple[Any, Any]:
    """Tokenizer and model, loaded once per directory for the hand computations."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()


QUERY = "what do cats eat"
DOCS = ["cats eat fish", "dogs bark at the car", "the river is blue and the sky is blue", "cats", "protein in the cell"]


def hand_margins(model_dir: str, query: str, docs: list[str]) -> list[float]:
    """One document at a time, no padding: logit(true) − logit(false) of the first decoded token."""
    import torch

    tok, model = load(model_dir)
    true_id, false_id = tok.convert_tokens_to_ids("true"), tok.convert_tokens_to_ids("false")
    out = []
    with torch.inference_mode():
        for doc in docs:
            enc = tok(f"Query: {query} Document: {doc} Relevant:", return_tensors="pt")
            logits = model(**enc, decoder_input_ids=torch.tensor([[model.config.decoder_start_token_id]])).logits
            out.append(float(logits[0, 0, true_id] - logits[0, 0, false_id]))
    return out


@pytest.fixture(scope="module")
def reranker(tiny_t5: str) -> Reranker:
    return Reranker(f"monot5:{tiny_t5}", batch_size=2).load()


def test_raw_scores_are_the_true_false_logit_margin(reranker: Reranker, tiny_t5: str) -> None:
    backend = reranker.backends[0]
    expected = hand_margins(tiny_t5, QUERY, DOCS)
    assert backend.score(QUERY, DOCS) == pytest.approx(expected, abs=1e-4)
    assert len({round(x, 4) for x in expected}) == len(DOCS)  # the tiny model does discriminate


def test_final_scores_are_p_true(reranker: Reranker, tiny_t5: str) -> None:
    import torch

    margins = hand_margins(tiny_t5, QUERY, DOCS)
    # P(true) as softmax over the two logits equals sigmoid of their difference.
    p_true = [float(torch.softmax(torch.tensor([m, 0.0]), 0)[0]) for m in margins]
    assert reranker.score(QUERY, DOCS) == pytest.approx(p_true, abs=1e-5)
    results = reranker.rerank(QUERY, DOCS)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: -margins[i])
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert all(r.backend == f"monot5:{tiny_t5}" for r in results)


async def test_async_matches_sync(reranker: Reranker) -> None:
    sync = [(r.index, r.score) for r in reranker.rerank(QUERY, DOCS)]
    reranker.clear_cache()
    got = [(r.index, r.score) for r in await reranker.arerank(QUERY, DOCS)]
    assert [i for i, _ in got] == [i for i, _ in sync]
    assert [s for _, s in got] == pytest.approx([s for _, s in sync], abs=1e-6)


def test_long_documents_are_cut_but_the_prompt_tail_survives(tiny_t5: str) -> None:
    backend = MonoT5Backend(tiny_t5, max_length=16)
    ids = backend.prompt_ids(QUERY, "cats eat fish " * 50)
    tokens = backend._scorer.tokenizer.convert_ids_to_tokens(ids)
    assert len(ids) <= 16
    assert tokens[-2:] == ["Relevant:", "</s>"]
    assert tokens[:5] == ["Query:", "what", "do", "cats", "eat"]
    assert math.isfinite(backend.score(QUERY, ["cats eat fish " * 50])[0])


def test_custom_template_and_tokens(tiny_t5: str) -> None:
    backend = MonoT5Backend(
        tiny_t5, template="Query: {query} Document: {document} Relevant:", true_token="yes", false_token="no"
    )
    tok = backend._scorer.tokenizer
    assert (backend._scorer.true_id, backend._scorer.false_id) == (
        tok.convert_tokens_to_ids("yes"),
        tok.convert_tokens_to_ids("no"),
    )


def test_bad_options_are_named(tiny_t5: str) -> None:
    with pytest.raises(ValueError, match="lacks \\{document\\}"):
        MonoT5Backend(tiny_t5, template="Query: {query} Relevant:")
    with pytest.raises(ValueError, match="target token 'not in vocab'"):
        MonoT5Backend(tiny_t5, true_token="not in vocab")
