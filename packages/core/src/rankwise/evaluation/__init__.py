"""Offline evaluation: BEIR-layout datasets, a BM25 first stage, ir-measures metrics, latency.

>>> from rankwise.evaluation import MEASURES
>>> MEASURES
('nDCG@10', 'RR@10', 'AP', 'R@100', 'P@10')

``evaluate(dataset_dir, model=..., depth=..., max_queries=...)`` runs the whole
pipeline and returns an `EvalReport`; the pieces are usable on their own.
"""

from rankwise.evaluation.beir import BeirDataset, Document, load_beir
from rankwise.evaluation.first_stage import BM25FirstStage
from rankwise.evaluation.latency import latency_summary
from rankwise.evaluation.metrics import MEASURES, compute_metrics
from rankwise.evaluation.run import EvalReport, evaluate

__all__ = [
    "MEASURES",
    "BM25FirstStage",
    "BeirDataset",
    "Document",
    "EvalReport",
    "compute_metrics",
    "evaluate",
    "latency_summary",
    "load_beir",
]
