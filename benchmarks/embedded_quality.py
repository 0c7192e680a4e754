"""nDCG@10 and encode time of the embedded default by bi-encoder runtime and truncation length.

``rankwise eval`` with ``Reranker("embedded", max_length=L, backend_options={"bi-encoder": {"runtime": R}})``:
BM25 top-100 of each judged query, reranked. ``--time-sample N`` also times encoding N corpus abstracts
(title + text) from scratch at each length, alternating the lengths over 3 rounds in this one process.
Tune only on train splits: the 128-vs-256 comparison is run with ``--split train``. The CPU model and flags
are recorded with every result::

    .venv/bin/python benchmarks/embedded_quality.py ../shared/datasets/scifact --split train --max-queries 300 \
        --lengths 128 256 --time-sample 100 --json benchmarks/results/quality/scifact-train-embedded-length.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.embedded_latency import load_average, versions  # noqa: E402
from benchmarks.speed.cpu_class import cpu_record  # noqa: E402


def reranker(runtime: str, length: int, cache_dir: str | None) -> Any:
    from rankwise import Reranker

    options: dict[str, Any] = {"runtime": runtime, "precision": "fp32"}
    if cache_dir:
        options["embedding_cache_dir"] = cache_dir
    return Reranker("embedded", max_length=length, backend_options={"bi-encoder": options})


def time_encoding(runtime: str, lengths: list[int], texts: list[str], rounds: int = 3) -> dict[str, Any]:
    """Seconds to encode ``texts`` from scratch at each length (a new backend each round, alternating)."""
    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend
    from rankwise.embedded import embedded_model_path

    backends = {n: BiEncoderBackend(embedded_model_path(), runtime=runtime, max_length=n) for n in lengths}
    for backend in backends.values():
        backend.embed_documents(["a warm-up text"])
    seconds: dict[int, list[float]] = {n: [] for n in lengths}
    for r in range(rounds):
        for n, backend in backends.items():
            batch = [f"{t} ({r})" for t in texts]  # never seen by this backend
            started = time.perf_counter()
            backend.embed_documents(batch)
            seconds[n].append(time.perf_counter() - started)
    return {str(n): {"median_s": statistics.median(s), "all": s} for n, s in seconds.items()}


def main() -> None:
    from rankwise.evaluation.beir import load_beir
    from rankwise.evaluation.run import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-queries", type=int)
    parser.add_argument("--runtime", default="onnx", choices=["onnx", "torch"])
    parser.add_argument("--depth", type=int, default=100, help="BM25 candidates reranked per query")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256])
    parser.add_argument("--time-sample", type=int, default=0, help="also time encoding N abstracts per length")
    parser.add_argument("--embedding-cache-dir", help="keep document embeddings here (default: a scratch dir)")
    parser.add_argument("--time-only", action="store_true", help="only the --time-sample timing, no evaluation")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the --time-sample timing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict[str, Any] = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_record(),
        "versions": versions(),
        "dataset": args.dataset.name,
        "split": args.split,
        "depth": args.depth,
        "runtime": args.runtime,
        "load_average_before": load_average(),
        "lengths": {},
    }
    data = load_beir(args.dataset, split=args.split, max_queries=args.max_queries)
    out["queries"] = len(data.queries)
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.embedding_cache_dir or scratch
        for length in [] if args.time_only else args.lengths:
            started = time.perf_counter()
            report = evaluate(data, model=reranker(args.runtime, length, cache_dir), depth=args.depth)
            out["lengths"][str(length)] = {
                "first_stage": report.first_stage,
                "reranked": report.reranked,
                "latency_ms": report.latency_ms,
                "wall_s": time.perf_counter() - started,
            }
            print(length, "nDCG@10", round(report.reranked["nDCG@10"], 4), flush=True)
    if args.time_sample:
        texts = [f"{d.title} {d.text}".strip() for d in list(data.corpus.values())[: args.time_sample]]
        out["encode_time"] = {"texts": len(texts), **time_encoding(args.runtime, args.lengths, texts, args.rounds)}
    out["load_average_after"] = load_average()
    text = json.dumps(out, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
