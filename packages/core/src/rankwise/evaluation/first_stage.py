"""The BM25 first stage of an evaluation: ranks the whole corpus for each query (``bm25s``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.evaluation.beir import Document
from rankwise.stopwords import STOPWORDS, TOKEN


def tokenize(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Lower-cased alphanumeric runs, stop words removed.

    >>> tokenize("The Cat's 2 whiskers-and_tail")
    ['cat', 's', '2', 'whiskers', 'tail']
    """
    return [t for t in TOKEN.findall(text.lower()) if t not in stopwords]


class BM25FirstStage:
    """BM25 over ``title + text`` of every document, for retrieving the candidates to rerank.

    ``k1=0.9, b=0.4`` (Anserini's defaults), Lucene's BM25 variant as implemented by ``bm25s``.

    >>> docs = {"1": Document("1", "", "cats purr"), "2": Document("2", "", "dogs bark")}
    >>> [doc_id for doc_id, _ in BM25FirstStage(docs).search("purring cats", 10)]
    ['1']
    """

    name = "bm25"

    def __init__(self, corpus: Mapping[str, Document], *, k1: float = 0.9, b: float = 0.4) -> None:
        bm25s = require("bm25s", extra="eval", purpose="the BM25 first stage of rankwise eval")
        self.k1, self.b = k1, b
        self._ids = list(corpus)
        tokens = [tokenize(doc.content) for doc in corpus.values()]
        self._index: Any = bm25s.BM25(k1=k1, b=b)
        self._index.index(tokens, show_progress=False)
        self._vocab: Mapping[str, int] = self._index.vocab_dict

    def search(self, query: str, depth: int, *, exclude: str | None = None) -> list[tuple[str, float]]:
        """The ``depth`` best ``(doc_id, score)`` pairs, best first, only documents sharing a term.

        ``exclude`` drops one document id (the query's own, as BEIR does for ArguAna).
        Ties keep corpus order.
        """
        terms = [t for t in tokenize(query) if t in self._vocab]
        if not terms or depth <= 0:
            return []
        scores = np.asarray(self._index.get_scores(terms), dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        hits: list[tuple[str, float]] = []
        for position in order:
            score = float(scores[position])
            if score <= 0.0 or len(hits) == depth:
                break
            doc_id = self._ids[int(position)]
            if doc_id != exclude:
                hits.append((doc_id, score))
        return hits

    def search_many(
        self, queries: Sequence[tuple[str, str]], depth: int, *, ignore_identical_ids: bool = False
    ) -> dict[str, list[tuple[str, float]]]:
        """`search` for each ``(query_id, text)``; ``ignore_identical_ids`` drops each query's own id."""
        return {qid: self.search(text, depth, exclude=qid if ignore_identical_ids else None) for qid, text in queries}
