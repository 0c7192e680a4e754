"""Export a sequence classifier to ONNX once, check it, quantize it, and keep the files in an on-disk cache.

A cache entry is one directory, keyed by `model_fingerprint` (the model's content or hub commit, its
``revision``, the export recipe and opset). Every file in it is written to a temporary name and moved
into place (``os.replace``), so a crash or a full disk never leaves half a file under a real name;
``model_config.json`` is written before ``model.onnx``, and an entry counts only when ``model.onnx``
exists and ``model_config.json`` parses (the rule sqlite applies to its journal: a commit is the last,
atomic step). An incomplete or corrupt entry is treated as missing and rebuilt.

An architecture that cannot be exported, or whose export does not reproduce the torch logits, raises
`ModeUnavailableError` (naming the architecture and the mode), never the exporter's or ONNX Runtime's
own error; the default mode records that outcome in ``export-failed.json`` in the same entry, so later
processes go straight to torch.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.backends.encoders.cross_encoder_modes import ModeUnavailableError
from rankwise.backends.encoders.model_identity import model_fingerprint

EXPORT_VERSION = 3  # bump when the export recipe changes: old cache entries are then ignored
OPSET = 17
MODEL_FILE = "model.onnx"
CONFIG_FILE = "model_config.json"
FAILED_FILE = "export-failed.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
SELF_CHECK_ATOL = 1e-4


class OnnxCacheError(ModeUnavailableError, OSError):  # type: ignore[misc]
    """The ONNX cache directory cannot be written (read-only, missing permissions, disk full).

    Pass another ``onnx_cache_dir`` in ``backend_options`` (or set ``RANKWISE_CACHE_DIR``), or use the torch
    backend, which needs no cache.
    """


def default_cache_dir() -> Path:
    """``$RANKWISE_CACHE_DIR/onnx``, else ``~/.cache/rankwise/onnx``.

    >>> default_cache_dir().name
    'onnx'
    """
    root = os.environ.get("RANKWISE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rankwise")
    return Path(root) / "onnx"


def entry_dir(model: str, cache_dir: str | os.PathLike[str] | None = None, *, revision: str | None = None) -> Path:
    """The cache entry of ``model``'s export: one directory per model content (or hub commit) and recipe."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    extra = (f"export-v{EXPORT_VERSION}", f"opset{OPSET}")
    key = (
        model_fingerprint(model, *extra, revision=revision)
        if revision is not None
        else model_fingerprint(model, *extra)
    )
    return root / key


