"""Small deterministic backends for tests of the Reranker's own logic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rankwise.backends.base import Normalization


class WordOverlapBackend:
    """Score = number of query words in the text; records every call."""

    default_normalization: Normalization = "none"

    def __init__(self, name: str = "overlap") -> None:
        self.name = name
        self.calls: list[list[str]] = []

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        words = set(query.lower().split())
        return [float(sum(w in words for w in t.lower().split())) for t in texts]

    @property
    def scored_texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


class ConstantBackend:
    """Returns the same value for every text (NaN to test validation)."""

    default_normalization: Normalization = "none"

    def __init__(self, value: float, name: str = "constant") -> None:
        self.value, self.name = value, name

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [self.value] * len(texts)


class ShortBackend:
    """Returns one score too few: a broken backend."""

    name = "short"
    default_normalization: Normalization = "none"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [1.0] * (len(texts) - 1)


class AsyncOverlapBackend(WordOverlapBackend):
    """The overlap backend with a native ``ascore`` that records concurrency."""

    def __init__(self, name: str = "async-overlap", max_batch_size: int | None = None) -> None:
        super().__init__(name)
        self.max_batch_size = max_batch_size
        self.in_flight = 0
        self.max_in_flight = 0

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return self.score(query, texts)
