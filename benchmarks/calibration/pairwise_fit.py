"""Does a pairwise objective rank better than the shipped pointwise fit? Chosen on train splits only.

The shipped calibration fits its linear score by pointwise logistic regression (relevant or not,
every candidate alike) and maps it to a probability by isotonic regression. The ranking only needs
the linear score's order within each query, which a pairwise fit targets: a scikit-learn logistic
regression on feature differences (relevant minus irrelevant of the same query, both signs, each
query weighted equally; negatives from BM25's top ``depth``), the isotonic output fitted afterwards
on each list's top 20 exactly as the shipped one. Same features (``FIRST_STAGE_FEATURES["idf-x"]``),
same 2-fold cross-validation over train queries (folds by query position) as ``fit_embedded.py``.
Then the setting with the best mean train-CV nDCG@10 and the pointwise fit are refitted on every
train query and measured once on SciFact and SQuAD test (reported, not tuned on). Reads the fp32
collections of ``data.py`` (``--precision fp32``).

    .venv/bin/python benchmarks/calibration/data.py scifact-train squad-train scifact-test squad-test --precision fp32
    .venv/bin/python benchmarks/calibration/pairwise_fit.py

Writes benchmarks/results/calibration/pairwise-cv.json.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import Lists, calibration_metrics, cpu, labels_of, ranking_metrics
from data import cached
from fit_embedded import FIRST_STAGE_FEATURES, TRAIN, evaluate, fit, matrices

from rankwise.calibration import Variant, shipped
from rankwise.calibration.fit import fit_isotonic_output, fit_logistic

KINDS = ["similarity", "first-stage"]
FEATURES = FIRST_STAGE_FEATURES["idf-x"]
OUT = Path(__file__).resolve().parents[1] / "results" / "calibration" / "pairwise-cv.json"
TEST = ("scifact-test", "squad-test")
GRID = [(depth, c) for depth in (100, 50, 30, 10) for c in (1.0, 0.1, 0.03, 0.01, 0.003, 0.001)]


def fit_pairwise(xs: list[np.ndarray], ys: list[np.ndarray], bm25: list[np.ndarray], depth: int, c: float) -> Variant:
    """Pairwise logistic regression, then the isotonic output on each list's 20 best-scored candidates."""
    diffs, weights = [], []
    for x, y, b in zip(xs, ys, bm25, strict=True):
        relevant = np.flatnonzero(y > 0)
        negatives = [j for j in np.argsort(-b, kind="stable")[:depth] if y[j] == 0]
        if len(relevant) == 0 or not negatives:
            continue
        d = (x[relevant][:, None, :] - x[negatives][None, :, :]).reshape(-1, x.shape[1])
        diffs.append(d)
        weights.append(np.full(len(d), 1.0 / len(d)))
    d, w = np.concatenate(diffs), np.concatenate(weights)
    both_w = np.concatenate([w, w])
    linear = fit_logistic(
        np.concatenate([d, -d]),
        np.r_[np.ones(len(d)), np.zeros(len(d))],
        kinds=KINDS,
        features=FEATURES,
        c=c,
        sample_weight=both_w / both_w.mean(),
        name="pairwise",
    )
    linear = replace(linear, intercept=0.0)  # symmetric pairs: only the direction is fitted
    zs, ls = [], []
    for x, y in zip(xs, ys, strict=True):
        z = x @ np.asarray(linear.coef)
        top = np.argsort(-z, kind="stable")[:20]
        zs.append(z[top])
        ls.append(y[top])
    return fit_isotonic_output(linear, np.concatenate(zs), np.concatenate(ls))


Arrays = list[np.ndarray]
Fitter = Callable[[Arrays, Arrays, Arrays], Variant]


def pairwise_fitter(depth: int, c: float) -> Fitter:
    """`fit_pairwise` with its negatives' depth and regularisation fixed."""
    return lambda xs, ys, bm: fit_pairwise(xs, ys, bm, depth, c)


