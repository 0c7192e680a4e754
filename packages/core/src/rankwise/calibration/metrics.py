"""How well probabilities are calibrated: expected calibration error and the Brier score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def expected_calibration_error(
    probabilities: Sequence[float] | Array, labels: Sequence[int] | Array, bins: int = 10
) -> float:
    """ECE over ``bins`` equal-width bins of [0, 1]: the bin-size-weighted mean |mean p - share relevant|.

    >>> expected_calibration_error([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0])  # |0.9 - 0.5| / 2 + |0.1 - 0| / 2
    0.25
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = (np.asarray(labels) > 0).astype(np.float64)
    if p.size == 0:
        return 0.0
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += float(mask.sum()) / p.size * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return round(float(total), 12)


def brier_score(probabilities: Sequence[float] | Array, labels: Sequence[int] | Array) -> float:
    """Mean squared difference between each probability and its 0/1 label.

    >>> brier_score([1.0, 0.5], [1, 0])
    0.125
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = (np.asarray(labels) > 0).astype(np.float64)
    return float(np.mean((p - y) ** 2)) if p.size else 0.0


def top_k(lists: Sequence[tuple[Array, npt.NDArray[Any]]], k: int = 10) -> tuple[Array, npt.NDArray[Any]]:
    """The ``k`` highest-probability documents of each query's list, pooled: ``(probabilities, labels)``.

    Ties keep list order, as the `Reranker` does.

    >>> p, y = top_k([(np.array([0.2, 0.9, 0.5]), np.array([0, 1, 0]))], k=2)
    >>> p.tolist(), y.tolist()
    ([0.9, 0.5], [1, 0])
    """
    probabilities, labels = [], []
    for p, y in lists:
        order = np.argsort(-np.asarray(p), kind="stable")[:k]
        probabilities.append(np.asarray(p, dtype=np.float64)[order])
        labels.append(np.asarray(y)[order])
    if not probabilities:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(probabilities), np.concatenate(labels)
