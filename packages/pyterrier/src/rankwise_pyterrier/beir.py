"""A BEIR dataset as PyTerrier frames, with the first stage `rankwise eval` uses, for ``pt.Experiment``.

`topics`, `qrels` and `first_stage` translate rankwise's BEIR reader and BM25 candidates
(`rankwise.evaluation`) into PyTerrier's data model, so that PyTerrier's own evaluation can be run
on exactly the candidates `rankwise eval` reranks::

    data = load_beir("../shared/datasets/scifact")
    pt.Experiment([first_stage(data), first_stage(data) >> RankwiseReranker("embedded")],
                  topics(data), qrels(data), eval_metrics=["nDCG@10", "RR@10", "AP"])

Needs ``rankwise[eval]`` (bm25s, ir-measures).

>>> from rankwise.evaluation.beir import BeirDataset, Document
>>> data = BeirDataset("toy", "test", {"d1": Document("d1", "", "cats purr"), "d2": Document("d2", "", "dogs")},
...                    {"q1": "cats"}, {"q1": {"d1": 1, "d2": 0}})
>>> first_stage(data).transform(topics(data))[["qid", "docno", "rank"]].values.tolist()
[['q1', 'd1', 0]]
>>> qrels(data).values.tolist()
[['q1', 'd1', 1], ['q1', 'd2', 0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import pyterrier as pt

from rankwise.evaluation.beir import BeirDataset
from rankwise.evaluation.run import candidates as rankwise_candidates


def topics(data: BeirDataset) -> pd.DataFrame:
    """The judged queries as a PyTerrier topics frame (``qid``, ``query``), in the dataset's order."""
    return pd.DataFrame({"qid": list(data.queries), "query": list(data.queries.values())})


def qrels(data: BeirDataset) -> pd.DataFrame:
    """The judgements as a PyTerrier qrels frame (``qid``, ``docno``, ``label``), grade 0 included."""
    rows = [(qid, docno, int(grade)) for qid, docs in data.qrels.items() for docno, grade in docs.items()]
    return pd.DataFrame(rows, columns=["qid", "docno", "label"])


def candidates_frame(data: BeirDataset, hits: Mapping[str, Sequence[tuple[str, float]]]) -> pd.DataFrame:
    """``{qid: [(doc_id, score), ...]}`` (best first) as a result frame with ``text`` (title + text)."""
    rows = [
        (qid, data.queries[qid], doc_id, data.corpus[doc_id].content, float(score), rank)
        for qid, ranked in hits.items()
        for rank, (doc_id, score) in enumerate(ranked, start=pt.model.FIRST_RANK)
    ]
    return pd.DataFrame(rows, columns=["qid", "query", "docno", "text", "score", "rank"])


def first_stage(
    data: BeirDataset, *, depth: int = 100, hits: Mapping[str, Sequence[tuple[str, float]]] | None = None
) -> pt.Transformer:
    """A transformer yielding `rankwise eval`'s first stage for each query it is given.

    Without ``hits``, the BM25 candidates of `rankwise.evaluation.run.candidates` (the top ``depth``
    per query, the query's own id dropped where the dataset says so); ``score`` is the BM25 score.
    """
    found = rankwise_candidates(data, depth=depth) if hits is None else hits
    frame = candidates_frame(data, found)
    return pt.Transformer.from_df(frame.drop(columns=["query"]))
