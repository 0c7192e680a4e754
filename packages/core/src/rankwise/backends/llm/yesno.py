"""Causal-LM pointwise reranking by the next token's "yes"/"no" logits (``yesno:<hub id or path>``)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from rankwise._optional import require
from rankwise.backends.base import LocalModel, LogitScores
from rankwise.backends.llm.prompt_tokens import check_template, default_device, encode_fitted, pad_left, target_token_id
from rankwise.backends.llm.yesno_presets import PRESETS, YesNoPreset


class YesNoBackend(LocalModel, LogitScores):
    """Scores each document by a causal LM's answer to "is this relevant? yes/no".

    The prompt is the ``preset``'s template (``"generic"`` by default;
    ``"qwen3-reranker"``, ``"bge-reranker-v2-gemma"`` and ``"mxbai-rerank-v2"``
    reproduce those models' documented prompts); ``template``, ``true_token``,
    ``false_token`` and ``instruction`` override single fields. The raw score
    is ``logit(true) − logit(false)`` of the next token (``logit(true)`` alone
    when the preset has no false token), so the default ``sigmoid``
    normalisation gives P(yes) over the two tokens. Prompts are batched on the
    local device with left padding (position ids follow the padding, so a
    batched score equals the unbatched one); only the documents are cut to fit
    ``max_length`` tokens. One forward pass per document: O(n).

    >>> from rankwise import Reranker
    >>> rr = Reranker("yesno:Qwen/Qwen3-Reranker-0.6B", backend_options={"preset": "qwen3-reranker"})  # doctest: +SKIP
    >>> rr.rerank("what is a cat", ["Cats are felines.", "Stocks fell."])[0].index  # doctest: +SKIP
    0
    """

    def __init__(
        self,
        model: str,
        *,
        preset: str = "generic",
        template: str | None = None,
        true_token: str | None = None,
        false_token: str | None = None,
        instruction: str | None = None,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        **model_kwargs: Any,
    ) -> None:
        if preset not in PRESETS:
            raise ValueError(f"unknown yes/no preset {preset!r}: choose one of {sorted(PRESETS)}")
        base: YesNoPreset = PRESETS[preset]
        self.preset = preset
        self.template = template if template is not None else base.template
        check_template(self.template, ("{query}", "{document}"))
        self.instruction = instruction if instruction is not None else base.instruction
        self.add_bos = base.add_bos
        self.name = f"yesno:{model}"
        self.max_length = max_length
        self.batch_size = batch_size
        self._torch = require("torch", extra="llm", purpose="the yesno backend")
        transformers = require("transformers", extra="llm", purpose="the yesno backend")
        self.device = default_device(self._torch, device)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(model, **model_kwargs).to(self.device).eval()
        self.true_id = target_token_id(self.tokenizer, true_token if true_token is not None else base.true_token)
        false = false_token if false_token is not None else base.false_token
        self.false_id = target_token_id(self.tokenizer, false) if false is not None else None
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        self.pad_id = int(pad if pad is not None else 0)
        self._keep_last = "logits_to_keep" in inspect.signature(self.model.forward).parameters

    def prompt_ids(self, query: str, text: str) -> list[int]:
        """The token ids the model reads for one document (BOS first when the preset says so)."""
        bos = [self.tokenizer.bos_token_id] if self.add_bos and self.tokenizer.bos_token_id is not None else []

        def render(document: str) -> str:
            return self.template.format(query=query, document=document, instruction=self.instruction)

        return bos + encode_fitted(self.tokenizer, render, [text], self.max_length - len(bos), add_special_tokens=False)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        torch = self._torch
        rows = [self.prompt_ids(query, t) for t in texts]
        out: list[float] = []
        for start in range(0, len(rows), self.batch_size):
            ids, mask = pad_left(rows[start : start + self.batch_size], self.pad_id)
            input_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
            attention = torch.tensor(mask, dtype=torch.long, device=self.device)
            positions = (attention.cumsum(-1) - 1).clamp(min=0)
            kwargs: dict[str, Any] = {"logits_to_keep": 1} if self._keep_last else {}
            with torch.inference_mode():
                logits = self.model(
                    input_ids=input_ids, attention_mask=attention, position_ids=positions, **kwargs
                ).logits
            last = logits[:, -1, :].float()
            margin = last[:, self.true_id] if self.false_id is None else last[:, self.true_id] - last[:, self.false_id]
            out.extend(margin.tolist())
        return out
