"""Long documents: cut to what a model reads (``truncate``) or split into windows (``chunk``)."""

from __future__ import annotations

import re
from typing import Literal

LongDocuments = Literal["truncate", "chunk"]

_WORD = re.compile(r"\S+")


def truncate_words(text: str, max_words: int) -> str:
    """Keep the first ``max_words`` whitespace-separated words (and the spacing between them).

    A subword tokenizer never yields fewer tokens than words, so cutting at
    ``max_length`` words loses nothing a model truncating at ``max_length`` tokens
    would have seen, and spares it tokenizing a 100,000-word text.

    >>> truncate_words("a  b c d", 2)
    'a  b'
    """
    end = 0
    for count, match in enumerate(_WORD.finditer(text), start=1):
        end = match.end()
        if count == max_words:
            return text[:end]
    return text


def chunk_words(text: str, size: int, overlap: int) -> list[str]:
    """Split ``text`` into windows of ``size`` words that overlap by ``overlap`` words.

    >>> chunk_words("a b c d e", 3, 1)
    ['a b c', 'c d e']
    """
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError(f"need chunk_size > 0 and 0 <= chunk_overlap < chunk_size, got {size} and {overlap}")
    words = text.split()
    if len(words) <= size:
        return [text]
    step = size - overlap
    windows = []
    for start in range(0, len(words), step):
        windows.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
    return windows
