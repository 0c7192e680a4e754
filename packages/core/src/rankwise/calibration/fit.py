"""Fitting calibrations with scikit-learn: Platt scaling, isotonic regression, logistic regression on features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import require
from rankwise.calibration.model import Output, Variant

Array = npt.NDArray[np.float64]
METHODS = ("platt", "isotonic")


def _sklearn(module: str) -> Any:
    return require(f"sklearn.{module}", extra="calibration", purpose="fitting a calibration")


def _binary(labels: Sequence[int] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    y = (np.asarray(labels) > 0).astype(np.int64)
    if y.min(initial=1) == y.max(initial=0) or y.size == 0:
        raise ValueError(
            "a calibration needs both relevant and irrelevant examples to fit; "
            "use more queries (or a split whose judged documents the candidates include)"
        )
    return y


def fit_logistic(
    matrix: Array,
    labels: Sequence[int] | npt.NDArray[Any],
    *,
    kinds: Sequence[str],
    features: Sequence[str],
    c: float = 1.0,
    sample_weight: Array | None = None,
    name: str = "",
) -> Variant:
    """Logistic regression (scikit-learn, L2, ``C=c``) of the labels on standardised feature columns.

    The standardisation is folded into the stored coefficients, so the variant reads raw features.
    With one raw-score feature this is Platt scaling.

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); v = fit_logistic(x, [0, 0, 1, 1], kinds=["logit"], features=["t0"])
    >>> v.coef[0] > 0
    True
    """
    y = _binary(labels)
    x = np.asarray(matrix, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0.0] = 1.0
    model = _sklearn("linear_model").LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=sample_weight)
    coef = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.dot(coef, mean))
    return Variant(tuple(kinds), tuple(features), tuple(float(v) for v in coef), intercept, "sigmoid", name=name)


def fit_isotonic_output(
    variant: Variant, linear: Array, labels: Sequence[int] | npt.NDArray[Any], sample_weight: Array | None = None
) -> Variant:
    """``variant`` with its sigmoid replaced by isotonic regression (scikit-learn) of the labels on its linear score."""
    y = _binary(labels)
    model = _sklearn("isotonic").IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(np.asarray(linear, dtype=np.float64), y, sample_weight=sample_weight)
    output: Output = "isotonic"
    return Variant(
        variant.kinds,
        variant.features,
        variant.coef,
        variant.intercept,
        output,
        tuple(float(v) for v in model.X_thresholds_),
        tuple(float(v) for v in model.y_thresholds_),
        name=variant.name,
    )


def fit_single(raw: Array, labels: Sequence[int] | npt.NDArray[Any], *, kind: str, method: str = "platt") -> Variant:
    """Platt scaling or isotonic regression of one raw score.

    >>> v = fit_single(np.array([-2.0, -1.0, 1.0, 2.0]), [0, 0, 1, 1], kind="logit", method="isotonic")
    >>> v.output, v.y[0], v.y[-1]
    ('isotonic', 0.0, 1.0)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    values = np.asarray(raw, dtype=np.float64)
    if method == "platt":
        return fit_logistic(values[:, None], labels, kinds=[kind], features=["t0"], c=1e4, name="platt")
    identity = Variant((kind,), ("t0",), (1.0,), 0.0, name="isotonic")
    return fit_isotonic_output(identity, values, labels)
