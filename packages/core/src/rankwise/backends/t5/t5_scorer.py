"""A T5 model read at its first decoded token: logit("true") − logit("false"), shared by MonoT5 and DuoT5."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from rankwise._optional import require
from rankwise.backends.base import LocalModel
from rankwise.backends.llm.prompt_tokens import (
    check_template,
    default_device,
    encode_fitted,
    pad_right,
    target_token_id,
)


class T5TrueFalse:
    """Loads a seq2seq checkpoint and scores prompts by the first decoded token.

    For each prompt the decoder is fed only its start token; the score is
    ``logit(true) − logit(false)`` at that step, so ``sigmoid(score)`` is exactly
    the softmax over the two tokens, P(true) — what castorini's pygaggle computes.

    >>> scorer = T5TrueFalse("castorini/monot5-base-msmarco")  # doctest: +SKIP
    >>> scorer.margins([scorer.encode(lambda d: f"Query: q Document: {d} Relevant:", ["text"])])  # doctest: +SKIP
    [2.5]
    """

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        true_token: str = "true",
        false_token: str = "false",
        extra: str = "t5",
        purpose: str = "the T5 backends",
        **model_kwargs: Any,
    ) -> None:
        self._torch = require("torch", extra=extra, purpose=purpose)
        transformers = require("transformers", extra=extra, purpose=purpose)
        self.device = default_device(self._torch, device)
        self.batch_size = batch_size
        self.max_length = max_length
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model)
        self.model = transformers.AutoModelForSeq2SeqLM.from_pretrained(model, **model_kwargs).to(self.device).eval()
        self.true_id = target_token_id(self.tokenizer, true_token)
        self.false_id = target_token_id(self.tokenizer, false_token)
        start = self.model.config.decoder_start_token_id
        self.decoder_start = int(start if start is not None else self.tokenizer.pad_token_id or 0)
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else 0)

    def encode(self, render: Callable[..., str], documents: Sequence[str]) -> list[int]:
        """Token ids of one prompt (with the tokenizer's ``</s>``), documents cut to fit ``max_length``."""
        return encode_fitted(self.tokenizer, render, documents, self.max_length, add_special_tokens=True)

    def margins(self, rows: Sequence[Sequence[int]]) -> list[float]:
        """``logit(true) − logit(false)`` of the first decoded token, per prompt, in batches."""
        torch = self._torch
        out: list[float] = []
        for start in range(0, len(rows), self.batch_size):
            ids, mask = pad_right(rows[start : start + self.batch_size], self.pad_id)
            input_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
            attention = torch.tensor(mask, dtype=torch.long, device=self.device)
            decoder = torch.full((len(ids), 1), self.decoder_start, dtype=torch.long, device=self.device)
            with torch.inference_mode():
                logits = self.model(input_ids=input_ids, attention_mask=attention, decoder_input_ids=decoder).logits
            first = logits[:, 0, :].float()
            out.extend((first[:, self.true_id] - first[:, self.false_id]).tolist())
        return out


class T5Prompted(LocalModel):
    """What MonoT5 and DuoT5 share: the spec name, a prompt template whose placeholders are checked, the
    `T5TrueFalse` scorer that reads the prompts, and ``from_spec``."""

    kind: ClassVar[str]
    placeholders: ClassVar[tuple[str, ...]]

    def _set_prompt(self, model: str, template: str, max_length: int) -> None:
        check_template(template, self.placeholders)
        self.name = f"{self.kind}:{model}"
        self.template = template
        self.max_length = max_length

    def _load_scorer(
        self, model: str, device: str | None, batch_size: int, tokens: tuple[str, str], model_kwargs: Mapping[str, Any]
    ) -> None:
        """Load the checkpoint that reads the prompts (``tokens``: the true and the false answer)."""
        true_token, false_token = tokens
        self._scorer = T5TrueFalse(
            model,
            device=device,
            batch_size=batch_size,
            max_length=self.max_length,
            true_token=true_token,
            false_token=false_token,
            purpose=f"the {self.kind} backend",
            **model_kwargs,
        )
