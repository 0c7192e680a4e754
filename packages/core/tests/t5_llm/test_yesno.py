"""Causal-LM yes/no scoring on a tiny random Llama: batched with left padding = unbatched by hand."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import pytest

from rankwise import Reranker
from rankwise.backends.llm.yesno import YesNoBackend
from rankwise.backends.llm.yesno_presets import PRESETS


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> tuple[Any, Any]:
    """Tokenizer and model, loaded once per directory for the hand computations."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModelForCausalLM.from_pretrained(model_dir).eval()


QUERY = "what do cats eat"
DOCS = ["cats eat fish", "dogs bark at the car", "the river is blue and the sky is blue", "cats", "protein"]


def hand_scores(model_dir: str, prompts: list[str], true: str, false: str | None, bos: bool) -> list[float]:
    """One prompt at a time (no padding): the next token's logit(true) − logit(false)."""
    import torch

    tok, model = load(model_dir)
    out = []
    with torch.inference_mode():
        for prompt in prompts:
            ids = ([tok.bos_token_id] if bos else []) + tok(prompt, add_special_tokens=False)["input_ids"]
            last = model(input_ids=torch.tensor([ids])).logits[0, -1]
            value = last[tok.convert_tokens_to_ids(true)]
            if false is not None:
                value = value - last[tok.convert_tokens_to_ids(false)]
            out.append(float(value))
    return out


def generic_prompt(doc: str) -> str:
    return f"Query: {QUERY}\nDocument: {doc}\nIs the document relevant to the query? Answer yes or no.\nAnswer:"


@pytest.fixture(scope="module")
def reranker(tiny_causal_lm: str) -> Reranker:
    return Reranker(f"yesno:{tiny_causal_lm}", batch_size=3).load()


def test_batched_left_padded_scores_equal_the_hand_computation(reranker: Reranker, tiny_causal_lm: str) -> None:
    expected = hand_scores(tiny_causal_lm, [generic_prompt(d) for d in DOCS], "yes", "no", bos=True)
    backend = reranker.backends[0]
    assert backend.score(QUERY, DOCS) == pytest.approx(expected, abs=1e-4)  # batches of 3 of unequal lengths
    assert len({round(x, 4) for x in expected}) == len(DOCS)


def test_final_scores_are_p_yes_and_order_follows(reranker: Reranker, tiny_causal_lm: str) -> None:
    import math

    expected = hand_scores(tiny_causal_lm, [generic_prompt(d) for d in DOCS], "yes", "no", bos=True)
    assert reranker.score(QUERY, DOCS) == pytest.approx([1 / (1 + math.exp(-x)) for x in expected], abs=1e-5)
    assert [r.index for r in reranker.rerank(QUERY, DOCS)] == sorted(range(len(DOCS)), key=lambda i: -expected[i])


async def test_async_matches_sync(reranker: Reranker) -> None:
    sync = [r.index for r in reranker.rerank(QUERY, DOCS)]
    reranker.clear_cache()
    assert [r.index for r in await reranker.arerank(QUERY, DOCS)] == sync


def test_bge_preset_reads_yes_alone_after_bos(tiny_causal_lm: str) -> None:
    backend = YesNoBackend(tiny_causal_lm, preset="bge-reranker-v2-gemma")
    assert backend.false_id is None
    prompts = [f"A: {QUERY}\nB: {d}\n{PRESETS['bge-reranker-v2-gemma'].instruction}" for d in DOCS]
    assert backend.score(QUERY, DOCS) == pytest.approx(
        hand_scores(tiny_causal_lm, prompts, "Yes", None, bos=True), abs=1e-4
    )


def test_qwen3_and_mxbai_presets_render_their_documented_prompts(tiny_causal_lm: str) -> None:
    qwen = PRESETS["qwen3-reranker"]
    text = qwen.template.format(query="q?", document="d.", instruction=qwen.instruction)
    assert text.startswith("<|im_start|>system\nJudge whether the Document meets the requirements")
    assert (
        "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n<Query>: q?\n" in text
    )
    assert text.endswith("<Document>: d.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    mxbai = PRESETS["mxbai-rerank-v2"]
    assert (mxbai.true_token, mxbai.false_token) == ("1", "0")
    assert "query: q?\ndocument: d.\nYou are a search relevance expert" in mxbai.template.format(
        query="q?", document="d."
    )
    backend = YesNoBackend(tiny_causal_lm, preset="mxbai-rerank-v2")  # "1"/"0" are in the tiny vocab
    assert len(backend.score(QUERY, DOCS[:2])) == 2


def test_long_documents_are_cut_to_max_length(tiny_causal_lm: str) -> None:
    backend = YesNoBackend(tiny_causal_lm, max_length=24)
    ids = backend.prompt_ids(QUERY, "cats eat fish " * 100)
    tokens = backend.tokenizer.convert_ids_to_tokens(ids)
    assert len(ids) <= 24
    assert tokens[0] == "<s>"
    assert tokens[-1] == "Answer:"


def test_bad_options_are_named(tiny_causal_lm: str) -> None:
    with pytest.raises(ValueError, match="unknown yes/no preset 'qwen'"):
        YesNoBackend(tiny_causal_lm, preset="qwen")
    with pytest.raises(ValueError, match="lacks \\{query\\}"):
        YesNoBackend(tiny_causal_lm, template="Document: {document}")


class _SplittingTokenizer:
    """Like a legacy SentencePiece tokenizer: a leading space becomes its own piece."""

    unk_token_id = 0
    vocab: ClassVar[dict[str, int]] = {"<unk>": 0, "▁": 1, "yes": 2, "Ġno": 3}

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        pieces = (["▁"] if text.startswith(" ") else []) + text.split()
        return {"input_ids": [self.vocab.get(p, 0) for p in pieces]}

    def convert_tokens_to_ids(self, token: str) -> int:
        return self.vocab.get(token, 0)

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        names = {v: k for k, v in self.vocab.items()}
        return [names[i] for i in ids]


def test_target_token_fallbacks() -> None:
    from rankwise.backends.llm.prompt_tokens import target_token_id

    tok = _SplittingTokenizer()
    assert target_token_id(tok, "yes") == 2
    assert target_token_id(tok, " yes") == 2  # stripped
    assert target_token_id(tok, "Ġno") == 3
    with pytest.raises(ValueError, match="is 2 tokens"):
        target_token_id(tok, "yes please")
