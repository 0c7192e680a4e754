"""DuoT5 pairwise reranking of a first pass's top-k (``duot5:<hub id or path>``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rankwise.backends.base import Backend, BackendConfig, Normalization, local_model_kwargs
from rankwise.backends.llm.prompt_tokens import check_template
from rankwise.backends.t5.t5_scorer import T5TrueFalse

DUOT5_TEMPLATE = "Query: {query} Document0: {document0} Document1: {document1} Relevant:"
INPUT_ORDER = "input"


@dataclass(frozen=True)
class DuoRunReport:
    """What the last `DuoT5Backend.score` call did (for inspection and tests).

    ``first_pass_order``: text indices best-first after the first pass;
    ``duo_scores``: text index → its aggregate over the top-k pairs;
    ``pairs``: number of ordered pairs the duo model read (k·(k−1)).

    >>> DuoRunReport(first_pass_order=(1, 0, 2), duo_scores={1: 0.2, 0: 0.8}, pairs=2).pairs
    2
    """

    first_pass_order: tuple[int, ...]
    duo_scores: Mapping[int, float] = field(default_factory=dict)
    pairs: int = 0


class DuoT5Backend:
    """Reorders the top-k of a first pass by pairwise DuoT5 comparisons (Pradeep et al., 2021).

    For every ordered pair (i, j) of the top ``k`` documents the model reads
    ``Query: {query} Document0: {d_i} Document1: {d_j} Relevant:`` and
    p(i > j) = softmax over "true"/"false" of its first decoded token. Each
    document's aggregate is the symmetric sum
    ``s_i = Σ_{j≠i} ½·(p(i > j) + 1 − p(j > i))`` (in [0, k − 1]).
    The top ``k`` are ordered by ``s_i`` (ties keep first-pass order) and stay
    above the rest, which keep their first-pass order. Returned scores are
    ``n − final position`` (``default_normalization = "none"``); the aggregates
    are in ``last_run_report``. Cost: n first-pass scores + k·(k−1) duo passes.

    ``first_pass`` is required: a MonoT5 spec or path (``"monot5:…"`` or a
    bare path, which means MonoT5), any `Backend`, or ``"input"`` to trust the
    order the documents come in (e.g. already sorted by the retriever).

    >>> from rankwise import Reranker
    >>> rr = Reranker(
    ...     "duot5:castorini/duot5-base-msmarco",
    ...     backend_options={"first_pass": "monot5:castorini/monot5-base-msmarco", "top_k": 10},
    ... )  # doctest: +SKIP
    >>> [r.index for r in rr.rerank("what is a cat", ["Stocks fell.", "Cats are felines."])]  # doctest: +SKIP
    [1, 0]
    """

    set_dependent = True
    default_normalization: Normalization = "none"

    def __init__(
        self,
        model: str,
        *,
        first_pass: str | Backend | None = None,
        top_k: int = 10,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        template: str = DUOT5_TEMPLATE,
        true_token: str = "true",
        false_token: str = "false",
        first_pass_options: Mapping[str, Any] | None = None,
        **model_kwargs: Any,
    ) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        if first_pass is None:
            raise ValueError(
                "duot5 needs a first pass to pick its top-k: pass backend_options={'first_pass': "
                "'monot5:<hub id or path>'} (or a Backend, or 'input' to keep the order documents arrive in)"
            )
        check_template(template, ("{query}", "{document0}", "{document1}"))
        self.name = f"duot5:{model}"
        self.template = template
        self.top_k = top_k
        self.max_length = max_length
        self.last_run_report: DuoRunReport | None = None
        self.first_pass = _first_pass(
            first_pass,
            BackendConfig(
                device=device, batch_size=batch_size, max_length=max_length, options=dict(first_pass_options or {})
            ),
        )
        self._scorer = T5TrueFalse(
            model,
            device=device,
            batch_size=batch_size,
            max_length=max_length,
            true_token=true_token,
            false_token=false_token,
            purpose="the duot5 backend",
            **model_kwargs,
        )

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> DuoT5Backend:
        return cls(model, **local_model_kwargs(config))

    def pair_prompt_ids(self, query: str, first: str, second: str) -> list[int]:
        """Token ids of the prompt asking whether ``first`` is more relevant than ``second``."""
        return self._scorer.encode(
            lambda a, b: self.template.format(query=query, document0=a, document1=b), [first, second]
        )

    def first_pass_order(self, query: str, texts: Sequence[str]) -> list[int]:
        """Text indices best-first by the first pass (stable: ties keep input order)."""
        if self.first_pass is None:
            return list(range(len(texts)))
        scores = [float(s) for s in self.first_pass.score(query, texts)]
        if len(scores) != len(texts):
            raise ValueError(f"first pass {self.first_pass.name!r} returned {len(scores)} scores for {len(texts)}")
        return sorted(range(len(texts)), key=lambda i: -scores[i])

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        n = len(texts)
        order = self.first_pass_order(query, texts)
        top = order[: min(self.top_k, n)]
        pairs = [(i, j) for i in top for j in top if i != j]
        margins = self._scorer.margins([self.pair_prompt_ids(query, texts[i], texts[j]) for i, j in pairs])
        prob = {pair: _sigmoid(m) for pair, m in zip(pairs, margins, strict=True)}
        duo = {i: sum(0.5 * (prob[i, j] + 1.0 - prob[j, i]) for j in top if j != i) for i in top}
        rank_in_first = {i: r for r, i in enumerate(order)}
        final = sorted(top, key=lambda i: (-duo[i], rank_in_first[i])) + order[len(top) :]
        self.last_run_report = DuoRunReport(tuple(order), duo, len(pairs))
        scores = [0.0] * n
        for position, index in enumerate(final):
            scores[index] = float(n - position)
        return scores


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _first_pass(first_pass: str | Backend, config: BackendConfig) -> Backend | None:
    if not isinstance(first_pass, str):
        return first_pass
    spec = first_pass.strip()
    if spec == INPUT_ORDER:
        return None
    from rankwise.backends.registry import create_backend, known_kinds

    kind = spec.partition(":")[0]
    if kind not in known_kinds():  # a bare hub id or path means a MonoT5 checkpoint
        spec = f"monot5:{spec}"
    return create_backend(spec, config)
