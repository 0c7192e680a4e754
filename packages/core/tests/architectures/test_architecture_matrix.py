"""Every architecture through every cross-encoder mode, against sentence-transformers' ``predict``.

Exact modes (the default, torch fp32, ONNX fp32) give ``predict``'s logits within 1e-4. Approximate modes
move a logit by at most a documented share of the spread of ``predict``'s logits over the documents
(`TOLERANCE`), so any two documents further apart than twice that keep their order. Both int8 formats a CPU
can get (U8S8 with VNNI or on ARM, U8U8 on x86 without VNNI) run on every machine: their integer arithmetic
is exact on every CPU that picks them, so the bounds do not depend on the instruction set. A mode that
cannot run an architecture must raise `ModeUnavailableError` naming both; none of the nine does today.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from core_support import load_module, u8s8_saturates_here

from rankwise.backends.base import BackendConfig
from rankwise.backends.encoders import onnx_cross_encoder
from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec

tiny_models = load_module(Path(__file__).with_name("tiny_models.py"), "architecture_tiny_models")
QUERY, DOCS = tiny_models.QUERY, tiny_models.DOCS
ARCHITECTURES = list(tiny_models.BUILDERS)
MODES: dict[str, dict[str, str]] = {
    "default": {},
    "torch fp32": {"backend": "torch", "precision": "fp32"},
    "torch bf16": {"backend": "torch", "precision": "bf16"},
    "onnx fp32": {"backend": "onnx", "precision": "fp32"},
    "onnx int8": {"backend": "onnx", "precision": "int8"},  # this CPU's format
    "onnx int8 u8s8": {"backend": "onnx", "precision": "int8", "int8_format": "u8s8"},
    "onnx int8 u8u8": {"backend": "onnx", "precision": "int8", "int8_format": "u8u8"},
}
EXACT_TOLERANCE = 1e-4
# Largest |logit - predict's logit| / spread of predict's logits measured over the nine tiny models (weights
# drawn with initializer_range 0.5, seed 0: far rougher than a trained model's): bf16 0.104, int8 U8S8 0.239,
# int8 U8U8 0.124 (2026-12-02, `python -m benchmarks.speed.architecture_matrix`). The bounds leave room for
# float rounding that differs between CPUs (layer norms, softmax), not for a different integer result.
TOLERANCE = {"torch bf16": 0.15, "onnx int8": 0.3, "onnx int8 u8s8": 0.3, "onnx int8 u8u8": 0.3}


def build(built: Any, architecture: str, mode: str) -> Any:
    options: dict[str, Any] = {**MODES[mode], "onnx_cache_dir": str(built.onnx_cache)}
    return cross_encoder_from_spec(built.path(architecture), BackendConfig(max_length=128, options=options))


def relative_error(scores: list[float], reference: list[float]) -> float:
    spread = max(reference) - min(reference)
    return float(np.max(np.abs(np.subtract(scores, reference)))) / spread


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_mode_matches_sentence_transformers(
    built: Any, architecture: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    reference = built.reference(architecture)
    assert max(reference) - min(reference) > 0.5, f"the tiny {architecture} scores every document alike"
    onnx_cross_encoder._U8S8_WARNED.clear()  # the saturation warning is once per process
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        backend = build(built, architecture, mode)
        scores = backend.score(QUERY, DOCS)
    assert len(scores) == len(DOCS)
    if mode == "onnx int8 u8s8" and u8s8_saturates_here():
        # a CPU without VNNI: u8s8 saturates here (up to 117% relative error on the AVX2-only EPYC), so an
        # explicit request warns instead of promising accuracy; the format this CPU gets is checked as "onnx int8"
        assert any("can saturate" in r.getMessage() for r in caplog.records if r.name == "rankwise")
        assert all(math.isfinite(s) for s in scores)
    elif mode in ("default", "torch fp32", "onnx fp32"):
        assert scores == pytest.approx(reference, abs=EXACT_TOLERANCE, rel=0)
    else:
        assert relative_error(scores, reference) <= TOLERANCE[mode]
        spread = max(reference) - min(reference)
        for i in range(len(DOCS)):
            for j in range(len(DOCS)):
                if reference[i] - reference[j] > 2 * TOLERANCE[mode] * spread:
                    assert scores[i] > scores[j], (DOCS[i], DOCS[j])
    if mode == "default":  # every architecture here exports: the default is ONNX fp32, silently
        assert backend.name.endswith("#onnx-fp32")
        assert not [r for r in caplog.records if r.name == "rankwise"]


QUANTIZED = ("DynamicQuantizeMatMul", "MatMulInteger")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_int8_keeps_first_layer_feed_forward_outputs_and_head_fp32(built: Any, architecture: str) -> None:
    """Recipe v5 on every architecture's export, whatever its node names (BERT's, DistilBERT's, ModernBERT's,
    a decoder's): the first layer, each layer's feed-forward output projection and the head stay fp32."""
    import onnx

    backend = build(built, architecture, "onnx int8 u8u8")
    nodes = onnx.load(str(backend.model_path)).graph.node
    fp32 = [n.name for n in nodes if n.op_type in ("MatMul", "Gemm")]
    quantized = [n.name for n in nodes if n.op_type in QUANTIZED]
    index = lambda name: next((p.split(".")[1] for p in name.split("/") if p.startswith("layer")), None)  # noqa: E731
    layers = sorted({index(n) for n in fp32 + quantized} - {None}, key=int)
    assert len(layers) >= 2, (architecture, fp32, quantized)
    assert not [n for n in quantized if index(n) == "0"], "the first layer is quantized"
    assert [n for n in quantized if index(n) is None] == [], "the head is quantized"
    # a fused attention (named Attention_N, not by layer) is fp32 in the first layer only
    attention = [n.op_type for n in nodes if n.op_type in ("Attention", "QAttention")]
    assert attention in ([], ["Attention"] + ["QAttention"] * (len(layers) - 1)), attention
    for later in layers[1:]:
        assert [n for n in quantized if index(n) == later], f"layer {later} has nothing quantized"
        kept = [n for n in fp32 if index(n) == later]
        assert any("/output/dense/" in n or "/lin2/" in n or "/Wo/" in n or "/down_proj/" in n for n in kept), kept
