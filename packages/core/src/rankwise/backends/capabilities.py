"""What a backend can do beyond `Backend.score`, declared as small Protocols that mypy checks.

The engine asks ``isinstance(backend, Capability)`` instead of reading attributes with
``getattr``; a backend opts in by having the member. Each Protocol is one capability:

- `AsyncScoring` — ``async def ascore(query, texts)``: native async (network backends);
  otherwise the engine runs ``score`` in a worker thread.
- `PairScoring` — ``score_pairs(pairs)``: (query, text) pairs of different queries scored in one
  length-bucketed batch (cross-encoders); what `rankwise serve`'s dynamic batching packs
  concurrent requests through.
- `Warmable` — ``warm(texts)``: pre-compute what does not depend on the query (embeddings).
- `LengthLimited` — ``max_length``: the model reads at most this many tokens, so the engine
  cuts texts before they reach the tokenizer.
- `TokenCutting` — ``cut_to_tokens(text)``: the text cut to what the model reads, by the
  model's own tokenizer (preferred over cutting by words when present).
- `BatchCapped` — ``max_batch_size``: at most this many texts per ``score`` call.
- `SetDependent` — ``set_dependent``: scores depend on the whole candidate set (BM25 over the
  candidates, listwise, DuoT5): one call with every text, no per-text cache.
- `RankOnly` — ``ranks_only``: scores carry an order only (n − position).
- `DeclaresScoreKind` — ``score_kind``: what the raw scores are (`rankwise.score_kind`).
- `Closable` — ``close()``: release connections or model memory.
- `Reporting` — ``score_with_report``: a per-call report (listwise windows, DuoT5 pairs), returned.
- `NeedsFirstPass` — DuoT5: the engine runs its first pass (batched, cached) and hands the scores over.

>>> class Tiny:
...     name = "tiny"; default_normalization = "none"; max_length = 8
...     def score(self, query, texts): return [0.0 for _ in texts]
>>> isinstance(Tiny(), LengthLimited), isinstance(Tiny(), AsyncScoring)
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rankwise.backends.base import Backend
from rankwise.score_kind import ScoreKind


@runtime_checkable
class AsyncScoring(Protocol):
    async def ascore(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


@runtime_checkable
class PairScoring(Protocol):
    """``score_pairs(pairs) -> scores``: one score per ``(query, text)`` pair, in order; queries may differ.

    Each pair's score is what ``score(query, [text])`` gives it (up to float rounding of different batch
    shapes), so pairs of many calls can share forward passes.
    """

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> Sequence[float]: ...


@runtime_checkable
class Warmable(Protocol):
    def warm(self, texts: Sequence[str]) -> None: ...


@runtime_checkable
class LengthLimited(Protocol):
    max_length: int | None


@runtime_checkable
class TokenCutting(Protocol):
    def cut_to_tokens(self, text: str) -> str: ...


@runtime_checkable
class BatchCapped(Protocol):
    max_batch_size: int | None


@runtime_checkable
class SetDependent(Protocol):
    set_dependent: bool


@runtime_checkable
class RankOnly(Protocol):
    ranks_only: bool


@runtime_checkable
class DeclaresScoreKind(Protocol):
    score_kind: ScoreKind


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None: ...


@runtime_checkable
class Reporting(Protocol):
    """``score_with_report(query, texts) -> (scores, report)``: what one call did, returned, never stored on the backend."""

    def score_with_report(self, query: str, texts: Sequence[str]) -> tuple[Sequence[float], object]: ...


@runtime_checkable
class AsyncReporting(Protocol):
    """Async `Reporting`: ``ascore_with_report(query, texts) -> (scores, report)``."""

    async def ascore_with_report(self, query: str, texts: Sequence[str]) -> tuple[Sequence[float], object]: ...


@runtime_checkable
class NeedsFirstPass(Protocol):
    """Reorders a first pass's top-k (DuoT5): the engine runs ``first_pass`` itself — batched and cached like
    any backend — and hands its scores to ``rank_after_first_pass`` (``None`` when ``first_pass`` is ``None``:
    the input order is the first pass)."""

    first_pass: Backend | None

    def rank_after_first_pass(
        self, query: str, texts: Sequence[str], first_pass_scores: Sequence[float] | None
    ) -> tuple[Sequence[float], object]: ...
