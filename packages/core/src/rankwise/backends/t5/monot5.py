"""MonoT5 pointwise reranking (``monot5:<hub id or path>``), the castorini recipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankwise.backends.base import LogitScores
from rankwise.backends.t5.t5_scorer import T5Prompted

MONOT5_TEMPLATE = "Query: {query} Document: {document} Relevant:"


class MonoT5Backend(T5Prompted, LogitScores):
    """Scores each document alone with a MonoT5 model (Nogueira et al., 2020).

    The prompt is ``Query: {query} Document: {document} Relevant:``; the raw
    score is ``logit("true") − logit("false")`` of the first decoded token, and
    the default ``sigmoid`` normalisation turns it into P(true) in [0, 1]
    (exactly the softmax over the two tokens). Documents, not the prompt's
    tail, are cut to fit ``max_length`` tokens. One forward pass per document:
    O(n), batched ``batch_size`` at a time.

    >>> from rankwise import Reranker
    >>> rr = Reranker("monot5:castorini/monot5-base-msmarco")  # doctest: +SKIP
    >>> rr.rerank("what is a cat", ["Cats are felines.", "Stocks fell."])[0].index  # doctest: +SKIP
    0
    """

    kind = "monot5"
    placeholders = ("{query}", "{document}")

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        template: str = MONOT5_TEMPLATE,
        true_token: str = "true",
        false_token: str = "false",
        **model_kwargs: Any,
    ) -> None:
        self._set_prompt(model, template, max_length)
        self._load_scorer(model, device, batch_size, (true_token, false_token), model_kwargs)

    def prompt_ids(self, query: str, text: str) -> list[int]:
        """The token ids the model reads for one document."""
        return self._scorer.encode(lambda d: self.template.format(query=query, document=d), [text])

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return self._scorer.margins([self.prompt_ids(query, t) for t in texts])
