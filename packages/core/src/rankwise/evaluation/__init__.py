"""Offline evaluation: BEIR-layout datasets, a BM25 first stage, ir-measures metrics, latency.

>>> from rankwise.evaluation import MEASURES
>>> MEASURES
('nDCG@10', 'RR@10', 'AP', 'R@100', 'P@10')

``evaluate(dataset_dir, model=..., depth=..., max_queries=...)`` runs the whole
pipeline and returns an `EvalReport`; ``compare(dataset_dir, [spec, ...])`` runs several
models on the same candidates and returns a `CompareReport`; the pieces are usable on their own.
"""

from rankwise.evaluation.beir import SELF_MATCH_DATASETS, BeirDataset, Document, load_beir
from rankwise.evaluation.compare import CompareReport, compare
from rankwise.evaluation.first_stage import BM25FirstStage
from rankwise.evaluation.latency import latency_summary
from rankwise.evaluation.metrics import MEASURES, compute_metrics
from rankwise.evaluation.run import EvalReport, evaluate
from rankwise.evaluation.trec import read_trec_qrels, read_trec_run, write_trec_run

__all__ = [
    "MEASURES",
    "SELF_MATCH_DATASETS",
    "BM25FirstStage",
    "BeirDataset",
    "CompareReport",
    "Document",
    "EvalReport",
    "compare",
    "compute_metrics",
    "evaluate",
    "latency_summary",
    "load_beir",
    "read_trec_qrels",
    "read_trec_run",
    "write_trec_run",
]
