"""Per-document features a calibration maps to P(relevant): each from one document alone.

A feature never looks at the other candidates, so a document's probability does not change
when documents are added or removed. Features are named by a small grammar: a product
(``*``) of factors, each factor one of

============== ==============================================================
factor         value for one document
============== ==============================================================
``t0``, ``t1`` the raw score of term 0, 1, … (as the backend gave it)
``t0^2``       its square
``log1p(t1)``  ``log(1 + max(t, 0))`` (for BM25-like scores in [0, inf))
``qlen^-1``    1 / the query's length in words (stop words removed, at least 1)
``log(qlen)``  log of that length
``coverage``   share of the query's distinct stemmed words found in the text
``idf_coverage`` the same share, each word weighted by its IDF in a static English table
``qidf^-1``    1 / the query's IDF mass (the sum of those weights): ``t1*qidf^-1`` is a
               lexical score over what the query could match at most
``1``          one (a constant)
============== ==============================================================

The IDF table (``rankwise/calibrations/idf-en-v1.tsv.gz``, built by
``benchmarks/calibration/build_idf.py`` from SQuAD's train corpus) is fixed: a feature never takes
IDF from the candidates, which would make a document's score depend on the others.

>>> import numpy as np
>>> matrix = feature_matrix(["t0", "t0*coverage", "log(qlen)"], "sleeping cats", ["a cat sleeps", "dogs"],
...                         [np.array([0.5, 0.1])])
>>> matrix.round(3).tolist()
[[0.5, 0.5, 0.693], [0.1, 0.0, 0.693]]
"""

from __future__ import annotations

import gzip
import importlib.resources
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import require
from rankwise.stopwords import STOPWORDS, TOKEN

Array = npt.NDArray[np.float64]

_TERM = re.compile(r"^t(\d+)$")


class FeatureError(ValueError):
    """A feature name outside the grammar of `rankwise.calibration.features`."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    stemmer_module = require("Stemmer", extra="lexical", purpose="the query-term coverage feature of a calibration")
    return stemmer_module.Stemmer("english")


@lru_cache(maxsize=8192)
def stems(text: str) -> frozenset[str]:
    """The distinct stemmed words of ``text``, stop words removed.

    >>> sorted(stems("The cats are sleeping"))
    ['cat', 'sleep']
    """
    words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return frozenset(_stemmer().stemWords(words))


IDF_TABLE = "idf-en-v1.tsv.gz"


@lru_cache(maxsize=1)
def _idf_table() -> tuple[dict[str, float], float]:
    """Stem -> BM25-style IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``, and the weight of an unseen stem."""
    path = importlib.resources.files("rankwise") / "calibrations" / IDF_TABLE
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        header, count = next(handle).rstrip("\n").split("\t")
        if header != "#documents":
            raise ValueError(f"{IDF_TABLE}: not an IDF table (first line {header!r})")
        n = int(count)
        weights = {}
        for line in handle:
            stem, df = line.rstrip("\n").split("\t")
            weights[stem] = math.log(1.0 + (n - int(df) + 0.5) / (int(df) + 0.5))
    return weights, math.log(1.0 + (n + 0.5) / 0.5)


def idf(stem: str) -> float:
    """The static IDF of a stem (unseen stems get the largest weight).

    >>> idf("state") < idf("protein") < idf("chromodynam")
    True
    """
    weights, unseen = _idf_table()
    return weights.get(stem, unseen)


def query_idf_mass(query: str) -> float:
    """Sum of the static IDF of the query's distinct stems (at least 1).

    >>> query_idf_mass("protein folding") > query_idf_mass("protein")
    True
    """
    return max(1.0, sum(idf(s) for s in stems(query)))


def idf_coverage(query: str, text: str) -> float:
    """Share of the query's IDF mass that occurs in ``text`` (stemmed, stop words removed).

    >>> idf_coverage("protein folding", "How proteins fold") > idf_coverage("protein folding", "Protein")
    True
    """
    wanted = stems(query)
    if not wanted:
        return 0.0
    found = stems(text)
    return sum(idf(s) for s in wanted if s in found) / sum(idf(s) for s in wanted)


def query_length(query: str) -> int:
    """Words of the query, stop words removed (at least 1).

    >>> query_length("What is the capital of France?")
    3
    """
    return max(1, sum(1 for w in TOKEN.findall(query.lower()) if w not in STOPWORDS))


def coverage(query: str, text: str) -> float:
    """Share of the query's distinct stemmed words (stop words removed) that occur in ``text``.

    >>> coverage("sleeping cats", "A cat sleeps.")
    1.0
    >>> coverage("quantum chromodynamics", "Bananas are yellow.")
    0.0
    """
    wanted = stems(query)
    if not wanted:
        return 0.0
    return len(wanted & stems(text)) / len(wanted)


def _factor(name: str) -> Callable[[str, Sequence[str], Sequence[Array]], Array]:
    """A function of (query, texts, raw term scores) giving one factor per document."""
    base, _, power = name.partition("^")
    if name == "1":
        return lambda query, texts, raw: np.ones(len(texts))
    if name == "coverage":
        return lambda query, texts, raw: np.array([coverage(query, t) for t in texts], dtype=np.float64)
    if name == "idf_coverage":
        return lambda query, texts, raw: np.array([idf_coverage(query, t) for t in texts], dtype=np.float64)
    if name == "qidf^-1":
        return lambda query, texts, raw: np.full(len(texts), 1.0 / query_idf_mass(query))
    if name == "qlen^-1":
        return lambda query, texts, raw: np.full(len(texts), 1.0 / query_length(query))
    if name == "log(qlen)":
        return lambda query, texts, raw: np.full(len(texts), math.log(query_length(query)))
    if name.startswith("log1p(") and name.endswith(")"):
        index = _term_index(name[len("log1p(") : -1], name)
        return lambda query, texts, raw: np.log1p(np.maximum(raw[index], 0.0))
    if power in ("", "2"):
        index = _term_index(base, name)
        exponent = 2 if power == "2" else 1
        return lambda query, texts, raw: np.asarray(raw[index], dtype=np.float64) ** exponent
    raise FeatureError(f"unknown feature factor {name!r}; see rankwise.calibration.features for the grammar")


def _term_index(text: str, name: str) -> int:
    match = _TERM.match(text)
    if match is None:
        raise FeatureError(f"unknown feature factor {name!r}: terms are written t0, t1, …")
    return int(match.group(1))


def terms_used(features: Sequence[str]) -> set[int]:
    """Indices of the terms whose raw scores ``features`` read.

    >>> sorted(terms_used(["t0", "t0*log1p(t1)", "coverage"]))
    [0, 1]
    """
    return {int(m) for f in features for m in re.findall(r"t(\d+)", f)}


def check_features(features: Sequence[str]) -> None:
    """Raise `FeatureError` for a name outside the grammar."""
    for feature in features:
        for factor in feature.split("*"):
            _factor(factor.strip())


def feature_matrix(features: Sequence[str], query: str, texts: Sequence[str], raw: Sequence[Array]) -> Array:
    """One row per text, one column per feature (float64)."""
    columns = []
    for feature in features:
        column = np.ones(len(texts))
        for factor in feature.split("*"):
            column = column * _factor(factor.strip())(query, texts, raw)
        columns.append(column)
    return np.stack(columns, axis=1) if columns else np.zeros((len(texts), 0))
