"""Re-measure only the SciFact ranking fidelity with the current benchmark model; keep the rest of latest.json.

``python -m benchmarks.speed.refresh_fidelity --queries 300 --modes "onnx fp32" "onnx int8"`` rewrites
``fidelity`` and its summary note in ``benchmarks/results/speed/latest.json``, then regenerates the Speed
section of docs/benchmarks.md from it. Timings are left as they were (they do not depend on the weights:
same architecture, same arithmetic), so use this only when nothing but the model's training changed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from benchmarks.build_model import build
from benchmarks.speed.data import ROOT
from benchmarks.speed.fidelity import FIDELITY_MODES, MODES, fidelity, fidelity_summary
from benchmarks.speed.report import write_doc

RESULTS = ROOT / "benchmarks" / "results" / "speed" / "latest.json"


def refresh(n_queries: int, modes: list[str]) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = json.loads(RESULTS.read_text())
    old = results.get("fidelity")
    fid = fidelity(str(build()), n_queries=n_queries, modes=modes)
    fid["note"] = (
        f"Measured {started} – {time.strftime('%H:%M', time.gmtime())} UTC (load average before {load}), "
        "after the timings above, with the same architecture."
    )
    results["fidelity"] = fid
    results["notes"] = [
        fidelity_summary(fid) if old and n == fidelity_summary(old) else n for n in results.get("notes", [])
    ]
    RESULTS.write_text(json.dumps(results, indent=1))
    write_doc(results)
    return fid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--modes", nargs="+", default=FIDELITY_MODES, choices=list(MODES))
    args = parser.parse_args()
    print(json.dumps(refresh(args.queries, args.modes), indent=1))


if __name__ == "__main__":
    main()
