"""`evaluate`: a first stage (BM25 or a TREC run), reranking of its top ``depth``, metrics for both, latency."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.evaluation.beir import BeirDataset, load_beir
from rankwise.evaluation.first_stage import BM25FirstStage
from rankwise.evaluation.latency import latency_summary
from rankwise.evaluation.metrics import MEASURES, compute_metrics, run_from_rankings
from rankwise.evaluation.trec import Candidates, read_trec_run, write_trec_run
from rankwise.reranker import Reranker
from rankwise.validation import positive_int

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
    ignore_identical_ids: bool = False

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
            "ignore_identical_ids": self.ignore_identical_ids,
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


def candidates(
    data: BeirDataset,
    *,
    depth: int = 100,
    run: str | Path | Mapping[str, Sequence[tuple[str, float]]] | None = None,
) -> Candidates:
    """The first stage: ``depth`` ``(doc_id, score)`` pairs per judged query, best first.

    Without ``run``, BM25 over the corpus; with a TREC run (a file or `read_trec_run`'s
    mapping), that run's candidates, cut to ``depth``. Either way a document whose id is
    the query's is dropped when ``data.ignore_identical_ids``. A run naming a document that
    is not in the corpus is an error (its text is needed to rerank it).
    """
    depth = positive_int("depth", depth)
    if run is None:
        retriever = BM25FirstStage(data.corpus)
        return retriever.search_many(list(data.queries.items()), depth, ignore_identical_ids=data.ignore_identical_ids)
    given = read_trec_run(run) if isinstance(run, (str, Path)) else run
    label = str(run) if isinstance(run, (str, Path)) else "the run"
    out: Candidates = {}
    for qid in data.queries:
        hits = [(str(d), float(s)) for d, s in given.get(qid, [])]
        if data.ignore_identical_ids:
            hits = [(d, s) for d, s in hits if d != qid]
        for doc_id, _ in hits[:depth]:
            if doc_id not in data.corpus:
                raise ValueError(
                    f"{label}: query {qid!r} ranks document {doc_id!r}, which is not in the corpus; "
                    "the run and the dataset must use the same document ids"
                )
        out[qid] = hits[:depth]
    return out


def rerank_candidates(
    reranker: Reranker,
    data: BeirDataset,
    first: Mapping[str, Sequence[tuple[str, float]]],
    *,
    progress: bool = False,
    label: str | None = None,
) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Rerank each query's candidates: ``(rankings, seconds)`` by query id.

    The reranker gets each candidate's ``title + text`` (`Document.content`) and the
    first-stage scores as ``first_stage_scores``; ``seconds`` is the wall time of each
    ``rerank`` call (queries with no candidates are not timed).
    """
    reranked: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    desc = label or data.name
    for qid, query in _progress(data.queries.items(), len(data.queries), progress, desc):
        hits = list(first.get(qid, []))
        ids = [doc_id for doc_id, _ in hits]
        if not hits or not query.strip():
            reranked[qid] = ids
            continue
        texts = [data.corpus[doc_id].content for doc_id in ids]
        start = time.perf_counter()
        results = reranker.rerank(query, texts, first_stage_scores=[score for _, score in hits])
        seconds[qid] = time.perf_counter() - start
        reranked[qid] = [ids[r.index] for r in results]
    return reranked, seconds


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
    run: str | Path | Mapping[str, Sequence[tuple[str, float]]] | None = None,
    qrels: str | Path | None = None,
    ignore_identical_ids: bool | None = None,
    save_run: str | Path | None = None,
) -> EvalReport:
    """Retrieve ``depth`` candidates per query with BM25 (or take them from ``run``), rerank them, score both runs.

    The reranker gets each candidate's ``title + text`` and the first-stage scores as
    ``first_stage_scores`` (used by specs with a ``first-stage`` term, such as
    ``"embedded"``). Latency is the wall time of each ``rerank`` call, with the
    model loaded beforehand. Metrics: `MEASURES`, averaged over judged queries.
    ``backend_options`` go to the `Reranker` built from a spec, e.g.
    ``{"bi-encoder": {"embedding_cache_dir": DIR}}`` to reuse stored document embeddings.
    ``run``/``qrels``: TREC files replacing BM25 and ``qrels/<split>.tsv``;
    ``ignore_identical_ids``: see `load_beir` (``None``: only for `SELF_MATCH_DATASETS`);
    ``save_run``: write the reranked run there in TREC format.

    >>> report = evaluate("path/to/scifact", model="lexical", max_queries=50)  # doctest: +SKIP
    >>> report.first_stage["nDCG@10"]  # doctest: +SKIP
    0.68
    """
    if first_stage not in FIRST_STAGES:
        raise ValueError(f"first_stage must be one of {list(FIRST_STAGES)}, got {first_stage!r}")
    depth = positive_int("depth", depth)
    data = dataset_of(dataset, split, max_queries, qrels, ignore_identical_ids)
    reranker = model if isinstance(model, Reranker) else Reranker(model, backend_options=backend_options)
    reranker.load()
    hits = candidates(data, depth=depth, run=run)
    first = {qid: [doc_id for doc_id, _ in docs] for qid, docs in hits.items()}
    reranked, seconds = rerank_candidates(reranker, data, hits, progress=progress)
    model_name = reranker.model if isinstance(model, Reranker) else model
    if save_run is not None:
        write_trec_run(save_run, reranked, tag=f"rankwise-{model_name}")

    first_run, reranked_run = run_from_rankings(first), run_from_rankings(reranked)
    return EvalReport(
        dataset=data.name,
        model=model_name,
        first_stage=compute_metrics(data.qrels, first_run, MEASURES),
        reranked=compute_metrics(data.qrels, reranked_run, MEASURES),
        latency_ms=latency_summary(list(seconds.values())),
        split=data.split,
        depth=depth,
        queries=len(data.queries),
        first_stage_name=first_stage_label(first_stage, run),
        backend_options=json.loads(json.dumps(dict(backend_options or {}), default=str)),
        runs={"first_stage": first_run, "reranked": reranked_run},
        ignore_identical_ids=data.ignore_identical_ids,
    )


def dataset_of(
    dataset: str | Path | BeirDataset,
    split: str,
    max_queries: int | None,
    qrels: str | Path | None,
    ignore_identical_ids: bool | None,
) -> BeirDataset:
    """``dataset`` itself, or the BEIR folder it names loaded with these options (see `load_beir`)."""
    if isinstance(dataset, BeirDataset):
        return dataset
    return load_beir(
        dataset, split=split, max_queries=max_queries, qrels=qrels, ignore_identical_ids=ignore_identical_ids
    )


def first_stage_label(first_stage: str, run: object) -> str:
    """``bm25``, or ``run:<file name>`` when the candidates come from a TREC run.

    >>> first_stage_label("bm25", "runs/bm25.trec")
    'run:bm25.trec'
    """
    if isinstance(run, (str, Path)):
        return f"run:{Path(run).name}"
    return "run" if run is not None else first_stage


def _progress(items: Any, total: int, enabled: bool, label: str) -> Any:
    if not enabled:
        return items
    tqdm = require("tqdm", extra="eval", purpose="the progress bar of rankwise eval").tqdm
    return tqdm(items, total=total, desc=f"reranking {label}", unit="query", file=sys.stderr)
