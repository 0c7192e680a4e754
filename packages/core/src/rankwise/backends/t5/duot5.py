"""DuoT5 pairwise reranking of a first pass's top-k (``duot5:<hub id or path>``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rankwise.backends.base import Backend, BackendConfig, OrdersWholeList
from rankwise.backends.t5.t5_scorer import T5Prompted
from rankwise.validation import positive_int

DUOT5_TEMPLATE = "Query: {query} Document0: {document0} Document1: {document1} Relevant:"
INPUT_ORDER = "input"


@dataclass(frozen=True)
class DuoRunReport:
    """What one `DuoT5Backend` call did (returned with its scores, never stored on the backend).

    ``first_pass_order``: text indices best-first after the first pass;
    ``duo_scores``: text index → its aggregate over the top-k pairs;
    ``pairs``: number of ordered pairs the duo model read (k·(k−1)).

    >>> DuoRunReport(first_pass_order=(1, 0, 2), duo_scores={1: 0.2, 0: 0.8}, pairs=2).pairs
    2
    """

    first_pass_order: tuple[int, ...]
    duo_scores: Mapping[int, float] = field(default_factory=dict)
    pairs: int = 0


class DuoT5Backend(T5Prompted, OrdersWholeList):
    """Reorders the top-k of a first pass by pairwise DuoT5 comparisons (Pradeep et al., 2021).

    For every ordered pair (i, j) of the top ``k`` documents the model reads
    ``Query: {query} Document0: {d_i} Document1: {d_j} Relevant:`` and
    p(i > j) = softmax over "true"/"false" of its first decoded token. Each
    document's aggregate is the symmetric sum
    ``s_i = Σ_{j≠i} ½·(p(i > j) + 1 − p(j > i))`` (in [0, k − 1]).
    The top ``k`` are ordered by ``s_i`` (ties keep first-pass order) and stay
    above the rest, which keep their first-pass order. Returned scores are
    ``n − final position`` (``default_normalization = "none"``, score kind ``rank``); the
    aggregates are in the call's report (`Reranker.rerank_with_report`). Cost: n first-pass scores + k·(k−1) duo passes.

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

    kind = "duot5"
    placeholders = ("{query}", "{document0}", "{document1}")

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
        top_k = positive_int("top_k", top_k)
        if first_pass is None:
            raise ValueError(
                "duot5 needs a first pass to pick its top-k: pass backend_options={'first_pass': "
                "'monot5:<hub id or path>'} (or a Backend, or 'input' to keep the order documents arrive in)"
            )
        self._set_prompt(model, template, max_length)
        self.top_k = top_k
        self.first_pass = _first_pass(
            first_pass,
            BackendConfig(
                device=device, batch_size=batch_size, max_length=max_length, options=dict(first_pass_options or {})
            ),
        )
        self._load_scorer(model, device, batch_size, (true_token, false_token), model_kwargs)

    def pair_prompt_ids(self, query: str, first: str, second: str) -> list[int]:
        """Token ids of the prompt asking whether ``first`` is more relevant than ``second``."""
        return self._scorer.encode(
            lambda a, b: self.template.format(query=query, document0=a, document1=b), [first, second]
        )

    def first_pass_order(self, query: str, texts: Sequence[str]) -> list[int]:
        """Text indices best-first by the first pass run here, unbatched and uncached (the engine runs it
        batched and cached through `rank_after_first_pass`; this is for direct use)."""
        if self.first_pass is None:
            return list(range(len(texts)))
        return _order([float(s) for s in self.first_pass.score(query, texts)], len(texts), self.first_pass.name)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """Scores ``n − final position``, running the first pass itself (see `rank_after_first_pass`)."""
        return self.score_with_report(query, texts)[0]

    def score_with_report(self, query: str, texts: Sequence[str]) -> tuple[list[float], DuoRunReport]:
        first = None if self.first_pass is None else [float(s) for s in self.first_pass.score(query, texts)]
        return self.rank_after_first_pass(query, texts, first)

    def rank_after_first_pass(
        self, query: str, texts: Sequence[str], first_pass_scores: Sequence[float] | None
    ) -> tuple[list[float], DuoRunReport]:
        """Reorder the top-k of the first pass by pairwise comparisons; scores and this call's report.

        ``first_pass_scores`` is ``None`` when the input order is the first pass. Nothing is stored on the
        backend, so concurrent calls never see each other's reports.
        """
        n = len(texts)
        name = self.first_pass.name if self.first_pass is not None else INPUT_ORDER
        order = list(range(n)) if first_pass_scores is None else _order(list(first_pass_scores), n, name)
        top = order[: min(self.top_k, n)]
        pairs = [(i, j) for i in top for j in top if i != j]
        margins = self._scorer.margins([self.pair_prompt_ids(query, texts[i], texts[j]) for i, j in pairs])
        prob = {pair: _sigmoid(m) for pair, m in zip(pairs, margins, strict=True)}
        duo = {i: sum(0.5 * (prob[i, j] + 1.0 - prob[j, i]) for j in top if j != i) for i in top}
        rank_in_first = {i: r for r, i in enumerate(order)}
        final = sorted(top, key=lambda i: (-duo[i], rank_in_first[i])) + order[len(top) :]
        scores = [0.0] * n
        for position, index in enumerate(final):
            scores[index] = float(n - position)
        return scores, DuoRunReport(tuple(order), duo, len(pairs))


def _order(scores: list[float], n: int, name: str) -> list[int]:
    """Indices best-first (ties keep input order), after checking there is one score per text."""
    if len(scores) != n:
        raise ValueError(f"first pass {name!r} returned {len(scores)} scores for {n}")
    return sorted(range(n), key=lambda i: -scores[i])


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
