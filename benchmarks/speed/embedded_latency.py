"""Latency of the embedded default (`Reranker()`: MiniLM cosine + lexical) over 100 candidates, each case in a fresh process.

- ``warm``: one process calls ``Reranker.warm(documents)`` with an on-disk embedding cache; a *new* process
  then answers queries over those documents (embeddings read from disk, never re-encoded).
- ``cold``: a fresh process answers a query over 100 documents it has never seen (encodes all 100).

Model loading and first-call imports are not timed (a warm-up call on unrelated texts precedes timing).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.speed.data import ROOT, corpus_texts, test_queries, workloads

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from rankwise import Reranker
from benchmarks.speed.data import workloads, test_queries
case, cache_dir, options = {case!r}, {cache_dir!r}, {options!r}
docs = workloads()["mixed-1x100"].documents[0]
bi = dict(options)
if cache_dir:
    bi["embedding_cache_dir"] = cache_dir
rr = Reranker(backend_options={{"bi-encoder": bi}} if bi else None).load()
if case == "warm-up-process":
    started = time.perf_counter(); rr.warm(docs); print(json.dumps({{"warm_seconds": time.perf_counter() - started}})); sys.exit()
rr.rerank("unrelated warm-up query", ["a short unrelated text", "another one"])  # imports, first forward
queries = [q for _, q in test_queries()[-6:]]
times = []
for i, q in enumerate(queries):
    batch = docs if case == "warm" else [d + " " + str(i) for d in docs]  # cold: texts never seen before
    started = time.perf_counter(); rr.rerank(q, batch, top_n=10); times.append(time.perf_counter() - started)
print(json.dumps({{"first": times[0], "median": statistics.median(times), "all": times}}))
"""


def _child(case: str, cache_dir: str | None, options: dict[str, Any]) -> dict[str, Any]:
    code = CHILD.format(root=str(ROOT), case=case, cache_dir=cache_dir, options=options)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def embedded_latency(cold_options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        results["warm_up_process"] = _child("warm-up-process", cache_dir, {})
        results["warm"] = _child("warm", cache_dir, {})
    for options in cold_options or [{}]:
        label = "cold " + (json.dumps(options) if options else "defaults")
        results[label] = _child("cold", None, options)
    return results


if __name__ == "__main__":
    _ = (corpus_texts, test_queries, workloads, statistics, time)
    print(json.dumps(embedded_latency([{}, {"precision": "bf16"}]), indent=2))