def atomic_write(write: Callable[[Path], None], target: Path, *, suffix: str = ".tmp") -> None:
    """Run ``write(tmp_path)`` in ``target``'s directory, then move the file into place.

    Readers see the old file or the whole new one, never a part: a crash or a full disk leaves only a
    temporary file, which is removed.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> atomic_write(lambda p: p.write_text("{}"), target)
    >>> target.read_text()
    '{}'
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def read_entry_config(directory: Path) -> dict[str, Any] | None:
    """The saved model config of a complete entry, or ``None`` when the entry is missing or incomplete."""
    if not (directory / MODEL_FILE).is_file():
        return None
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, half written (disk full), not UTF-8
        return None
    return config if isinstance(config, dict) and "model_type" in config else None


def recorded_failure(directory: Path) -> str | None:
    """Why an earlier process found this entry's export unusable, if it recorded that."""
    try:
        record = json.loads((directory / FAILED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(record.get("cause")) if isinstance(record, dict) and record.get("cause") else None


def record_failure(directory: Path, error: ModeUnavailableError) -> bool:
    """Write ``export-failed.json`` so later processes skip the export; ``False`` if the cache is not writable."""
    record = {"architecture": error.architecture, "mode": error.mode, "cause": str(error)}
    try:
        atomic_write(lambda p: _write_text(p, json.dumps(record)), directory / FAILED_FILE)
    except OSError:
        return False
    return True


def architecture_of(config: Any) -> str:
    """The class name a config declares (``Qwen2ForSequenceClassification``), else its ``model_type``."""
    names = getattr(config, "architectures", None) or []
    return str(names[0]) if names else str(getattr(config, "model_type", "unknown"))


def _short(exc: BaseException) -> str:
    line = next((part.strip() for part in str(exc).splitlines() if part.strip()), "")
    return f"{type(exc).__name__}: {line[:300]}"


def export_onnx(
    model: str,
    directory: Path,
    *,
    trust_remote_code: bool = False,
    revision: str | None = None,
    mode: str = "onnx fp32",
    local_files_only: bool = False,
) -> Path:
    """``directory/model.onnx`` (fused fp32 where the fusion keeps the logits) unless the entry is complete.

    Raises `ModeUnavailableError` when the architecture cannot be exported or its export does not reproduce
    the torch model's logits (within 1e-4, padding included), and `OnnxCacheError` when the entry cannot be
    written; both name ``mode``, the mode that needed the export.
    """
    target = directory / MODEL_FILE
    if read_entry_config(directory) is not None:
        return target
    load: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    load |= {"revision": revision} if revision is not None else {}
    load |= {"local_files_only": True} if local_files_only else {}
    export = _Export.load(model, load, mode)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        config_json = export.hf.config.to_json_string()
        atomic_write(lambda p: _write_text(p, config_json), directory / CONFIG_FILE)
        atomic_write(export.write, target, suffix=".onnx.tmp")
    except OSError as exc:
        raise OnnxCacheError(
            f"cannot write the ONNX export of {model!r} to {directory} ({_short(exc)}): pass a writable "
            "backend_options['onnx_cache_dir'] (or set RANKWISE_CACHE_DIR), or use backend_options={'backend': 'torch'}",
            backend=f"cross-encoder:{model}",
            architecture=export.architecture,
            mode=mode,
        ) from exc
    return target


@dataclass
class _Export:
    """One model on its way to ONNX: the torch model, its inputs, and the logits the export must reproduce."""

    model: str
    mode: str
    hf: Any
    architecture: str
    names: list[str]
    sample: Any
    feeds: dict[str, Any]
    expected: Any

    @classmethod
    def load(cls, model: str, load: dict[str, Any], mode: str) -> _Export:
        torch = require("torch", extra="onnx", purpose="exporting a cross-encoder to ONNX")
        transformers = require("transformers", extra="onnx", purpose="exporting a cross-encoder to ONNX")
        require("onnx", extra="onnx", purpose="exporting a cross-encoder to ONNX")
        with quiet_loading():
            hf = transformers.AutoModelForSequenceClassification.from_pretrained(
                model, attn_implementation="eager", **load
            )
            tokenizer = transformers.AutoTokenizer.from_pretrained(model, **load)
        hf.eval()
        architecture = architecture_of(hf.config)
        if getattr(hf.config, "use_cache", None):
            hf.config.use_cache = False  # decoder classifiers would return a DynamicCache, which the tracer rejects
        accepted = set(inspect.signature(hf.forward).parameters)
        sample = tokenizer(["a query"], ["a document to score"], return_tensors="pt")
        names = [n for n in INPUT_NAMES if n in sample and n in accepted]
        check = tokenizer(
            ["a longer query about cells", "q"],
            ["a document to score, somewhat longer than the other one", "d"],
            padding=True,
            return_tensors="pt",
        )
        export = cls(model, mode, hf, architecture, names, sample, {}, None)
        try:
            with torch.inference_mode():
                export.expected = hf(**{n: check[n] for n in names}).logits.float().numpy()
        except Exception as exc:
            raise export.unavailable(f"its torch forward on a padded batch failed ({_short(exc)})") from exc
        export.feeds = {n: check[n].numpy().astype(np.int64) for n in names}
        return export

    def unavailable(self, why: str) -> ModeUnavailableError:
        return ModeUnavailableError(
            f"{self.architecture} ({self.model!r}) cannot run in mode {self.mode}: {why}",
            backend=f"cross-encoder:{self.model}",
            architecture=self.architecture,
            mode=self.mode,
        )

    def write(self, path: Path) -> None:
        """Export, fuse where the fusion keeps the logits, and check the result against torch's logits."""
        with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            raw = Path(scratch) / "raw.onnx"
            self._trace(raw)
            _fuse(raw, path, self.hf.config)
            if not _runs_like(path, self.feeds, self.expected):  # the fusion changed the arithmetic: keep the plain
                path.write_bytes(raw.read_bytes())
            error = _self_check_error(path, self.feeds, self.expected)
            if error is not None:
                raise self.unavailable(f"the export does not reproduce the torch model's logits ({error})")

    def _trace(self, raw: Path) -> None:
        torch = require("torch", extra="onnx", purpose="exporting a cross-encoder to ONNX")
        axes = {n: {0: "batch", 1: "sequence"} for n in self.names} | {"logits": {0: "batch"}}
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
                torch.onnx.export(
                    self.hf,
                    (),
                    str(raw),
                    kwargs={n: self.sample[n] for n in self.names},
                    input_names=self.names,
                    output_names=["logits"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
        except OSError:
            raise
        except Exception as exc:
            raise self.unavailable(f"the ONNX export failed ({_short(exc)})") from exc


def _fuse(raw: Path, target: Path, config: Any) -> None:
    """Fuse attention/GELU/layer norm for BERT-like encoders; other architectures are saved as exported."""
    try:
        from onnxruntime.transformers import optimizer

        heads = int(getattr(config, "num_attention_heads", 0))
        hidden = int(getattr(config, "hidden_size", 0))
        with _root_log_muted():
            fused = optimizer.optimize_model(
                str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
            )
        fused.save_model_to_file(str(target))
    except Exception:  # an architecture the fuser does not know: the plain export still runs
        target.write_bytes(raw.read_bytes())


def session_feeds(session: Any, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays a session takes: exporters drop inputs a graph does not use (DeBERTa-v2's token types)."""
    wanted = {i.name for i in session.get_inputs()}
    return {name: value for name, value in arrays.items() if name in wanted}


def _self_check_error(path: Path, feeds: Mapping[str, Any], expected: Any) -> str | None:
    """``None`` when ONNX Runtime on ``path`` gives ``expected`` logits within 1e-4, else what went wrong."""
    ort = require("onnxruntime", extra="onnx", purpose="the ONNX cross-encoder backend")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (logits,) = session.run(["logits"], session_feeds(session, feeds))
    except Exception as exc:  # ONNX Runtime rejects the graph or its inputs
        return _short(exc)
    logits = np.asarray(logits)
    if logits.shape != np.shape(expected):
        return f"logits of shape {logits.shape}, torch gives {np.shape(expected)}"
    delta = float(np.max(np.abs(logits - expected))) if logits.size else 0.0
    return None if delta <= SELF_CHECK_ATOL else f"max |logit difference| {delta:.2e} > {SELF_CHECK_ATOL:g}"


def _runs_like(path: Path, feeds: Mapping[str, Any], expected: Any) -> bool:
    """Whether ONNX Runtime on ``path`` gives ``expected`` logits (padding included) within 1e-4."""
    return _self_check_error(path, feeds, expected) is None


# How the exports of each family name a layer's feed-forward output projection (the MatMul after the
# activation), its layers, and the head's projections (node names follow the torch module paths).
FEED_FORWARD_OUTPUT_SUFFIXES = (
    "/output/dense/MatMul",  # BERT, RoBERTa, XLM-RoBERTa, ELECTRA, DeBERTa-v2 (not the attention's output)
    "/ffn/lin2/MatMul",  # DistilBERT
    "/mlp/Wo/MatMul",  # ModernBERT
    "/mlp/down_proj/MatMul",  # Qwen2, Gemma, Llama-style decoders
)
FIRST_LAYER_SEGMENTS = ("/layer.0/", "/layers.0/")
HEAD_PREFIXES = ("/pooler/", "/pre_classifier/", "/classifier/", "/head/", "/score/")


def feed_forward_outputs(graph: Path) -> list[str]:
    """Names of the feed-forward output MatMuls (one per layer) of an ONNX export, in graph order.

    These are the projections after the activation (``…/layer.N/output/dense/MatMul`` in a BERT export, not the
    attention output's; ``FEED_FORWARD_OUTPUT_SUFFIXES`` for DistilBERT, ModernBERT and decoders); an export
    whose node names follow another scheme has none.
    """
    onnx = require("onnx", extra="onnx", purpose="int8 quantization")
    return [
        node.name
        for node in onnx.load(str(graph), load_external_data=False).graph.node
        if node.op_type == "MatMul"
        and node.name.endswith(FEED_FORWARD_OUTPUT_SUFFIXES)
        and "/attention/" not in node.name
    ]


def first_layer_and_head(graph: Path) -> list[str]:
    """Names of the first layer's nodes and the classification head's in an ONNX export.

    The first layer: its fused ``Attention`` node (the first in graph order, where the BERT fusion made one)
    and its MatMuls (``…/layer.0/…`` or ``…/layers.0/…``); the head: each ``Gemm`` (pooler, classifier) under
    its own name and under the name ONNX Runtime's dynamic quantization gives it after rewriting it into a
    MatMul (``<name>_MatMul``, `onnxruntime.quantization.onnx_model` 1.32), so that excluding it excludes it,
    and the MatMuls of the head's modules (``HEAD_PREFIXES``: a decoder's ``score``, ModernBERT's ``head``).
    An export whose names follow another scheme has only its ``Gemm`` heads here.
    """
    onnx = require("onnx", extra="onnx", purpose="int8 quantization")
    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    attention = [n.name for n in nodes if n.op_type == "Attention"][:1]
    matmuls = [n.name for n in nodes if n.op_type == "MatMul"]
    first_layer = [name for name in matmuls if any(segment in name for segment in FIRST_LAYER_SEGMENTS)]
    head = [name for name in matmuls if name.startswith(HEAD_PREFIXES)]
    gemms = [n.name for n in nodes if n.op_type == "Gemm"]
    return [*attention, *first_layer, *head, *gemms, *(f"{name}_MatMul" for name in gemms)]


def quantize_int8(
    fp32: Path, target: Path, *, keep_fp32: Sequence[str] = (), weight_type: str = "QInt8", reduce_range: bool = False
) -> None:
    """Write ``target``: ``fp32`` with int8 weights (per channel) in each MatMul and Attention not in ``keep_fp32``.

    Activations are quantized to uint8 per batch at run time (``quantize_dynamic``); ``weight_type``
    ``"QInt8"`` gives ONNX Runtime's U8S8 kernels, ``"QUInt8"`` its U8U8 ones; ``reduce_range`` keeps
    weights to 7 bits.
    """
    quantization = require("onnxruntime.quantization", extra="onnx", purpose="int8 quantization")
    with _root_log_muted():
        quantization.quantize_dynamic(
            str(fp32),
            str(target),
            weight_type=getattr(quantization.QuantType, weight_type),
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=list(keep_fp32),
            extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT, for ops of the fused domain
        )


class _Drop(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _root_log_muted() -> Iterator[None]:
    """Silence what ONNX Runtime's tools log on the root logger ("consider pre-processing", type inference notes)."""
    root = logging.getLogger()
    drop = _Drop()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' and huggingface_hub's weight-loading progress bars for the duration."""
    from rankwise.backends.encoders.model_source import quiet_progress_bars

    with quiet_progress_bars():
        yield
