"""Print the markdown table of docs/benchmarks.md "Quality" from benchmarks/results/quality/*.json.

.venv/bin/python benchmarks/quality/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results" / "quality"
ORDER = ("scifact", "arguana", "cranfield", "squad")
MEASURES = ("nDCG@10", "RR@10", "AP", "R@100", "P@10")


def main() -> None:
    reports = []
    for path in sorted(RESULTS.glob("*-*.json")):
        if "grid" not in path.name:  # "squad-embedded_1.0+1.0_cold.json" -> run label "embedded_1.0+1.0_cold"
            reports.append({**json.loads(path.read_text()), "label": ", ".join(path.stem.split("-")[1:])})
    reports.sort(key=lambda r: (ORDER.index(r["dataset"]) if r["dataset"] in ORDER else 99, r["label"]))
    print("| dataset | queries | run | " + " | ".join(MEASURES) + " | rerank p50 / p95 (ms) |")
    print("|---|---|---|" + "---|" * len(MEASURES) + "---|")
    seen: set[tuple[str, int]] = set()
    for r in reports:
        key = (r["dataset"], r["queries"])
        if key not in seen:
            seen.add(key)
            row = " | ".join(f"{r['first_stage'][m]:.3f}" for m in MEASURES)
            print(f"| {r['dataset']} | {r['queries']} | BM25 (first stage) | {row} | – |")
        row = " | ".join(f"{r['reranked'][m]:.3f}" for m in MEASURES)
        lat = r["latency_ms"]
        print(f"| {r['dataset']} | {r['queries']} | + {r['label']} | {row} | {lat['p50']:.0f} / {lat['p95']:.0f} |")


if __name__ == "__main__":
    main()
