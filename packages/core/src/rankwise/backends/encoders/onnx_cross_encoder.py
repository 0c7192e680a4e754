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

import logging
import os
import platform
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.backends.encoders.cross_encoder_modes import (
    CrossEncoderScores,
    ModeUnavailableError,
    check_num_labels,
    default_normalization_of,
    logits_to_scores,
)
from rankwise.backends.encoders.model_source import ModelSource, resolve_model_source
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
    first_layer_and_head,
    quantize_int8,
    quiet_loading,
    read_entry_config,
    session_feeds,
)
from rankwise.backends.encoders.pair_batches import CPU_TOKENS_PER_BATCH, pair_batches
from rankwise.cpu_features import CpuFeatures

__all__ = [
    "EXPORT_VERSION",
    "INT8_FORMATS",
    "OPSET",
    "OnnxCrossEncoderBackend",
    "_runs_like",
    "default_cache_dir",
    "export_onnx",
    "feed_forward_outputs",
    "first_layer_and_head",
    "int8_file",
    "int8_format_for",
    "quantize_int8",
    "quantize_onnx",
]

_EXPORT_LOCK = threading.Lock()
INT8_RECIPE = "v5"  # renamed when the recipe changes, so an old quantization is not reused
# v5 is v4 with the node names of DistilBERT, ModernBERT and decoder exports: on BERT, RoBERTa, XLM-RoBERTa,
# ELECTRA and DeBERTa-v2 exports both keep the same nodes fp32, so the int8 graph (and any result) is v4's
INT8_RECIPE_SAME_ON_BERT = ("v4", "v5")


@dataclass(frozen=True)
class Int8Format:
    """How the int8 model's weights are stored, which picks ONNX Runtime's kernels.

    Activations are always uint8 (dynamic quantization); ``weight_type`` ``"QInt8"`` gives U8S8 kernels,
    ``"QUInt8"`` U8U8 ones, and ``reduce_range`` keeps weights to 7 bits.
    """

    name: str
    weight_type: str
    reduce_range: bool
    why: str


U8S8 = Int8Format("u8s8", "QInt8", False, "VNNI (or ARM dot products) sums u8 x s8 products in 32 bits: no saturation")
U8U8 = Int8Format(
    "u8u8",
    "QUInt8",
    False,
    "x86 without VNNI: ONNX Runtime's U8S8 kernels sum pairs of u8 x s8 products in 16 bits (VPMADDUBSW), "
    "which saturates; its U8U8 kernels widen to 16 bits first (VPMADDWD) and do not",
)
U8S8_REDUCED = Int8Format(
    "u8s7",
    "QInt8",
    True,
    "x86 without VNNI, ONNX Runtime's other remedy: 7-bit weights keep every 16-bit pair sum in range",
)
INT8_FORMATS = {f.name: f for f in (U8S8, U8U8, U8S8_REDUCED)}


def int8_format_for(features: CpuFeatures) -> Int8Format:
    """The int8 format for a CPU, per ONNX Runtime's quantization guidance (docs: "Quantize ONNX models").

    With VNNI (AVX512-VNNI or AVX-VNNI) or on ARM (dot-product instructions), U8S8; on x86 without VNNI
    (AVX2-only and AVX-512 without VNNI), U8U8, which ORT advises for the saturation U8S8 suffers there.
    U8U8 and 7-bit U8S8 compute exactly (no saturation) on every CPU, so their accuracy measured on one
    machine is their accuracy on all (docs/benchmarks.md, "int8 per CPU class").

    >>> from rankwise.cpu_features import CpuFeatures
    >>> int8_format_for(CpuFeatures("EPYC 7B13", frozenset({"avx2"}))).name
    'u8u8'
    >>> int8_format_for(CpuFeatures("Xeon 8481C", frozenset({"avx2", "avx512f", "avx512_vnni"}))).name
    'u8s8'
    """
    x86 = bool({"avx2", "avx512f"} & features.flags) or platform.machine().lower() in ("x86_64", "amd64", "i686")
    if features.has_vnni or not x86:
        return U8S8
    return U8U8


