"""Which matrix multiplies to quantize: logit error and speed of int8 variants against ONNX fp32.

``python -m benchmarks.speed.int8_variants --queries 10`` quantizes the benchmark model's cached fp32
export (``quantize_dynamic``, per-channel int8 weights) with some MatMuls kept in fp32, scores the same
SciFact candidates (BM25 top-100 of the first test queries) with each, and writes the mean and max
|logit − fp32 logit| and pairs/s (one pass each, on this machine, so a rough speed) to
``benchmarks/results/speed/int8_variants.json``. The variant with the
best error for its cost is what `quantize_onnx` ships; its nDCG@10 is then checked on all 300 queries by
``make bench`` (benchmarks/speed/fidelity.py).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.build_model import build
from benchmarks.speed.data import ROOT
from benchmarks.speed.fidelity import bm25_candidates
from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend, feed_forward_outputs, quantize_int8

RESULTS = ROOT / "benchmarks" / "results" / "speed" / "int8_variants.json"


def variants(fp32: Path) -> dict[str, list[str]]:
    """Variant name -> MatMuls kept fp32: none, every feed-forward output, or one layer's."""
    outputs = feed_forward_outputs(fp32)
    return {
        "every MatMul + Attention": [],
        "FFN-output MatMuls fp32 (all layers)": outputs,
        **{f"FFN-output MatMul fp32 in layer {k}": [name] for k, name in enumerate(outputs)},
    }


def scan(n_queries: int) -> dict[str, Any]:
    import onnxruntime as ort

    model_dir = str(build())
    queries, candidates = bm25_candidates(n_queries, 100)
    backend = OnnxCrossEncoderBackend(model_dir, precision="fp32")

    def run(session: Any) -> tuple[np.ndarray, float]:
        backend._session = session  # same tokenizer and batching, another graph
        started = time.perf_counter()
        scores = [s for qid, q in queries for s in backend.score(q, [t for _, t in candidates[qid]])]
        return np.array(scores), time.perf_counter() - started

    fp32_session = backend._session
    reference, fp32_seconds = run(fp32_session)
    pairs = len(reference)
    out: dict[str, Any] = {"pairs": pairs, "fp32_pairs_per_second": pairs / fp32_seconds, "variants": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for name, exclude in variants(backend.model_path).items():
            target = Path(scratch) / "variant.onnx"
            quantize_int8(backend.model_path, target, keep_fp32=exclude)
            session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
            scores, seconds = run(session)
            error = np.abs(scores - reference)
            out["variants"][name] = {
                "mean_abs_logit_error": float(error.mean()),
                "max_abs_logit_error": float(error.max()),
                "pairs_per_second": pairs / seconds,
                "speed_vs_fp32": fp32_seconds / seconds,
            }
            print(name, json.dumps(out["variants"][name]), flush=True)
    backend._session = fp32_session
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10)
    args = parser.parse_args()
    results = scan(args.queries)
    results["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RESULTS.write_text(json.dumps(results, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
