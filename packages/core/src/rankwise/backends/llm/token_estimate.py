"""Estimate prompt tokens: tiktoken when its encoding is available offline, else words × 1.3."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

logger = logging.getLogger("rankwise")

WORDS_FACTOR = 1.3


@functools.lru_cache(maxsize=8)
def _tiktoken_counter(model: str) -> tuple[str, Callable[[str], int]] | None:
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:  # not an OpenAI model name: the common modern encoding
            encoding = tiktoken.get_encoding("o200k_base")
    except Exception as exc:  # tiktoken fetches its BPE files on first use; offline that fails
        logger.info("tiktoken encoding unavailable (%s); estimating tokens as words x %.1f", exc, WORDS_FACTOR)
        return None
    return f"tiktoken:{encoding.name}", lambda text: len(encoding.encode(text, disallowed_special=()))


def token_counter(model: str) -> tuple[str, Callable[[str], int]]:
    """``(method, count)`` for ``model``: a tiktoken encoding if usable, else the word heuristic.

    >>> method, count = token_counter("no-such-model-offline")
    >>> count("one two three") > 0
    True
    """
    found = _tiktoken_counter(model)
    if found is not None:
        return found
    return f"words*{WORDS_FACTOR}", lambda text: round(len(text.split()) * WORDS_FACTOR)


def count_message_tokens(messages: Sequence[dict[str, str]], count: Callable[[str], int]) -> int:
    """Tokens of a chat prompt: the contents plus OpenAI's ~4 tokens of framing per message, +3 to prime the reply."""
    return sum(count(m.get("content", "")) + 4 for m in messages) + 3