def cross_validate(
    train: dict[str, Lists], xs: dict[str, Arrays], ys: dict[str, Arrays], bm: dict[str, Arrays], make: Fitter
) -> dict[str, dict[str, float]]:
    """Mean over 2 folds of the held-out measures; ``make(xs, ys, bm25)`` fits one variant on the other fold."""
    per: dict[str, list[dict[str, float]]] = {n: [] for n in train}
    for fold in (0, 1):
        pick = [(n, i) for n in train for i in range(len(xs[n])) if i % 2 != fold]
        variant = make([xs[n][i] for n, i in pick], [ys[n][i] for n, i in pick], [bm[n][i] for n, i in pick])
        for n, lists in train.items():
            per[n].append(evaluate(variant, lists, xs[n], list(range(fold, len(xs[n]), 2))))
    return {n: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for n, rs in per.items()}


def main() -> None:
    train = {name: Lists.of(cached(name, precision="fp32")) for name in TRAIN}
    xs = {n: matrices(lists, FEATURES, True) for n, lists in train.items()}
    ys = {n: labels_of(lists.collected) for n, lists in train.items()}
    bm = {n: [lists.collected.bm25[s] for s in lists.collected.lists()] for n, lists in train.items()}
    runs: dict[str, Fitter] = {
        "pointwise (shipped)": lambda xs, ys, _: fit(xs, ys, FEATURES, KINDS, "isotonic-top20", "cv")
    }
    for depth, c in GRID:
        runs[f"pairwise, negatives from BM25 top {depth}, C={c}"] = pairwise_fitter(depth, c)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, make in runs.items():
        results[label] = cross_validate(train, xs, ys, bm, make)
        cells = "  ".join(
            f"{n}: nDCG {m['nDCG@10']:.4f} ECE10 {m['ece_top10']:.3f} "
            f"top1 {m['top1_mean_probability']:.3f}/{m['top1_hit_rate']:.3f}"
            for n, m in results[label].items()
        )
        print(f"{label:<48} {cells}", flush=True)
    pairwise = [label for label in results if label.startswith("pairwise")]
    best = max(pairwise, key=lambda label: float(np.mean([m["nDCG@10"] for m in results[label].values()])))
    test = test_once({"pointwise (shipped)": runs["pointwise (shipped)"], best: runs[best]}, xs, ys, bm)
    report = {"cpu": cpu(), "features": FEATURES, "cv_2fold": results, "best_by_train_cv": best, "test_once": test}
    OUT.write_text(json.dumps(report, indent=1) + "\n")


def test_once(
    runs: dict[str, Fitter], xs: dict[str, Arrays], ys: dict[str, Arrays], bm: dict[str, Arrays]
) -> dict[str, dict[str, dict[str, float]]]:
    """Each fit refitted on every train query, measured once on the test splits (and the shipped map)."""
    pick = [(n, i) for n in xs for i in range(len(xs[n]))]
    variants = {
        label: make([xs[n][i] for n, i in pick], [ys[n][i] for n, i in pick], [bm[n][i] for n, i in pick])
        for label, make in runs.items()
    }
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in TEST:
        lists = Lists.of(cached(name, precision="fp32"))
        test_x = matrices(lists, FEATURES, True)
        rows = {"shipped map (embedded-v2.json)": lists.probabilities(shipped("embedded-v2"), first_stage=True)}
        for label, v in variants.items():
            rows[f"{label}, refitted"] = [v.output_of(x @ np.asarray(v.coef) + v.intercept) for x in test_x]
        for label, p in rows.items():
            measures = evaluate_probabilities(lists, p)
            out.setdefault(name, {})[label] = measures
            print(f"{name} {label:<60} nDCG@10 {measures['nDCG@10']:.4f}", flush=True)
    return out


def evaluate_probabilities(lists: Lists, probabilities: list[np.ndarray]) -> dict[str, float]:
    return {**ranking_metrics(lists, probabilities), **calibration_metrics(probabilities, labels_of(lists.collected))}


if __name__ == "__main__":
    main()
