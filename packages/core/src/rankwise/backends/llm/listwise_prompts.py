"""Chat prompts for listwise LLM reranking: RankGPT's and RankVicuna/RankZephyr's (rank_llm)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Message = dict[str, str]
PromptBuilder = Callable[[str, Sequence[str]], list[Message]]

RANKGPT_SYSTEM = (
    "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query."
)
RANKLLM_SYSTEM = (
    "You are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the query."
)


def _instruction_tail(query: str, num: int) -> str:
    return (
        f"Search Query: {query}.\nRank the {num} passages above based on their relevance to the search query. "
        "The passages should be listed in descending order using identifiers. The most relevant passages should be "
        "listed first. The output format should be [] > [], e.g., [1] > [2]. Only respond with the ranking results, "
        "do not say any word or explain."
    )


def rankgpt_messages(query: str, passages: Sequence[str]) -> list[Message]:
    """RankGPT (Sun et al., 2023): one user/assistant turn per passage, then the instruction.

    >>> msgs = rankgpt_messages("cats", ["a cat", "a dog"])
    >>> [m["role"] for m in msgs]
    ['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']
    >>> msgs[3]["content"]
    '[1] a cat'
    """
    num = len(passages)
    messages: list[Message] = [
        {"role": "system", "content": RANKGPT_SYSTEM},
        {
            "role": "user",
            "content": f"I will provide you with {num} passages, each indicated by number identifier []. \n"
            f"Rank the passages based on their relevance to query: {query}.",
        },
        {"role": "assistant", "content": "Okay, please provide the passages."},
    ]
    for i, passage in enumerate(passages, start=1):
        messages.append({"role": "user", "content": f"[{i}] {passage}"})
        messages.append({"role": "assistant", "content": f"Received passage [{i}]."})
    messages.append({"role": "user", "content": _instruction_tail(query, num)})
    return messages


def rankllm_messages(query: str, passages: Sequence[str]) -> list[Message]:
    """RankVicuna / RankZephyr (rank_llm): every passage in one user message.

    >>> msgs = rankllm_messages("cats", ["a cat", "a dog"])
    >>> [m["role"] for m in msgs], "[2] a dog" in msgs[1]["content"]
    (['system', 'user'], True)
    """
    num = len(passages)
    listed = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    content = (
        f"I will provide you with {num} passages, each indicated by a numerical identifier []. "
        f"Rank the passages based on their relevance to the search query: {query}.\n\n{listed}\n\n"
        f"Search Query: {query}.\nRank the {num} passages above based on their relevance to the search query. "
        "All the passages should be included and listed using identifiers, in descending order of relevance. "
        "The output format should be [] > [], e.g., [4] > [2]. Only respond with the ranking results, "
        "do not say any word or explain."
    )
    return [{"role": "system", "content": RANKLLM_SYSTEM}, {"role": "user", "content": content}]


PROMPTS: dict[str, PromptBuilder] = {"rankgpt": rankgpt_messages, "rankllm": rankllm_messages}
