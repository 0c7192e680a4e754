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


def matmul_peak(dtype: str, size: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Best and median GFLOP/s of a ``size``² matrix multiply in ``dtype`` (torch, this process's threads)."""
    import torch

    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(size, size, dtype=torch_dtype)
    b = torch.randn(size, size, dtype=torch_dtype)
    torch.mm(a, b)  # warm-up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    return {"best_gflops": max(rates), "median_gflops": statistics.median(rates)}
