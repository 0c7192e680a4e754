"""How much the bf16-encoded cosines the calibration was fitted on differ from the default's fp32 ones.

    .venv/bin/python benchmarks/calibration/precision_check.py   # -> benchmarks/results/calibration/precision.json

SciFact test: the first 10 claims and each one's BM25 top-20, encoded in fp32 and in bf16 (no disk store).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import cpu
from data import cached

from rankwise.chunking import truncate_words
from rankwise.embedded import embedded_model_path
from rankwise.evaluation import load_beir

OUT = Path(__file__).resolve().parents[2] / "benchmarks/results/calibration/precision.json"


def main() -> int:
    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend

    collected = cached("scifact-test")
    data = load_beir("/work/shared/datasets/scifact", split="test")
    encoders = {p: BiEncoderBackend(embedded_model_path(), precision=p) for p in ("fp32", "bf16")}
    diffs = []
    for i, s in enumerate(collected.lists()[:10]):
        texts = [truncate_words(data.corpus[d].content, 256) for d in collected.doc_ids[s][:20]]
        query = collected.queries[i]
        fp32 = np.asarray(encoders["fp32"].score(query, texts))
        bf16 = np.asarray(encoders["bf16"].score(query, texts))
        diffs.extend(np.abs(fp32 - bf16).tolist())
    result = {
        "pairs": len(diffs),
        "max_abs_cosine_difference": float(np.max(diffs)),
        "mean_abs_cosine_difference": float(np.mean(diffs)),
        "cpu": cpu(),
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
