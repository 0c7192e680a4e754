"""`evaluate`: BM25 first stage, reranking of its top ``depth``, metrics for both, latency."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.evaluation.beir import BeirDataset, load_beir
from rankwise.evaluation.first_stage import BM25FirstStage
from rankwise.evaluation.latency import latency_summary
from rankwise.evaluation.metrics import MEASURES, compute_metrics, run_from_rankings
from rankwise.reranker import Reranker

FIRST_STAGES = ("bm25",)


@dataclass
class EvalReport:
    """Metrics of the first stage and of the reranked run, and per-query reranking latency.

    >>> report = EvalReport("toy", "lexical", {"nDCG@10": 0.5}, {"nDCG@10": 0.75}, {"p50": 1.0, "p95": 2.0})
    >>> report.to_json()["reranked"]
    {'nDCG@10': 0.75}
    """

    dataset: str
    model: str
    first_stage: dict[str, float]
    reranked: dict[str, float]
    latency_ms: dict[str, float]
    split: str = "test"
    depth: int = 100
    queries: int = 0
    first_stage_name: str = "bm25"
    backend_options: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON document ``rankwise eval --json`` writes (runs left out)."""
        return {
            "dataset": self.dataset,
            "split": self.split,
            "model": self.model,
            "first_stage_name": self.first_stage_name,
            "depth": self.depth,
            "queries": self.queries,
            "first_stage": self.first_stage,
            "reranked": self.reranked,
            "latency_ms": self.latency_ms,
            "backend_options": self.backend_options,
        }

    def table(self) -> str:
        """A plain-text table: one row per run, one column per measure."""
        names = list(self.first_stage)
        header = f"{'':<14}" + "".join(f"{n:>9}" for n in names)
        rows = [header]
        for label, values in ((self.first_stage_name, self.first_stage), ("reranked", self.reranked)):
            rows.append(f"{label:<14}" + "".join(f"{values[n]:>9.4f}" for n in names))
        lat = self.latency_ms
        rows.append(
            f"{self.dataset} ({self.split}, {self.queries} queries, depth {self.depth}), model {self.model}: "
            f"rerank latency p50 {lat.get('p50', 0.0):.1f} ms, p95 {lat.get('p95', 0.0):.1f} ms"
        )
        return "\n".join(rows)


def evaluate(
    dataset: str | Path | BeirDataset,
    *,
    model: str | Reranker = "embedded",
    first_stage: str = "bm25",
    depth: int = 100,
    max_queries: int | None = None,
    split: str = "test",
    progress: bool = False,
    backend_options: Mapping[str, Any] | None = None,
) -> EvalReport:
    """Retrieve ``depth`` candidates per query with BM25, rerank them with ``model``, score both runs.

    The reranker gets each candidate's ``title + text`` and the BM25 scores as
    ``first_stage_scores`` (used by specs with a ``first-stage`` term, such as
    ``"embedded"``). Latency is the wall time of each ``rerank`` call, with the
    model loaded beforehand. Metrics: `MEASURES`, averaged over judged queries.
    ``backend_options`` go to the `Reranker` built from a spec, e.g.
    ``{"bi-encoder": {"embedding_cache_dir": DIR}}`` to reuse stored document embeddings.

    >>> report = evaluate("path/to/scifact", model="lexical", max_queries=50)  # doctest: +SKIP
    >>> report.first_stage["nDCG@10"]  # doctest: +SKIP
    0.68
    """
    if first_stage not in FIRST_STAGES:
        raise ValueError(f"first_stage must be one of {list(FIRST_STAGES)}, got {first_stage!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    data = dataset if isinstance(dataset, BeirDataset) else load_beir(dataset, split=split, max_queries=max_queries)
    reranker = model if isinstance(model, Reranker) else Reranker(model, backend_options=backend_options)
    reranker.load()
    retriever = BM25FirstStage(data.corpus)

    first: dict[str, list[str]] = {}
    reranked: dict[str, list[str]] = {}
    seconds: list[float] = []
    for qid, query in _progress(data.queries.items(), len(data.queries), progress, data.name):
        hits = retriever.search(query, depth, exclude=qid)
        first[qid] = [doc_id for doc_id, _ in hits]
        if not hits or not query.strip():
            reranked[qid] = first[qid]
            continue
        texts = [data.corpus[doc_id].content for doc_id, _ in hits]
        start = time.perf_counter()
        results = reranker.rerank(query, texts, first_stage_scores=[score for _, score in hits])
        seconds.append(time.perf_counter() - start)
        reranked[qid] = [first[qid][r.index] for r in results]

    first_run, reranked_run = run_from_rankings(first), run_from_rankings(reranked)
    return EvalReport(
        dataset=data.name,
        model=reranker.model if isinstance(model, Reranker) else model,
        first_stage=compute_metrics(data.qrels, first_run, MEASURES),
        reranked=compute_metrics(data.qrels, reranked_run, MEASURES),
        latency_ms=latency_summary(seconds),
        split=data.split,
        depth=depth,
        queries=len(data.queries),
        first_stage_name=first_stage,
        backend_options=json.loads(json.dumps(dict(backend_options or {}), default=str)),
        runs={"first_stage": first_run, "reranked": reranked_run},
    )


def _progress(items: Any, total: int, enabled: bool, label: str) -> Any:
    if not enabled:
        return items
    tqdm = require("tqdm", extra="eval", purpose="the progress bar of rankwise eval").tqdm
    return tqdm(items, total=total, desc=f"reranking {label}", unit="query", file=sys.stderr)
