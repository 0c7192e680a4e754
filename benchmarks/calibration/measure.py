"""Measure the embedded default's calibration on the TEST splits; write JSON, a table, and docs/benchmarks.md.

    .venv/bin/python benchmarks/calibration/measure.py

Per collection (SciFact 300 claims, SQuAD 500 questions, Cranfield 225, ArguAna 300 arguments;
BM25 top-100 as `rankwise eval`; candidates and cosines from `data.py`'s cache), with the shipped
``rankwise/calibrations/embedded-v2.json`` (fitted on train splits only, `fit_embedded.py`):

- ranking: nDCG@10 of the calibrated probabilities vs today's min-max fusion (1.3 cosine + 0.7 BM25,
  each min-max normalised per query) on the same candidates;
- calibration: ECE (10 equal-width bins) over each query's top 10, Brier over all candidates, the
  mean top-1 probability against the top-1 hit rate;
- knowing when nothing is relevant: for each query, its own top-100 and another query's top-100
  holding none of its relevant documents (the next such query in file order), scored with the
  query's own BM25 scores of those documents as first-stage scores (0 where no term is shared);
  AUROC of the top score between the two (also for min-max fusion, raw cosine, raw BM25);
- at ``score_threshold=0.5``: share of relevant candidates kept and of irrelevant ones dropped.

"with first stage" is ``rerank(..., first_stage_scores=BM25)`` (what `rankwise eval` does); "no first
stage" is ``rerank(query, docs)`` alone, where the calibration reads cosine and query-term coverage.
Also reruns the issue's Bananas/Paris examples. Writes ``benchmarks/results/calibration/<collection>.json``,
``examples.json``, ``table.md``, and the block between the calibration markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import ENCODER_SOURCE, Lists, calibration_metrics, cpu, labels_of, ranking_metrics, threshold_metrics
from data import Encoder, cached

from rankwise.calibration import Calibration, RawTerm, shipped
from rankwise.evaluation import BM25FirstStage
from rankwise.normalize import normalize

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks/results/calibration"
DOCS = ROOT / "docs/benchmarks.md"
TEST = ("scifact-test", "squad-test", "cranfield-test", "arguana-test")
BEGIN, END = "<!-- calibration-table:begin -->", "<!-- calibration-table:end -->"


def minmax_fusion(cosine: np.ndarray, bm25: np.ndarray) -> np.ndarray:
    """Today's embedded fusion: 1.3 x min-max(cosine) + 0.7 x min-max(first stage)."""
    return 1.3 * normalize(cosine, "minmax") + 0.7 * normalize(bm25, "minmax")


def auroc(positive: list[float], negative: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(positive) + [0] * len(negative), positive + negative))


def nothing_relevant(
    lists: Lists, calibration: Calibration, encoder: Encoder, first_step: int = 1
) -> dict[str, float | int]:
    """AUROC of the top score: a query's own list (positive) against a list with none of its relevant documents.

    The other list is the first one, ``first_step`` or more queries on in file order (wrapping), that holds
    none of the query's relevant documents: by default the next such query (`pairing.py` also measures a
    distant one, half the collection away).
    """
    c, data = lists.collected, lists.data
    retriever = BM25FirstStage(data.corpus)
    slices = c.lists()
    relevant = [{d for d, g in data.qrels.get(q, {}).items() if g > 0} for q in c.query_ids]
    own: dict[str, list[float]] = {
        "calibrated": [],
        "calibrated_no_first_stage": [],
        "minmax": [],
        "cosine": [],
        "bm25": [],
    }
    other: dict[str, list[float]] = {k: [] for k in own}
    pairs = 0
    for i, query in enumerate(c.queries):
        j = next(
            (
                (i + step) % len(slices)
                for step in range(first_step, first_step + len(slices) - 1)
                if not relevant[i] & set(c.doc_ids[slices[(i + step) % len(slices)]])
            ),
            None,
        )
        if j is None:
            continue
        pairs += 1
        s = slices[i]
        texts_j = lists.texts[j]
        bm25_all = dict(retriever.search(query, len(data.corpus), exclude=c.query_ids[i]))
        bm25_j = np.asarray([bm25_all.get(d, 0.0) for d in c.doc_ids[slices[j]]], dtype=np.float64)
        cosine_j = encoder.cosine(query, texts_j)
        for store, texts, cosine, bm25 in (
            (own, lists.texts[i], c.cosine[s], c.bm25[s]),
            (other, texts_j, cosine_j, bm25_j),
        ):
            with_fs = [
                RawTerm(ENCODER_SOURCE, "similarity", 1.0, cosine),
                RawTerm("first-stage", "first-stage", 1.0, bm25),
            ]
            without = [with_fs[0], RawTerm("lexical", "bm25", 1.0, np.zeros(len(texts)))]
            store["calibrated"].append(float(calibration.apply(query, texts, with_fs).max()))
            store["calibrated_no_first_stage"].append(float(calibration.apply(query, texts, without).max()))
            store["minmax"].append(float(minmax_fusion(cosine, bm25).max()))
            store["cosine"].append(float(cosine.max()))
            store["bm25"].append(float(bm25.max()))
    result: dict[str, float | int] = {"pairs": pairs}
    for key in own:
        result[f"auroc_{key}"] = auroc(own[key], other[key])
    return result


