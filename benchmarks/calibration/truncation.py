"""The embedded bi-encoder at 128 vs 256 tokens: ranking quality on TRAIN splits (issue #13's question).

all-MiniLM-L6-v2 was trained on 128-token inputs and the embedded default runs it on up to 256;
cutting at 128 halves the encoder's work on long documents (the cold path). This measures what it
costs, on train splits only (SciFact's 809 train claims, 1,000 SQuAD train questions, BM25 top-100):
2-fold cross-validated nDCG@10 of the cosine alone and of the shipped calibration's feature sets
(`fit_embedded.py`), refitted on the 128-token cosines. Collections at 256 tokens come from
`data.py`'s cache; 128-token ones are encoded into their own store and cache.

    .venv/bin/python benchmarks/calibration/truncation.py
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Lists, cpu
from data import CACHE, PRECISION, Encoder, cached
from fit_embedded import FIRST_STAGE_FEATURES, NO_FIRST_STAGE_FEATURES, cross_validate

from rankwise.backends.encoders.bi_encoder import BiEncoderBackend
from rankwise.embedded import embedded_model_path

TRAIN = ("scifact-train", "squad-train")
OUT = Path(__file__).resolve().parents[1] / "results" / "calibration" / "truncation.json"
SETS = {
    "cosine only": (["t0"], ["similarity", "*"], False),
    "calibration features, no first stage": (NO_FIRST_STAGE_FEATURES["idf"], ["similarity", "*"], False),
    "calibration features, first-stage BM25": (FIRST_STAGE_FEATURES["idf-x"], ["similarity", "first-stage"], True),
}


class TruncatedEncoder(Encoder):
    """The embedded bi-encoder cut at ``max_length`` tokens, with its own embedding store."""

    def __init__(self, max_length: int) -> None:
        self.backend = BiEncoderBackend(
            embedded_model_path(),
            embedding_cache_dir=f"/tmp/rankwise-embeddings-{max_length}",
            precision=PRECISION,
            max_length=max_length,
        )
        self.precision = self.backend.precision
        self.name = f"bi-encoder:{embedded_model_path()}@{max_length}"


def main() -> int:
    result: dict[str, object] = {"date": datetime.date.today().isoformat(), "cpu": cpu(), "cv": {}}
    for length in (256, 128):
        kwargs = {} if length == 256 else {"encoder": TruncatedEncoder(length), "cache": Path(f"{CACHE}-{length}")}
        train = {name: Lists.of(cached(name, **kwargs)) for name in TRAIN}  # type: ignore[arg-type]
        for label, (features, kinds, first_stage) in SETS.items():
            cv = cross_validate(train, features, kinds, first_stage)["isotonic-top20"]
            row = {name: {"nDCG@10": m["nDCG@10"], "ece_top10": m["ece_top10"]} for name, m in cv.items()}
            result["cv"].setdefault(label, {})[str(length)] = row  # type: ignore[union-attr]
            cells = "  ".join(f"{n}: nDCG@10 {m['nDCG@10']:.4f}" for n, m in row.items())
            print(f"{length} tokens, {label}: {cells}", file=sys.stderr, flush=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
