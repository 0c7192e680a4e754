"""Training examples with hard negatives: BM25's top candidates that are not judged relevant.

For each judged query, each relevant document gives one `Example`: the query, that positive and
``per_positive`` negatives. The pool of negatives is BM25's top ``depth`` for the query
(`rankwise.evaluation.BM25FirstStage`, the first stage ``rankwise eval`` reranks) without its
relevant documents; a document judged 0 stays in the pool (it is a known negative).

- Without a ``scorer``: ``per_positive`` negatives drawn at random (seeded) from that pool.
- With a ``scorer`` (the base model's ``(query, texts) -> scores``): the pool and the positive are
  scored and the highest-scored pool documents are taken, the hardest for the model, except those within
  ``margin`` of the positive's score (``score >= s_pos - margin * |s_pos|``): such a close call is as likely
  an unjudged relevant document as a negative (the relative margin of sentence-transformers'
  ``mine_hard_negatives``).

A pool too small is topped up with random corpus documents, so every example has as many columns.

>>> from rankwise.evaluation import BeirDataset, Document
>>> corpus = {i: Document(i, "", t) for i, t in [("a", "cats purr"), ("b", "cats bark"), ("c", "fish")]}
>>> data = BeirDataset("toy", "train", corpus, {"q": "cats"}, {"q": {"a": 1}})
>>> [e.negatives for e in mine_examples(data, per_positive=1).examples]
[('cats bark',)]
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rankwise.evaluation.beir import BeirDataset
from rankwise.evaluation.first_stage import BM25FirstStage
from rankwise.validation import positive_int

Scorer = Callable[[str, Sequence[str]], Sequence[float]]


@dataclass(frozen=True)
class Example:
    """One training row: a query, a relevant document's text, and the texts of its hard negatives."""

    query: str
    positive: str
    negatives: tuple[str, ...]


@dataclass(frozen=True)
class Mined:
    """The examples, and what mining did: queries used, negatives dropped as too close, pools topped up."""

    examples: list[Example]
    queries: int
    too_close: int = 0
    topped_up: int = 0
    by_model: bool = False


def labelled_queries(data: BeirDataset) -> list[str]:
    """The ids of queries with at least one relevant (grade > 0) document in the corpus, and a non-blank text."""
    return [
        qid
        for qid, text in data.queries.items()
        if text.strip() and any(g > 0 and d in data.corpus for d, g in data.qrels.get(qid, {}).items())
    ]


def mine_examples(
    data: BeirDataset,
    *,
    queries: Sequence[str] | None = None,
    per_positive: int = 1,
    depth: int = 30,
    scorer: Scorer | None = None,
    margin: float = 0.05,
    seed: int = 13,
) -> Mined:
    """`Example`s for ``queries`` (default: every `labelled_queries` of ``data``), in query order."""
    per_positive = positive_int("per_positive", per_positive)
    depth = positive_int("depth", depth)
    rng = random.Random(seed)
    qids = labelled_queries(data) if queries is None else list(queries)
    retriever = BM25FirstStage(data.corpus)
    all_ids = list(data.corpus)
    examples: list[Example] = []
    too_close = topped_up = 0
    for qid in qids:
        query, grades = data.queries[qid], data.qrels.get(qid, {})
        positives = sorted(d for d, g in grades.items() if g > 0 and d in data.corpus)
        exclude = qid if data.ignore_identical_ids else None
        pool = [d for d, _ in retriever.search(query, depth, exclude=exclude) if grades.get(d, 0) <= 0]
        scores: dict[str, float] = {}
        if scorer is not None and pool:
            texts = [data.corpus[d].content for d in [*positives, *pool]]
            scores = dict(zip([*positives, *pool], map(float, scorer(query, texts)), strict=True))
        for positive in positives:
            if scorer is None:
                chosen = rng.sample(pool, min(per_positive, len(pool)))
            else:
                ceiling = scores[positive] - margin * abs(scores[positive])
                eligible = [d for d in pool if scores[d] < ceiling]
                too_close += len(pool) - len(eligible)
                chosen = sorted(eligible, key=lambda d: -scores[d])[:per_positive]
            if len(chosen) < per_positive:
                spare = [d for d in all_ids if grades.get(d, 0) <= 0 and d != exclude and d not in chosen]
                if len(spare) < per_positive - len(chosen):
                    raise ValueError(
                        f"query {qid!r}: the corpus has too few documents not judged relevant for "
                        f"{per_positive} negatives per positive"
                    )
                extra = rng.sample(spare, per_positive - len(chosen))
                chosen += extra
                topped_up += len(extra)
            examples.append(
                Example(query, data.corpus[positive].content, tuple(data.corpus[d].content for d in chosen))
            )
    return Mined(examples, len(qids), too_close, topped_up, scorer is not None)
