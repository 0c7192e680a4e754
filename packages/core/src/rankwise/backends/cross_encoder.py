"""sentence-transformers cross-encoders (``cross-encoder:<hub id or local path>``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankwise._optional import require
from rankwise.backends.base import BackendConfig, Normalization


class CrossEncoderBackend:
    """Raw relevance logits of a sentence-transformers ``CrossEncoder``.

    Scores are the model's logits (one label) or the difference of the
    "relevant" and "irrelevant" logits (two labels), as float32 cast to float;
    the `Reranker` applies the model's own activation (``sigmoid`` for the
    usual one-label rerankers, so scores lie in [0, 1]) unless told otherwise.

    >>> backend = CrossEncoderBackend("path/to/tiny-cross-encoder")  # doctest: +SKIP
    >>> backend.score("query", ["a document"])  # doctest: +SKIP
    [-1.23]
    """

    default_normalization: Normalization = "sigmoid"

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        trust_remote_code: bool = False,
        **model_kwargs: Any,
    ) -> None:
        st = require("sentence_transformers", extra="cross-encoder", purpose="the cross-encoder backend")
        torch = require("torch", extra="cross-encoder", purpose="the cross-encoder backend")
        self._torch = torch
        self.name = f"cross-encoder:{model}"
        self.max_length = max_length
        self.batch_size = batch_size
        self.model = st.CrossEncoder(
            model,
            device=device,
            max_length=max_length,
            trust_remote_code=trust_remote_code,
            activation_fn=torch.nn.Identity(),
            **model_kwargs,
        )
        self.num_labels = int(self.model.num_labels)
        if self.num_labels > 2:
            raise ValueError(
                f"{model!r} has {self.num_labels} output labels; a reranker needs 1 (a relevance logit) or 2"
            )
        default = self.model.get_default_activation_fn()
        self.default_normalization = (
            "sigmoid" if self.num_labels == 2 or isinstance(default, torch.nn.Sigmoid) else "none"
        )

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> CrossEncoderBackend:
        return cls(
            model, device=config.device, batch_size=config.batch_size, max_length=config.max_length, **config.options
        )

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        logits = self.model.predict(
            [(query, t) for t in texts],
            batch_size=self.batch_size,
            show_progress_bar=False,
            activation_fn=self._torch.nn.Identity(),
            convert_to_numpy=True,
        )
        if self.num_labels == 2:
            return [float(row[1] - row[0]) for row in logits]
        return [float(v) for v in logits.reshape(-1)]
