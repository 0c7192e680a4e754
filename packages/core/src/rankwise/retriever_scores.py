"""The retriever's scores as first-stage scores: one rule for every adapter.

A retriever (BM25, a vector store) usually gives each document a score. Specs with a
``first-stage`` term (the ``embedded`` default among them) fuse it with the model's
score. Every adapter has the same switch, ``use_retriever_scores``, and reads one score
per document from wherever its framework keeps it (LlamaIndex ``NodeWithScore.score``,
Haystack ``Document.score``, LangChain ``Document.metadata[retriever_score_key]``). This
module decides what happens next:

- the switch unset (``None``, the default): on, unless the reranker's scores are calibrated.
  A calibration reads first-stage scores on the scale it was fitted on (the default's: BM25 as
  bm25s / Lucene compute it, k1 0.9, b 0.4, what `rankwise eval` passes), while a framework's
  retriever gives whatever its store computes: a vector store's cosine, Haystack's or
  LlamaIndex's own BM25 parameters, another reranker's probability. On the wrong scale they
  move every probability (a cosine of 0.8 reads as a near-zero BM25 score) and with it
  ``score_threshold``; without them the default scores from the query and the text alone, which
  ranks as well on the train splits it was fitted on (docs/calibration.md). Min-max fusions
  (``normalize="none"``, ``first-stage|lexical``, weighted specs) do not care about the scale:
  with them the scores are used. ``True`` uses them with a calibration too (a BM25 retriever of
  that scale);
- the switch off, or any document without a score (``None``): no first-stage scores
  (``first-stage|lexical`` then scores the candidates with BM25 instead);
- otherwise every score, as a Python float. A value that is not a number (a string, a
  bool) is a `TypeError` naming the document's index: a misread metadata key should not
  quietly become a ranking signal.

>>> retriever_scores([0.9, 0.2])
[0.9, 0.2]
>>> retriever_scores([0.9, None]) is None, retriever_scores([0.9, 0.2], use=False) is None
(True, True)
>>> retriever_scores([0.9, 0.2], calibrated=True) is None, retriever_scores([0.9, 0.2], use=True, calibrated=True)
(True, [0.9, 0.2])
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable


def retriever_scores(
    scores: Iterable[object], *, use: bool | None = None, calibrated: bool = False
) -> list[float] | None:
    """First-stage scores from one retriever score per document, or ``None`` (see the module docstring).

    ``use`` is the adapter's switch (``None``: on unless ``calibrated``, whether the reranker maps its scores
    through a calibration)."""
    if use is None:
        use = not calibrated
    if not use:
        return None
    values = list(scores)
    if not values or any(value is None for value in values):
        return None
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"the retriever score of the document at index {index} is {value!r}, not a number: "
                "fix the score (or its metadata key), or pass use_retriever_scores=False"
            )
    return [float(value) for value in values]  # type: ignore[arg-type]  # checked numbers.Real above
