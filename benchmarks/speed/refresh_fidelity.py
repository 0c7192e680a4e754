"""Re-measure only the SciFact ranking fidelity with the current benchmark model; keep the rest of latest.json.

``python -m benchmarks.speed.refresh_fidelity --queries 100 --modes "onnx fp32" "onnx int8"`` rewrites
``fidelity``, the model description and the fidelity note of ``benchmarks/results/speed/latest.json``, then
regenerates the Speed section of docs/benchmarks.md from it. Timings are left as they were: they do not
depend on the model's weights (same architecture, same arithmetic).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from benchmarks.build_model import build
from benchmarks.speed.data import ROOT
from benchmarks.speed.fidelity import MODES, fidelity
from benchmarks.speed.report import write_doc

RESULTS = ROOT / "benchmarks" / "results" / "speed" / "latest.json"
MODEL_NOTE = (
    "fine-tuned briefly on SQuAD train query/passage pairs with BM25-hard and random negatives; "
    "the timings above were measured with the earlier linear-probe head on the same architecture, "
    "which runs the same arithmetic"
)


def refresh(n_queries: int, modes: list[str]) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = json.loads(RESULTS.read_text())
    fid = fidelity(str(build()), n_queries=n_queries, modes=modes)
    ref = fid["modes"]["onnx fp32"]["ndcg10"]
    fid["measured"] = f"{started} – {time.strftime('%H:%M', time.gmtime())} UTC, load average before {load}"
    fid["note"] = (
        f"The benchmark model (MiniLM-L6 fine-tuned for a few minutes on SQuAD train) reaches nDCG@10 {ref:.4f} "
        f"here against BM25's {fid['bm25_ndcg10']:.4f}: better than the earlier linear probe (0.076 on 30 queries) "
        "but still a weak reranker on out-of-domain SciFact, so its scores are close together and the int8 "
        "comparison stays noisy (few queries keep fp32's exact top-10 even when nDCG agrees). "
        f"Measured {fid['measured']}; modes not listed were not re-measured with this model."
    )
    results["fidelity"] = fid
    results["model_note"] = MODEL_NOTE
    deltas = ", ".join(f"{m} {r['delta_vs_fp32']:+.4f}" for m, r in fid["modes"].items() if m != "onnx fp32")
    results["notes"] = [
        n for n in results.get("notes", []) if not n.startswith("The benchmark model is a weak reranker")
    ] + [
        f"With the fine-tuned benchmark model, nDCG@10 moved from fp32 on {n_queries} SciFact queries: {deltas} "
        "(bar: within 0.005). The model is still weak on SciFact, so this check is noisy."
    ]
    RESULTS.write_text(json.dumps(results, indent=1))
    write_doc(results)
    return fid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--modes", nargs="+", default=["onnx fp32", "torch fp32", "onnx int8"], choices=list(MODES))
    args = parser.parse_args()
    print(json.dumps(refresh(args.queries, args.modes), indent=1))


if __name__ == "__main__":
    main()
