"""Cross-check with a tool we did not write: ``pt.Experiment`` against `rankwise eval` on the same candidates.

Both evaluate the same reranker over the BM25 candidates `rankwise eval` retrieves; nDCG@10, RR@10 and AP
must agree to 1e-6. The full SciFact figures (300 queries) come from ``benchmarks/pyterrier_crosscheck.py``
and are in docs/pyterrier.md. The toy collection below pins down the one place the two can differ:
tied scores, which trec_eval (under ``pt.Experiment``) orders by document id, while `rankwise eval`
scores the order the reranker returned.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyterrier as pt
import pytest
from core_support import DATASETS  # packages/core/tests, on pytest's pythonpath
from ir_measures import AP, RR, nDCG

from rankwise import Reranker
from rankwise.evaluation.beir import BeirDataset, Document, load_beir
from rankwise.evaluation.run import candidates, evaluate
from rankwise_pyterrier import RankwiseReranker
from rankwise_pyterrier.beir import first_stage, qrels, topics

MEASURES = ("nDCG@10", "RR@10", "AP")


def pt_metrics(data: BeirDataset, systems: list[pt.Transformer]) -> list[dict[str, float]]:
    table = pt.Experiment(systems, topics(data), qrels(data), eval_metrics=[nDCG @ 10, RR @ 10, AP])
    return [{m: float(row[m]) for m in MEASURES} for _, row in table.iterrows()]


def assert_same(pyterrier: dict[str, float], rankwise: dict[str, float]) -> None:
    for measure in MEASURES:
        assert pyterrier[measure] == pytest.approx(rankwise[measure], abs=1e-6), measure


@pytest.mark.slow
@pytest.mark.skipif(not (DATASETS / "scifact").is_dir(), reason="../shared/datasets/scifact is not there")
def test_scifact_subset_pt_experiment_equals_rankwise_eval(tmp_path: Path) -> None:
    # 8 queries at depth 30 keep it short on a small CPU; the script runs all 300 at depth 100 (docs/pyterrier.md).
    data = load_beir(DATASETS / "scifact", max_queries=8)
    # The embedded default; the embedding cache makes the second pass (PyTerrier's) reuse the first's vectors.
    reranker = Reranker("embedded", backend_options={"bi-encoder": {"embedding_cache_dir": str(tmp_path)}})
    report = evaluate(data, model=reranker, depth=30)
    bm25 = first_stage(data, hits=candidates(data, depth=30))
    first, reranked = pt_metrics(data, [bm25, bm25 >> RankwiseReranker(reranker)])
    assert_same(first, report.first_stage)
    assert_same(reranked, report.reranked)
    assert report.reranked["nDCG@10"] != report.first_stage["nDCG@10"]  # the reranker did change the order


def toy(*, tie: bool) -> BeirDataset:
    """Judgements of grade 0, a query that is also a document (ignored as BEIR does), and optionally a tie."""
    same = "cats purr loudly"
    corpus = {
        # Not in id order: a tie keeps this order in rankwise and is put in id order by trec_eval.
        "m": Document("m", "", same if tie else "cats purr loudly at night"),
        "z": Document("z", "", same if tie else "cats purr"),
        "a": Document("a", "", same),
        "q2": Document("q2", "", "dogs bark at cats"),
        "b": Document("b", "", "dogs bark"),
        "c": Document("c", "", "dogs bark and a dog will bark at night"),
    }
    return BeirDataset(
        "toy",
        "test",
        corpus,
        {"q1": "cats purr", "q2": "dogs bark"},
        {"q1": {"z": 1, "a": 0, "m": 0}, "q2": {"q2": 1, "b": 0, "c": 2}},
        ignore_identical_ids=True,
    )


def test_grade_zero_and_self_matches_agree() -> None:
    data = toy(tie=False)
    reranker = Reranker("lexical")
    report = evaluate(data, model=reranker, depth=10)
    assert "q2" not in [doc_id for doc_id, _ in candidates(data, depth=10)["q2"]]  # its own document is dropped
    bm25 = first_stage(data, depth=10)
    first, reranked = pt_metrics(data, [bm25, bm25 >> RankwiseReranker(reranker)])
    assert_same(first, report.first_stage)
    assert_same(reranked, report.reranked)


def test_ties_are_the_one_difference_and_rank_scores_remove_it() -> None:
    data = toy(tie=True)
    reranker = Reranker("lexical")
    report = evaluate(data, model=reranker, depth=10)
    pipeline = first_stage(data, depth=10) >> RankwiseReranker(reranker)
    out = pipeline.transform(topics(data))
    q1 = out[out.qid == "q1"]
    assert q1["score"].iloc[0] == q1["score"].iloc[1] == q1["score"].iloc[2]  # m, z, a tie
    assert q1["docno"].tolist()[:3] == ["m", "z", "a"]  # rankwise keeps input order for ties
    [tied] = pt_metrics(data, [pipeline])
    # trec_eval breaks the tie by document id, so it does not score the order rankwise returned ...
    assert tied["RR@10"] != pytest.approx(report.reranked["RR@10"], abs=1e-6)
    # ... and scores that follow the frame's rank column (what rankwise eval scores) agree again.
    by_rank = pipeline >> pt.apply.doc_score(lambda row: -float(row["rank"]))
    [ranked] = pt_metrics(data, [by_rank])
    assert_same(ranked, report.reranked)
    assert isinstance(out, pd.DataFrame)
