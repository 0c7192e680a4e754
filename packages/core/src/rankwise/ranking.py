"""From final scores to results: best first, ties in input order, cut to ``top_n`` and the threshold.

>>> import numpy as np
>>> from rankwise.fusion import Fused
>>> [(r.index, r.rank) for r in ranked(["a", "b", "c"], Fused(np.array([0.1, 0.9, 0.1]), "probability", "m"), 2, None)]
[(1, 1), (0, 2)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from rankwise.fusion import Fused
from rankwise.result import RerankResult

D = TypeVar("D")


def ranked(
    documents: Sequence[D], fused: Fused, top_n: int | None, score_threshold: float | None
) -> list[RerankResult[D]]:
    """The caller's documents (the same objects) with their scores, best first."""
    order = np.argsort(-fused.scores, kind="stable")  # ties keep input order
    results: list[RerankResult[D]] = []
    for index in order:
        score = float(fused.scores[index])
        if score_threshold is not None and score < score_threshold:
            break
        results.append(
            RerankResult(documents[int(index)], score, int(index), len(results) + 1, fused.label, fused.kind)
        )
        if top_n is not None and len(results) == top_n:
            break
    return results
