"""Does the first-stage rank close the top-1 gap of the embedded default's calibration? Train splits only.

The issue allows "the first-stage rank where given" as a feature: it is the retriever's, so it does not
depend on what else the reranker is handed. This adds it to the shipped first-stage feature set
(``fit_embedded.FIRST_STAGE_FEATURES["idf"]``) as ``log1p(rank)``, ``log1p(rank)`` + a top-1 indicator,
or ``1 / (1 + rank)`` (rank 0 = BM25's best), fits the same logistic regression (sigmoid or isotonic
output), and reports ``fit_embedded.py``'s 2-fold cross-validation over train queries (folds by query
position): nDCG@10, top-10 ECE and mean top-1 probability against the top-1 hit rate, on SciFact train
and SQuAD train. Never a test split. Reads the fp32 collections of ``data.py`` (``--precision fp32``).

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

from common import Lists, cpu
from data import cached
from fit_embedded import FIRST_STAGE_FEATURES, TRAIN, cross_validate_matrices, matrices

KINDS = ["similarity", "first-stage"]
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


def main() -> None:
    train = {name: Lists.of(cached(name, precision="fp32")) for name in TRAIN}
    features = FIRST_STAGE_FEATURES["idf"]
    base = {name: matrices(lists, features, True) for name, lists in train.items()}
    ranks = {name: first_stage_ranks(lists) for name, lists in train.items()}
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for extra, columns in EXTRAS.items():
        xs = {n: [np.column_stack([x, *columns(r)]) for x, r in zip(base[n], ranks[n], strict=True)] for n in train}
        # the fitted variants only carry coefficients here: the extra columns get placeholder feature names
        names = features + ["t0"] * (xs[TRAIN[0]][0].shape[1] - len(features))
        results[extra] = cross_validate_matrices(train, xs, names, KINDS, outputs=("sigmoid", "isotonic"))
        for output, per in results[extra].items():
            cells = "  ".join(
                f"{n}: nDCG {m['nDCG@10']:.4f} ECE10 {m['ece_top10']:.3f} "
                f"top1 {m['top1_mean_probability']:.3f}/{m['top1_hit_rate']:.3f}"
                for n, m in per.items()
            )
            print(f"{extra:<20} {output:<9} {cells}", flush=True)
    OUT.write_text(json.dumps({"cpu": cpu(), "cv_2fold": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
