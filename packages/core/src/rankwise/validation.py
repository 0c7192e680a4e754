"""Argument checks shared by every public entry point: one wording for each kind of mistake.

numpy numbers count as numbers (``numpy.int64(2)`` is a valid ``top_n``); ``bool`` never does,
although Python treats ``True`` as ``1``.

>>> positive_int("top_n", 3), optional_positive_int("top_n", None), optional_number("score_threshold", 0.5)
(3, None, 0.5)
"""

from __future__ import annotations

import math
import numbers


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` if it is a positive integer (numpy integers included), else a ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def optional_positive_int(name: str, value: object) -> int | None:
    """`positive_int`, or ``None`` for ``None``."""
    if value is None:
        return None
    try:
        return positive_int(name, value)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}") from None


def optional_number(name: str, value: object) -> float | None:
    """``value`` as a ``float`` if it is a real number that is not NaN (numpy numbers included), or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ValueError(f"{name} must be a number or None, got {value!r}")
    return float(value)


def one_of(name: str, value: object, allowed: tuple[object, ...]) -> None:
    """A ``ValueError`` listing ``allowed`` unless ``value`` is one of them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
