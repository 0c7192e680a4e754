"""Turning each term's raw scores into one final score per document, and saying what kind it is.

- One term of weight 1: the backend's raw scores under its normalisation (the caller's
  ``normalize``, else the backend's ``default_normalization``); the kind follows
  (`rankwise.score_kind.final_kind`: a sigmoid of a logit is a ``probability``).
- Several terms: each term min-max normalised over the query's candidates, weighted and
  summed — a ``relative`` score, meaningful only within one call.
- A calibration (``Reranker(calibration=FILE)``): the terms' raw scores mapped to
  P(relevant | query, document) by a fitted `Calibrator` — a ``calibrated`` score that does
  not depend on the other candidates, so thresholds mean the same in every call.

>>> import numpy as np
>>> terms = [TermScores("a", "bm25", 1.0, np.array([0.0, 2.0]), "none"),
...          TermScores("b", "similarity", 1.0, np.array([0.5, 0.1]), "none")]
>>> fused = fuse(terms, normalization=None, label="a+b")
>>> fused.scores.tolist(), fused.kind
([1.0, 1.0], 'relative')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rankwise.backends.base import Normalization
from rankwise.normalize import normalize
from rankwise.score_kind import ScoreKind, final_kind

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TermScores:
    """One term's raw scores for one call: where they came from, what kind they are, its weight."""

    source: str
    kind: ScoreKind
    weight: float
    raw: Scores
    default_normalization: Normalization = "none"


@dataclass(frozen=True)
class Fused:
    """The final scores of one call (input order), their kind, and the label results carry as ``backend``."""

    scores: Scores
    kind: ScoreKind
    label: str


@runtime_checkable
class Calibrator(Protocol):
    """What a fitted calibration offers the engine (`rankwise.calibration.Calibration` implements it)."""

    @property
    def model(self) -> str:
        """The spec string the calibration was fitted for."""
        ...

    def check_model(self, spec: str, *, shown: str | None = None) -> None:
        """Raise ``ValueError`` when this calibration was fitted for another spec (``shown``: as the user wrote it)."""
        ...

    def apply(self, query: str, texts: Sequence[str], terms: Sequence[TermScores]) -> Scores:
        """P(relevant) of each document, independent of the other candidates."""
        ...


def fuse(
    terms: Sequence[TermScores],
    *,
    normalization: Normalization | None,
    label: str,
    calibration: Calibrator | None = None,
    query: str = "",
    texts: Sequence[str] = (),
) -> Fused:
    """Combine ``terms`` into final scores (see the module docstring for the three cases)."""
    if calibration is not None:
        probabilities = np.asarray(calibration.apply(query, texts, terms), dtype=np.float64)
        return Fused(np.clip(probabilities, 0.0, 1.0), "calibrated", label)
    if normalization == "calibrated":
        raise ValueError("normalize='calibrated' needs calibration=FILE (see `rankwise calibrate`)")
    if len(terms) == 1 and terms[0].weight == 1.0:
        term = terms[0]
        how = normalization or term.default_normalization
        return Fused(normalize(term.raw, how), final_kind(term.kind, how), term.source)
    total = np.zeros(len(terms[0].raw), dtype=np.float64)
    for term in terms:
        total += term.weight * normalize(term.raw, "minmax")
    if normalization is not None:
        total = normalize(total, normalization)
    return Fused(total, "relative", label)
