"""What kind of number a score is: every result says it, so thresholds are never applied to the wrong scale.

A backend declares the kind of its *raw* scores (`RAW_KINDS`); the normalisation the
`Reranker` applies turns that into the kind of the *final* score:

============== ============================================================ ==============
kind           meaning                                                      range
============== ============================================================ ==============
``logit``      a model's relevance logit (cross-encoders, MonoT5, yes/no)   (-inf, inf)
``probability`` the sigmoid of a logit: the model's own P(relevant), not     [0, 1]
               fitted to your data
``calibrated`` P(relevant) from a fitted calibrator (`rankwise.calibration`) [0, 1]
``similarity`` cosine similarity of embeddings (bi-encoders)                [-1, 1]
``bm25``       a BM25 score                                                  [0, inf)
``rank``       derived from a position only (DuoT5, listwise): n - position  [1, n]
``relevance``  a rerank API's relevance score, as the provider defines it   provider's
``first-stage`` the retriever's own scores, as the caller passed them       caller's
``relative``   min-max normalised over the query's candidates: only the     [0, 1] (or a
               order within one call means anything                          weighted sum)
``raw``        a custom backend that declared nothing                        unknown
============== ============================================================ ==============

>>> final_kind("logit", "sigmoid"), final_kind("similarity", "none"), final_kind("bm25", "minmax")
('probability', 'similarity', 'relative')
"""

from __future__ import annotations

from typing import Literal

ScoreKind = Literal[
    "logit", "probability", "calibrated", "similarity", "bm25", "rank", "relevance", "first-stage", "relative", "raw"
]
#: Kinds a backend may declare for its raw scores.
RAW_KINDS: tuple[ScoreKind, ...] = ("logit", "probability", "similarity", "bm25", "rank", "relevance", "raw")
SCORE_KINDS: tuple[ScoreKind, ...] = (
    "logit",
    "probability",
    "calibrated",
    "similarity",
    "bm25",
    "rank",
    "relevance",
    "first-stage",
    "relative",
    "raw",
)


def final_kind(raw: ScoreKind, normalization: str) -> ScoreKind:
    """The kind of a score after ``normalization`` (``none``, ``sigmoid``, ``minmax``, ``calibrated``)."""
    if normalization == "calibrated":
        return "calibrated"
    if normalization == "minmax":
        return "relative"
    if normalization == "sigmoid":
        return "probability" if raw in ("logit", "probability") else "relative"
    return raw
