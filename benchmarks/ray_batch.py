"""Batch reranking throughput on Ray Data: 1 and 2 actor workers vs the single-process Reranker.

``--rows`` SciFact claims, each with ``--docs`` abstracts (seeded draw, cut to ``--doc-words`` words),
reranked by the MiniLM-L6 cross-encoder of ``benchmarks/serve_load.py`` (ONNX fp32) three ways:
one process (`RerankRows` in a loop), and `rankwise.ray.rerank_dataset` with 1 and 2 workers on
``ray.init(num_cpus=2)`` (each worker one CPU, ``--threads`` ONNX threads). Every run's rows are
checked against the single-process results (same ranking, scores within 1e-5). Wall time includes
the actors' model loading, as a batch job pays it.

    .venv/bin/python benchmarks/ray_batch.py [--rows 120] [--docs 20]

Writes benchmarks/results/serve/ray_batch.json and .md (CPU model, flags, load average).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from serve_load import cross_encoder_dir, load_texts  # noqa: E402

from benchmarks.speed.cpu_class import cpu_line, cpu_record  # noqa: E402

OUT = REPO / "benchmarks" / "results" / "serve" / "ray_batch"


def rows(count: int, docs: int, doc_words: int) -> list[dict[str, Any]]:
    queries, corpus = load_texts(doc_words)
    out = []
    for k in range(count):
        rng = random.Random(k)
        out.append(
            {
                "id": k,
                "query": queries[k % len(queries)],
                "documents": [corpus[i] for i in rng.sample(range(len(corpus)), docs)],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=120)
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--doc-words", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per worker")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import ray

    from rankwise.ray import RerankRows, rerank_dataset

    model = f"cross-encoder:{cross_encoder_dir()}"
    options = {"backend_options": {"num_threads": args.threads}}
    data = rows(args.rows, args.docs, args.doc_words)
    results: list[dict[str, Any]] = []

    load_before = os.getloadavg()
    started = time.perf_counter()
    local = RerankRows(model, reranker_options=options)
    expected = {row["id"]: local.rerank_row(row["query"], row["documents"]) for row in data}
    seconds = time.perf_counter() - started
    results.append(
        {
            "engine": "single process",
            "workers": 1,
            "seconds": round(seconds, 2),
            "rows_per_s": round(args.rows / seconds, 2),
            "identical": True,
        }
    )

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        for workers in (1, 2):
            started = time.perf_counter()
            ds = rerank_dataset(
                ray.data.from_items(data), model=model, workers=workers, batch_size=8, reranker_options=options
            )
            out = ds.take_all()
            seconds = time.perf_counter() - started
            identical = len(out) == len(data) and all(
                list(r["ranking"]) == expected[r["id"]][1]
                and max(abs(a - b) for a, b in zip(r["scores"], expected[r["id"]][0], strict=True)) <= 1e-5
                for r in out
            )
            results.append(
                {
                    "engine": "ray",
                    "workers": workers,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(args.rows / seconds, 2),
                    "identical": identical,
                }
            )
            print(results[-1], flush=True)
    finally:
        ray.shutdown()
    report: dict[str, Any] = {
        "cpu": cpu_record(),
        "settings": vars(args),
        "model": "MiniLM-L6 body, untrained one-logit head (benchmarks/serve_load.py), ONNX fp32",
        "results": results,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"CPU: {cpu_line(report['cpu'])}; "
        f"{args.rows} rows × {args.docs} documents (≤{args.doc_words} words); ray.init(num_cpus=2); load average "
        f"{report['load_average_before'][0]} → {report['load_average_after'][0]}; finished {report['finished_utc']} UTC.",
        "",
        "| engine | workers | seconds (incl. model load) | rows/s | identical to single process |",
        "|---|---|---|---|---|",
        *(
            f"| {r['engine']} | {r['workers']} | {r['seconds']} | {r['rows_per_s']} | {'yes' if r['identical'] else 'NO'} |"
            for r in results
        ),
    ]
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
