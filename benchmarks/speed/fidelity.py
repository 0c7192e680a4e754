"""SciFact test candidates (BM25 top-k via bm25s) and nDCG@10, shared by the fidelity benchmarks.

``benchmarks.speed.int8_fidelity`` compares ONNX fp32 with int8 on them; ``int8_variants`` scans int8 recipes.
"""

from __future__ import annotations

import json

from benchmarks.speed.data import SCIFACT, qrels, test_queries


def bm25_candidates(n_queries: int, depth: int) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    import bm25s
    import Stemmer

    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    ids = [d["_id"] for d in docs]
    texts = [(d["title"] + ". " + d["text"]).strip() for d in docs]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    queries = test_queries()[:n_queries]
    hits, _ = retriever.retrieve(
        bm25s.tokenize([q for _, q in queries], stopwords="en", stemmer=stemmer, show_progress=False),
        k=depth,
        show_progress=False,
    )
    return queries, {qid: [(ids[i], texts[i]) for i in row] for (qid, _), row in zip(queries, hits, strict=True)}


def ndcg10(run: dict[str, dict[str, float]]) -> float:
    import ir_measures
    from ir_measures import nDCG

    relevant = qrels()
    return float(ir_measures.calc_aggregate([nDCG @ 10], {q: relevant[q] for q in run}, run)[nDCG @ 10])