def warn_if_u8s8_saturates() -> bool:
    """Log once per process that U8S8 saturates on this CPU (x86 without VNNI); ``True`` if it does.

    The twin of `warn_if_bf16_is_emulated`, for an explicit ``int8_format="u8s8"``: on the AVX2-only AMD EPYC
    the architecture matrix saw up to 117% relative error with it.
    """
    from rankwise.cpu_features import cpu_features

    chosen = int8_format_for(cpu_features()).name
    if chosen == "u8s8":
        return False
    if not _U8S8_WARNED.is_set():
        _U8S8_WARNED.set()
        logging.getLogger("rankwise").warning(
            "int8_format='u8s8' on a CPU without VNNI: ONNX Runtime's u8s8 kernels can saturate here and "
            "scores drift far from fp32; leave int8_format unset (this CPU's format is %r)",
            chosen,
        )
    return True


_U8S8_WARNED = threading.Event()


def int8_file(fmt: Int8Format) -> str:
    """``model.int8-v5-u8s8.onnx``: the recipe and the format in the name, so CPUs sharing a cache never mix them."""
    return f"model.int8-{INT8_RECIPE}-{fmt.name}.onnx"


def quantize_onnx(fp32: Path, *, architecture: str = "this model", fmt: Int8Format | None = None) -> Path:
    """The int8 model beside ``fp32``: per-channel int8 weights; feed-forward outputs, the first layer and
    the classification head kept in fp32.

    ``fmt`` defaults to `int8_format_for` this CPU. Every MatMul and fused Attention is quantized except
    each layer's feed-forward output projection (the MatMul after the activation, whose inputs have the
    widest range; `feed_forward_outputs`), the whole first layer and the head (`first_layer_and_head`), found
    by the node names of BERT-style, DistilBERT, ModernBERT and decoder (Qwen2, Gemma) exports. On the benchmark
    MiniLM-L6 cross-encoder, all 300 SciFact test queries × BM25 top 100 (`benchmarks/speed/int8_variants.py`,
    2026-12-04): with only the feed-forward outputs kept (recipe v3) nDCG@10 moved -0.0065 from fp32 (u8s8),
    with the first layer and head as well -0.0018 (u8s8) and -0.0049 (u8u8, which computes the same on
    every x86 CPU), for 8% of int8's time (recipe v4; v5 extends its node names beyond the BERT export and
    is the same graph there). Graphs whose node names follow none of those schemes keep only their ``Gemm``
    heads in fp32.
    """
    if fmt is None:
        from rankwise.cpu_features import cpu_features

        fmt = int8_format_for(cpu_features())
    target = fp32.with_name(int8_file(fmt))
    if target.exists():
        return target
    keep_fp32 = sorted({*feed_forward_outputs(fp32), *first_layer_and_head(fp32)})
    where = {"backend": str(fp32), "architecture": architecture, "mode": "onnx int8"}  # what either error names
    try:
        atomic_write(
            lambda path: quantize_int8(
                fp32, path, keep_fp32=keep_fp32, weight_type=fmt.weight_type, reduce_range=fmt.reduce_range
            ),
            target,
            suffix=".onnx.tmp",
        )
    except OSError as exc:
        raise OnnxCacheError(
            f"cannot write the int8 model to {target.parent} ({exc}): pass a writable backend_options['onnx_cache_dir']",
            **where,
        ) from exc
    except Exception as exc:  # the quantizer does not handle this graph
        raise ModeUnavailableError(
            f"{architecture} cannot run in mode onnx int8: quantization failed ({type(exc).__name__}: {exc})", **where
        ) from exc
    return target


