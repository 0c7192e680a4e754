"""Issue 17: what a rerank API says a call cost (tokens, billed units) is on the call's span and in its report.

Real clients (the cohere and voyageai SDKs, httpx) against the local server that answers in each
provider's documented shape, and the real OpenTelemetry SDK's in-memory exporter (the ``spans`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from api_cases import KINDS, SPECS, documents, reranker
from rerank_api_server import FakeRerankServer

from rankwise.report import ApiUsage

QUERY = "red apple"
USAGE_KEYS = ("rankwise.tokens", "rankwise.billed_units")


def expected_usage(kind: str, sizes: list[int]) -> dict[str, float]:
    """What the local server's answers to requests of ``sizes`` documents say, by span attribute, summed."""
    requests = len(sizes)
    per_kind: dict[str, dict[str, float]] = {
        "cohere": {"rankwise.billed_units": requests},  # meta.billed_units.search_units: 1 per request
        "voyage": {"rankwise.tokens": sum(10 * n for n in sizes)},  # total_tokens
        "pinecone": {"rankwise.billed_units": requests},  # usage.rerank_units
        "nvidia": {},  # no usage in the answer
        "tei": {},
    }
    return per_kind.get(
        kind, {"rankwise.tokens": 10 * requests}
    )  # usage.total_tokens: Jina, Mixedbread, vLLM, Infinity


def rerank_span_attributes(exporter: Any) -> dict[str, Any]:
    [span] = [s for s in exporter.get_finished_spans() if s.name == "rankwise.rerank"]
    return dict(span.attributes or {})


def usage_on(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if key in USAGE_KEYS}


@pytest.mark.parametrize("kind", KINDS)
def test_the_span_and_the_report_carry_what_the_provider_said_the_call_cost(
    kind: str, server: FakeRerankServer, spans: Any
) -> None:
    results, report = reranker(kind, server).rerank_with_report(QUERY, documents(5), top_n=2)
    assert len(results) == 2
    expected = expected_usage(kind, [5])
    assert usage_on(rerank_span_attributes(spans)) == expected
    usage = report.reports.get(SPECS[kind])
    if expected:
        assert isinstance(usage, ApiUsage)
        assert usage.counts() == {key.removeprefix("rankwise."): value for key, value in expected.items()}
    else:
        assert usage is None


@pytest.mark.parametrize("kind", ["cohere", "voyage", "jina", "pinecone"])
def test_a_call_split_into_several_requests_adds_their_usage_up(
    kind: str, server: FakeRerankServer, spans: Any
) -> None:
    rr = reranker(kind, server, backend_options={"max_batch_size": 2})
    rr.rerank(QUERY, documents(5))
    assert len(server.requests) == 3
    assert usage_on(rerank_span_attributes(spans)) == expected_usage(kind, [2, 2, 1])


@pytest.mark.parametrize("kind", ["cohere", "voyage", "mixedbread"])
async def test_async_calls_report_usage_through_the_async_clients(
    kind: str, server: FakeRerankServer, spans: Any
) -> None:
    rr = reranker(kind, server, backend_options={"max_batch_size": 2})
    _, report = await rr.arerank_with_report(QUERY, documents(5))
    assert len(server.requests) == 3
    expected = expected_usage(kind, [2, 2, 1])
    assert usage_on(rerank_span_attributes(spans)) == expected
    assert report.reports[SPECS[kind]] == ApiUsage.of(
        expected.get("rankwise.tokens"), expected.get("rankwise.billed_units")
    )


def test_usage_the_provider_garbles_is_left_out_and_the_scores_still_count() -> None:
    from rankwise.backends.api.http_providers import usage_of

    assert usage_of({"usage": {"total_tokens": "ten", "rerank_units": -1}}) is None
    assert usage_of({"usage": {"total_tokens": True}}) is None
    assert usage_of([{"index": 0, "score": 0.5}]) is None  # TEI answers a bare list
    assert usage_of({"usage": {"total_tokens": 12.0}}) == ApiUsage(tokens=12)
