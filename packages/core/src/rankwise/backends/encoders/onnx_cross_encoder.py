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

import json
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.backends.base import Normalization
from rankwise.backends.encoders.cross_encoder_modes import (
    TEXTS_PER_CALL,
    check_num_labels,
    default_normalization_of,
    logits_to_scores,
)
from rankwise.backends.encoders.model_identity import model_fingerprint
from rankwise.backends.encoders.pair_batches import pair_batches

EXPORT_VERSION = 2  # bump when the export recipe changes: old cache entries are then ignored
OPSET = 17
_EXPORT_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """``$RANKWISE_CACHE_DIR/onnx``, else ``~/.cache/rankwise/onnx``."""
    root = os.environ.get("RANKWISE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rankwise")
    return Path(root) / "onnx"


def _atomic_save(write: Any, target: Path) -> None:
    """Run ``write(tmp_path)`` then move the file into place, so readers never see half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def export_onnx(model: str, directory: Path, *, trust_remote_code: bool = False) -> Path:
    """Export ``model`` to ``directory/model.onnx`` (fused fp32) unless it is already there."""
    target = directory / "model.onnx"
    if target.exists():
        return target
    torch = require("torch", extra="onnx", purpose="exporting a cross-encoder to ONNX")
    transformers = require("transformers", extra="onnx", purpose="exporting a cross-encoder to ONNX")
    require("onnx", extra="onnx", purpose="exporting a cross-encoder to ONNX")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(
        model, attn_implementation="eager", trust_remote_code=trust_remote_code
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    sample = tokenizer(["a query"], ["a document to score"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}

    def write_raw(path: Path) -> None:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                hf,
                (),
                str(path),
                kwargs={n: sample[n] for n in names},
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )

    check = tokenizer(
        ["a longer query about cells", "q"],
        ["a document to score, somewhat longer than the other one", "d"],
        padding=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        expected = hf(**{n: check[n] for n in names}).logits.float().numpy()

    def write_fused(path: Path) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "raw.onnx"
            write_raw(raw)
            _fuse(raw, path, hf.config)
            feeds = {n: check[n].numpy().astype(np.int64) for n in names}
            if not _runs_like(path, feeds, expected):  # a fusion that changed the arithmetic: keep the plain export
                path.write_bytes(raw.read_bytes())
            if not _runs_like(path, feeds, expected):
                raise RuntimeError(f"the ONNX export of {model!r} does not reproduce the torch model's logits")

    _atomic_save(write_fused, target)
    (directory / "model_config.json").write_text(hf.config.to_json_string())
    return target


def _fuse(raw: Path, target: Path, config: Any) -> None:
    """Fuse attention/GELU/layer norm for BERT-like encoders; other architectures are saved as exported."""
    try:
        from onnxruntime.transformers import optimizer

        heads = int(getattr(config, "num_attention_heads", 0))
        hidden = int(getattr(config, "hidden_size", 0))
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        fused.save_model_to_file(str(target))
    except Exception:  # an architecture the fuser does not know: the plain export still runs
        target.write_bytes(raw.read_bytes())


def _runs_like(path: Path, feeds: dict[str, Any], expected: Any) -> bool:
    """Whether ONNX Runtime on ``path`` gives ``expected`` logits (padding included) within 1e-4."""
    ort = require("onnxruntime", extra="onnx", purpose="the ONNX cross-encoder backend")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], feeds)
    return bool(np.allclose(logits, expected, atol=1e-4, rtol=0))


INT8_FILE = "model.int8-v2.onnx"  # renamed when the recipe changes, so an old quantization is not reused


def quantize_onnx(fp32: Path) -> Path:
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
    _atomic_save(lambda path: quantize_int8(fp32, path, keep_fp32=keep_fp32), target)
    return target


def feed_forward_outputs(graph: Path) -> list[str]:
    """Names of the feed-forward output MatMuls (one per layer) in a BERT-style ONNX export, in graph order.

    These are the projections after GELU (``…/layer.N/output/dense/MatMul``, not the attention output's);
    an export whose node names follow another scheme has none.
    """
    onnx = require("onnx", extra="onnx", purpose="int8 quantization")
    return [
        node.name
        for node in onnx.load(str(graph), load_external_data=False).graph.node
        if node.op_type == "MatMul" and node.name.endswith("/output/dense/MatMul") and "/attention/" not in node.name
    ]


def quantize_int8(fp32: Path, target: Path, *, keep_fp32: Sequence[str] = ()) -> None:
    """Write ``target``: ``fp32`` with int8 weights (per channel) in each MatMul and Attention not in ``keep_fp32``.

    Activations are quantized per batch at run time (``quantize_dynamic``).
    """
    quantization = require("onnxruntime.quantization", extra="onnx", purpose="int8 quantization")
    quantization.quantize_dynamic(
        str(fp32),
        str(target),
        weight_type=quantization.QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=list(keep_fp32),
        extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT, for ops of the fused domain
    )


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
    max_batch_size = TEXTS_PER_CALL

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        max_length: int = 512,
        precision: str = "int8",
        num_threads: int | None = None,
        max_tokens_per_batch: int | None = None,
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if precision not in ("fp32", "int8"):
            raise ValueError(f"the onnx backend runs precision 'fp32' or 'int8', got {precision!r}")
        ort = require("onnxruntime", extra="onnx", purpose="the ONNX cross-encoder backend")
        transformers = require("transformers", extra="onnx", purpose="the ONNX cross-encoder backend")
        self.name = f"cross-encoder:{model}#onnx-{precision}"
        self.precision = precision
        self.batch_size = batch_size
        self.max_tokens_per_batch = max_tokens_per_batch
        directory = Path(onnx_cache_dir) if onnx_cache_dir is not None else default_cache_dir()
        directory = directory / model_fingerprint(model, f"export-v{EXPORT_VERSION}", f"opset{OPSET}")
        with _EXPORT_LOCK:
            path = export_onnx(model, directory, trust_remote_code=trust_remote_code)
            if precision == "int8":
                path = quantize_onnx(path)
        self.model_path = path
        config = transformers.AutoConfig.for_model(**json.loads((directory / "model_config.json").read_text()))
        self.num_labels = int(config.num_labels)
        check_num_labels(model, self.num_labels)
        self.default_normalization = default_normalization_of(config, self.num_labels)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        model_limit = int(getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self.max_length = min(max_length, model_limit, int(getattr(config, "max_position_embeddings", max_length)))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
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
            feeds = {k: v for k, v in batch.arrays.items() if k in self._inputs}
            (logits,) = self._session.run(["logits"], feeds)
            scores[batch.positions] = logits_to_scores(logits, self.num_labels)
        return [float(s) for s in scores]
