"""rankwise.evaluation: BEIR loading, the BM25 first stage, ir-measures metrics, latency, `evaluate`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import ir_measures
import pytest
from beir_fixture import QRELS, write_beir, write_tiny_beir
from core_support import DATASETS

from rankwise.evaluation import (
    MEASURES,
    BM25FirstStage,
    Document,
    compute_metrics,
    evaluate,
    latency_summary,
    load_beir,
)
from rankwise.evaluation.beir import SELF_MATCH_DATASETS, read_qrels
from rankwise.evaluation.first_stage import tokenize
from rankwise.evaluation.metrics import run_from_rankings


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_beir(tmp_path / "tiny")


def _direct(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """ir-measures called directly, measure by measure."""
    values = ir_measures.calc_aggregate([ir_measures.parse_measure(m) for m in MEASURES], qrels, run)
    return {str(measure): float(value) for measure, value in values.items()}


# ------------------------------------------------------------------ loading
def test_qrels_crlf_and_header_are_handled(tiny: Path) -> None:
    qrels = read_qrels(tiny / "qrels" / "test.tsv")
    assert qrels == {"q1": {"d1": 2, "d3": 1}, "q2": {"d4": 1}, "q3": {"d2": 1, "d3": 1}}
    assert all("\r" not in doc for docs in qrels.values() for doc in docs)


def test_only_judged_queries_are_kept_without_metadata(tiny: Path) -> None:
    data = load_beir(tiny)
    assert list(data.queries) == ["q1", "q2", "q3"]  # q4 has no judgements
    assert data.queries["q2"] == "where fish swim"  # the text only: the leaked labels are gone
    assert data.name == "tiny"
    assert data.corpus["d3"] == Document("d3", "", "a cat and a dog share a house")
    assert data.corpus["d1"].content == "Cats cats purr and cats sleep all day"


def test_max_queries_takes_an_evenly_spaced_sample(tiny: Path) -> None:
    assert list(load_beir(tiny, max_queries=2).queries) == ["q1", "q2"]
    assert list(load_beir(tiny, max_queries=99).queries) == ["q1", "q2", "q3"]
    with pytest.raises(ValueError, match="max_queries"):
        load_beir(tiny, max_queries=0)


def test_loading_errors_name_the_problem(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"qrels file .*train\.tsv does not exist"):
        load_beir(tiny, split="train")
    with (tiny / "corpus.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"corpus\.jsonl, line 7: not valid JSON"):
        load_beir(tiny)


# ------------------------------------------------------------------ first stage
def test_tokenize_is_lowercase_alphanumeric_without_stop_words() -> None:
    assert tokenize("The CATS, and 2 dogs_x!") == ["cats", "2", "dogs", "x"]


def test_first_stage_ranks_by_bm25_and_excludes_the_query_itself(tiny: Path) -> None:
    data = load_beir(tiny)
    retriever = BM25FirstStage(data.corpus)
    with_self = [d for d, _ in retriever.search("why do cats purr", 10)]
    assert with_self[0] == "q1"  # the echo ranks first when it is not excluded
    hits = retriever.search("why do cats purr", 10, exclude="q1")
    assert [d for d, _ in hits] == ["d1"]  # only documents sharing a term; d3 says "cat", not "cats"
    assert all(score > 0 for _, score in hits)
    assert retriever.search("zebra", 10) == []
    assert len(retriever.search("river day", 1)) == 1


# ------------------------------------------------------------------ metrics
def test_metrics_equal_ir_measures_on_a_known_run() -> None:
    qrels = {"q1": {"d1": 2, "d3": 1}, "q2": {"d4": 1}}
    run = run_from_rankings({"q1": ["d3", "d2", "d1"], "q2": ["d9", "d4"]})
    metrics = compute_metrics(qrels, run)
    assert list(metrics) == list(MEASURES)
    assert metrics == pytest.approx(_direct(qrels, run))
    assert metrics["RR@10"] == pytest.approx((1 / 1 + 1 / 2) / 2)  # first relevant at rank 1, then rank 2
    assert metrics["P@10"] == pytest.approx((2 / 10 + 1 / 10) / 2)
    assert metrics["R@100"] == pytest.approx(1.0)


def test_equivalent_measure_names_each_get_their_value() -> None:
    metrics = compute_metrics({"q": {"d": 1}}, {"q": {"x": 2.0, "d": 1.0}}, ["nDCG@10", "nDCG(judged_only=False)@10"])
    assert metrics["nDCG@10"] == metrics["nDCG(judged_only=False)@10"] == pytest.approx(1 / math.log2(3))


def test_rank_derived_scores_keep_the_rankers_order_on_ties() -> None:
    # trec_eval would order equal scores by doc id ("a" before "z"); ranks keep the ranker's order.
    run = run_from_rankings({"q": ["z", "a"]})
    assert compute_metrics({"q": {"z": 1}}, run, ["RR@10"]) == {"RR@10": 1.0}


def test_a_judged_query_with_no_results_counts_as_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    metrics = compute_metrics(qrels, {"q1": {"d1": 1.0}, "q2": {}})
    assert metrics["nDCG@10"] == pytest.approx(0.5)
    assert compute_metrics(qrels, {"q1": {"d1": 1.0}})["nDCG@10"] == pytest.approx(0.5)
    assert _direct(qrels, {"q1": {"d1": 1.0}})["nDCG@10"] == pytest.approx(0.5)


def test_latency_summary_in_milliseconds() -> None:
    stats = latency_summary([0.001 * i for i in range(1, 101)])
    assert stats["p50"] == pytest.approx(50.5)
    assert stats["p95"] == pytest.approx(95.05)
    assert latency_summary([]) == {"p50": 0.0, "p95": 0.0, "mean": 0.0}


# ------------------------------------------------------------------ evaluate
def test_evaluate_reports_ir_measures_values_of_both_runs(tiny: Path) -> None:
    report = evaluate(tiny, model="lexical", depth=10, ignore_identical_ids=True)
    first, reranked = report.runs["first_stage"], report.runs["reranked"]
    assert set(first) == {"q1", "q2", "q3"}
    assert all("q1" not in docs for docs in (first["q1"], reranked["q1"]))  # self-match dropped
    assert list(first["q2"]) == ["d4"]  # fish/swim: d4; the leaked label (d5) is not a candidate
    for qid in first:  # reranking reorders the candidates, never adds or drops one
        assert set(reranked[qid]) == set(first[qid])
    qrels = {q: dict(d) for q, d in load_beir(tiny).qrels.items()}
    assert report.first_stage == pytest.approx(_direct(qrels, first))
    assert report.reranked == pytest.approx(_direct(qrels, reranked))
    assert report.first_stage["RR@10"] == pytest.approx(1.0)
    assert report.queries == 3
    assert report.latency_ms["p95"] >= report.latency_ms["p50"] > 0


def test_report_json_schema_and_table(tiny: Path) -> None:
    report = evaluate(tiny, model="lexical", depth=5, max_queries=2)
    payload = json.loads(json.dumps(report.to_json()))
    assert {"first_stage", "reranked", "latency_ms", "model", "dataset"} <= set(payload)
    assert list(payload["first_stage"]) == list(payload["reranked"]) == list(MEASURES)
    assert {"p50", "p95"} <= set(payload["latency_ms"])
    assert (payload["model"], payload["dataset"], payload["queries"], payload["depth"]) == ("lexical", "tiny", 2, 5)
    table = report.table()
    assert "nDCG@10" in table
    assert "reranked" in table
    assert "bm25" in table


def test_evaluate_rejects_bad_arguments(tiny: Path) -> None:
    with pytest.raises(ValueError, match="first_stage"):
        evaluate(tiny, model="lexical", first_stage="dense")
    with pytest.raises(ValueError, match="depth"):
        evaluate(tiny, model="lexical", depth=0)


def test_fixture_qrels_cover_the_judged_queries() -> None:
    assert {q for q, _, _ in QRELS} == {"q1", "q2", "q3"}


@pytest.mark.slow
def test_scifact_bm25_first_stage_is_in_the_published_range() -> None:
    scifact = DATASETS / "scifact"
    if not (scifact / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact not found at {scifact}")
    report = evaluate(scifact, model="lexical", max_queries=50)
    assert report.queries == 50
    assert 0.55 <= report.first_stage["nDCG@10"] <= 0.80  # all 300 queries: 0.663 (BEIR: 0.665)
    assert report.first_stage["R@100"] > 0.8


# ------------------------------------------------------------------ issue 12, items 19 and 20
def _cranfield_style(root: Path) -> Path:
    """Ids are small integers in both files: query "1" and document "1" are unrelated."""
    corpus = [
        {"_id": "1", "title": "", "text": "boundary layer transition on a flat plate"},
        {"_id": "2", "title": "", "text": "heat transfer in hypersonic flow"},
        {"_id": "3", "title": "", "text": "slender wing theory"},
    ]
    queries = [{"_id": "1", "text": "flat plate boundary layer"}, {"_id": "2", "text": "hypersonic heat transfer"}]
    return write_beir(root, corpus, queries, [("1", "1", 1), ("2", "2", 1)])


def test_item19_identical_ids_are_kept_unless_the_dataset_needs_them_dropped(tmp_path: Path) -> None:
    cran = _cranfield_style(tmp_path / "cranfield")
    assert load_beir(cran).ignore_identical_ids is False
    kept = evaluate(cran, model="lexical", depth=10)
    assert kept.first_stage["nDCG@10"] == pytest.approx(1.0)  # each query's relevant doc shares its id
    assert kept.to_json()["ignore_identical_ids"] is False
    dropped = evaluate(cran, model="lexical", depth=10, ignore_identical_ids=True)
    assert dropped.first_stage["nDCG@10"] == pytest.approx(0.0)  # what every dataset used to get
    assert "1" not in dropped.runs["first_stage"]["1"]

    # ArguAna-style: the folder's name switches the rule on; an explicit False switches it off.
    assert {"arguana", "quora"} == SELF_MATCH_DATASETS
    arguana = write_tiny_beir(tmp_path / "arguana")
    assert load_beir(arguana).ignore_identical_ids is True
    assert "q1" not in evaluate(arguana, model="lexical", depth=10).runs["first_stage"]["q1"]
    assert "q1" in evaluate(arguana, model="lexical", depth=10, ignore_identical_ids=False).runs["first_stage"]["q1"]
    assert "q1" in evaluate(write_tiny_beir(tmp_path / "tiny"), model="lexical", depth=10).runs["first_stage"]["q1"]


def test_item20_duplicate_corpus_ids_are_an_error_naming_the_id(tiny: Path) -> None:
    with (tiny / "corpus.jsonl").open("a") as handle:
        handle.write(json.dumps({"_id": "d2", "title": "", "text": "a second d2"}) + "\n")
    with pytest.raises(ValueError, match=r"line 7: duplicate document id 'd2' \(first on line 2\)"):
        load_beir(tiny)


def test_item20_a_bom_before_the_qrels_header_and_the_jsonl_is_handled(tiny: Path) -> None:
    expected = read_qrels(tiny / "qrels" / "test.tsv")
    for path in (tiny / "qrels" / "test.tsv", tiny / "corpus.jsonl", tiny / "queries.jsonl"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_qrels(tiny / "qrels" / "test.tsv") == expected  # the header is still recognised
    data = load_beir(tiny)
    assert data.qrels == expected
    assert "d1" in data.corpus  # the BOM is not part of the first id
    assert list(data.queries) == ["q1", "q2", "q3"]


def test_corpus_that_is_not_utf8_names_the_line(tiny: Path) -> None:
    with (tiny / "corpus.jsonl").open("ab") as handle:
        handle.write(b'{"_id": "d9", "text": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"corpus\.jsonl, line 7: not valid UTF-8"):
        load_beir(tiny)
