"""int8 vs fp32 ranking fidelity per int8 format, on THIS machine's CPU, recorded with its model name and flags.

For each SciFact test query, BM25 (bm25s) retrieves the top ``--depth`` documents; the ONNX fp32 model and
each int8 format (``u8s8``: ONNX Runtime's U8S8 kernels; ``u8u8``; ``u8s7``: U8S8 with 7-bit weights) rerank
them; nDCG@10 of each is compared with fp32's, and the logits' differences are summarised. The result goes
to ``benchmarks/results/speed/int8_fidelity-<cpu class>.json``, one file per CPU class (never mixed).

U8U8 and U8S7 compute exactly (no 16-bit saturation) on every x86 CPU, so their figures measured here are
their figures on an AVX2-only CPU too; U8S8 is exact only with VNNI (or on ARM): on a CPU without VNNI it
saturates, which is what this script cannot show on a VNNI machine.

With ``--exact`` the torch fp32 model (rankwise's exact mode, sentence-transformers' numbers) reranks the same
candidates too, and ``default_vs_exact`` says on how many queries the default (ONNX fp32) keeps exactly its top 10.

Run: ``python -m benchmarks.speed.int8_fidelity --model DIR [--queries 300] [--depth 100] [--exact]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

from benchmarks.speed.cpu_class import cpu_record
from benchmarks.speed.data import ROOT
from benchmarks.speed.fidelity import bm25_candidates, ndcg10
from benchmarks.speed.report import int8_fidelity_path

CACHE = ROOT / ".cache" / "bench" / "int8-fidelity"


def score_mode(
    model_dir: str, mode: str, queries: list[tuple[str, str]], candidates: dict[str, Any], key: str
) -> tuple[dict[str, dict[str, float]], float]:
    """``{qid: {doc id: logit}}`` for one mode, cached on disk, and the seconds it took.

    ``mode``: "fp32" (ONNX fp32, the default), "torch-fp32" (the exact mode), "torch-bf16" or an int8 format.
    """
    from rankwise.backends.encoders.onnx_cross_encoder import INT8_RECIPE

    # scores of the float modes outlive a change of the int8 recipe
    recipe = "" if mode in ("fp32", "torch-fp32", "torch-bf16") else f"-int8{INT8_RECIPE}"
    path = CACHE / f"{key}-{mode}{recipe}.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["run"], float(saved["seconds"])
    from rankwise.backends.encoders.cross_encoder import CrossEncoderBackend
    from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

    backend: Any
    if mode in ("torch-fp32", "torch-bf16"):
        backend = CrossEncoderBackend(model_dir, max_length=512, precision=mode.removeprefix("torch-"))
    else:
        options: dict[str, Any] = (
            {"precision": "fp32"} if mode == "fp32" else {"precision": "int8", "int8_format": mode}
        )
        backend = OnnxCrossEncoderBackend(model_dir, max_length=512, **options)
    run, seconds = rerank_all(backend, queries, candidates)
    print(f"  {mode}: {sum(len(c) for c in candidates.values())} pairs in {seconds:.0f}s", file=sys.stderr, flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": run, "seconds": seconds}))
    return run, seconds


def rerank_all(
    backend: Any, queries: list[tuple[str, str]], candidates: dict[str, Any]
) -> tuple[dict[str, dict[str, float]], float]:
    """``{qid: {doc id: logit}}`` of ``backend`` over every query's candidates, and the seconds it took."""
    started = time.perf_counter()
    run: dict[str, dict[str, float]] = {}
    for qid, query in queries:
        docs = candidates[qid]
        scores = backend.score(query, [text for _, text in docs])
        run[qid] = {did: float(s) for (did, _), s in zip(docs, scores, strict=True)}
    return run, time.perf_counter() - started


def cache_key(model_dir: str, n_queries: int, depth: int) -> str:
    """What the cached scores of `score_mode` are keyed by: the model's content, the candidates and the CPU class
    (int8 modes add the quantization recipe, `score_mode`)."""
    from rankwise.backends.encoders.model_identity import model_fingerprint

    return f"{model_fingerprint(model_dir)}-q{n_queries}-d{depth}-{cpu_record()['class']}"