def measure(name: str, calibration: Calibration, encoder: Encoder) -> dict[str, object]:
    start = time.time()
    lists = Lists.of(cached(name, encoder))
    c = lists.collected
    labels = labels_of(c)
    with_fs = lists.probabilities(calibration, first_stage=True)
    without = lists.probabilities(calibration, first_stage=False)
    fusion = [minmax_fusion(c.cosine[s], c.bm25[s]) for s in c.lists()]
    bm25 = [c.bm25[s] for s in c.lists()]
    return {
        "collection": name,
        "queries": len(c.queries),
        "candidates": int(c.offsets[-1]),
        "ranking": {
            "bm25": ranking_metrics(lists, bm25),
            "minmax_fusion": ranking_metrics(lists, fusion),
            "calibrated": ranking_metrics(lists, with_fs),
            "calibrated_no_first_stage": ranking_metrics(lists, without),
        },
        "calibration": {
            "with_first_stage": calibration_metrics(with_fs, labels),
            "no_first_stage": calibration_metrics(without, labels),
        },
        "threshold_0.5": {
            "with_first_stage": threshold_metrics(with_fs, labels),
            "no_first_stage": threshold_metrics(without, labels),
        },
        "nothing_relevant": nothing_relevant(lists, calibration, encoder),
        "seconds": round(time.time() - start, 1),
    }


EXAMPLES = [
    ("quantum chromodynamics on the lattice", ["Bananas are yellow."]),
    ("quantum chromodynamics", ["Bananas are yellow.", "Apples are red."]),
    ("What is in Paris?", ["Paris is the capital of France.", "The Eiffel Tower is in Paris."]),
    ("What is in Paris?", ["Paris is the capital of France.", "The Eiffel Tower is in Paris.", "Bananas are yellow."]),
]


def examples(calibration: Calibration, encoder: Encoder) -> list[dict[str, object]]:
    """The issue's examples, with no first-stage scores (``Reranker().score(query, docs)``)."""
    out: list[dict[str, object]] = []
    for query, texts in EXAMPLES:
        cosine = encoder.cosine(query, texts)
        terms = [
            RawTerm(ENCODER_SOURCE, "similarity", 1.0, cosine),
            RawTerm("lexical", "bm25", 1.0, np.zeros(len(texts))),
        ]
        scores = calibration.apply(query, texts, terms)
        out.append(
            {
                "query": query,
                "documents": texts,
                "cosine": [round(float(v), 4) for v in cosine],
                "calibrated": [round(float(v), 4) for v in scores],
            }
        )
    return out


