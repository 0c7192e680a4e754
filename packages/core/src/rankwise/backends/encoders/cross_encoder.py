"""Cross-encoders (``cross-encoder:<hub id or local path>``) on torch, in fp32 or bf16.

Other modes (ONNX fp32/int8) and the default: `rankwise.backends.encoders.cross_encoder_modes`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rankwise._optional import require
from rankwise.backends.encoders.cross_encoder_modes import (
    CrossEncoderScores,
    check_num_labels,
    logits_to_scores,
    resolve_mode,
    warn_if_bf16_is_emulated,
)
from rankwise.backends.encoders.model_source import check_device, quiet_progress_bars, resolve_model_source
from rankwise.backends.encoders.pair_batches import CPU_TOKENS_PER_BATCH, pair_batches


class CrossEncoderBackend(CrossEncoderScores):
    """Raw relevance logits of a cross-encoder run with torch (fp32 or bf16).

    Scores are the model's logits (one label) or the difference of the "relevant"
    and "irrelevant" logits (two labels), as float32 cast to float; the `Reranker`
    applies the model's own activation (``sigmoid`` for the usual one-label
    rerankers, so scores lie in [0, 1]) unless told otherwise. Pairs are tokenized
    once per call and batched by token length, each batch padded to its own
    longest pair and holding at most ``batch_size`` pairs and, when set,
    ``max_tokens_per_batch`` padded tokens (unset: `CPU_TOKENS_PER_BATCH` on a
    CPU, no token limit on an accelerator). Build it through a spec to get the measured CPU default (ONNX
    fp32); ask for this class's modes by name:

    >>> from rankwise import Reranker
    >>> rr = Reranker("cross-encoder:path/to/model", backend_options={"backend": "torch", "precision": "bf16"})
    >>> backend = CrossEncoderBackend("path/to/tiny-cross-encoder")  # doctest: +SKIP
    >>> backend.score("query", ["a document"])  # doctest: +SKIP
    [-1.23]
    """

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
        _, precision = resolve_mode({"backend": "torch", "precision": precision}, device)  # "auto" is fp32
        source = resolve_model_source(model, revision=model_kwargs.get("revision"))
        check_device(device)
        st = require("sentence_transformers", extra="cross-encoder", purpose="the cross-encoder backend")
        torch = require("torch", extra="cross-encoder", purpose="the cross-encoder backend")
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        self._torch = torch
        name = f"cross-encoder:{model}" + ("" if precision == "fp32" else f"#{precision}")
        self._keep_settings(name, precision, batch_size, max_tokens_per_batch)
        self.max_length = max_length
        with quiet_progress_bars():
            self.model = st.CrossEncoder(
                source.name,
                device=device,
                max_length=max_length,
                trust_remote_code=trust_remote_code,
                activation_fn=torch.nn.Identity(),
                **source.load_kwargs(),
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
        if max_tokens_per_batch is None and self._device.type == "cpu":
            self.max_tokens_per_batch = CPU_TOKENS_PER_BATCH
        if precision == "bf16":
            warn_if_bf16_is_emulated(self._device.type)

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        if self.precision == "bf16":
            with self._torch.autocast(device_type=self._device.type, dtype=self._torch.bfloat16):
                yield
        else:
            yield

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Scores of ``(query, text)`` pairs whose queries may differ, bucketed by token length together."""
        torch = self._torch
        scores = np.empty(len(pairs), dtype=np.float32)
        batches = pair_batches(
            self.model.tokenizer,
            pairs,
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
