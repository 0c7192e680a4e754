"""RankwiseReranker and RankwiseLostInTheMiddle in real PyTerrier pipelines (no Java, no mocks)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyterrier as pt
import pytest
from ir_measures import RR, nDCG

from rankwise import Reranker
from rankwise_pyterrier import RankwiseLostInTheMiddle, RankwiseReranker

FUSION = "0.5*lexical+0.5*first-stage"  # uses the frame's score column, so the translation of it is tested


def result_frame() -> pd.DataFrame:
    rows = [
        ("q1", "cats purr", "d1", "dogs bark at night", 9.0),
        ("q1", "cats purr", "d2", "cats purr when happy", 1.0),
        ("q1", "cats purr", "d3", "cats and dogs", 5.0),
        ("q2", "river boats", "d4", "a boat on the river", 2.0),
        ("q2", "river boats", "d5", "birds in the sky", 3.0),
        ("q2", "river boats", "d6", "the river runs to the sea", 1.0),
    ]
    return pd.DataFrame(rows, columns=["qid", "query", "docno", "text", "score"])


def test_scores_and_ranks_are_rankwise_s_per_query() -> None:
    frame = result_frame()
    before = frame.copy()
    out = RankwiseReranker(FUSION).transform(frame)
    pd.testing.assert_frame_equal(frame, before)  # the input frame is not touched
    assert list(out.columns) == ["qid", "query", "docno", "text", "score", "rank"]
    oracle = Reranker(FUSION)
    for qid, group in frame.groupby("qid", sort=False):
        expected = oracle.rerank(
            group["query"].iloc[0], group["text"].tolist(), first_stage_scores=group["score"].tolist()
        )
        got = out[out["qid"] == qid]
        assert got["docno"].tolist() == [group["docno"].iloc[r.index] for r in expected]
        assert got["score"].tolist() == [r.score for r in expected]
        assert got["rank"].tolist() == list(range(len(expected)))  # PyTerrier ranks from 0
    assert out["qid"].tolist() == ["q1"] * 3 + ["q2"] * 3
    # PyTerrier's own rank assignment from the scores agrees with the frame's rank column.
    assert pt.model.add_ranks(out.copy())["rank"].tolist() == out["rank"].tolist()


def test_the_score_column_is_the_first_stage_score() -> None:
    fused = RankwiseReranker(FUSION).transform(result_frame())
    lexical = RankwiseReranker("lexical").transform(result_frame())
    assert fused["docno"].tolist() != lexical["docno"].tolist()  # the first-stage scores changed the order
    # Without the column (or told to ignore it) the fusion has no first-stage scores: the core says what to pass.
    with pytest.raises(ValueError, match="first_stage_scores"):
        RankwiseReranker(FUSION).transform(result_frame().drop(columns=["score"]))
    with pytest.raises(ValueError, match="first_stage_scores"):
        RankwiseReranker(FUSION, use_first_stage_score=False).transform(result_frame())
    no_column = RankwiseReranker("lexical").transform(result_frame().drop(columns=["score"]))
    assert no_column["docno"].tolist() == lexical["docno"].tolist()


def test_top_n_and_threshold_cut_each_query() -> None:
    out = RankwiseReranker("lexical", top_n=1).transform(result_frame())
    assert out[["qid", "docno", "rank"]].values.tolist() == [["q1", "d2", 0], ["q2", "d4", 0]]
    kept = RankwiseReranker("lexical", score_threshold=0.01).transform(result_frame())
    assert (kept["score"] >= 0.01).all()
    assert len(kept) < len(result_frame())


def test_in_a_pipeline_and_pt_experiment() -> None:
    frame = result_frame()
    retriever = pt.Transformer.from_df(frame.drop(columns=["query"]))
    topics = frame[["qid", "query"]].drop_duplicates()
    qrels = pd.DataFrame({"qid": ["q1", "q2"], "docno": ["d2", "d6"], "label": [1, 1]})
    pipeline = retriever >> RankwiseReranker("lexical")
    table = pt.Experiment([retriever, pipeline], topics, qrels, eval_metrics=[RR @ 10, nDCG @ 10], names=["a", "b"])
    reranked = pipeline.transform(topics)
    # By hand: first stage d2 at rank 3 (q1), d6 at rank 3 (q2); reranked, where rankwise put them.
    assert table.loc[0, "RR@10"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    rr = [
        1 / (1 + reranked[(reranked.qid == q) & (reranked.docno == d)]["rank"].iloc[0]) for q, d in qrels.values[:, :2]
    ]
    assert table.loc[1, "RR@10"] == pytest.approx(sum(rr) / 2)
    assert table.loc[1, "RR@10"] > table.loc[0, "RR@10"]


def test_frames_it_cannot_read_fail_with_the_missing_column() -> None:
    with pytest.raises(pt.validate.InputValidationError, match="text"):
        RankwiseReranker("lexical").transform(result_frame().drop(columns=["text"]))
    with pytest.raises(KeyError, match="body"):
        RankwiseReranker("lexical", text_field="body").transform(result_frame())
    renamed = result_frame().rename(columns={"text": "body"})
    assert len(RankwiseReranker("lexical", text_field="body").transform(renamed)) == 6
    two_texts = result_frame()
    two_texts.loc[0, "query"] = "something else"
    with pytest.raises(ValueError, match="q1"):
        RankwiseReranker("lexical").transform(two_texts)


def test_empty_frame_and_settings() -> None:
    empty = RankwiseReranker("lexical").transform(result_frame().iloc[:0])
    assert len(empty) == 0
    assert {"score", "rank"} <= set(empty.columns)
    with pytest.raises(TypeError, match="ready Reranker"):
        RankwiseReranker(Reranker("lexical"), batch_size=4)
    with pytest.raises(ValueError, match="top_n"):
        RankwiseReranker("lexical", top_n=0)
    ready = Reranker("lexical")
    assert RankwiseReranker(ready).reranker is ready
    assert repr(RankwiseReranker("lexical")) == "RankwiseReranker('lexical')"


def test_lost_in_the_middle_orders_each_query_and_keeps_scores() -> None:
    ranked = RankwiseReranker("lexical").transform(result_frame())
    out = RankwiseLostInTheMiddle().transform(ranked)
    for qid in ("q1", "q2"):
        best_first = ranked[ranked.qid == qid]["docno"].tolist()
        got = out[out.qid == qid]
        assert got["docno"].tolist() == [best_first[0], best_first[2], best_first[1]]
        assert got["rank"].tolist() == [0, 1, 2]
    merged = out.merge(ranked, on=["qid", "docno"], suffixes=("", "_ranked"))
    assert (merged["score"] == merged["score_ranked"]).all()
    assert RankwiseLostInTheMiddle(top_n=2).transform(ranked).groupby("qid").size().tolist() == [2, 2]
    # word_count_threshold: q1's best documents have 4 and 3 words, so a threshold of 7 keeps two.
    cut = RankwiseLostInTheMiddle(word_count_threshold=7).transform(ranked[ranked.qid == "q1"])
    assert cut["docno"].tolist() == ranked[ranked.qid == "q1"]["docno"].tolist()[:2]


def test_lost_in_the_middle_by_score_when_there_is_no_rank() -> None:
    frame = pd.DataFrame({"qid": ["q"] * 4, "docno": list("abcd"), "score": [0.1, 0.9, 0.5, 0.7]})
    assert RankwiseLostInTheMiddle().transform(frame)["docno"].tolist() == ["b", "c", "a", "d"]
    with pytest.raises(ValueError, match="rank"):
        RankwiseLostInTheMiddle().transform(frame.drop(columns=["score"]))


def test_no_java_is_started() -> None:
    code = (
        "import sys, pandas as pd, pyterrier as pt\n"
        "from rankwise_pyterrier import RankwiseReranker, RankwiseLostInTheMiddle\n"
        "f = pd.DataFrame({'qid': ['1'] * 2, 'query': ['cats'] * 2, 'docno': ['a', 'b'], 'text': ['dogs', 'cats']})\n"
        "out = (RankwiseReranker('lexical') >> RankwiseLostInTheMiddle())(f)\n"
        "assert out['docno'].tolist() == ['b', 'a'], out\n"
        "assert not pt.java.started(), 'a JVM was started'\n"
        "assert 'jnius' not in sys.modules, 'the Java bridge was imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
