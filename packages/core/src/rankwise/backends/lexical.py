"""BM25 over the candidate documents (``lexical``): ``bm25s`` tokens, scored for the query's terms only."""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

from rankwise._optional import require
from rankwise.backends.base import BackendConfig, Normalization
from rankwise.score_kind import ScoreKind

# Tokenized texts kept per backend (least recently used dropped first): a reranker sees the same candidates
# again and again (the warm path), and tokenizing 100 abstracts was most of BM25's 19 ms there.
TOKEN_CACHE_SIZE = 20_000


class LexicalBackend:
    """BM25 scores of each text for the query, with statistics taken from the candidates themselves.

    Tokens are lower-cased words, English stop words (NLTK list) removed, Snowball-stemmed
    when PyStemmer is installed (``bm25s.tokenize``). ``k1`` and ``b`` default to 0.9 / 0.4 (Anserini's).
    Scores are bm25s' Lucene variant, computed for the query's terms only (no index of every term):
    ``sum over query tokens of log(1 + (N - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * dl / avgdl))``.

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
        self._tokens: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._tokens_lock = threading.Lock()
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
        """Tokens of each text, as used for scoring (the last `TOKEN_CACHE_SIZE` texts used are remembered)."""
        with self._tokens_lock:
            known = {t: self._tokens[t] for t in texts if t in self._tokens}
            for text in known:
                self._tokens.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        kwargs: dict[str, Any] = {"return_ids": False, "show_progress": False, "stemmer": self._stemmer}
        fresh = self._bm25s.tokenize(missing, stopwords=self.stopwords or [], **kwargs) if missing else []
        tokens = known | {text: tuple(t) for text, t in zip(missing, fresh, strict=True)}
        with self._tokens_lock:
            for text in missing:
                self._tokens[text] = tokens[text]
            while len(self._tokens) > TOKEN_CACHE_SIZE:
                self._tokens.popitem(last=False)
        return [list(tokens[t]) for t in texts]

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        corpus = self.tokenize(texts)
        query_tokens = self.tokenize([query])[0]
        if not query_tokens or not any(corpus):
            return [0.0] * len(texts)
        wanted = set(query_tokens)
        counts = [Counter(t for t in doc if t in wanted) for doc in corpus]
        n_docs = len(corpus)
        average_length = sum(len(doc) for doc in corpus) / n_docs
        frequency = Counter(t for c in counts for t in c)
        norms = [self.k1 * (1 - self.b + self.b * len(doc) / average_length) for doc in corpus]
        scores = [0.0] * n_docs
        for term in query_tokens:  # a repeated query term counts once per occurrence, as in bm25s
            df = frequency[term]
            if df == 0:
                continue
            idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
            for i, c in enumerate(counts):
                tf = c.get(term, 0)
                if tf:
                    scores[i] += idf * tf / (tf + norms[i])
        return scores
