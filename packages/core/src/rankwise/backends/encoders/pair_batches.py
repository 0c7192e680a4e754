"""Tokenize (query, text) pairs once and cut them into token-length buckets with dynamic padding.

The pairs may belong to different queries (`rankwise.backends.capabilities.PairScoring`): a row's
tokens do not depend on the other rows, and each batch is padded to its own longest row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

# Padded tokens per forward pass on a CPU when the caller sets no limit. Batches of ~1,000 tokens keep
# a layer's activations (tokens x 1,536 floats in a MiniLM feed-forward: 6 MB) in the CPU's caches
# while every matrix multiply still has 1,000 rows, plenty for any GEMM kernel. Measured on an AVX2-only
# EPYC (benchmarks/speed/onnx_anatomy.py): 1 query x 100 mixed SciFact passages took 14% less time than
# 16 rows a batch, on ONNX Runtime and torch alike; 512-1,536 tokens all did about as well.
CPU_TOKENS_PER_BATCH = 1024


def rows_per_batch(longest: int, batch_size: int, max_tokens: int | None) -> int:
    """Rows of a batch whose longest row has ``longest`` tokens: at most ``batch_size`` and ``max_tokens`` in all.

    >>> rows_per_batch(300, 16, 1024), rows_per_batch(20, 16, 1024), rows_per_batch(2000, 16, 1024)
    (3, 16, 1)
    """
    if max_tokens is None:
        return batch_size
    return max(1, min(batch_size, max_tokens // max(longest, 1)))


@dataclass(frozen=True)
class PairBatch:
    """One padded batch: ``positions`` are the indices of its rows in the caller's text list.

    >>> batch = PairBatch(np.array([1, 0]), {"input_ids": np.zeros((2, 3), dtype=np.int64)})
    >>> batch.positions.tolist(), batch.arrays["input_ids"].shape
    ([1, 0], (2, 3))
    """

    positions: npt.NDArray[np.intp]
    arrays: dict[str, IntArray]


def pair_batches(
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    max_length: int,
    batch_size: int,
    max_tokens: int | None = None,
) -> Iterator[PairBatch]:
    """Yield batches of tokenized ``(query, text)`` pairs, longest first, each padded only to its own longest row.

    ``positions`` index ``pairs``. The tokenizer sees every pair exactly once (``truncation="longest_first"``, as
    sentence-transformers does). A batch holds at most ``batch_size`` rows and, when
    ``max_tokens`` is set, at most that many padded tokens, so short texts travel in
    larger batches than long ones.
    """
    if not pairs:
        return
    encoded = tokenizer(
        [query for query, _ in pairs],
        [text for _, text in pairs],
        truncation="longest_first",
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
    )
    ids: list[list[int]] = encoded["input_ids"]
    types: list[list[int]] | None = encoded.get("token_type_ids")
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-lengths, kind="stable")
    pad_id = int(tokenizer.pad_token_id or 0)
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        rows = rows_per_batch(longest, batch_size, max_tokens)
        positions = order[start : start + rows]
        start += rows
        input_ids = np.full((len(positions), longest), pad_id, dtype=np.int64)
        mask = np.zeros((len(positions), longest), dtype=np.int64)
        token_types = np.zeros((len(positions), longest), dtype=np.int64)
        for row, index in enumerate(positions):
            n = int(lengths[index])
            input_ids[row, :n] = ids[index]
            mask[row, :n] = 1
            if types is not None:
                token_types[row, :n] = types[index]
        arrays = {"input_ids": input_ids, "attention_mask": mask}
        if types is not None:
            arrays["token_type_ids"] = token_types
        yield PairBatch(positions, arrays)
