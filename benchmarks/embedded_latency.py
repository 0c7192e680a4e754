"""The embedded default's latency by bi-encoder runtime: load, a cold query, a warm query, each in fresh processes.

For each runtime (``--runtimes``, default ``onnx`` then ``torch`` fp32 then torch ``auto``, alternating over
``--rounds`` rounds so a busy machine's swings fall on all of them alike):

- ``load``: a new process imports rankwise and runs ``Reranker("embedded", backend_options=...).load()``
  (the ONNX export already cached: ``export_s`` is the one-time export, measured first in its own process);
  ``first_answer_s`` adds the first cold query, what a newcomer waits for;
- ``cold``: 100 never-seen SciFact-derived abstracts (the mixed 1x100 workload of ``benchmarks/speed``:
  abstracts cut to 20-400 words, made unique per query), after one warm-up call, median of ``--queries``;
- ``warm``: a new process whose documents were embedded by another process (``warm()`` into an
  ``embedding_cache_dir``): the first query reads the 100 vectors from sqlite, later ones from memory;
- ``profile`` (``--profile``): the warm path's parts — the query's encode (one thread and default threads for
  ONNX), the sqlite read of 100 vectors, BM25 over the candidates, the rest of the engine.

Every result records the CPU model and ISA flags, the load average and the packages' versions::

    .venv/bin/python benchmarks/embedded_latency.py --rounds 2 --json benchmarks/results/speed/embedded-latency-sapphire-rapids.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.speed.cpu_class import cpu_record  # noqa: E402

RUNTIMES: dict[str, dict[str, Any]] = {
    "onnx": {"runtime": "onnx", "precision": "fp32"},
    "torch-fp32": {"runtime": "torch", "precision": "fp32"},
    "torch-auto": {"runtime": "torch", "precision": "auto"},
}

CHILD = r"""
import json, statistics, sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r})
from rankwise import Reranker
imported = time.perf_counter()
case, options, cache_dir, queries_n, profile = {case!r}, {options!r}, {cache_dir!r}, {queries!r}, {profile!r}
bi = dict(options)
if cache_dir:
    bi["embedding_cache_dir"] = cache_dir
rr = Reranker("embedded", backend_options={{"bi-encoder": bi}})
rr.load()
loaded = time.perf_counter()
from benchmarks.speed.data import workloads, test_queries
docs = workloads()["mixed-1x100"].documents[0]
queries = [q for _, q in test_queries()[-queries_n:]]
out = {{"import_s": imported - started, "load_s": loaded - imported, "heavy_modules":
       [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]}}
if case == "export":
    print(json.dumps(out)); sys.exit()
if case == "warm-up-process":
    t = time.perf_counter(); rr.warm(docs); out["warm_seconds"] = time.perf_counter() - t
    print(json.dumps(out)); sys.exit()
if case == "first-answer":
    t = time.perf_counter(); rr.rerank(queries[0], [d + " (first)" for d in docs], top_n=10)
    out["first_query_s"] = time.perf_counter() - t; out["first_answer_s"] = time.perf_counter() - started
    print(json.dumps(out)); sys.exit()
rr.rerank("unrelated warm-up query", ["a short unrelated text", "another one"])  # first forward, lazy imports
times = []
for i, q in enumerate(queries):
    batch = docs if case == "warm" else [d + " " + str(i) for d in docs]  # cold: texts never seen before
    t = time.perf_counter(); rr.rerank(q, batch, top_n=10); times.append(time.perf_counter() - t)
