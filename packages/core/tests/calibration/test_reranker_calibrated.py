"""The shipped embedded calibration through the public `Reranker` (real bundled MiniLM, no network)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from rankwise import Reranker

EMBEDDED_V2 = str(resources.files("rankwise") / "calibrations" / "embedded-v2.json")


@pytest.fixture(scope="module")
def reranker() -> Reranker:
    return Reranker("embedded", calibration=EMBEDDED_V2)


def test_a_lone_irrelevant_document_scores_low_and_is_dropped_at_one_half(reranker: Reranker) -> None:
    assert reranker.score("quantum chromodynamics on the lattice", ["Bananas are yellow."])[0] < 0.05
    kept = reranker.rerank("quantum chromodynamics", ["Bananas are yellow.", "Apples are red."], score_threshold=0.5)
    assert kept == []


def test_adding_a_document_leaves_the_others_scores_alone(reranker: Reranker) -> None:
    query, texts = "What is in Paris?", ["Paris is the capital of France.", "The Eiffel Tower is in Paris."]
    before = reranker.score(query, texts)
    after = reranker.score(query, [*texts, "Bananas are yellow."])
    np.testing.assert_allclose(after[:2], before, rtol=0, atol=1e-6)
    assert before[0] > 0.5 > after[2]
    results = reranker.rerank(query, texts, first_stage_scores=[7.5, 6.0])
    assert {r.score_kind for r in results} == {"calibrated"}
    assert all(0.0 <= r.score <= 1.0 for r in results)


def test_another_spec_refuses_the_embedded_calibration() -> None:
    with pytest.raises(ValueError, match="fitted for model"):
        Reranker("lexical", calibration=EMBEDDED_V2)
