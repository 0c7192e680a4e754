"""Prompt presets for causal-LM yes/no rerankers (Qwen3-Reranker, bge-reranker-v2-gemma, mxbai-rerank-v2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class YesNoPreset:
    """How one family of causal-LM rerankers is prompted and read.

    ``template`` holds ``{query}``, ``{document}`` and optionally
    ``{instruction}``; the model's next-token logits after it are read at
    ``true_token`` and ``false_token``. The raw score is
    ``logit(true) − logit(false)``, or ``logit(true)`` alone when
    ``false_token`` is None (bge-reranker-v2-gemma's documented score).
    ``add_bos`` prepends the tokenizer's BOS token; nothing else is added.

    >>> PRESETS["qwen3-reranker"].true_token, PRESETS["qwen3-reranker"].false_token
    ('yes', 'no')
    """

    template: str
    true_token: str
    false_token: str | None
    instruction: str = ""
    add_bos: bool = False
    models: str = ""  # the published checkpoints the preset is written for


_QWEN3_SYSTEM = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. "
    'Note that the answer can only be "yes" or "no".'
)
_BGE_PROMPT = (
    "Given a query A and a passage B, determine whether the passage contains an answer to the query "
    "by providing a prediction of either 'Yes' or 'No'."
)
_MXBAI_TASK = (
    "You are a search relevance expert who evaluates how well documents match search queries. "
    "For each query-document pair, carefully analyze the semantic relationship between them, "
    "then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:"
)

PRESETS: dict[str, YesNoPreset] = {
    # Any instruction-following causal LM, zero-shot.
    "generic": YesNoPreset(
        template=(
            "Query: {query}\nDocument: {document}\nIs the document relevant to the query? Answer yes or no.\nAnswer:"
        ),
        true_token=" yes",
        false_token=" no",
        add_bos=True,
        models="any causal LM (zero-shot)",
    ),
    # Qwen/Qwen3-Reranker-{0.6B,4B,8B} model card: system prompt, <Instruct>/<Query>/<Document>, empty think block.
    "qwen3-reranker": YesNoPreset(
        template=(
            f"<|im_start|>system\n{_QWEN3_SYSTEM}<|im_end|>\n<|im_start|>user\n"
            "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
            "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
        ),
        true_token="yes",
        false_token="no",
        instruction="Given a web search query, retrieve relevant passages that answer the query",
        models="Qwen/Qwen3-Reranker-0.6B, -4B, -8B",
    ),
    # BAAI/bge-reranker-v2-gemma (FlagEmbedding FlagLLMReranker): <bos>A: q\nB: p\n<prompt>, score = logit("Yes").
    "bge-reranker-v2-gemma": YesNoPreset(
        template="A: {query}\nB: {document}\n{instruction}",
        true_token="Yes",
        false_token=None,
        instruction=_BGE_PROMPT,
        add_bos=True,
        models="BAAI/bge-reranker-v2-gemma",
    ),
    # mixedbread-ai/mxbai-rerank-{base,large}-v2 (mxbai-rerank package): Qwen2 chat, answer "1"/"0".
    "mxbai-rerank-v2": YesNoPreset(
        template=(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nquery: {query}\ndocument: {document}\n"
            f"{_MXBAI_TASK}<|im_end|>\n<|im_start|>assistant\n"
        ),
        true_token="1",
        false_token="0",
        models="mixedbread-ai/mxbai-rerank-base-v2, mixedbread-ai/mxbai-rerank-large-v2",
    ),
}
