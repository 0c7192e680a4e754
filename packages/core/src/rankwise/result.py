"""The result type: the caller's document, untouched, with its score and place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from rankwise.score_kind import ScoreKind

D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class RerankResult(Generic[D]):
    """One reranked document.

    ``document`` is the caller's own object (``is``-identical, never modified);
    ``score`` is a Python float after the reranker's normalisation; ``index`` is the
    document's position in the input; ``rank`` is its 1-based position in the
    output; ``backend`` names what scored it (useful with a fallback).

    >>> r = RerankResult(document="a doc", score=0.5, index=3, rank=1, backend="lexical")
    >>> (r.document, r.rank)
    ('a doc', 1)
    """

    document: D
    score: float
    index: int
    rank: int
    backend: str
    score_kind: ScoreKind = "raw"
