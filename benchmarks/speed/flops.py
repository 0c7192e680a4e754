"""Model FLOPs of a BERT-style cross-encoder on given pairs, and the machine's measured matmul peak."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any


def pair_lengths(tokenizer: Any, query: str, docs: Sequence[str], max_length: int) -> list[int]:
    """Real (unpadded) token counts of each (query, doc) pair, truncated like sentence-transformers."""
    ids = tokenizer([query] * len(docs), list(docs), truncation="longest_first", max_length=max_length)["input_ids"]
    return [len(row) for row in ids]


def model_flops(config: Any, lengths: Sequence[int]) -> float:
    """Forward FLOPs on the real tokens: 2 x matmul parameters per token, plus attention scores and mixing.

    Per layer and token: Q, K, V and output projections 8h², feed-forward 4·h·i, attention 4·n·h
    (QKᵀ and AV over the n tokens of its sequence). Embedding lookups, norms and the head are ignored.
    """
    h, i, layers = int(config.hidden_size), int(config.intermediate_size), int(config.num_hidden_layers)
    dense = 8 * h * h + 4 * h * i
    return float(sum(layers * n * (dense + 4 * n * h) for n in lengths))


# The model's dominant GEMM: one feed-forward projection of 16 pairs x 256 tokens (h=384 -> i=1536).
FFN_SHAPE = (4096, 384, 1536)


def _rates(run: Any, flops: float, repeats: int) -> dict[str, float]:
    run()  # warm-up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        rates.append(flops / (time.perf_counter() - started) / 1e9)
    return {"best_gflops": max(rates), "median_gflops": statistics.median(rates)}


def ort_matmul_peak(precision: str, shape: tuple[int, int, int] = FFN_SHAPE, repeats: int = 7) -> dict[str, Any]:
    """GFLOP/s of one ``M x K`` by ``K x N`` MatMul through ONNX Runtime, in the arithmetic a mode uses.

    ``precision`` ``"fp32"``: a float MatMul (what the ONNX fp32 mode runs); ``"int8"``: the same graph through
    ``quantize_dynamic`` with this CPU's int8 format (``rankwise``'s choice: U8S8 with VNNI, U8U8 without),
    so activations are quantized per call exactly as in the int8 mode. ONNX Runtime's default thread count.
    """
    import tempfile
    from pathlib import Path

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from rankwise.backends.encoders.onnx_cross_encoder import int8_format_for
    from rankwise.backends.encoders.onnx_export import quantize_int8
    from rankwise.cpu_features import cpu_features

    m, k, n = shape
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="peak/MatMul")],
        "peak",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    fmt = int8_format_for(cpu_features())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fp32.onnx"
        onnx.save(model, str(path))
        if precision == "int8":
            quantized = Path(tmp) / "int8.onnx"
            quantize_int8(path, quantized, weight_type=fmt.weight_type, reduce_range=fmt.reduce_range)
            path = quantized
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((m, k)).astype(np.float32)
    out = _rates(lambda: session.run(None, {"X": x}), 2.0 * m * k * n, repeats)
    return {
        **out,
        "shape": list(shape),
        "runtime": "onnxruntime",
        **({"int8_format": fmt.name} if precision == "int8" else {}),
    }


def torch_matmul_peak(dtype: str, shape: tuple[int, int, int] = FFN_SHAPE, repeats: int = 7) -> dict[str, Any]:
    """GFLOP/s of the same ``M x K`` by ``K x N`` product in torch, as the torch modes compute it.

    ``fp32``: ``torch.nn.functional.linear`` in float32; ``bf16``: the same call under
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` on float32 tensors, which is what the bf16 mode runs (a
    plain bf16 ``torch.mm`` takes another, much slower kernel on a CPU without native bf16). This process's
    threads.
    """
    import contextlib

    import torch

    m, k, n = shape
    x = torch.randn(m, k)
    weight = torch.randn(n, k)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()

    def run() -> None:
        with torch.inference_mode(), autocast:
            torch.nn.functional.linear(x, weight)

    out = _rates(run, 2.0 * m * k * n, repeats)
    return {**out, "shape": list(shape), "runtime": "torch" + (" autocast" if dtype == "bf16" else "")}


def all_peaks() -> dict[str, dict[str, Any]]:
    """The four peaks a speed table divides by: torch fp32 and bf16, ONNX Runtime fp32 and int8."""
    return {
        "torch fp32": torch_matmul_peak("fp32"),
        "torch bf16": torch_matmul_peak("bf16"),
        "onnx fp32": ort_matmul_peak("fp32"),
        "onnx int8": ort_matmul_peak("int8"),
    }