out.update({{"first": times[0], "median": statistics.median(times[1:] if case == "warm" else times), "all": times}})
if profile and case == "warm":
    from rankwise.backends.lexical import LexicalBackend
    backend = rr.backends[0]
    parts = {{}}
    def best(fn, n=7):
        ts = []
        for _ in range(n):
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        return statistics.median(ts)
    qs = iter(["profile query number %d about cells and proteins" % i for i in range(1000)])
    parts["query_encode_s"] = best(lambda: backend._encode_one(next(qs)))
    onnx = getattr(backend, "_onnx", None)
    if onnx is not None:
        import onnxruntime as ort
        from rankwise.backends.encoders.onnx_bi_encoder import OnnxSentenceEncoder
        one = OnnxSentenceEncoder(backend.name.split(":", 1)[1], num_threads=1, max_length=backend.max_length)
        parts["query_encode_1_thread_s"] = best(lambda: one.encode([next(qs)]))
    if backend._store is not None:
        parts["sqlite_read_100_s"] = best(lambda: backend._store.get_many(docs))
    lexical = LexicalBackend()
    parts["bm25_over_candidates_s"] = best(lambda: lexical.score("a query about cells", docs))
    parts["cosine_from_memory_s"] = best(lambda: backend.embed_documents(docs))
    parts["whole_rerank_s"] = best(lambda: rr.rerank(next(qs), docs, top_n=10))
    out["profile"] = parts
print(json.dumps(out))
"""


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("onnxruntime", "torch", "sentence-transformers", "tokenizers", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def child(
    case: str,
    options: dict[str, Any],
    cache_dir: str | None,
    queries: int,
    profile: bool = False,
    *,
    onnx_cache: str | None = None,
) -> Any:
    """Run one case in a new process; ``onnx_cache`` is its ``RANKWISE_CACHE_DIR`` (else the caller's)."""
    code = CHILD.format(
        root=str(ROOT), case=case, options=options, cache_dir=cache_dir, queries=queries, profile=profile
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if onnx_cache is not None:
        env["RANKWISE_CACHE_DIR"] = onnx_cache
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{case} {options} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def summarise(rows: dict[str, Any]) -> dict[str, float]:
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    return {
        "load_s_median": median(rows["load"]),
        "first_answer_s_median": median(rows["first_answer"]),
        "cold_query_s_median": median([r["median"] for r in rows["cold"]]),
        "warm_query_s_median": median([r["median"] for r in rows["warm"]]),
        "warm_first_query_s_median": median([r["first"] for r in rows["warm"]]),
    }


def run(
    runtimes: list[str], rounds: int, queries: int, profile: bool, checkpoint: Path | None = None
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_record(),
        "versions": versions(),
        "workload": "embedded default, 1 query x 100 SciFact abstracts cut to 20-400 words (mixed-1x100)",
        "load_average_before": load_average(),
        "runtimes": {},
    }
    with tempfile.TemporaryDirectory() as onnx_dir:  # the children's fresh ONNX cache: the export is measured once
        for name in runtimes:
            rows: dict[str, Any] = {"options": RUNTIMES[name], "load": [], "first_answer": [], "cold": [], "warm": []}
            if RUNTIMES[name]["runtime"] == "onnx":
                rows["export"] = child("export", RUNTIMES[name], None, 1, onnx_cache=onnx_dir)
            results["runtimes"][name] = rows
        for _ in range(rounds):
            for name in runtimes:
                rows, options = results["runtimes"][name], RUNTIMES[name]
                first = child("first-answer", options, None, 1, onnx_cache=onnx_dir)
                rows["load"].append(first["load_s"] + first["import_s"])
                rows["first_answer"].append(first["first_answer_s"])
                rows["heavy_modules_after_load"] = first["heavy_modules"]
                rows["cold"].append(child("cold", options, None, queries, onnx_cache=onnx_dir))
                with tempfile.TemporaryDirectory() as cache:
                    rows["warm_up_process"] = child("warm-up-process", options, cache, 1, onnx_cache=onnx_dir)
                    rows["warm"].append(child("warm", options, cache, queries, profile, onnx_cache=onnx_dir))
                rows["summary"] = summarise(rows)
                results["load_average_after"] = load_average()
                if checkpoint is not None:  # a partial result survives an interrupted run
                    checkpoint.parent.mkdir(parents=True, exist_ok=True)
                    checkpoint.write_text(json.dumps(results, indent=1) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=list(RUNTIMES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=6, help="timed queries per process")
    parser.add_argument("--profile", action="store_true", help="time the warm path's parts")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = run(args.runtimes, args.rounds, args.queries, args.profile, args.json)
    text = json.dumps(results, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(json.dumps({k: v["summary"] for k, v in results["runtimes"].items()}, indent=1))


if __name__ == "__main__":
    main()
