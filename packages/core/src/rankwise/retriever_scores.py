"""The retriever's scores as first-stage scores: one rule for every adapter.

A retriever (BM25, a vector store) usually gives each document a score. Specs with a
``first-stage`` term (the ``embedded`` default among them) fuse it with the model's
score. Every adapter has the same switch, ``use_retriever_scores`` (default ``True``),
and reads one score per document from wherever its framework keeps it (LlamaIndex
``NodeWithScore.score``, Haystack ``Document.score``, LangChain
``Document.metadata[retriever_score_key]``). This module decides what happens next:

- the switch off, or any document without a score (``None``): no first-stage scores
  (``first-stage|lexical`` then scores the candidates with BM25 instead);
- otherwise every score, as a Python float. A value that is not a number (a string, a
  bool) is a `TypeError` naming the document's index: a misread metadata key should not
  quietly become a ranking signal.

>>> retriever_scores([0.9, 0.2])
[0.9, 0.2]
>>> retriever_scores([0.9, None]) is None, retriever_scores([0.9, 0.2], use=False) is None
(True, True)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable


def retriever_scores(scores: Iterable[object], *, use: bool = True) -> list[float] | None:
    """First-stage scores from one retriever score per document, or ``None`` (see the module docstring)."""
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
