"""Property-based: results are a permutation (or prefix) of the input, documents untouched, ties stable."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from rankwise import Reranker, lost_in_the_middle
from rankwise.backends.base import Normalization


class LookupBackend:
    """Scores come from a table keyed by text: few distinct values, so ties are common."""

    name = "lookup"
    default_normalization: Normalization = "none"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(len(t) % 3) for t in texts]


texts = st.text(alphabet="abc ", min_size=0, max_size=8)
documents = st.lists(st.one_of(texts, st.fixed_dictionaries({"text": texts, "id": st.integers()})), max_size=30)


@settings(max_examples=150, deadline=None)
@given(docs=documents, top_n=st.one_of(st.none(), st.integers(1, 40)), batch_size=st.integers(1, 7))
def test_results_are_an_ordered_prefix_of_a_permutation(docs: list[object], top_n: int | None, batch_size: int) -> None:
    before = copy.deepcopy(docs)
    results = Reranker(LookupBackend(), batch_size=batch_size, cache_size=0).rerank("q", docs, top_n=top_n)
    assert docs == before
    assert len(results) == min(len(docs), top_n or len(docs))
    indices = [r.index for r in results]
    assert len(set(indices)) == len(indices)
    assert all(r.document is docs[r.index] for r in results)
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    keys = [(-r.score, r.index) for r in results]
    assert keys == sorted(keys)  # best first; equal scores keep input order
    if top_n is None:
        assert sorted(indices) == list(range(len(docs)))


@settings(max_examples=100, deadline=None)
@given(docs=documents, threshold=st.floats(-1, 3, allow_nan=False))
def test_threshold_keeps_exactly_the_scores_at_or_above_it(docs: list[object], threshold: float) -> None:
    results = Reranker(LookupBackend()).rerank("q", docs, score_threshold=threshold)
    all_scores = Reranker(LookupBackend()).score("q", docs)
    assert sorted(r.index for r in results) == [i for i, s in enumerate(all_scores) if s >= threshold]


@given(items=st.lists(st.integers(), max_size=40))
def test_lost_in_the_middle_is_a_permutation_with_best_first(items: list[int]) -> None:
    ordered = lost_in_the_middle(items)
    assert sorted(ordered) == sorted(items)
    if items:
        assert ordered[0] == items[0]
    if len(items) > 1:
        assert ordered[-1] == items[1]
