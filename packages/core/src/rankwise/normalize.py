"""Score normalisations: ``none``, ``sigmoid`` and ``minmax``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rankwise.backends.base import Normalization

NORMALIZATIONS: tuple[Normalization, ...] = ("none", "sigmoid", "minmax")


def normalize(scores: Sequence[float] | npt.NDArray[np.float64], how: Normalization) -> npt.NDArray[np.float64]:
    """Normalise raw scores. ``minmax`` maps to [0, 1]; equal scores all become 1.0.

    >>> normalize([0.0, 2.0, 4.0], "minmax").tolist()
    [0.0, 0.5, 1.0]
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
        if values.size == 0:
            return values.copy()
        low, high = float(values.min()), float(values.max())
        if high - low <= 0.0:
            return np.ones_like(values)
        return (values - low) / (high - low)
    raise ValueError(f"unknown normalisation {how!r}; expected one of {list(NORMALIZATIONS)}")
