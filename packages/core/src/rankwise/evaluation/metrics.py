"""Retrieval metrics, computed by ``ir-measures`` (pytrec_eval underneath), never by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rankwise._optional import require

# Names as ir-measures spells them: nDCG@10 (graded), reciprocal rank cut at 10 (MRR@10),
# average precision, recall at 100, precision at 10.
MEASURES: tuple[str, ...] = ("nDCG@10", "RR@10", "AP", "R@100", "P@10")

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def run_from_rankings(rankings: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Turn ranked doc-id lists into a run whose scores fall strictly with rank.

    trec_eval orders equal scores by doc id, not by the ranker's order; scores
    derived from ranks keep exactly the order the ranker produced.

    >>> run_from_rankings({"q": ["b", "a"]})
    {'q': {'b': 2.0, 'a': 1.0}}
    """
    return {qid: {doc: float(len(ids) - i) for i, doc in enumerate(ids)} for qid, ids in rankings.items()}


def compute_metrics(qrels: Qrels, run: Run, measures: Sequence[str] = MEASURES) -> dict[str, float]:
    """Mean of each measure over every judged query in ``qrels``.

    A judged query with nothing retrieved counts as 0 (trec_eval's ``-c``), made
    explicit here so the mean never depends on which ir-measures provider runs.

    >>> compute_metrics({"q1": {"d1": 1}, "q2": {"d9": 1}}, {"q1": {"d1": 2.0, "d2": 1.0}}, ["RR@10"])
    {'RR@10': 0.5}
    """
    ir_measures = require("ir_measures", extra="eval", purpose="computing retrieval metrics")
    parsed = {name: ir_measures.parse_measure(name) for name in measures}
    if not qrels:
        raise ValueError("no judged queries: qrels is empty")
    totals = dict.fromkeys(measures, 0.0)
    qrels_dict = {q: dict(docs) for q, docs in qrels.items()}
    run_dict = {q: dict(docs) for q, docs in run.items() if q in qrels and docs}
    names_of: dict[str, list[str]] = {}  # "nDCG(judged_only=False)@10" and "nDCG@10" are one measure
    for name, measure in parsed.items():
        names_of.setdefault(str(measure), []).append(name)
    unique = {str(m): m for m in parsed.values()}
    for metric in ir_measures.iter_calc(list(unique.values()), qrels_dict, run_dict):
        for name in names_of[str(metric.measure)]:
            totals[name] += float(metric.value)
    return {name: total / len(qrels) for name, total in totals.items()}
