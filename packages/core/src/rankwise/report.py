"""What one rerank call did: which backend answered, its score kind, cache hits, batches, backend reports.

>>> CallReport(backend="lexical", score_kind="bm25").fallback_from is None
True
>>> ApiUsage(tokens=120) + ApiUsage(tokens=30, billed_units=1)
ApiUsage(tokens=150, billed_units=1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from rankwise.score_kind import ScoreKind

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class CallReport:
    """Returned by `Reranker.rerank_with_report` (and its async twin) beside the results.

    ``reports`` holds backends' own per-call reports by backend name (DuoT5's first-pass order and
    pair count, listwise windows, a rerank API's `ApiUsage` when it reports one); ``fallback_from`` names the spec that failed when the fallback
    answered, with ``error`` its message.
    """

    backend: str
    score_kind: ScoreKind
    documents: int = 0
    cache_hits: int = 0
    batches: int = 0
    reports: Mapping[str, object] = field(default_factory=dict)
    fallback_from: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ApiUsage:
    """What a rerank API said a call cost, summed over the call's requests; ``None``: the provider did not say.

    ``tokens``: the tokens it counted (Voyage's ``total_tokens``; ``usage.total_tokens`` of Jina, Mixedbread,
    vLLM and Infinity); ``billed_units``: the units it bills (Cohere's ``meta.billed_units.search_units``,
    Pinecone's ``usage.rerank_units``). A call's span carries them as ``rankwise.tokens`` and
    ``rankwise.billed_units``; its `CallReport` under ``reports[backend name]``.
    """

    tokens: int | None = None
    billed_units: float | None = None

    @classmethod
    def of(cls, tokens: object = None, billed_units: object = None) -> ApiUsage | None:
        """The usage from a provider's raw fields (anything but a finite, non-negative number counts as not
        said: a malformed usage never fails a call whose scores are fine); ``None`` when neither is said."""
        counted = _count(tokens)
        usage = cls(int(counted) if counted is not None else None, _count(billed_units))
        return None if usage == cls() else usage

    def __add__(self, other: ApiUsage) -> ApiUsage:
        return ApiUsage(_plus(self.tokens, other.tokens), _plus(self.billed_units, other.billed_units))

    def counts(self) -> dict[str, int | float]:
        """The counts the provider gave, by span attribute name (``tokens``, ``billed_units``)."""
        return {
            name: value
            for name, value in (("tokens", self.tokens), ("billed_units", self.billed_units))
            if value is not None
        }


def total_usage(reports: Iterable[object]) -> ApiUsage | None:
    """The `ApiUsage` reports among ``reports``, added up (``None`` if there is none)."""
    total: ApiUsage | None = None
    for report in reports:
        if isinstance(report, ApiUsage):
            total = report if total is None else total + report
    return total


def _count(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return value


def _plus(a: N | None, b: N | None) -> N | None:
    return b if a is None else a if b is None else a + b
