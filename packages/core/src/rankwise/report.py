"""What one rerank call did: which backend answered, its score kind, cache hits, batches, backend reports.

>>> CallReport(backend="lexical", score_kind="bm25").fallback_from is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rankwise.score_kind import ScoreKind


@dataclass(frozen=True)
class CallReport:
    """Returned by `Reranker.rerank_with_report` (and its async twin) beside the results.

    ``reports`` holds backends' own per-call reports by backend name (DuoT5's first-pass order and
    pair count, listwise windows); ``fallback_from`` names the spec that failed when the fallback
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
