"""A sentence-transformers bi-encoder run by ONNX Runtime: exported once, loaded without torch.

The first use of a model loads it with sentence-transformers, exports its transformer with
``torch.onnx.export(..., dynamo=False)`` (token embeddings out), fuses attention/GELU/layer norm
with ONNX Runtime's optimizer when that keeps the numbers, checks the export against
sentence-transformers (cosine within 1e-4 of fp32), and saves it with the model's tokenizer
(``tokenizer.json``) and a manifest (pooling, maximum length, lower-casing). Every later process
loads that cache entry with ``onnxruntime`` and ``tokenizers`` only, never importing torch,
transformers or sentence-transformers; pooling and normalisation run in numpy.

An entry lives in ``onnx_cache_dir`` (default ``$RANKWISE_CACHE_DIR/onnx/bi-encoder`` or
``~/.cache/rankwise/onnx/bi-encoder``) under the model's `model_fingerprint` (its files' content, or
the hub commit), so a changed model never reuses an old export. An entry is written in a scratch
directory and renamed into place, manifest last: a half-written entry is never read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import require
from rankwise.backends.encoders.model_identity import model_fingerprint
from rankwise.backends.encoders.model_source import quiet_progress_bars
from rankwise.backends.encoders.pair_batches import CPU_TOKENS_PER_BATCH, rows_per_batch

Vectors = npt.NDArray[np.float32]
EXPORT_VERSION = 2  # bump when the recipe changes: old entries are then ignored (2: eager attention, fusable)
OPSET = 17
MANIFEST = "manifest.json"
_EXPORT_LOCK = threading.Lock()
# SDPA attention exports as MatMul/Softmax with NaN guards that ONNX Runtime's fuser leaves alone; eager
# attention exports the pattern it fuses into one Attention operator per layer (MiniLM-L6 on an AVX2-only
# EPYC: 100 abstracts 5.5 s -> 4.4 s, same embeddings within the 1e-4 self-check)
_EXPORT_ATTENTION = {"attn_implementation": "eager"}
_CHECK_TEXTS = [
    "a query",
    "A longer sentence about cells, proteins and the immune system, to check padding.",
    "Ünïcode and punctuation: 1,000 mice (n = 12) — p < 0.05!",
]


def default_cache_dir() -> Path:
    """``$RANKWISE_CACHE_DIR/onnx/bi-encoder``, else ``~/.cache/rankwise/onnx/bi-encoder``."""
    root = os.environ.get("RANKWISE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rankwise")
    return Path(root) / "onnx" / "bi-encoder"


class OnnxSentenceEncoder:
    """Unit-length sentence embeddings of a sentence-transformers model, computed by ONNX Runtime in fp32.

    Same numbers as ``SentenceTransformer(model).encode(texts, normalize_embeddings=True)`` within
    1e-4 cosine (checked when the export is made). Mean or CLS pooling; other poolings raise
    ``ValueError`` (use the torch runtime).

    >>> encoder = OnnxSentenceEncoder("path/to/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> encoder.encode(["a cat purrs"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        model: str,
        *,
        max_length: int = 512,
        num_threads: int | None = None,
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        ort = require("onnxruntime", extra="onnx", purpose="the ONNX bi-encoder runtime")
        tokenizers = require("tokenizers", extra="onnx", purpose="the ONNX bi-encoder runtime")
        root = Path(onnx_cache_dir) if onnx_cache_dir is not None else default_cache_dir()
        self.directory = root / model_fingerprint(model, f"bi-export-v{EXPORT_VERSION}", OPSET, revision=revision)
        with _EXPORT_LOCK:
            if not (self.directory / MANIFEST).is_file():
                export_sentence_encoder(model, self.directory, revision=revision, trust_remote_code=trust_remote_code)
        manifest = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        self.pooling: str = manifest["pooling"]
        self.lower_case: bool = bool(manifest["lower_case"])
        self.dimension: int = int(manifest["dimension"])
        self.max_length = min(int(max_length), int(manifest["max_seq_length"]))
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        self._session = ort.InferenceSession(
            str(self.directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._untruncated: Any = None
        self._one_thread: Any = self._session if num_threads == 1 else None
        self._one_thread_lock = threading.Lock()

    def _single_thread_session(self) -> Any:
        """A second session on one intra-op thread, for one short text (made on first use).

        A query's encode is too small to split across threads: on the shared 2-core machine it took a
        median 34 ms on one thread against 64 ms on the default two (benchmarks/embedded_latency.py --profile).
        """
        with self._one_thread_lock:
            if self._one_thread is None:
                ort = require("onnxruntime", extra="onnx", purpose="the ONNX bi-encoder runtime")
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.intra_op_num_threads = 1
                self._one_thread = ort.InferenceSession(
                    str(self.directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
            return self._one_thread

    def token_ends(self, text: str) -> list[int]:
        """End offsets (in characters) of the tokens of ``text``, untruncated, special tokens excluded."""
        if self._untruncated is None:
            tokenizers = require("tokenizers", extra="onnx", purpose="the ONNX bi-encoder runtime")
            plain = tokenizers.Tokenizer.from_file(str(self.directory / "tokenizer.json"))
            plain.no_padding()
            plain.no_truncation()
            self._untruncated = plain
        encoding = self._untruncated.encode(text.lower() if self.lower_case else text, add_special_tokens=False)
        return [int(end) for _, end in encoding.offsets]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        max_tokens: int | None = CPU_TOKENS_PER_BATCH,
        single_thread: bool = False,
    ) -> Vectors:
        """Unit-length embeddings of ``texts`` (float32, one row per text), batched by token length.

        A batch holds at most ``batch_size`` texts and ``max_tokens`` padded tokens (``None``: no token
        limit). ``single_thread``: run on a one-thread session (for a single short text such as a query).
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        session = self._single_thread_session() if single_thread else self._session
        encodings = self.tokenizer.encode_batch([t.lower() if self.lower_case else t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        start = 0
        while start < len(order):
            width = len(encodings[order[start]].ids)  # the longest left: ``order`` is longest first
            rows = order[start : start + rows_per_batch(width, max(1, batch_size), max_tokens)]
            start += len(rows)
            feeds = {
                "input_ids": np.zeros((len(rows), width), dtype=np.int64),
                "attention_mask": np.zeros((len(rows), width), dtype=np.int64),
                "token_type_ids": np.zeros((len(rows), width), dtype=np.int64),
            }
            for r, i in enumerate(rows):
                enc = encodings[i]
                n = len(enc.ids)
                feeds["input_ids"][r, :n] = enc.ids
                feeds["attention_mask"][r, :n] = enc.attention_mask
                feeds["token_type_ids"][r, :n] = enc.type_ids
            (tokens,) = session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
            out[rows] = pool(np.asarray(tokens, dtype=np.float32), feeds["attention_mask"], self.pooling)
        return out


def pool(tokens: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str) -> Vectors:
    """Mean (over the attention mask) or CLS pooling, then unit length, as sentence-transformers does.

    >>> pool(np.array([[[3.0, 4.0], [9.0, 9.0]]], dtype=np.float32), np.array([[1, 0]]), "mean").tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    if mode == "cls":
        pooled = tokens[:, 0, :]
    else:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    result: Vectors = (pooled / norms).astype(np.float32)
    return result


def _pooling_of(st_model: Any) -> str:
    for module in st_model:
        if type(module).__name__ == "Pooling":
            mode = str(getattr(module, "pooling_mode", "") or "")
            if not mode:  # older sentence-transformers: one flag per mode
                flags = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}
                chosen = [m for m, flag in flags.items() if getattr(module, flag, False)]
                mode = chosen[0] if len(chosen) == 1 else "unsupported"
            if mode not in ("mean", "cls"):
                raise ValueError(
                    f"the ONNX bi-encoder runtime pools 'mean' or 'cls', not {mode!r}: use runtime 'torch'"
                )
            return mode
    raise ValueError("the model has no Pooling module: use the bi-encoder runtime 'torch'")


def export_sentence_encoder(
    model: str, directory: Path, *, revision: str | None = None, trust_remote_code: bool = False
) -> None:
    """Write ``directory`` (model.onnx, tokenizer.json, manifest.json) for ``model``, atomically.

    Raises ``OSError`` when the cache directory cannot be written and ``RuntimeError`` when no
    export reproduces sentence-transformers within 1e-4.
    """
    torch = require("torch", extra="onnx", purpose="exporting a bi-encoder to ONNX")
    st = require("sentence_transformers", extra="bi-encoder", purpose="exporting a bi-encoder to ONNX")
    require("onnx", extra="onnx", purpose="exporting a bi-encoder to ONNX")
    with quiet_progress_bars():
        encoder = st.SentenceTransformer(
            model, device="cpu", revision=revision, trust_remote_code=trust_remote_code, model_kwargs=_EXPORT_ATTENTION
        )
    pooling = _pooling_of(encoder)
    transformer = encoder[0]
    hf = transformer.auto_model.eval()
    tokenizer = encoder.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{model!r} has no fast tokenizer (tokenizer.json): use the bi-encoder runtime 'torch'")
    lower_case = bool(getattr(transformer, "do_lower_case", False))
    sample = tokenizer(["a document to embed"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    expected = encoder.encode(_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True, batch_size=8)
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    try:
        raw = scratch / "raw.onnx"
        _export_token_embeddings(torch, hf, sample, names, raw)
        tokenizer.backend_tokenizer.save(str(scratch / "tokenizer.json"))
        manifest = {
            "model": model,
            "revision": revision,
            "pooling": pooling,
            "lower_case": lower_case,
            "dimension": int(getattr(encoder, "get_embedding_dimension", encoder.get_sentence_embedding_dimension)()),
            "max_seq_length": int(encoder.max_seq_length or 512),
            "fused": False,
        }
        fused = scratch / "fused.onnx"
        if _fuse(raw, fused, hf.config) and _reproduces(fused, scratch, manifest, expected):
            os.replace(fused, scratch / "model.onnx")
            manifest["fused"] = True
        else:
            os.replace(raw, scratch / "model.onnx")
            if not _reproduces(scratch / "model.onnx", scratch, manifest, expected):
                raise RuntimeError(f"the ONNX export of {model!r} does not reproduce sentence-transformers within 1e-4")
        for leftover in (raw, fused):
            leftover.unlink(missing_ok=True)
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if directory.exists():  # an incomplete entry (no manifest) left by a process that died
            shutil.rmtree(directory, ignore_errors=True)
        os.replace(scratch, directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _export_token_embeddings(torch: Any, hf: Any, sample: Any, names: list[str], raw: Path) -> None:
    """``torch.onnx.export(..., dynamo=False)`` of the transformer, token embeddings out, dynamic batch and length."""

    class TokenEmbeddings(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, *inputs: Any) -> Any:
            return self.hf(**dict(zip(names, inputs, strict=True))).last_hidden_state

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            TokenEmbeddings(),
            tuple(sample[n] for n in names),
            str(raw),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "token_embeddings"]},
            opset_version=OPSET,
            dynamo=False,
        )


def _fuse(raw: Path, target: Path, config: Any) -> bool:
    """Fuse attention/GELU/layer norm for BERT-like encoders; False where the fuser does not apply."""
    try:
        from onnxruntime.transformers import optimizer

        heads = int(getattr(config, "num_attention_heads", 0))
        hidden = int(getattr(config, "hidden_size", 0))
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        fused.save_model_to_file(str(target))
        return True
    except Exception:  # an architecture the fuser does not know: the plain export still runs
        return False


def _reproduces(path: Path, scratch: Path, manifest: dict[str, Any], expected: Any) -> bool:
    """Whether ``path`` with the saved tokenizer gives sentence-transformers' embeddings within 1e-4 cosine."""
    ort = require("onnxruntime", extra="onnx", purpose="the ONNX bi-encoder runtime")
    tokenizers = require("tokenizers", extra="onnx", purpose="the ONNX bi-encoder runtime")
    probe = OnnxSentenceEncoder.__new__(OnnxSentenceEncoder)
    probe.pooling, probe.lower_case = manifest["pooling"], manifest["lower_case"]
    probe.dimension, probe.max_length = manifest["dimension"], manifest["max_seq_length"]
    probe.tokenizer = tokenizers.Tokenizer.from_file(str(scratch / "tokenizer.json"))
    probe.tokenizer.no_padding()
    probe.tokenizer.enable_truncation(max_length=probe.max_length)
    probe._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probe._inputs = [i.name for i in probe._session.get_inputs()]
    got = probe.encode(_CHECK_TEXTS, batch_size=2)  # two batches: padding inside one of them
    cosines = np.sum(got * np.asarray(expected, dtype=np.float32), axis=1)
    return bool(np.all(np.abs(1.0 - cosines) <= 1e-4) and np.allclose(got, expected, atol=1e-4, rtol=0))
