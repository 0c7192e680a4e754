"""Cross-check `rankwise eval` against PyTerrier's own evaluation (``pt.Experiment``), on the same candidates.

Both sides rerank the same BM25 candidates (`rankwise.evaluation.run.candidates`, depth 100) with the
same `Reranker`; `rankwise eval` computes its metrics with ir-measures over rank-derived scores,
``pt.Experiment`` over the frame that `RankwiseReranker` returns. nDCG@10, RR@10 and AP must agree to 1e-6.

    .venv/bin/python benchmarks/pyterrier_crosscheck.py ../shared/datasets/scifact \
        --embedding-cache-dir /tmp/rankwise-embeddings --json benchmarks/results/quality/scifact-pyterrier.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pyterrier as pt
from ir_measures import AP, RR, nDCG

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.speed.cpu_class import cpu_line
from rankwise import Reranker
from rankwise.evaluation.beir import BeirDataset, load_beir
from rankwise.evaluation.run import candidates, evaluate
from rankwise_pyterrier import RankwiseReranker
from rankwise_pyterrier.beir import first_stage, qrels, topics

MEASURES = ("nDCG@10", "RR@10", "AP")
TOLERANCE = 1e-6


def crosscheck(data: BeirDataset, reranker: Reranker, *, depth: int = 100) -> dict[str, Any]:
    """Both evaluations of the first stage and of the reranked run, and their largest difference."""
    report = evaluate(data, model=reranker, depth=depth)
    hits = candidates(data, depth=depth)
    bm25 = first_stage(data, hits=hits)
    table = pt.Experiment(
        [bm25, bm25 >> RankwiseReranker(reranker)],
        topics(data),
        qrels(data),
        eval_metrics=[nDCG @ 10, RR @ 10, AP],
        names=["bm25", "reranked"],
    )
    pyterrier = {row["name"]: {m: float(row[m]) for m in MEASURES} for _, row in table.iterrows()}
    rankwise = {
        "bm25": {m: report.first_stage[m] for m in MEASURES},
        "reranked": {m: report.reranked[m] for m in MEASURES},
    }
    diff = {run: {m: abs(pyterrier[run][m] - rankwise[run][m]) for m in MEASURES} for run in rankwise}
    return {
        "dataset": data.name,
        "split": data.split,
        "queries": len(data.queries),
        "depth": depth,
        "model": reranker.model,
        "rankwise_eval": rankwise,
        "pt_experiment": pyterrier,
        "abs_difference": diff,
        "max_abs_difference": max(d for per in diff.values() for d in per.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--embedding-cache-dir", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    options = {"bi-encoder": {"embedding_cache_dir": args.embedding_cache_dir}} if args.embedding_cache_dir else {}
    reranker = Reranker(args.model, backend_options=options)
    data = load_beir(args.dataset, max_queries=args.max_queries)
    start = time.perf_counter()
    result = crosscheck(data, reranker, depth=args.depth)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["cpu"] = cpu_line()
    result["command"] = " ".join(["benchmarks/pyterrier_crosscheck.py", *sys.argv[1:]])
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0 if result["max_abs_difference"] <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
