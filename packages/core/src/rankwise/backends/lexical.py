"""BM25 over the candidate documents (``lexical``), via ``bm25s``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankwise._optional import require
from rankwise.backends.base import BackendConfig, Normalization
from rankwise.score_kind import ScoreKind


class LexicalBackend:
    """BM25 scores of each text for the query, with statistics taken from the candidates themselves.

    Tokens are lower-cased words, English stop words (NLTK list) removed, Snowball-stemmed
    when PyStemmer is installed. ``k1`` and ``b`` default to 0.9 / 0.4 (Anserini's).

    >>> LexicalBackend().score("purring cats", ["dogs bark", "a cat purrs"])[1] > 0
    True
    """

    name = "lexical"
    set_dependent = True  # IDF and length statistics come from the candidate set
    default_normalization: Normalization = "none"
    score_kind: ScoreKind = "bm25"

    def __init__(
        self, *, k1: float = 0.9, b: float = 0.4, stopwords: str | None = "en_plus", stem: bool = True
    ) -> None:
        self._bm25s = require("bm25s", extra="lexical", purpose="the lexical backend")
        self.k1, self.b, self.stopwords = k1, b, stopwords
        self._stemmer = None
        if stem:
            try:
                import Stemmer

                self._stemmer = Stemmer.Stemmer("english")
            except ImportError:  # stemming is a nicety; BM25 works without it
                self._stemmer = None

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> LexicalBackend:
        return cls(**dict(config.options))

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """Tokens of each text, as used for scoring."""
        kwargs: dict[str, Any] = {"return_ids": False, "show_progress": False, "stemmer": self._stemmer}
        tokens: list[list[str]] = self._bm25s.tokenize(list(texts), stopwords=self.stopwords or [], **kwargs)
        return tokens

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        corpus = self.tokenize(texts)
        query_tokens = self.tokenize([query])[0]
        if not query_tokens or not any(corpus):
            return [0.0] * len(texts)
        retriever = self._bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index(corpus, show_progress=False)
        known = [t for t in query_tokens if t in retriever.vocab_dict]
        if not known:
            return [0.0] * len(texts)
        return [float(s) for s in retriever.get_scores(known)]
