"""Reorderers: place ranked items where a language model reads them best."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from rankwise.validation import optional_positive_int

T = TypeVar("T")


def lost_in_the_middle(
    items: Sequence[T],
    *,
    top_n: int | None = None,
    word_count_threshold: int | None = None,
    word_count: Callable[[T], int] | None = None,
) -> list[T]:
    """Put the best items at both edges of the context and the weakest in the middle.

    ``items`` are ranked best-first. Item 1 goes first, item 2 last, item 3 second,
    item 4 second to last, and so on (Liu et al., 2023, "Lost in the Middle"). This
    is Haystack's order; for an even count LangChain's ``LongContextReorder`` and
    LlamaIndex's ``LongContextReorder`` put the *best* item last instead, because
    they reverse the list before alternating. We keep the best item first: many
    prompts read top to bottom and a truncating LLM context keeps the beginning.

    ``top_n`` keeps only the best ``top_n`` items before reordering;
    ``word_count_threshold`` keeps items best-first while their total word count
    stays within the budget (the item that crosses it is included, as Haystack does).
    ``word_count`` says how to count an item's words (default: whitespace words of
    ``str(item)``).

    >>> lost_in_the_middle([1, 2, 3, 4, 5, 6, 7, 8, 9])
    [1, 3, 5, 7, 9, 8, 6, 4, 2]
    >>> lost_in_the_middle(list(range(1, 11)))
    [1, 3, 5, 7, 9, 10, 8, 6, 4, 2]
    """
    top_n = optional_positive_int("top_n", top_n)
    word_count_threshold = optional_positive_int("word_count_threshold", word_count_threshold)
    selected = list(items[:top_n] if top_n is not None else items)
    if word_count_threshold is not None:
        count = word_count or (lambda item: len(str(item).split()))
        kept: list[T] = []
        total = 0
        for item in selected:
            kept.append(item)
            total += count(item)
            if total >= word_count_threshold:
                break
        selected = kept
    front = selected[0::2]
    back = selected[1::2]
    return front + back[::-1]