class OnnxCrossEncoderBackend(CrossEncoderScores):
    """Raw relevance logits of a cross-encoder run by ONNX Runtime (``precision="fp32"`` or ``"int8"``).

    Same scores contract as `CrossEncoderBackend`: the logit (one label) or the
    "relevant" minus "irrelevant" logit (two labels), float32. fp32 matches torch
    within 1e-4; int8 keeps rankings close (measured nDCG@10 in docs/benchmarks.md).
    A forward pass holds at most ``batch_size`` pairs and ``max_tokens_per_batch``
    padded tokens (unset: `CPU_TOKENS_PER_BATCH`).

    >>> from rankwise import Reranker
    >>> rr = Reranker("cross-encoder:path/to/model", backend_options={"backend": "onnx", "precision": "int8"})
    >>> backend = OnnxCrossEncoderBackend("path/to/tiny-cross-encoder", precision="fp32")  # doctest: +SKIP
    >>> backend.score("query", ["a document"])  # doctest: +SKIP
    [-1.23]
    """

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
        int8_format: str | None = None,
    ) -> None:
        if precision not in ("fp32", "int8"):
            raise ValueError(f"the onnx backend runs precision 'fp32' or 'int8', got {precision!r}")
        if int8_format is not None and int8_format not in INT8_FORMATS:
            raise ValueError(
                f"int8_format must be one of {list(INT8_FORMATS)} (or unset: this CPU's), got {int8_format!r}"
            )
        if precision == "int8" and int8_format == "u8s8":
            warn_if_u8s8_saturates()
        source = resolve_model_source(model, revision=revision)
        transformers = require("transformers", extra="onnx", purpose="the ONNX cross-encoder backend")
        tokens_per_batch = CPU_TOKENS_PER_BATCH if max_tokens_per_batch is None else max_tokens_per_batch
        self._keep_settings(f"cross-encoder:{model}#onnx-{precision}", precision, batch_size, tokens_per_batch)
        self.directory = entry_dir(source.name, onnx_cache_dir, revision=revision)
        load = {"trust_remote_code": trust_remote_code, **source.load_kwargs()}
        load |= {"revision": revision} if revision is not None else {}
        config = self._prepare(source, load, int8_format)
        self.num_labels = int(config.num_labels)
        check_num_labels(model, self.num_labels)
        self.default_normalization = default_normalization_of(config, self.num_labels)
        with quiet_loading():
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source.name, **load)
        model_limit = int(getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self.max_length = min(max_length, model_limit, int(getattr(config, "max_position_embeddings", max_length)))
        self._session = self._open_session(num_threads)

    def _prepare(self, source: ModelSource, load: dict[str, Any], int8_format: str | None) -> Any:
        """Export (and quantize) once per cache entry; set ``model_path`` and ``architecture``, return the config."""
        transformers = require("transformers", extra="onnx", purpose="the ONNX cross-encoder backend")
        mode = f"onnx {self.precision}"

        def export() -> Path:
            return export_onnx(
                source.name,
                self.directory,
                trust_remote_code=bool(load["trust_remote_code"]),
                revision=load.get("revision"),
                mode=mode,
                local_files_only=source.local_files_only,
            )

        with _EXPORT_LOCK:
            path = export()
            saved = read_entry_config(self.directory)
            if saved is None:  # removed or damaged by another process since the export: export again
                path = export()
                saved = read_entry_config(self.directory) or {}
            config = transformers.AutoConfig.for_model(**saved)
            self.architecture = architecture_of(config)
            if self.precision == "int8":
                fmt = INT8_FORMATS[int8_format] if int8_format is not None else None
                path = quantize_onnx(path, architecture=self.architecture, fmt=fmt)
        self.model_path = path
        return config

    def _open_session(self, num_threads: int | None) -> Any:
        ort = require("onnxruntime", extra="onnx", purpose="the ONNX cross-encoder backend")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        try:
            return ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a cached file ONNX Runtime cannot load
            raise ModeUnavailableError(
                f"{self.architecture} ({self.name}) cannot run in mode onnx {self.precision}: ONNX Runtime cannot "
                f"load {self.model_path} ({type(exc).__name__}); delete {self.directory} to export again",
                backend=self.name,
                architecture=self.architecture,
                mode=f"onnx {self.precision}",
            ) from exc

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Scores of ``(query, text)`` pairs whose queries may differ, bucketed by token length together."""
        scores = np.empty(len(pairs), dtype=np.float32)
        batches = pair_batches(
            self.tokenizer,
            pairs,
            max_length=self.max_length,
            batch_size=self.batch_size,
            max_tokens=self.max_tokens_per_batch,
        )
        for batch in batches:
            (logits,) = self._session.run(["logits"], session_feeds(self._session, batch.arrays))
            scores[batch.positions] = logits_to_scores(logits, self.num_labels)
        return [float(s) for s in scores]
