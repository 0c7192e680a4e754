"""Choose the embedded default's fusion weights on SciFact's TRAIN split (never on test).

The embedded spec is ``S*bi-encoder:MiniLM + L*first-stage`` with each term min-max
normalised per query; only the ratio S/L matters. This script retrieves BM25's top
``--depth`` for every train query, scores each candidate's MiniLM cosine once, and
evaluates the fusion for a grid of semantic shares ``S/(S+L)`` with ir-measures.

    .venv/bin/python benchmarks/quality/tune_embedded_weights.py ../shared/datasets/scifact \
        --embedding-cache-dir /tmp/rankwise-embeddings \
        --json benchmarks/results/quality/scifact-train-weight-grid.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from rankwise.embedded import embedded_model_path
from rankwise.evaluation import BM25FirstStage, compute_metrics, load_beir
from rankwise.evaluation.metrics import run_from_rankings
from rankwise.fusion import TermScores, fuse
from rankwise.reranker import Reranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--split", default="train")
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--max-queries", type=int, help="an evenly spaced sample of the split's queries")
    parser.add_argument("--json")
    parser.add_argument("--embedding-cache-dir", help="reuse document embeddings stored by `rankwise eval`/`warm`")
    args = parser.parse_args()

    data = load_beir(args.dataset, split=args.split, max_queries=args.max_queries)
    retriever = BM25FirstStage(data.corpus)
    options = {"embedding_cache_dir": args.embedding_cache_dir} if args.embedding_cache_dir else {}
    cosine = Reranker(f"bi-encoder:{embedded_model_path()}", backend_options=options)
    candidates: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for n, (qid, query) in enumerate(data.queries.items(), start=1):
        hits = retriever.search(query, args.depth, exclude=qid)
        ids = [d for d, _ in hits]
        sem = np.asarray(cosine.score(query, [data.corpus[d].content for d in ids]))
        candidates[qid] = (ids, np.asarray([s for _, s in hits]), sem)
        if n % 50 == 0:
            print(f"{n}/{len(data.queries)} queries scored", file=sys.stderr)

    grid = [round(x, 2) for x in np.arange(0.0, 1.0001, 0.05)]
    results = {}
    for share in grid:
        rankings = {}
        for qid, (ids, lex, sem) in candidates.items():
            terms = [
                TermScores("bi-encoder", "similarity", share, sem),
                TermScores("first-stage", "first-stage", 1 - share, lex),
            ]
            fused = fuse(terms, normalization=None, label="embedded").scores  # the core's own fusion formula
            rankings[qid] = [ids[i] for i in np.argsort(-fused, kind="stable")]
        metrics = compute_metrics(data.qrels, run_from_rankings(rankings))
        results[str(share)] = metrics
        print(f"semantic share {share:.2f}: nDCG@10 {metrics['nDCG@10']:.4f}  RR@10 {metrics['RR@10']:.4f}")
    best = max(results, key=lambda s: results[s]["nDCG@10"])
    print(f"best semantic share on {args.split}: {best} (nDCG@10 {results[best]['nDCG@10']:.4f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            payload = {"dataset": data.name, "split": args.split, "depth": args.depth, "queries": len(data.queries)}
            json.dump({**payload, "best_semantic_share": float(best), "grid": results}, handle, indent=2)


if __name__ == "__main__":
    main()
