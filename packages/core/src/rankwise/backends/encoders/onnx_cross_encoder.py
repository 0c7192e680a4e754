"""Cross-encoders on ONNX Runtime, fp32 or int8, exported once and cached on disk.

The first use of a model exports it with ``torch.onnx.export(..., dynamo=False)``,
fuses it with ONNX Runtime's transformer optimizer (attention, GELU, layer norm),
and, for ``precision="int8"``, quantizes its matrix multiplies with
``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations
quantized per batch at run time). The files go to ``onnx_cache_dir``
(default ``$RANKWISE_CACHE_DIR/onnx`` or ``~/.cache/rankwise/onnx``), keyed by
the model's identity, so later processes load them in a second.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rankwise._optional import require
from rankwise.backends.base import Normalization
from rankwise.backends.encoders.cross_encoder_modes import (
    TEXTS_PER_CALL,
    ModeUnavailableError,
    check_num_labels,
    default_normalization_of,
    logits_to_scores,
)
from rankwise.backends.encoders.onnx_export import (
    EXPORT_VERSION,
    OPSET,
    OnnxCacheError,
    _runs_like,
    architecture_of,
    atomic_write,
    default_cache_dir,
    entry_dir,
    export_onnx,
    feed_forward_outputs,
    quantize_int8,
    quiet_loading,
    read_entry_config,
    session_feeds,
)
from rankwise.backends.encoders.pair_batches import pair_batches

__all__ = [
    "EXPORT_VERSION",
    "INT8_FILE",
    "OPSET",
    "OnnxCrossEncoderBackend",
    "_runs_like",
    "default_cache_dir",
    "export_onnx",
    "feed_forward_outputs",
    "quantize_int8",
    "quantize_onnx",
]

_EXPORT_LOCK = threading.Lock()
INT8_FILE = "model.int8-v2.onnx"  # renamed when the recipe changes, so an old quantization is not reused


def quantize_onnx(fp32: Path, *, architecture: str = "this model") -> Path:
    """``model.int8-v2.onnx`` beside ``fp32``: per-channel int8 weights, feed-forward outputs kept in fp32.

    Every MatMul and fused Attention is quantized except each layer's feed-forward output projection
    (the MatMul after GELU, whose activations have the widest range): keeping those 6 of 24 in fp32
    lowered the mean |logit error| from 0.211 to 0.126 on the benchmark model (SciFact, 1,000 pairs)
    for about 18% of int8's speed; keeping a single layer's lowered it at most to 0.174 (measured
    2026-11-25, `benchmarks/speed/int8_variants.py`; nDCG@10 on all 300 SciFact test queries with
    every MatMul quantized moved -0.0056 from fp32, just outside the 0.005 bar). Graphs whose node
    names do not follow the BERT export have every MatMul quantized.
    """
    target = fp32.with_name(INT8_FILE)
    if target.exists():
        return target
    keep_fp32 = feed_forward_outputs(fp32)
    try:
        atomic_write(lambda path: quantize_int8(fp32, path, keep_fp32=keep_fp32), target, suffix=".onnx.tmp")
    except OSError as exc:
        raise OnnxCacheError(
            f"cannot write the int8 model to {target.parent} ({exc}): pass a writable backend_options['onnx_cache_dir']",
            backend=str(fp32),
            architecture=architecture,
            mode="onnx int8",
        ) from exc
    except Exception as exc:  # the quantizer does not handle this graph
        raise ModeUnavailableError(
            f"{architecture} cannot run in mode onnx int8: quantization failed ({type(exc).__name__}: {exc})",
            backend=str(fp32),
            architecture=architecture,
            mode="onnx int8",
        ) from exc
    return target


class OnnxCrossEncoderBackend:
    """Raw relevance logits of a cross-encoder run by ONNX Runtime (``precision="fp32"`` or ``"int8"``).

    Same scores contract as `CrossEncoderBackend`: the logit (one label) or the
    "relevant" minus "irrelevant" logit (two labels), float32. fp32 matches torch
    within 1e-4; int8 keeps rankings close (measured nDCG@10 in docs/benchmarks.md).

    >>> from rankwise import Reranker
    >>> rr = Reranker("cross-encoder:path/to/model", backend_options={"backend": "onnx", "precision": "int8"})
    >>> backend = OnnxCrossEncoderBackend("path/to/tiny-cross-encoder", precision="fp32")  # doctest: +SKIP
    >>> backend.score("query", ["a document"])  # doctest: +SKIP
    [-1.23]
    """

    default_normalization: Normalization = "sigmoid"
    score_kind = "logit"
    max_batch_size = TEXTS_PER_CALL

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        max_length: int = 512,
        precision: str = "fp32",
        num_threads: int | None = None,
        max_tokens_per_batch: int | None = None,
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
    ) -> None:
        if precision not in ("fp32", "int8"):
            raise ValueError(f"the onnx backend runs precision 'fp32' or 'int8', got {precision!r}")
        ort = require("onnxruntime", extra="onnx", purpose="the ONNX cross-encoder backend")
        transformers = require("transformers", extra="onnx", purpose="the ONNX cross-encoder backend")
        self.name = f"cross-encoder:{model}#onnx-{precision}"
        self.precision = precision
        self.batch_size = batch_size
        self.max_tokens_per_batch = max_tokens_per_batch
        self.directory = entry_dir(model, onnx_cache_dir, revision=revision)

        def export() -> Path:
            return export_onnx(
                model, self.directory, trust_remote_code=trust_remote_code, revision=revision, mode=f"onnx {precision}"
            )

        with _EXPORT_LOCK:
            path = export()
            saved = read_entry_config(self.directory)
            if saved is None:  # removed or damaged by another process since the export: export again
                path = export()
                saved = read_entry_config(self.directory) or {}
            config = transformers.AutoConfig.for_model(**saved)
            self.architecture = architecture_of(config)
            if precision == "int8":
                path = quantize_onnx(path, architecture=self.architecture)
        self.model_path = path
        self.num_labels = int(config.num_labels)
        check_num_labels(model, self.num_labels)
        self.default_normalization = default_normalization_of(config, self.num_labels)
        load = {"trust_remote_code": trust_remote_code, **({"revision": revision} if revision is not None else {})}
        with quiet_loading():
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(model, **load)
        model_limit = int(getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self.max_length = min(max_length, model_limit, int(getattr(config, "max_position_embeddings", max_length)))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a cached file ONNX Runtime cannot load
            raise ModeUnavailableError(
                f"{self.architecture} ({model!r}) cannot run in mode onnx {precision}: ONNX Runtime cannot load "
                f"{path} ({type(exc).__name__}); delete {self.directory} to export again",
                backend=self.name,
                architecture=self.architecture,
                mode=f"onnx {precision}",
            ) from exc
        self._inputs = {i.name for i in self._session.get_inputs()}

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        scores = np.empty(len(texts), dtype=np.float32)
        batches = pair_batches(
            self.tokenizer,
            query,
            texts,
            max_length=self.max_length,
            batch_size=self.batch_size,
            max_tokens=self.max_tokens_per_batch,
        )
        for batch in batches:
            (logits,) = self._session.run(["logits"], session_feeds(self._session, batch.arrays))
            scores[batch.positions] = logits_to_scores(logits, self.num_labels)
        return [float(s) for s in scores]
