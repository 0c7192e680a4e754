"""Metadata-field ranking: combine the previous ranking with a field such as recency or popularity.

`MetaFieldRanking` follows Haystack's ``MetaFieldRanker`` (same parameter names), declared
exactly. The documents arrive ranked best first (by a reranker); ``values`` holds each
one's field value (``None`` when it has none). With ``weight`` w in [0, 1]:

- ``"reciprocal_rank_fusion"`` (default): ``(1 - w) / (rrf_k + previous rank) + w / (rrf_k +
  field rank)``, ranks 1-based, ``rrf_k = 60`` (Cormack et al. 2009). The previous rank is
  the input position; the field rank is the position after sorting the documents that
  have a value by it (``sort_order``, stable).
- ``"linear_score"``: ``(1 - w) * previous score + w * field score``, the field score being
  the value min-max scaled over the documents that have one (1 = best in ``sort_order``;
  all equal: 1). The previous scores (``scores=``) should share that [0, 1] scale
  (calibrated probabilities do); with ``w < 1`` every document must have one.

Values may be numbers, `datetime`/`date` objects, or strings holding a number or an
ISO-8601 date (naive times read as UTC); anything else is a `TypeError` naming the index.

Missing values (the declared policy, ``missing=``): ``"bottom"`` (default) puts the
documents without a value after all others, ``"top"`` before them, ``"drop"`` removes
them; either way they keep their previous relative order, and their score is the same
formula with the field's term at 0. Ties keep input order; ``top_n`` cuts last. Each
result's score is the combination (kind ``relative``).

>>> ranking = MetaFieldRanking("year", weight=1.0)
>>> [r.document for r in ranking.rank(["old", "new", "undated"], [2001, 2024, None])]
['new', 'old', 'undated']
>>> [(r.document, round(r.score, 6)) for r in MetaFieldRanking("year", weight=0.5, ranking_mode="linear_score")
...     .rank(["a", "b"], [2001, 2024], scores=[0.9, 0.5])]
[('b', 0.75), ('a', 0.45)]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal, TypeVar

from rankwise.result import RerankResult
from rankwise.validation import one_of, optional_positive_int, positive_int

D = TypeVar("D")
RankingMode = Literal["reciprocal_rank_fusion", "linear_score"]
SortOrder = Literal["descending", "ascending"]
MissingPolicy = Literal["bottom", "top", "drop"]


class MetaFieldRanking:
    """Rank documents by a metadata field combined with their previous ranking (see the module docstring)."""

    def __init__(
        self,
        field: str,
        *,
        weight: float = 1.0,
        ranking_mode: RankingMode = "reciprocal_rank_fusion",
        sort_order: SortOrder = "descending",
        missing: MissingPolicy = "bottom",
        top_n: int | None = None,
        rrf_k: int = 60,
    ) -> None:
        if not isinstance(field, str) or not field:
            raise ValueError(f"field must be a non-empty metadata key, got {field!r}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0.0 <= float(weight) <= 1.0:
            raise ValueError(
                f"weight must be a number in [0, 1] (1: the field only, 0: the previous order), got {weight!r}"
            )
        one_of("ranking_mode", ranking_mode, ("reciprocal_rank_fusion", "linear_score"))
        one_of("sort_order", sort_order, ("descending", "ascending"))
        one_of("missing", missing, ("bottom", "top", "drop"))
        optional_positive_int("top_n", top_n)
        positive_int("rrf_k", rrf_k)
        self.field: str = field
        self.weight: float = float(weight)
        self.ranking_mode: RankingMode = ranking_mode
        self.sort_order: SortOrder = sort_order
        self.missing: MissingPolicy = missing
        self.top_n: int | None = top_n
        self.rrf_k: int = rrf_k

    def rank(
        self,
        documents: Sequence[D],
        values: Sequence[object],
        *,
        scores: Sequence[float | None] | None = None,
        top_n: int | None = None,
    ) -> list[RerankResult[D]]:
        """``documents`` re-ranked by the field ``values`` (one per document, ``None`` = missing)."""
        optional_positive_int("top_n", top_n)
        if len(values) != len(documents) or (scores is not None and len(scores) != len(documents)):
            raise ValueError(f"give one field value (and one score, if any) per document ({len(documents)})")
        numeric = [None if v is None else _as_number(v, i, self.field) for i, v in enumerate(values)]
        present = [i for i, v in enumerate(numeric) if v is not None]
        field_term = self._field_terms(present, numeric)
        previous = self._previous_terms(len(documents), present, scores)
        combined = {i: (1 - self.weight) * previous[i] + self.weight * field_term.get(i, 0.0) for i in previous}
        ranked = sorted(present, key=lambda i: -combined[i])  # stable: ties keep input order
        absent = [i for i in range(len(documents)) if numeric[i] is None]
        order = {"bottom": ranked + absent, "top": absent + ranked, "drop": ranked}[self.missing]
        limit = self.top_n if top_n is None else top_n
        return [
            RerankResult(
                documents[i], combined[i], index=i, rank=r, backend=f"meta-field:{self.field}", score_kind="relative"
            )
            for r, i in enumerate(order[:limit], start=1)
        ]

    def _field_terms(self, present: list[int], numeric: list[float | None]) -> dict[int, float]:
        sign = -1.0 if self.sort_order == "descending" else 1.0
        by_value = sorted(present, key=lambda i: sign * numeric[i])  # type: ignore[operator]  # present: not None
        if self.ranking_mode == "reciprocal_rank_fusion":
            return {i: 1.0 / (self.rrf_k + rank) for rank, i in enumerate(by_value, start=1)}
        found = [numeric[i] for i in present]
        low, high = min(found, default=0.0), max(found, default=0.0)  # type: ignore[type-var]
        span = high - low  # type: ignore[operator]
        if span == 0:
            return dict.fromkeys(present, 1.0)
        scale = {i: (numeric[i] - low) / span for i in present}  # type: ignore[operator]
        return scale if self.sort_order == "descending" else {i: 1.0 - s for i, s in scale.items()}

    def _previous_terms(
        self, count: int, present: list[int], scores: Sequence[float | None] | None
    ) -> dict[int, float]:
        if self.ranking_mode == "reciprocal_rank_fusion":
            return {i: 1.0 / (self.rrf_k + i + 1) for i in range(count)}
        if self.weight == 1.0:
            return dict.fromkeys(range(count), 0.0)
        given = list(scores) if scores is not None else [None] * count
        for i, s in enumerate(given):
            if s is None or isinstance(s, bool) or not isinstance(s, numbers.Real) or not math.isfinite(s):
                raise ValueError(
                    f"linear_score with weight < 1 needs a finite previous score for every document; "
                    f"the document at index {i} has {s!r} (rerank first, or use reciprocal_rank_fusion)"
                )
        return {i: float(s) for i, s in enumerate(given)}  # type: ignore[arg-type]  # checked above


def _as_number(value: object, index: int, field: str) -> float:
    """A field value as a float: numbers as they are, dates as POSIX seconds."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, datetime):
        number = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    elif isinstance(value, date):
        number = datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            try:
                return _as_number(datetime.fromisoformat(value), index, field)
            except ValueError:
                raise TypeError(
                    f"meta field {field!r} of the document at index {index} is {value!r}: "
                    "not a number or an ISO-8601 date"
                ) from None
    else:
        raise TypeError(
            f"meta field {field!r} of the document at index {index} is a {type(value).__name__} ({value!r}): "
            "give numbers, dates or ISO-8601 strings"
        )
    if not math.isfinite(number):
        raise ValueError(f"meta field {field!r} of the document at index {index} is {value!r}: not finite")
    return number
