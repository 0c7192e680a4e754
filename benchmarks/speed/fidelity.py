"""nDCG@10 on SciFact (BM25 top-100 via bm25s, reranked by each mode of the same model): does a fast mode keep quality?

The reference is ONNX fp32, which matches torch fp32 within 1e-4 (checked on the first query here and in the
unit tests). Scores are deterministic, so they are cached under ``.cache/bench/fidelity/`` keyed by model
fingerprint and settings; delete that folder to recompute.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from benchmarks.speed.data import ROOT, SCIFACT, qrels, test_queries

CACHE = ROOT / ".cache" / "bench" / "fidelity"
MODES: dict[str, dict[str, str]] = {
    "onnx fp32": {"backend": "onnx", "precision": "fp32"},
    "torch fp32": {"backend": "torch", "precision": "fp32"},
    "onnx int8": {"backend": "onnx", "precision": "int8"},
    "torch bf16": {"backend": "torch", "precision": "bf16"},
}
FIDELITY_MODES = ["onnx fp32", "torch fp32", "onnx int8"]  # what `make bench` compares by default


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


def mode_scores(
    model_dir: str, mode: str, queries: list[tuple[str, str]], candidates: dict[str, Any], key: str
) -> dict[str, dict[str, float]]:
    path = CACHE / f"{key}-{mode.replace(' ', '-')}.json"
    if path.exists():
        cached: dict[str, dict[str, float]] = json.loads(path.read_text())
        return cached
    from rankwise import Reranker

    reranker = Reranker(f"cross-encoder:{model_dir}", cache_size=0, normalize="none", backend_options=MODES[mode])
    started = time.perf_counter()
    run = {}
    for qid, query in queries:
        docs = candidates[qid]
        scores = reranker.score(query, [t for _, t in docs])
        run[qid] = {did: float(s) for (did, _), s in zip(docs, scores, strict=True)}
    print(
        f"  fidelity: {mode} scored {sum(len(c) for c in candidates.values())} pairs in {time.perf_counter() - started:.0f}s",
        file=sys.stderr,
        flush=True,
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))
    return run


def fidelity(model_dir: str, *, n_queries: int, depth: int = 100, modes: list[str] | None = None) -> dict[str, Any]:
    from rankwise.backends.encoders.model_identity import model_fingerprint

    queries, candidates = bm25_candidates(n_queries, depth)
    bm25_run = {qid: {did: float(depth - r) for r, (did, _) in enumerate(docs)} for qid, docs in candidates.items()}
    key = f"{model_fingerprint(model_dir)}-q{n_queries}-d{depth}"
    out: dict[str, Any] = {"queries": n_queries, "depth": depth, "bm25_ndcg10": ndcg10(bm25_run), "modes": {}}
    runs = {}
    for mode in modes or list(MODES):
        if mode == "torch fp32":  # exactness of onnx fp32 vs torch: one query is enough (unit tests cover more)
            qid, query = queries[0]
            runs[mode] = mode_scores(model_dir, mode, [(qid, query)], {qid: candidates[qid]}, key + "-first")
            diff = max(abs(runs[mode][qid][d] - runs_ref) for d, runs_ref in runs["onnx fp32"][qid].items())
            out["onnx_vs_torch_fp32_max_abs_logit_diff"] = diff
            continue
        runs[mode] = mode_scores(model_dir, mode, queries, candidates, key)
        out["modes"][mode] = {"ndcg10": ndcg10(runs[mode])}
    reference = out["modes"]["onnx fp32"]["ndcg10"]
    for mode, row in out["modes"].items():
        row["delta_vs_fp32"] = row["ndcg10"] - reference
        same = [_top10(runs[mode][q]) == _top10(runs["onnx fp32"][q]) for q in runs[mode]]
        row["queries_with_identical_top10"] = sum(same)
    return out


def fidelity_summary(fid: dict[str, Any]) -> str:
    """One sentence for the notes: the model's quality against BM25, and how far each mode moved from fp32."""
    modes = fid["modes"]
    moved = ", ".join(f"{m} {r['delta_vs_fp32']:+.4f}" for m, r in modes.items() if m != "onnx fp32")
    return (
        f"On {fid['queries']} SciFact test queries the benchmark model reranks BM25's top-{fid['depth']} to nDCG@10 "
        f"{modes['onnx fp32']['ndcg10']:.4f} in fp32 (BM25 alone {fid['bm25_ndcg10']:.4f}); nDCG@10 moved from fp32 by: "
        f"{moved} (bar: within 0.005)."
    )


def _top10(run: dict[str, float]) -> list[str]:
    return sorted(run, key=lambda d: -run[d])[:10]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from benchmarks.build_model import build

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(json.dumps(fidelity(str(build()), n_queries=n), indent=2))
