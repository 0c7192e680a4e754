"""`DerivedCalls`: the `Reranker` calls built on ``rerank`` alone (several queries at once, scores in input order).

>>> from rankwise import Reranker
>>> rr = Reranker("lexical")
>>> rr.score("purring cats", ["dogs bark", "cats purr"])[0] < rr.score("purring cats", ["dogs bark", "cats purr"])[1]
True
>>> [len(r) for r in rr.rerank_many([("cats", ["cats", "dogs"]), ("dogs", ["dogs"])], top_n=1)]
[1, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from rankwise.result import RerankResult

D = TypeVar("D")


class _Reranks(Protocol):
    def rerank(
        self,
        query: str,
        documents: Sequence[D],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]: ...


class DerivedCalls:
    """Mixed into `Reranker`: calls that only call its ``rerank``."""

    def rerank_many(
        self: _Reranks,
        requests: Iterable[tuple[str, Sequence[D]] | tuple[str, Sequence[D], Sequence[float] | None]],
        **cuts: Any,
    ) -> list[list[RerankResult[D]]]:
        """Rerank several ``(query, documents)`` or ``(query, documents, first_stage_scores)``; one list each."""
        return [self.rerank(r[0], r[1], first_stage_scores=r[2] if len(r) > 2 else None, **cuts) for r in requests]

    def score(self: _Reranks, query: str, documents: Sequence[Any], **first_stage: Any) -> list[float]:
        """Final scores in input order, neither sorted nor cut (the fallback answers if a backend fails)."""
        scores = [0.0] * len(documents)
        for r in self.rerank(query, documents, **first_stage):
            scores[r.index] = r.score
        return scores