def table(results: list[dict[str, object]]) -> str:
    rows = [
        "| collection | queries | nDCG@10 min-max → calibrated (no first stage) | ECE top-10 | Brier | top-1 mean p / hit rate "
        "| AUROC nothing relevant: calibrated (no f.s.) / min-max / cosine / BM25 | at 0.5: relevant kept / irrelevant dropped |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for r in results:
        rank, cal, thr, nr = r["ranking"], r["calibration"], r["threshold_0.5"], r["nothing_relevant"]
        assert isinstance(rank, dict)
        assert isinstance(cal, dict)
        assert isinstance(thr, dict)
        assert isinstance(nr, dict)
        w, wo = cal["with_first_stage"], cal["no_first_stage"]
        t, to = thr["with_first_stage"], thr["no_first_stage"]
        rows.append(
            f"| {str(r['collection']).removesuffix('-test')} | {r['queries']} "
            f"| {rank['minmax_fusion']['nDCG@10']:.4f} → {rank['calibrated']['nDCG@10']:.4f} ({rank['calibrated_no_first_stage']['nDCG@10']:.4f}) "
            f"| {w['ece_top10']:.4f} ({wo['ece_top10']:.4f}) | {w['brier']:.4f} ({wo['brier']:.4f}) "
            f"| {w['top1_mean_probability']:.3f} / {w['top1_hit_rate']:.3f} ({wo['top1_mean_probability']:.3f}) "
            f"| {nr['auroc_calibrated']:.3f} ({nr['auroc_calibrated_no_first_stage']:.3f}) / {nr['auroc_minmax']:.3f} / {nr['auroc_cosine']:.3f} / {nr['auroc_bm25']:.3f} "
            f"| {t['relevant_kept']:.3f} / {t['irrelevant_dropped']:.4f} ({to['relevant_kept']:.3f} / {to['irrelevant_dropped']:.4f}) |"
        )
    return "\n".join(rows)


def described(record: dict[str, Any]) -> str:
    """The machine a result was measured on, from its own record (flags: a list in older results, a dict now)."""
    flags = record["flags"]
    names = [f for f, has in flags.items() if has] if isinstance(flags, dict) else list(flags)
    return f"{record['model']} ({', '.join(names)}), {record['logical_cpus']} logical CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"collections (default: {list(TEST)})")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--table-only", action="store_true", help="measure nothing: table and docs from the JSON files")
    args = parser.parse_args()
    if args.table_only:
        args.names = [None]
    calibration = shipped("embedded-v2")
    encoder = None if args.table_only else Encoder()
    machine = cpu()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.names or list(TEST):
        if name is None:
            continue
        result = {**measure(name, calibration, encoder), "cpu": machine, "date": stamp}
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: {json.dumps(result['ranking']['calibrated'])}", file=sys.stderr)
        results.append(result)
    # the table covers every collection measured so far (a run over some collections keeps the others' results)
    measured = {str(r["collection"]): r for r in results}
    for name in TEST:
        path = RESULTS / f"{name}.json"
        if name not in measured and path.exists():
            measured[name] = json.loads(path.read_text(encoding="utf-8"))
    results = [measured[name] for name in TEST if name in measured]
    if not args.table_only:
        ex = examples(calibration, encoder)
        (RESULTS / "examples.json").write_text(
            json.dumps({"examples": ex, "cpu": machine, "date": stamp}, indent=1) + "\n", encoding="utf-8"
        )
    stamps = sorted({str(r["date"]) for r in results})
    loads = "; ".join(f"{r['collection']}: {' '.join(r['cpu']['loadavg'])}" for r in results)  # type: ignore[index]
    machines = sorted({described(r["cpu"]) for r in results}) or [described(machine)]  # type: ignore[arg-type]
    text = (
        f"Run {', '.join(stamps) or stamp} on {'; '.join(machines)} "
        f"(load average at the end of each: {loads}; the figures do not depend on speed). Command: "
        "`.venv/bin/python benchmarks/calibration/measure.py`. Cosines encoded in bf16 (see docs/calibration.md).\n\n"
        + table(results)
        + "\n"
    )
    (RESULTS / "table.md").write_text(text, encoding="utf-8")
    print(text)
    if not args.no_docs and DOCS.exists():
        docs = DOCS.read_text(encoding="utf-8")
        if BEGIN in docs and END in docs:
            head, rest = docs.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            DOCS.write_text(head + BEGIN + "\n" + text + END + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
