"""Latency statistics of per-query reranking times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, 95th percentile and mean of per-query times, in milliseconds.

    >>> latency_summary([0.010, 0.020, 0.030])
    {'p50': 20.0, 'p95': 29.0, 'mean': 20.0}
    """
    if not seconds:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
        "mean": round(float(ms.mean()), 3),
    }
