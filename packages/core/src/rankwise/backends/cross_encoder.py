"""Cross-encoders (``cross-encoder:<hub id or local path>``) on torch, in fp32 or bf16; ONNX modes dispatch out.

Modes are chosen with ``backend_options`` (see `CROSS_ENCODER_MODES`):

- ``{"backend": "torch", "precision": "fp32"}`` — exact: the same scores as sentence-transformers'
  ``CrossEncoder.predict`` (within float32 rounding of a different batch composition).
- ``{"backend": "torch", "precision": "bf16"}`` — bf16 matrix multiplies with fp32 accumulation
  (``torch.autocast``); the classifier head and the scores stay float32.
- ``{"backend": "onnx", "precision": "fp32" | "int8"}`` — ONNX Runtime, see `rankwise.backends.onnx_cross_encoder`.

With no options a CPU run gets `DEFAULT_CPU_MODE`, picked by measurement (docs/benchmarks.md, "Speed").
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.backends.base import Backend, BackendConfig, Normalization
from rankwise.backends.pair_batches import pair_batches

CROSS_ENCODER_MODES: dict[str, tuple[str, ...]] = {"torch": ("fp32", "bf16"), "onnx": ("fp32", "int8")}
# What ``cross-encoder:X`` runs with no backend/precision options on a CPU (measured: docs/benchmarks.md, "Speed"):
# ONNX fp32 ranks exactly like torch fp32 (scores within 1e-4) at about twice its speed; int8 is faster still
# but moved nDCG@10 by more than 0.005 on SciFact with the benchmark model, so it is opt-in. Without
# onnxruntime installed the default is torch fp32, which gives the same scores.
DEFAULT_CPU_MODE: dict[str, str] = {"backend": "onnx", "precision": "fp32"}
# Texts the Reranker hands over per ``score`` call: enough to bucket by token length, bounded memory.
TEXTS_PER_CALL = 256


def resolve_mode(options: Mapping[str, Any], device: str | None) -> tuple[str, str]:
    """The ``(backend, precision)`` pair that ``options`` ask for, or the default one for ``device``.

    >>> resolve_mode({}, None) in {('onnx', 'fp32'), ('torch', 'fp32')}  # torch when onnxruntime is missing
    True
    >>> resolve_mode({"precision": "bf16"}, None)
    ('torch', 'bf16')
    >>> resolve_mode({}, "cuda")
    ('torch', 'fp32')
    """
    backend = options.get("backend")
    precision = options.get("precision")
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


class CrossEncoderBackend:
    """Raw relevance logits of a cross-encoder run with torch (fp32 or bf16).

    Scores are the model's logits (one label) or the difference of the "relevant"
    and "irrelevant" logits (two labels), as float32 cast to float; the `Reranker`
    applies the model's own activation (``sigmoid`` for the usual one-label
    rerankers, so scores lie in [0, 1]) unless told otherwise. Pairs are tokenized
    once per call and batched by token length, each batch padded to its own
    longest pair. Build it through a spec to get the measured CPU default (ONNX
    fp32); ask for this class's modes by name:

    >>> from rankwise import Reranker
    >>> rr = Reranker("cross-encoder:path/to/model", backend_options={"backend": "torch", "precision": "bf16"})
    >>> backend = CrossEncoderBackend("path/to/tiny-cross-encoder")  # doctest: +SKIP
    >>> backend.score("query", ["a document"])  # doctest: +SKIP
    [-1.23]
    """

    default_normalization: Normalization = "sigmoid"
    max_batch_size = TEXTS_PER_CALL

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 16,
        max_length: int = 512,
        precision: str = "fp32",
        num_threads: int | None = None,
        max_tokens_per_batch: int | None = None,
        trust_remote_code: bool = False,
        **model_kwargs: Any,
    ) -> None:
        resolve_mode({"backend": "torch", "precision": precision}, device)
        st = require("sentence_transformers", extra="cross-encoder", purpose="the cross-encoder backend")
        torch = require("torch", extra="cross-encoder", purpose="the cross-encoder backend")
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        self._torch = torch
        self.name = f"cross-encoder:{model}" + ("" if precision == "fp32" else f"#{precision}")
        self.precision = precision
        self.max_length = max_length
        self.batch_size = batch_size
        self.max_tokens_per_batch = max_tokens_per_batch
        self.model = st.CrossEncoder(
            model,
            device=device,
            max_length=max_length,
            trust_remote_code=trust_remote_code,
            activation_fn=torch.nn.Identity(),
            **model_kwargs,
        )
        self.model.eval()
        self.num_labels = int(self.model.num_labels)
        check_num_labels(model, self.num_labels)
        default = self.model.get_default_activation_fn()
        self.default_normalization = (
            "sigmoid" if self.num_labels == 2 or isinstance(default, torch.nn.Sigmoid) else "none"
        )
        self._device = self.model.device

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> Backend:
        """Build the backend the options ask for: this class for torch modes, the ONNX one otherwise."""
        options = dict(config.options)
        backend, precision = resolve_mode(options, config.device)
        options.pop("backend", None)
        options["precision"] = precision
        if backend == "onnx":
            from rankwise.backends.onnx_cross_encoder import OnnxCrossEncoderBackend

            return OnnxCrossEncoderBackend(
                model, batch_size=_forward_batch(config.batch_size), max_length=config.max_length, **options
            )
        return cls(
            model,
            device=config.device,
            batch_size=_forward_batch(config.batch_size),
            max_length=config.max_length,
            **options,
        )

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        if self.precision == "bf16":
            with self._torch.autocast(device_type=self._device.type, dtype=self._torch.bfloat16):
                yield
        else:
            yield

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        torch = self._torch
        scores = np.empty(len(texts), dtype=np.float32)
        batches = pair_batches(
            self.model.tokenizer,
            query,
            texts,
            max_length=self.max_length,
            batch_size=self.batch_size,
            max_tokens=self.max_tokens_per_batch,
        )
        with torch.inference_mode(), self._precision():
            for batch in batches:
                features = {k: torch.from_numpy(v).to(self._device) for k, v in batch.arrays.items()}
                logits = self.model(features)["scores"].float().cpu().numpy()
                scores[batch.positions] = logits_to_scores(logits, self.num_labels)
        return [float(s) for s in scores]


def _forward_batch(batch_size: int) -> int:
    """Pairs per forward pass: the Reranker's default of 32 is slower than 16 on CPUs (measured)."""
    return 16 if batch_size == 32 else batch_size
