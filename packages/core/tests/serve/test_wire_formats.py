"""Each wire format's request, response and error shapes, on a real server (httpx over 127.0.0.1)."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from serve_support import CORPUS, SlowBackend, running

from rankwise import Reranker
from rankwise.serve import RerankService, ServeLimits

AUTH = {"Authorization": "Bearer test-key"}
QUERY = "red apple fruit"


def post(url: str, path: str, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=AUTH if headers is None else headers, timeout=30)


def expected(reranker: Reranker, documents: list[str] = CORPUS) -> list[tuple[int, float]]:
    return [(r.index, r.score) for r in reranker.rerank(QUERY, documents)]


def test_cohere_v2_response_shape_and_scores(lexical_server: str, lexical_reranker: Reranker) -> None:
    response = post(lexical_server, "/v2/rerank", {"model": "any", "query": QUERY, "documents": CORPUS, "top_n": 3})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"id", "results", "meta"}
    assert data["meta"] == {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
    assert [set(r) for r in data["results"]] == [{"index", "relevance_score"}] * 3
    assert [(r["index"], r["relevance_score"]) for r in data["results"]] == expected(lexical_reranker)[:3]


@pytest.mark.parametrize(("sent", "returned"), [(None, True), (True, True), (False, False)])
def test_v1_serves_cohere_v1_and_jina(
    lexical_server: str, lexical_reranker: Reranker, sent: bool | None, returned: bool
) -> None:
    body: dict[str, object] = {"model": "m", "query": QUERY, "documents": [{"text": t} for t in CORPUS]}
    if sent is not None:
        body["return_documents"] = sent
    data = post(lexical_server, "/v1/rerank", body).json()
    assert {"id", "results", "meta", "model", "usage"} <= set(data)  # Cohere v1's and Jina's fields, together
    assert data["meta"]["api_version"] == {"version": "1"}
    assert data["usage"]["total_tokens"] > 0
    assert [(r["index"], r["relevance_score"]) for r in data["results"]] == expected(lexical_reranker)
    assert all(("document" in r) is returned for r in data["results"])
    if returned:
        assert [r["document"]["text"] for r in data["results"]] == [CORPUS[r["index"]] for r in data["results"]]


def test_v1_rank_fields_score_the_named_fields(lexical_server: str) -> None:
    documents = [{"title": "dogs", "body": "bark loudly"}, {"title": "apples", "body": "red apple fruit"}]
    data = post(
        lexical_server, "/v1/rerank", {"query": QUERY, "documents": documents, "rank_fields": ["title", "body"]}
    ).json()
    assert [r["index"] for r in data["results"]] == [1, 0]
    assert data["results"][0]["document"] == documents[1]  # the object as sent


def test_tei_bare_list_with_text_on_request(lexical_server: str, lexical_reranker: Reranker) -> None:
    data = post(lexical_server, "/rerank", {"query": QUERY, "texts": CORPUS, "return_text": True}).json()
    assert isinstance(data, list)
    assert [(r["index"], r["score"]) for r in data] == expected(lexical_reranker)
    assert all(r["text"] == CORPUS[r["index"]] for r in data)
    plain = post(lexical_server, "/rerank", {"query": QUERY, "texts": CORPUS}).json()
    assert all(set(r) == {"index", "score"} for r in plain)


def test_infinity_shape_on_the_same_path(lexical_server: str, lexical_reranker: Reranker) -> None:
    data = post(lexical_server, "/rerank", {"query": QUERY, "documents": CORPUS, "return_documents": True}).json()
    assert data["object"] == "rerank"
    assert {"results", "model", "usage", "id", "created"} <= set(data)
    assert [(r["index"], r["relevance_score"]) for r in data["results"]] == expected(lexical_reranker)
    assert all(r["document"] == CORPUS[r["index"]] for r in data["results"])


def test_tei_raw_scores_are_the_backends_own() -> None:
    service = RerankService("lexical")
    with running(service) as (url, _):
        raw = post(url, "/rerank", {"query": QUERY, "texts": CORPUS, "raw_scores": True}, headers={}).json()
    direct = Reranker("lexical", normalize="none").rerank(QUERY, CORPUS)
    assert [(r["index"], r["score"]) for r in raw] == [(r.index, r.score) for r in direct]


@pytest.mark.parametrize(
    ("path", "body", "check"),
    [
        ("/v2/rerank", {"query": QUERY, "documents": CORPUS}, lambda d: set(d) == {"id", "message"}),
        ("/v1/rerank", {"query": QUERY, "documents": CORPUS}, lambda d: {"message", "detail"} <= set(d)),
        ("/rerank", {"query": QUERY, "texts": CORPUS}, lambda d: set(d) == {"error", "error_type"}),
        ("/rerank", {"query": QUERY, "documents": CORPUS}, lambda d: set(d["error"]) >= {"message", "type", "code"}),
    ],
)
def test_401_without_a_key_in_each_protocols_format(lexical_server: str, path: str, body: object, check) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-key"}):
        response = post(lexical_server, path, body, headers=headers)
        assert response.status_code == 401
        assert check(response.json())
        assert "test-key" not in response.text


def test_limits_answer_413_and_422_in_protocol_format() -> None:
    limits = ServeLimits(max_documents=4, max_body_bytes=2000, max_query_chars=50, max_document_chars=100)
    with running(RerankService("lexical", limits=limits)) as (url, _):
        many = post(url, "/rerank", {"query": "q", "texts": ["a"] * 5}, headers={})
        assert many.status_code == 413
        assert many.json() == {"error": "batch size 5 > maximum allowed batch size 4", "error_type": "Validation"}
        big = post(url, "/v2/rerank", {"query": "q", "documents": ["word " * 15] * 3 + ["x" * 2100]}, headers={})
        assert big.status_code == 413
        assert "bytes" in big.json()["message"]
        long_query = post(url, "/v2/rerank", {"query": "q" * 51, "documents": ["a"]}, headers={})
        assert long_query.status_code == 422
        assert "query" in long_query.json()["message"]
        long_doc = post(url, "/v1/rerank", {"query": "q", "documents": ["d" * 101]}, headers={})
        assert long_doc.status_code == 422
        assert "document 0" in long_doc.json()["detail"]
        for bad in ({"documents": ["a"]}, {"query": "q", "documents": "a"}, {"query": "q", "documents": [3]}, [1]):
            response = post(url, "/v2/rerank", bad, headers={})
            assert response.status_code == 422, bad
            assert set(response.json()) == {"id", "message"}
        not_json = httpx.post(url + "/rerank", content=b"{nope", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        assert not_json.json()["error_type"] == "Validation"
        assert post(url, "/v2/rerank", {"query": "q", "documents": ["a"], "top_n": 0}, headers={}).status_code == 422
        assert post(url, "/v2/rerank", {"query": "  ", "documents": ["a"]}, headers={}).status_code == 422


def test_tei_truncate_false_refuses_texts_longer_than_the_model_reads(tiny_cross_encoder: str) -> None:
    service = RerankService(f"cross-encoder:{tiny_cross_encoder}", reranker_options={"max_length": 16})
    with running(service) as (url, _):
        long_text = "cats purr " * 20
        refused = post(url, "/rerank", {"query": "cats", "texts": [long_text], "truncate": False}, headers={})
        assert refused.status_code == 413
        assert refused.json()["error_type"] == "Validation"
        cut = post(url, "/rerank", {"query": "cats", "texts": [long_text], "truncate": True}, headers={})
        assert cut.status_code == 200
        assert math.isfinite(cut.json()[0]["score"])


def test_over_the_deadline_is_504() -> None:
    service = RerankService(Reranker(SlowBackend(1.5)), limits=ServeLimits(request_timeout_s=0.2))
    with running(service) as (url, _):
        response = post(url, "/v2/rerank", {"query": "q", "documents": ["a", "b"]}, headers={})
        tei = post(url, "/rerank", {"query": "q", "texts": ["a"]}, headers={})
    assert response.status_code == 504
    assert "deadline" in response.json()["message"]
    assert tei.status_code == 504
    assert set(tei.json()) == {"error", "error_type"}


def test_health_info_and_metrics(lexical_server: str) -> None:
    assert httpx.get(lexical_server + "/health").json() == {"status": "ok"}
    info = httpx.get(lexical_server + "/info").json()
    assert info["model"] == "lexical"
    assert info["score_kind"] == "bm25"
    assert info["auth"] is True
    post(lexical_server, "/v2/rerank", {"query": QUERY, "documents": CORPUS})
    post(lexical_server, "/v2/rerank", {"query": QUERY, "documents": CORPUS}, headers={})
    metrics = httpx.get(lexical_server + "/metrics").text
    assert 'rankwise_requests_total{protocol="cohere",status="200"}' in metrics
    assert 'rankwise_errors_total{protocol="cohere",status="401"}' in metrics
    assert "rankwise_request_latency_seconds_bucket" in metrics
    assert 'rankwise_pairs_scored_total{backend="lexical"}' in metrics
    assert httpx.get(lexical_server + "/nowhere").status_code == 404


def test_metrics_count_batches_and_cache_hits(tiny_cross_encoder: str) -> None:
    service = RerankService(f"cross-encoder:{tiny_cross_encoder}")
    with running(service) as (url, _):
        body = {"query": "cats purr", "documents": CORPUS}
        first = post(url, "/v2/rerank", body, headers={}).json()
        again = post(url, "/v2/rerank", body, headers={}).json()
        metrics = httpx.get(url + "/metrics").text
    assert first["results"] == again["results"]
    hits = next(line for line in metrics.splitlines() if line.startswith("rankwise_cache_hits_total"))
    assert float(hits.split()[-1]) == len(CORPUS)  # the second request came from the score cache
    assert "rankwise_batch_pairs_bucket" in metrics
    pairs = next(line for line in metrics.splitlines() if line.startswith("rankwise_pairs_scored_total"))
    assert float(pairs.split()[-1]) == len(CORPUS)


def test_keys_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    with running(RerankService("lexical", api_keys=["sekrit-123"])) as (url, _):
        post(url, "/v2/rerank", {"query": "q", "documents": ["a"]}, headers={"Authorization": "Bearer sekrit-123"})
        post(url, "/v2/rerank", {"query": "q", "documents": ["a"]}, headers={"Authorization": "Bearer nope-456"})
        info = httpx.get(url + "/info").text
    assert "sekrit-123" not in caplog.text
    assert "nope-456" not in caplog.text
    assert "sekrit-123" not in info
    assert json.loads(info)["auth"] is True
