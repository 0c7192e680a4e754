"""Lucene's classic English stop set, shared by the evaluation's BM25 first stage and the calibration features.

Short on purpose (and used without stemming): it is what puts SciFact's BM25 nDCG@10 next to BEIR's
published 0.665 (docs/evaluation.md).

>>> "the" in STOPWORDS, "cat" in STOPWORDS
(True, False)
"""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)

#: Alphanumeric runs (underscores split words), as both users of the stop set tokenize.
TOKEN = re.compile(r"[^\W_]+")
