"""Every architecture through every cross-encoder mode, against sentence-transformers' ``predict``.

Exact modes (the default, torch fp32, ONNX fp32) give ``predict``'s logits within 1e-4. Approximate modes
(torch bf16, ONNX int8) move a logit by at most `APPROXIMATE_TOLERANCE` of the spread of ``predict``'s
logits over the documents, so any two documents further apart than twice that keep their order. The
bound is one number for every CPU: it does not depend on the instruction set. A mode that cannot run an
architecture must raise `ModeUnavailableError` naming both; none of the nine does today.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from core_support import load_module

from rankwise.backends.base import BackendConfig
from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec

tiny_models = load_module(Path(__file__).with_name("tiny_models.py"), "architecture_tiny_models")
QUERY, DOCS = tiny_models.QUERY, tiny_models.DOCS
ARCHITECTURES = list(tiny_models.BUILDERS)
MODES: dict[str, dict[str, str]] = {
    "default": {},
    "torch fp32": {"backend": "torch", "precision": "fp32"},
    "torch bf16": {"backend": "torch", "precision": "bf16"},
    "onnx fp32": {"backend": "onnx", "precision": "fp32"},
    "onnx int8": {"backend": "onnx", "precision": "int8"},
}
EXACT_TOLERANCE = 1e-4
# Largest |logit - predict's logit| / spread of predict's logits, over the nine tiny models (weights drawn
# with initializer_range 0.5, far rougher than a trained model's): bf16 measured up to 0.09, int8 up to 0.16
# (AVX-512 VNNI, U8S8 weights; see docs/cross-encoders.md for the table). The bound leaves room for the
# other int8 formats a CPU may get (U8U8 or reduced-range weights where there is no VNNI).
APPROXIMATE_TOLERANCE = 0.25


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
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        backend = build(built, architecture, mode)
        scores = backend.score(QUERY, DOCS)
    assert len(scores) == len(DOCS)
    if mode in ("default", "torch fp32", "onnx fp32"):
        assert scores == pytest.approx(reference, abs=EXACT_TOLERANCE, rel=0)
    else:
        assert relative_error(scores, reference) <= APPROXIMATE_TOLERANCE
        spread = max(reference) - min(reference)
        for i in range(len(DOCS)):
            for j in range(len(DOCS)):
                if reference[i] - reference[j] > 2 * APPROXIMATE_TOLERANCE * spread:
                    assert scores[i] > scores[j], (DOCS[i], DOCS[j])
    if mode == "default":  # every architecture here exports: the default is ONNX fp32, silently
        assert backend.name.endswith("#onnx-fp32")
        assert not [r for r in caplog.records if r.name == "rankwise"]
