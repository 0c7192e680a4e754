"""The embedded bi-encoder cut at 256, 192, 160 or 128 tokens, or over 128-token chunks: quality on TRAIN, and time.

all-MiniLM-L6-v2 was trained on 128-token inputs and the embedded default runs it on up to 256
(issue #13's question). Ways to read a document: its first 256 tokens (the default), its first 192,
160 or 128 (less of the encoder's work on long documents, the cold path), or all of it in 128-token
chunks whose cosines are max-pooled (every word read, at 128-token attention cost per chunk). On
train splits only (SciFact's 809 train claims, 1,000 SQuAD train questions, BM25 top-100):
2-fold cross-validated nDCG@10 of the cosine alone and of the shipped calibration's feature sets
(`fit_embedded.py`), refitted on each variant's cosines. ``--time`` also encodes the embedded
default's cold workload (100 SciFact abstracts of 20-400 words) from scratch with each variant on
the default's runtime (ONNX fp32), rounds alternating; ``--time-only`` reruns just that. Collections
at 256 tokens come from `data.py`'s cache; the others are encoded into their own store and cache.

    .venv/bin/python benchmarks/calibration/truncation.py [--time | --time-only]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

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

    def __init__(self, max_length: int, **backend_options: object) -> None:
        options: dict[str, object] = {"precision": PRECISION, **backend_options}
        if "runtime" not in backend_options:  # the quality runs: their own store, as data.py's collections
            options["embedding_cache_dir"] = f"/tmp/rankwise-embeddings-{max_length}-{type(self).__name__}"
        self.backend = BiEncoderBackend(embedded_model_path(), max_length=max_length, **options)  # type: ignore[arg-type]
        self.precision = self.backend.precision
        self.name = f"bi-encoder:{embedded_model_path()}@{max_length}"


class ChunkedEncoder(TruncatedEncoder):
    """The bi-encoder over a whole document in ``window``-token chunks (no overlap), cosines max-pooled."""

    def __init__(self, window: int, **backend_options: object) -> None:
        super().__init__(window, **backend_options)
        self.name += "-chunks"
        self._chunks: dict[str, list[str]] = {}

    def chunks(self, text: str) -> list[str]:
        """``text`` in consecutive spans of at most the model's token budget, cut at token ends."""
        known = self._chunks.get(text)
        if known is None:
            budget = self.backend._token_budget()
            ends = self.backend._token_ends(text)
            cuts, start = [0], 0  # token index where the current chunk starts
            while len(ends) - start > budget:
                stop = start + budget  # back off to a word boundary, so no chunk opens mid-word
                while stop > start + budget // 2 and not text[ends[stop - 1]].isspace():
                    stop -= 1
                cuts.append(ends[stop - 1])
                start = stop
            cuts.append(len(text))
            known = [text[a:b].strip() for a, b in itertools.pairwise(cuts)]
            known = [c for c in known if c] or [text]
            self._chunks[text] = known
        return known

    def cut(self, texts: list[str]) -> list[str]:  # what collect() warms: every chunk of every text
        return [c for t in texts for c in self.chunks(t)]

    def cosine(self, query: str, texts: list[str]) -> np.ndarray:
        per_text = [self.chunks(t) for t in texts]
        flat = [c for chunks in per_text for c in chunks]
        scores = np.asarray(self.backend.score(query, flat), dtype=np.float64)
        bounds = np.cumsum([0] + [len(c) for c in per_text])
        return np.asarray([scores[a:b].max() for a, b in itertools.pairwise(bounds)])


# label -> (max_length, chunked)
VARIANTS = {
    "256": (256, False),
    "192": (192, False),
    "160": (160, False),
    "128": (128, False),
    "128-chunks": (128, True),
}


def encoder_for(label: str, **backend_options: object) -> Encoder:
    length, chunked = VARIANTS[label]
    return ChunkedEncoder(length, **backend_options) if chunked else TruncatedEncoder(length, **backend_options)


def quality(result: dict[str, object]) -> None:
    for label in VARIANTS:
        kwargs = {} if label == "256" else {"encoder": encoder_for(label), "cache": Path(f"{CACHE}-{label}")}
        train = {name: Lists.of(cached(name, **kwargs)) for name in TRAIN}  # type: ignore[arg-type]
        for features_label, (features, kinds, first_stage) in SETS.items():
            cv = cross_validate(train, features, kinds, first_stage)["isotonic-top20"]
            row = {name: {"nDCG@10": m["nDCG@10"], "ece_top10": m["ece_top10"]} for name, m in cv.items()}
            cv_table: dict[str, Any] = result["cv"]  # type: ignore[assignment]
            cv_table.setdefault(features_label, {})[label] = row
            cells = "  ".join(f"{n}: nDCG@10 {m['nDCG@10']:.4f}" for n, m in row.items())
            print(f"{label}, {features_label}: {cells}", file=sys.stderr, flush=True)


def timing(rounds: int) -> dict[str, object]:
    """Seconds to encode the embedded default's cold workload from scratch with each variant, ONNX fp32.

    The documents are `embedded_latency.py`'s cold query (the mixed 1x100 workload of `benchmarks/speed`:
    100 SciFact abstracts cut to 20-400 words), so the 256-token row is the default's cold encode.
    """
    from benchmarks.speed.data import workloads

    texts = list(workloads()["mixed-1x100"].documents[0])
    seconds: dict[str, list[float]] = {label: [] for label in VARIANTS}
    tokens: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as onnx_cache:
        encoders = {
            label: encoder_for(label, runtime="onnx", precision="fp32", onnx_cache_dir=onnx_cache) for label in VARIANTS
        }
        for label, encoder in encoders.items():
            # tokens read: each unit's tokens up to the model's budget, plus its special tokens
            budget = encoder.backend._token_budget()
            special = encoder.backend._special_tokens()
            tokens[label] = sum(min(len(encoder.backend._token_ends(u)), budget) + special for u in encoder.cut(texts))
            encoder.backend.embed_documents(["warm-up"])
        for _ in range(rounds):
            for label, encoder in encoders.items():
                units = encoder.cut(texts)
                encoder.backend._cache.clear()  # from scratch: no in-memory vectors, and no store (none given)
                start = time.perf_counter()
                encoder.backend.embed_documents(units)
                seconds[label].append(time.perf_counter() - start)
    return {
        "documents": "mixed-1x100 (embedded_latency.py's cold query: 100 SciFact abstracts cut to 20-400 words)",
        "rounds": rounds,
        "runtime": "onnx fp32",
        "cpu": cpu(),
        "seconds_median": {k: statistics.median(v) for k, v in seconds.items()},
        "seconds": seconds,
        "tokens": tokens,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", action="store_true", help="also time encoding the cold workload with each variant")
    parser.add_argument("--time-only", action="store_true", help="only the timing; keep the quality figures on file")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.time_only:
        result = json.loads(OUT.read_text(encoding="utf-8"))
    else:
        result = {"date": datetime.date.today().isoformat(), "cpu": cpu(), "cv": {}}
        quality(result)
    if args.time or args.time_only:
        result["time"] = timing(args.rounds)
        print(f"time: {result['time']}", file=sys.stderr)
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