def measure(
    model_dir: str, *, n_queries: int, depth: int, formats: list[str], exact: bool = False, bf16: bool = False
) -> dict[str, Any]:
    """int8 in each of ``formats`` (and, if asked, torch fp32 and torch bf16) against ONNX fp32 on SciFact test."""
    from rankwise.backends.encoders.onnx_cross_encoder import INT8_RECIPE, int8_format_for
    from rankwise.cpu_features import cpu_features

    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = [round(x, 2) for x in os.getloadavg()]
    cpu = cpu_record()
    cls = cpu["class"]
    queries, candidates = bm25_candidates(n_queries, depth)
    key = cache_key(model_dir, n_queries, depth)
    reference, fp32_seconds = score_mode(model_dir, "fp32", queries, candidates, key)
    fp32_ndcg = ndcg10(reference)
    bm25_run = {qid: {did: float(depth - r) for r, (did, _) in enumerate(docs)} for qid, docs in candidates.items()}
    out: dict[str, Any] = {
        "cpu_class": cls,
        "cpu": cpu,
        "chosen_format_on_this_cpu": int8_format_for(cpu_features()).name,
        "int8_recipe": INT8_RECIPE,
        "model": model_dir,
        "queries": n_queries,
        "depth": depth,
        "pairs": sum(len(c) for c in candidates.values()),
        "bm25_ndcg10": ndcg10(bm25_run),
        "fp32": {"ndcg10": fp32_ndcg, "seconds": fp32_seconds},
        "int8": {},
        "started": started,
        "load_before": load_before,
    }
    for fmt in formats:
        run, seconds = score_mode(model_dir, fmt, queries, candidates, key)
        out["int8"][fmt] = {**compared(run, reference), "delta_vs_fp32": ndcg10(run) - fp32_ndcg, "seconds": seconds}
    if exact:
        run, seconds = score_mode(model_dir, "torch-fp32", queries, candidates, key)
        out["default_vs_exact"] = {"exact_mode": "torch fp32", **compared(run, reference), "seconds": seconds}
    if bf16:
        run, seconds = score_mode(model_dir, "torch-bf16", queries, candidates, key)
        out["bf16"] = {**compared(run, reference), "delta_vs_fp32": ndcg10(run) - fp32_ndcg, "seconds": seconds}
    out["finished"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def compared(run: dict[str, dict[str, float]], reference: dict[str, dict[str, float]]) -> dict[str, Any]:
    """``run``'s nDCG@10, logit differences from ``reference`` and the queries whose top 10 is the same."""
    ref = np.array([reference[q][d] for q in reference for d in reference[q]])
    got = np.array([run[q][d] for q in reference for d in reference[q]])
    return {
        "ndcg10": ndcg10(run),
        "mean_abs_logit_diff": float(np.mean(np.abs(got - ref))),
        "max_abs_logit_diff": float(np.max(np.abs(got - ref))),
        "queries_with_identical_top10": int(sum(_top10(run[q]) == _top10(reference[q]) for q in reference)),
    }


def _top10(run: dict[str, float]) -> list[str]:
    return sorted(run, key=lambda d: -run[d])[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a local cross-encoder directory (benchmarks/build_model.py)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--formats", nargs="+", default=["u8s8", "u8u8", "u8s7"])
    parser.add_argument("--exact", action="store_true", help="also rerank with torch fp32 (the exact mode)")
    parser.add_argument("--bf16", action="store_true", help="also rerank with torch bf16 (autocast)")
    parser.add_argument("--note", default="", help="what the reader must know about this run (kept in the JSON)")
    args = parser.parse_args()
    result = measure(
        args.model, n_queries=args.queries, depth=args.depth, formats=args.formats, exact=args.exact, bf16=args.bf16
    )
    if args.note:
        result["note"] = args.note
    path = int8_fidelity_path(result["cpu_class"])
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
