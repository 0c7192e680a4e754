"""Does the first-stage rank close the top-1 gap of the embedded default's calibration? Train splits only.

The issue allows "the first-stage rank where given" as a feature: it is the retriever's, so it does not
depend on what else the reranker is handed. This adds it to the shipped first-stage feature set
(``fit_embedded.FIRST_STAGE_FEATURES["idf"]``) as ``log1p(rank)``, ``log1p(rank)`` + a top-1 indicator, or
``1 / (1 + rank)`` (rank 0 = BM25's best), fits the same logistic regression (``fit_logistic``; sigmoid or
isotonic output), and reports 2-fold cross-validation over train queries (folds by query position, as
``fit_embedded.py``): nDCG@10, top-10 ECE and mean top-1 probability against the top-1 hit rate, on SciFact
train and SQuAD train. Never a test split. Reads the fp32 collections of ``data.py`` (``--precision fp32``).

    .venv/bin/python benchmarks/calibration/data.py scifact-train squad-train --precision fp32
    .venv/bin/python benchmarks/calibration/rank_feature.py

Writes benchmarks/results/calibration/rank-feature-cv.json.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import Lists, calibration_metrics, cpu, labels_of, ranking_metrics
from data import cached
from fit_embedded import FIRST_STAGE_FEATURES, TRAIN, _subset, matrices

from rankwise.calibration.fit import fit_isotonic_output, fit_logistic

OUT = Path(__file__).resolve().parents[1] / "results" / "calibration" / "rank-feature-cv.json"
EXTRAS: dict[str, Callable[[np.ndarray], list[np.ndarray]]] = {
    "none (shipped set)": lambda rank: [],
    "log1p(rank)": lambda rank: [np.log1p(rank)],
    "log1p(rank) + top-1": lambda rank: [np.log1p(rank), (rank == 0).astype(float)],
    "1/(1+rank)": lambda rank: [1.0 / (1.0 + rank)],
}


def first_stage_ranks(lists: Lists) -> list[np.ndarray]:
    """Each candidate's rank in its list by BM25 score, 0 for the best (ties in list order)."""
    out = []
    for s in lists.collected.lists():
        scores = lists.collected.bm25[s]
        rank = np.empty(len(scores))
        rank[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        out.append(rank)
    return out


def probabilities(x: np.ndarray, y: np.ndarray, held: list[np.ndarray], output: str) -> list[np.ndarray]:
    """Fit on ``x, y`` and return each held-out list's probabilities."""
    # the variant is only a container for coefficients here: its feature names are placeholders
    variant = fit_logistic(x, y, kinds=["similarity", "first-stage"], features=["t0"] * x.shape[1], name="cv")
    if output == "isotonic":
        variant = fit_isotonic_output(variant, x @ np.asarray(variant.coef) + variant.intercept, y)
    return [variant.output_of(h @ np.asarray(variant.coef) + variant.intercept) for h in held]


def main() -> None:
    train = {name: Lists.of(cached(name, precision="fp32")) for name in TRAIN}
    base = {name: matrices(lists, FIRST_STAGE_FEATURES["idf"], True) for name, lists in train.items()}
    ranks = {name: first_stage_ranks(lists) for name, lists in train.items()}
    labels = {name: labels_of(lists.collected) for name, lists in train.items()}
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for extra, columns in EXTRAS.items():
        xs = {n: [np.column_stack([x, *columns(r)]) for x, r in zip(base[n], ranks[n], strict=True)] for n in train}
        results[extra] = {}
        for output in ("sigmoid", "isotonic"):
            folds: dict[str, list[dict[str, float]]] = {n: [] for n in train}
            for fold in (0, 1):
                fit_x = np.concatenate([x for n in train for i, x in enumerate(xs[n]) if i % 2 != fold])
                fit_y = np.concatenate([y for n in train for i, y in enumerate(labels[n]) if i % 2 != fold])
                for n, lists in train.items():
                    held = [i for i in range(len(lists.collected.queries)) if i % 2 == fold]
                    p = probabilities(fit_x, fit_y, [xs[n][i] for i in held], output)
                    folds[n].append(
                        {
                            **ranking_metrics(_subset(lists, held), p),
                            **calibration_metrics(p, [labels[n][i] for i in held]),
                        }
                    )
            results[extra][output] = {
                n: {k: float(np.mean([f[k] for f in fs])) for k in fs[0]} for n, fs in folds.items()
            }
            cells = "  ".join(
                f"{n}: nDCG {m['nDCG@10']:.4f} ECE10 {m['ece_top10']:.3f} "
                f"top1 {m['top1_mean_probability']:.3f}/{m['top1_hit_rate']:.3f}"
                for n, m in results[extra][output].items()
            )
            print(f"{extra:<20} {output:<9} {cells}", flush=True)
    OUT.write_text(json.dumps({"cpu": cpu(), "cv_2fold": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
