"""rankwise demo: rerank a small sample corpus for a few queries with the embedded default (offline).

Run it with `make demo` (or `.venv/bin/python examples/demo.py` once installed).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no weight-loading bars in the demo output

from rankwise import Reranker, lost_in_the_middle

CORPUS = Path(__file__).with_name("sample_corpus.jsonl")
QUERIES = [
    "How do vaccines protect people?",
    "why does bread rise",
    "what does a reranker do in a RAG pipeline",
    "how far is a light year",
]


def main() -> None:
    documents = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    reranker = Reranker().load()  # the embedded default: bundled all-MiniLM-L6-v2 fused with BM25
    print(f"Loaded {reranker.model!r} in {time.perf_counter() - started:.1f} s; {len(documents)} documents.\n")
    for query in QUERIES:
        started = time.perf_counter()
        results = reranker.rerank(query, documents, top_n=3)
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(f"Query: {query}   ({elapsed_ms:.0f} ms)")
        for r in results:
            print(f"  {r.rank}. [{r.document['id']:>7}] score={r.score:.3f}  {r.document['text'][:90]}")
        print()
    best = [r.document["id"] for r in reranker.rerank(QUERIES[0], documents, top_n=5)]
    print("Top 5 for the first query, reordered for an LLM prompt (lost in the middle):")
    print("  " + " -> ".join(lost_in_the_middle(best)))


if __name__ == "__main__":
    main()
