"""`rankwise compare` cost estimate for a rerank API: token estimate x the user's price, against a real local server."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from api_cases import reranker
from beir_fixture import write_tiny_beir
from rerank_api_server import FakeRerankServer

from rankwise.evaluation import load_beir
from rankwise.evaluation.compare import WORDS_TO_TOKENS, compare
from rankwise.evaluation.run import candidates


def test_api_cost_per_1k_queries_is_tokens_times_the_given_price(server: FakeRerankServer, tmp_path: Path) -> None:
    dataset = write_tiny_beir(tmp_path / "tiny")
    tei = reranker("tei", server)
    report = compare(dataset, [tei, "lexical"], depth=10, prices_per_1k_tokens={tei.model: 0.25})
    api, local = report.models
    data = load_beir(dataset)
    hits = candidates(data, depth=10)
    # The hand computation: per query, (query words + document words) x 1.3, rounded up, over its candidates.
    per_query = [
        math.ceil(
            sum(len(data.queries[q].split()) + len(data.corpus[d].content.split()) for d, _ in hits[q])
            * WORDS_TO_TOKENS
        )
        for q in data.queries
        if hits[q]
    ]
    tokens_per_1k = 1000.0 * sum(per_query) / len(data.queries)
    assert api.tokens_per_1k_queries == pytest.approx(tokens_per_1k)
    assert api.cost_per_1k_queries == pytest.approx(tokens_per_1k / 1000.0 * 0.25)
    assert (local.tokens_per_1k_queries, local.cost_per_1k_queries) == (None, None)
    assert server.requests  # the API really was called
    no_price = compare(dataset, [reranker("tei", server)], depth=10)
    assert no_price.models[0].cost_per_1k_queries is None  # no price given: tokens only, never a built-in price
    assert "tok (no price)" in no_price.markdown()
