"""Score normalisations: ``none``, ``sigmoid``, ``minmax`` (and ``calibrated``, see `rankwise.calibration`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rankwise.backends.base import Normalization

NORMALIZATIONS: tuple[Normalization, ...] = ("none", "sigmoid", "minmax", "calibrated")


def normalize(scores: Sequence[float] | npt.NDArray[np.float64], how: Normalization) -> npt.NDArray[np.float64]:
    """Normalise raw scores. ``minmax`` maps to [0, 1]; equal scores all become 1.0.

    Finite scores never overflow: ``[1e308, -1e308, 0]`` min-max normalises to ``[1, 0, 0.5]``.

    >>> normalize([0.0, 2.0, 4.0], "minmax").tolist()
    [0.0, 0.5, 1.0]
    >>> normalize([1e308, -1e308, 0.0], "minmax").tolist()
    [1.0, 0.0, 0.5]
    >>> round(float(normalize([0.0], "sigmoid")[0]), 3)
    0.5
    """
    values = np.asarray(scores, dtype=np.float64)
    if how == "none":
        return values.copy()
    if how == "sigmoid":
        # exp of a negated clipped value: no overflow warning for large logits
        return 1.0 / (1.0 + np.exp(-np.clip(values, -500.0, 500.0)))
    if how == "minmax":
        return _minmax(values)
    if how == "calibrated":
        raise ValueError("normalize='calibrated' needs a fitted calibration: pass calibration=FILE to the Reranker")
    raise ValueError(f"unknown normalisation {how!r}; expected one of {list(NORMALIZATIONS)}")


def _minmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if values.size == 0:
        return values.copy()
    low, high = float(values.min()), float(values.max())
    if high - low <= 0.0:
        return np.ones_like(values)
    if not np.isfinite(high - low):  # the span overflows: halve everything first (exact in binary floating point)
        halved = values / 2.0
        return np.clip((halved - low / 2.0) / (high / 2.0 - low / 2.0), 0.0, 1.0)
    return np.clip((values - low) / (high - low), 0.0, 1.0)
