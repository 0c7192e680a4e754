"""ONNX vs sentence-transformers fp32 embeddings of real SciFact abstracts (title + text): max cosine gap.

Writes the CPU model and flags with the result::

    .venv/bin/python benchmarks/embedded_onnx_fidelity.py --texts 200 --json benchmarks/results/speed/embedded-onnx-fidelity.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.embedded_latency import versions  # noqa: E402
from benchmarks.speed.cpu_class import cpu_record  # noqa: E402


def main() -> None:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from rankwise.backends.encoders.onnx_bi_encoder import OnnxSentenceEncoder
    from rankwise.embedded import embedded_model_path
    from rankwise.evaluation.beir import read_corpus

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = list(read_corpus(args.dataset / "corpus.jsonl").values())
    step = max(1, len(corpus) // args.texts)
    texts = [d.content for d in corpus[::step][: args.texts]]
    path = embedded_model_path()
    expected = SentenceTransformer(path, device="cpu").encode(texts, normalize_embeddings=True, batch_size=32)
    got = OnnxSentenceEncoder(path).encode(texts, batch_size=32)
    gaps = np.abs(1.0 - np.sum(got * expected, axis=1))
    out = {
        "cpu": cpu_record(),
        "versions": versions(),
        "texts": len(texts),
        "max_cosine_gap": float(gaps.max()),
        "mean_cosine_gap": float(gaps.mean()),
        "max_abs_component_diff": float(np.abs(got - expected).max()),
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
