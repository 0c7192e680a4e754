"""One call's arguments, checked before anything is scored: the query, the texts, the cuts, first-stage scores.

>>> call = prepare_call("cats", ["a cat", {"text": "a dog"}], top_n=1, score_threshold=None,
...                     first_stage_scores=[1.0, 2.0], uses_first_stage=False)
>>> call.texts, call.top_n, call.first_stage is None
(['a cat', 'a dog'], 1, True)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise.documents import TextGetter, check_encodable, document_texts
from rankwise.validation import optional_number, optional_positive_int

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Call:
    """A checked call: ``first_stage`` is ``None`` unless given *and* used by the spec."""

    query: str
    texts: list[str]
    top_n: int | None
    score_threshold: float | None
    first_stage: Scores | None


def prepare_call(
    query: object,
    documents: Sequence[Any],
    *,
    top_n: object,
    score_threshold: object,
    first_stage_scores: Sequence[float] | None,
    uses_first_stage: bool,
    text_field: str = "text",
    text_getter: TextGetter | None = None,
) -> Call:
    """Check every argument of one call; a clear ``TypeError``/``ValueError`` naming the first problem.

    First-stage scores are checked only when the spec uses them: a spec that never reads them does
    not fail on a NaN it would ignore.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("query is empty: pass the user's question or search text")
    check_encodable(query, "the query")
    n = optional_positive_int("top_n", top_n)
    threshold = optional_number("score_threshold", score_threshold)
    texts = document_texts(documents, text_field=text_field, text_getter=text_getter)
    first_stage = _first_stage(first_stage_scores, len(texts)) if uses_first_stage else None
    return Call(query, texts, n, threshold, first_stage)


CUTS = ("top_n", "score_threshold", "first_stage_scores")


def cut_arguments(cuts: Mapping[str, Any]) -> dict[str, Any]:
    """``top_n``, ``score_threshold`` and ``first_stage_scores`` (``None`` when absent); others are an error.

    >>> cut_arguments({"top_n": 3})
    {'top_n': 3, 'score_threshold': None, 'first_stage_scores': None}
    """
    unknown = sorted(set(cuts) - set(CUTS))
    if unknown:
        raise TypeError(f"unexpected keyword arguments {unknown}: rerank takes {', '.join(CUTS)}")
    return {k: cuts.get(k) for k in CUTS}


def document_ids(documents: Sequence[Any]) -> list[str]:
    """Each document's id for traces: a mapping's ``"id"``, an object's ``id``, else its input position.

    >>> document_ids([{"id": "d7"}, "plain text"])
    ['d7', '1']
    """
    ids = []
    for position, document in enumerate(documents):
        value = document.get("id") if isinstance(document, Mapping) else getattr(document, "id", None)
        ids.append(str(value) if value is not None and not isinstance(document, str) else str(position))
    return ids


def _first_stage(scores: Sequence[float] | None, count: int) -> Scores | None:
    if scores is None:
        return None
    given = list(scores)
    for index, value in enumerate(given):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"first_stage_scores must be numbers, one per document: the value at index {index} is {value!r}"
            )
    values = np.asarray(given, dtype=np.float64)
    if values.shape != (count,):
        raise ValueError(f"first_stage_scores has {values.size} values for {count} documents; give one per document")
    if not np.all(np.isfinite(values)):
        index = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(
            f"first_stage_scores must be finite numbers (no NaN or infinity): the value at index {index} is {given[index]!r}"
        )
    return values
