"""Same probability, different rank: how often the top document is relevant against ranks 2-10. Train splits only.

The embedded default's probability is a function of each document's own features (adding documents
does not change the others' scores). If, at the same probability, a document ranked first in its list
is relevant far more often than one ranked 2nd-10th, no such function can match both the top-1 hit
rate and the top-10 calibration: the rank carries information the document's features do not.

This fits the shipped feature set and output (``fit_embedded.FIRST_STAGE_FEATURES["idf-x"]``,
isotonic on each list's top 20) with ``fit_embedded.py``'s 2-fold cross-validation over train queries
(folds by query position), and bins the held-out probabilities of each list's top 10 by 0.1, split
into rank 1 and ranks 2-10: count, mean probability, share relevant. Never a test split. Reads the
fp32 collections of ``data.py`` (``--precision fp32``).

    .venv/bin/python benchmarks/calibration/data.py scifact-train squad-train --precision fp32
    .venv/bin/python benchmarks/calibration/rank_gap.py

Writes benchmarks/results/calibration/rank-gap-cv.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import Lists, cpu, labels_of
from data import cached
from fit_embedded import FIRST_STAGE_FEATURES, TRAIN, fit, matrices

KINDS = ["similarity", "first-stage"]
FEATURES = FIRST_STAGE_FEATURES["idf-x"]
OUT = Path(__file__).resolve().parents[1] / "results" / "calibration" / "rank-gap-cv.json"
EDGES = np.linspace(0.0, 1.0, 11)


def held_out_top10(
    xs: dict[str, list[np.ndarray]], ys: dict[str, list[np.ndarray]], name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out probability, relevance and rank (0 = first) of each list's top 10 in collection ``name``."""
    p_out, y_out, r_out = [], [], []
    for fold in (0, 1):
        fit_x = [x for n in xs for i, x in enumerate(xs[n]) if i % 2 != fold]
        fit_y = [y for n in ys for i, y in enumerate(ys[n]) if i % 2 != fold]
        variant = fit(fit_x, fit_y, FEATURES, KINDS, "isotonic-top20", "cv")
        for i in range(fold, len(xs[name]), 2):
            p = variant.output_of(xs[name][i] @ np.asarray(variant.coef) + variant.intercept)
            top = np.argsort(-p, kind="stable")[:10]
            p_out.append(p[top])
            y_out.append(ys[name][i][top] > 0)
            r_out.append(np.arange(len(top)))
    return np.concatenate(p_out), np.concatenate(y_out), np.concatenate(r_out)


def bins(p: np.ndarray, y: np.ndarray) -> list[dict[str, float]]:
    """Per probability bin [a, b) (the last one closed): count, mean probability, share relevant."""
    index = np.clip(np.digitize(p, EDGES[1:-1]), 0, len(EDGES) - 2)
    rows = []
    for b in range(len(EDGES) - 1):
        inside = index == b
        n = int(inside.sum())
        rows.append(
            {
                "from": float(EDGES[b]),
                "to": float(EDGES[b + 1]),
                "n": n,
                "mean_probability": float(p[inside].mean()) if n else float("nan"),
                "relevant": float(y[inside].mean()) if n else float("nan"),
            }
        )
    return rows


def main() -> None:
    train = {name: Lists.of(cached(name, precision="fp32")) for name in TRAIN}
    xs = {n: matrices(lists, FEATURES, True) for n, lists in train.items()}
    ys = {n: labels_of(lists.collected) for n, lists in train.items()}
    result: dict[str, object] = {"cpu": cpu(), "features": FEATURES, "output": "isotonic-top20", "cv_2fold": {}}
    for name in TRAIN:
        p, y, rank = held_out_top10(xs, ys, name)
        first, rest = rank == 0, rank > 0
        result["cv_2fold"][name] = {"rank 1": bins(p[first], y[first]), "ranks 2-10": bins(p[rest], y[rest])}  # type: ignore[index]
        print(name, flush=True)
        for a, b in zip(bins(p[first], y[first]), bins(p[rest], y[rest]), strict=True):
            print(
                f"  p in [{a['from']:.1f}, {a['to']:.1f}): rank 1 n={a['n']:4d} relevant {a['relevant']:.2f}"
                f"   ranks 2-10 n={b['n']:4d} relevant {b['relevant']:.2f}",
                flush=True,
            )
    OUT.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
