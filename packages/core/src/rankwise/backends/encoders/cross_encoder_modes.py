"""Cross-encoder modes and what every cross-encoder runtime shares: the default mode, labels, logits to scores.

Modes are chosen with ``backend_options`` (see `CROSS_ENCODER_MODES`):

- ``{"backend": "torch", "precision": "fp32"}`` — exact: the same scores as sentence-transformers'
  ``CrossEncoder.predict`` (within float32 rounding of a different batch composition).
- ``{"backend": "torch", "precision": "bf16"}`` — bf16 matrix multiplies with fp32 accumulation.
- ``{"backend": "onnx", "precision": "fp32" | "int8"}`` — ONNX Runtime.

With no options (or ``precision="auto"``) a CPU run gets `DEFAULT_CPU_MODE`, picked by measurement
(docs/benchmarks.md, "Speed"); "auto" never picks bf16, and an explicit bf16 on a CPU without bf16 hardware
(AVX512-BF16 or AMX, see `rankwise.cpu_features`) logs one warning: there it is emulated, and was measured
5x slower than fp32 (AMD EPYC, AVX2 only).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rankwise.backends.base import LogitScores, Normalization
from rankwise.errors import BackendError

CROSS_ENCODER_MODES: dict[str, tuple[str, ...]] = {"torch": ("fp32", "bf16"), "onnx": ("fp32", "int8")}
# What ``cross-encoder:X`` runs with no backend/precision options on a CPU (measured: docs/benchmarks.md, "Speed"):
# ONNX fp32 ranks exactly like torch fp32 (scores within 1e-4) at about twice its speed; int8 is faster still
# but moved nDCG@10 by more than 0.005 on SciFact with the benchmark model, so it is opt-in. Without
# onnxruntime installed the default is torch fp32, which gives the same scores.
DEFAULT_CPU_MODE: dict[str, str] = {"backend": "onnx", "precision": "fp32"}


class ModeUnavailableError(BackendError):
    """A cross-encoder mode cannot run this model's architecture (its ONNX export fails or is not exact).

    ``architecture`` is the model's class (``Qwen2ForSequenceClassification``), ``mode`` the mode asked for
    (``"onnx fp32"``); the message says which other mode to use.

    >>> err = ModeUnavailableError("no", backend="cross-encoder:m", architecture="BertModel", mode="onnx int8")
    >>> (err.architecture, err.mode, isinstance(err, RuntimeError))
    ('BertModel', 'onnx int8', True)
    """

    def __init__(self, message: str, *, backend: str, architecture: str, mode: str) -> None:
        if "backend_options" not in message:
            message += "; torch runs every architecture: backend_options={'backend': 'torch'}"
        super().__init__(message, backend=backend)
        self.architecture = architecture
        self.mode = mode


# Texts the Reranker hands over per ``score`` call: enough to bucket by token length, bounded memory.
TEXTS_PER_CALL = 256


class CrossEncoderScores(LogitScores):
    """What both cross-encoder runtimes (torch, ONNX) declare and keep: raw logits (``sigmoid`` unless the
    model's own activation says otherwise: each instance sets ``default_normalization``), at most
    `TEXTS_PER_CALL` texts per ``score`` call, and how each call is batched. Each runtime scores (query, text)
    pairs in ``score_pairs``, whose queries may differ (`rankwise.backends.capabilities.PairScoring`: what
    `rankwise serve` packs concurrent requests' pairs through); ``score`` is its pairs with one query."""

    max_batch_size = TEXTS_PER_CALL

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return self.score_pairs([(query, text) for text in texts])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One raw score per ``(query, text)`` pair, in order (each runtime's own)."""
        raise NotImplementedError(f"{type(self).__name__} does not define score_pairs")

    def _keep_settings(self, name: str, precision: str, batch_size: int, max_tokens_per_batch: int | None) -> None:
        self.name = name
        self.precision = precision
        self.batch_size = batch_size
        self.max_tokens_per_batch = max_tokens_per_batch


def resolve_mode(options: Mapping[str, Any], device: str | None) -> tuple[str, str]:
    """The ``(backend, precision)`` pair that ``options`` ask for, or the default one for ``device``.

    >>> resolve_mode({}, None) in {('onnx', 'fp32'), ('torch', 'fp32')}  # torch when onnxruntime is missing
    True
    >>> resolve_mode({"precision": "bf16"}, None)
    ('torch', 'bf16')
    >>> resolve_mode({}, "cuda")
    ('torch', 'fp32')
    >>> resolve_mode({"precision": "auto"}, None) == resolve_mode({}, None)
    True
    """
    backend = options.get("backend")
    precision = options.get("precision")
    if precision == "auto":
        precision = None
    on_cpu = device is None or str(device).startswith("cpu")
    if backend is None:
        if precision is None and on_cpu:
            if DEFAULT_CPU_MODE["backend"] == "onnx" and importlib.util.find_spec("onnxruntime") is None:
                return "torch", "fp32"
            return DEFAULT_CPU_MODE["backend"], DEFAULT_CPU_MODE["precision"]
        backend = "onnx" if precision == "int8" else "torch"
    if backend not in CROSS_ENCODER_MODES:
        raise ValueError(f"backend_options['backend'] must be one of {list(CROSS_ENCODER_MODES)}, got {backend!r}")
    if precision is None:
        precision = "fp32"
    if precision not in CROSS_ENCODER_MODES[backend]:
        allowed = ", ".join(f"{b}: {list(p)}" for b, p in CROSS_ENCODER_MODES.items())
        raise ValueError(f"precision {precision!r} is not available with backend {backend!r} (available: {allowed})")
    return backend, precision


_BF16_WARNED = threading.Event()


def warn_if_bf16_is_emulated(device_type: str) -> bool:
    """Log once per process that bf16 runs emulated on this CPU (no AVX512-BF16, no AMX); ``True`` if it is.

    >>> isinstance(warn_if_bf16_is_emulated("cuda"), bool)
    True
    """
    from rankwise.cpu_features import cpu_features

    features = cpu_features()
    if device_type != "cpu" or features.native_bf16:
        return False
    if not _BF16_WARNED.is_set():
        _BF16_WARNED.set()
        logging.getLogger("rankwise").warning(
            "precision='bf16' on %s, which has no bf16 hardware (AVX512-BF16 or AMX): bf16 is emulated and "
            "was measured 5x slower than fp32 on such a CPU; leave precision unset (or 'auto') for the fastest "
            "exact mode",
            features.model or "this CPU",
        )
    return True


def default_normalization_of(model_config: Any, num_labels: int) -> Normalization:
    """``sigmoid`` unless the model's sentence-transformers config names another (identity) activation."""
    if num_labels == 2:
        return "sigmoid"
    st_config = getattr(model_config, "sentence_transformers", None)
    path = st_config.get("activation_fn") if isinstance(st_config, dict) else None
    path = path or getattr(model_config, "sbert_ce_default_activation_function", None)
    if path is None or str(path).endswith("Sigmoid"):
        return "sigmoid"
    return "none"


def check_num_labels(model: str, num_labels: int) -> None:
    if num_labels > 2:
        raise ValueError(f"{model!r} has {num_labels} output labels; a reranker needs 1 (a relevance logit) or 2")


def logits_to_scores(logits: np.ndarray[Any, Any], num_labels: int) -> np.ndarray[Any, Any]:
    """One float32 score per row: the logit, or relevant minus irrelevant for two-label models."""
    logits = np.asarray(logits, dtype=np.float32).reshape(len(logits), -1)
    return logits[:, 1] - logits[:, 0] if num_labels == 2 else logits[:, 0]
