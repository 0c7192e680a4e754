"""`rerank`: one call that builds (and keeps) a `Reranker` per model and options.

At most `MAX_KEPT` rerankers are kept, least recently used first out, so a loop over many
option sets does not keep every model it ever loaded in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypeVar

from rankwise.reranker import Reranker
from rankwise.result import RerankResult

D = TypeVar("D")
MAX_KEPT = 8

_KEPT: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], Reranker] = OrderedDict()
_LOCK = threading.Lock()


def rerank(
    query: str,
    documents: Sequence[D],
    *,
    model: str = "embedded",
    top_n: int | None = None,
    score_threshold: float | None = None,
    first_stage_scores: Sequence[float] | None = None,
    **options: Any,
) -> list[RerankResult[D]]:
    """Build a `Reranker` (kept per model and options) and rerank.

    >>> [r.index for r in rerank("cats", ["dogs", "cats purr"], model="lexical")]
    [1, 0]
    """
    key = (model, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _LOCK:
        reranker = _KEPT.get(key)
        if reranker is None:
            reranker = _KEPT[key] = Reranker(model, **options)
        _KEPT.move_to_end(key)
        while len(_KEPT) > MAX_KEPT:
            _KEPT.popitem(last=False)[1].close()
    return reranker.rerank(
        query, documents, top_n=top_n, score_threshold=score_threshold, first_stage_scores=first_stage_scores
    )


def kept() -> int:
    """How many rerankers `rerank` keeps now."""
    with _LOCK:
        return len(_KEPT)
