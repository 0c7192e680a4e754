"""Batch reranking on Ray Data: ``map_batches`` with a callable class, so each worker loads the model once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.validation import positive_int

SCORES_COLUMN = "scores"
RANKING_COLUMN = "ranking"


def _text(document: Any) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, Mapping) and isinstance(document.get("text"), str):
        return str(document["text"])
    raise TypeError(f"a document must be a string or an object with a string 'text' field, got {str(document)[:80]!r}")


class RerankRows:
    """Reranks each row of a batch: ``query_column`` against the list in ``documents_column``.

    Adds ``scores`` (one per document, in input order: ``Reranker.score``) and
    ``ranking`` (document indices best first, cut to ``top_n``: the order
    ``Reranker.rerank`` returns). Used as the callable class of Ray Data's
    ``map_batches`` (the model loads once per actor), and on its own for a local run.

    >>> rows = RerankRows("lexical")
    >>> out = rows({"query": np.array(["purring cats"]), "documents": np.array([["dogs bark", "cats purr"]])})
    >>> out["ranking"][0], [round(s, 3) for s in out["scores"][0]]
    ([1, 0], [0.0, 0.365])
    """

    def __init__(
        self,
        model: str = "embedded",
        *,
        query_column: str = "query",
        documents_column: str = "documents",
        top_n: int | None = None,
        reranker_options: Mapping[str, Any] | None = None,
    ) -> None:
        from rankwise.reranker import Reranker

        self.reranker = Reranker(model, **dict(reranker_options or {})).load()
        self.query_column, self.documents_column, self.top_n = query_column, documents_column, top_n

    def rerank_row(self, query: str, documents: Sequence[Any]) -> tuple[list[float], list[int]]:
        """Scores in input order and the ranking (indices, best first) of one query's documents."""
        texts = [_text(d) for d in documents]
        results = self.reranker.rerank(str(query), texts) if texts else []
        scores = [0.0] * len(texts)
        for result in results:
            scores[result.index] = result.score
        ranking = [r.index for r in results]
        return scores, ranking[: self.top_n] if self.top_n is not None else ranking

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = [
            self.rerank_row(q, list(d))
            for q, d in zip(batch[self.query_column], batch[self.documents_column], strict=True)
        ]
        out = dict(batch)
        out[SCORES_COLUMN] = _objects([scores for scores, _ in rows])
        out[RANKING_COLUMN] = _objects([ranking for _, ranking in rows])
        return out


def _objects(values: list[list[Any]]) -> Any:
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


def rerank_dataset(
    ds: Any,
    *,
    model: str = "embedded",
    query_column: str = "query",
    documents_column: str = "documents",
    top_n: int | None = None,
    workers: int = 1,
    batch_size: int = 16,
    num_cpus: float = 1.0,
    reranker_options: Mapping[str, Any] | None = None,
) -> Any:
    """``ds`` with ``scores`` and ``ranking`` columns added, computed by ``workers`` actors (one model each).

    Each actor holds one `rankwise.Reranker` and reranks ``batch_size`` rows per call;
    the results are the single-process Reranker's, row for row. Lazy, like every Ray
    Data transformation: iterate, ``take_all()`` or write the dataset to run it.

    >>> import ray  # doctest: +SKIP
    >>> ds = ray.data.from_items([{"query": "cats", "documents": ["dogs", "cats purr"]}])  # doctest: +SKIP
    >>> rerank_dataset(ds, model="lexical").take_all()[0]["ranking"]  # doctest: +SKIP
    [1, 0]
    """
    require("ray.data", extra="ray", purpose="rankwise.ray.rerank_dataset")
    workers = positive_int("workers", workers)
    return ds.map_batches(
        RerankRows,
        fn_constructor_args=(model,),
        fn_constructor_kwargs={
            "query_column": query_column,
            "documents_column": documents_column,
            "top_n": top_n,
            "reranker_options": dict(reranker_options or {}),
        },
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=workers,
        num_cpus=num_cpus,
    )
