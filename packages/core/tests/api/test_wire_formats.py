"""What each backend puts on the wire: endpoint, auth header, body fields and pass-through options."""

from __future__ import annotations

import asyncio
import re

import pytest
from api_cases import KEY, KINDS, SPECS, documents, reranker
from rerank_api_server import FakeRerankServer, Fault

from rankwise import BackendConfig, BackendError, Reranker
from rankwise.backends.api.http_providers import PROVIDERS
from rankwise.backends.registry import create_backend, known_kinds

PATHS = {
    "cohere": "/cohere/v2/rerank",
    "voyage": "/voyage/v1/rerank",
    "jina": "/jina/v1/rerank",
    "mixedbread": "/mixedbread/v1/reranking",
    "nvidia": "/nvidia/v1/ranking",
    "pinecone": "/pinecone/rerank",
    "tei": "/tei/rerank",
    "vllm": "/vllm/v1/rerank",
    "infinity": "/infinity/rerank",
}


@pytest.mark.parametrize("kind", KINDS)
def test_request_reaches_the_documented_endpoint_with_the_documented_body(kind: str, server: FakeRerankServer) -> None:
    docs = documents(3)
    reranker(kind, server).rerank("red apple", docs)
    (seen,) = server.requests
    assert seen.path == PATHS[kind]
    assert seen.documents == sorted(docs, key=len, reverse=True)  # the Reranker sends longest first
    if kind == "pinecone":
        assert seen.headers["Api-Key"] == KEY
        assert seen.headers["X-Pinecone-API-Version"]
        assert seen.body["documents"] == [{"text": d} for d in seen.documents]
        assert seen.body["return_documents"] is False
    else:
        assert seen.headers["Authorization"] == f"Bearer {KEY}"
    if kind not in ("tei", "voyage"):
        assert seen.body["model"] == SPECS[kind].partition(":")[2]


@pytest.mark.parametrize(
    ("kind", "options", "field", "value"),
    [
        ("cohere", {"max_tokens_per_doc": 512}, "max_tokens_per_doc", 512),
        ("voyage", {"truncation": False}, "truncation", False),
        ("pinecone", {"parameters": {"truncate": "NONE"}}, "parameters", {"truncate": "NONE"}),
        ("nvidia", {"truncate": "END"}, "truncate", "END"),
        ("tei", {"truncate": True, "raw_scores": True}, "raw_scores", True),
        ("jina", {"extra_body": {"truncation": True}}, "truncation", True),
    ],
)
def test_provider_options_are_passed_through(
    kind: str, options: dict[str, object], field: str, value: object, server: FakeRerankServer
) -> None:
    reranker(kind, server, backend_options=options).rerank("red apple", documents(3))
    assert server.requests[0].body[field] == value


def test_every_kind_is_registered_with_its_spec_spelling() -> None:
    kinds = known_kinds()
    for kind, spec in SPECS.items():
        assert kind in kinds
        assert spec.split(":")[0] == kind


@pytest.mark.parametrize(
    ("spec", "base_url", "url"),
    [
        (
            "nvidia:nvidia/llama-3.2-nv-rerankqa-1b-v2",
            None,
            "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
        ),
        ("nvidia:nvidia/llama-3.2-nv-rerankqa-1b-v2", "http://nim:8000/v1", "http://nim:8000/v1/ranking"),
        ("jina:jina-reranker-v2-base-multilingual", None, "https://api.jina.ai/v1/rerank"),
        ("mixedbread:mixedbread-ai/mxbai-rerank-large-v2", None, "https://api.mixedbread.com/v1/reranking"),
        ("pinecone:bge-reranker-v2-m3", None, "https://api.pinecone.io/rerank"),
        ("vllm:m", "http://gpu:8000/", "http://gpu:8000/v1/rerank"),
        ("infinity:m", "http://gpu:7997", "http://gpu:7997/rerank"),
    ],
)
def test_endpoint_urls(spec: str, base_url: str | None, url: str) -> None:
    backend = create_backend(spec, BackendConfig(api_key="k", base_url=base_url))
    assert backend.url == url  # type: ignore[attr-defined]


def test_caps_follow_the_provider_and_model() -> None:
    def cap(spec: str, **options: object) -> int | None:
        config = BackendConfig(api_key="k", base_url="http://x", options=options)
        return create_backend(spec, config).max_batch_size  # type: ignore[attr-defined, no-any-return]

    assert cap("pinecone:bge-reranker-v2-m3") == 100
    assert cap("pinecone:cohere-rerank-3.5") == 200
    assert cap("cohere:rerank-v3.5") == 1000
    assert cap("voyage:rerank-2.5") == 1000
    assert cap("tei") == 32
    assert cap("vllm:m") is None  # no cap: the Reranker's batch_size
    assert cap("jina:m", max_batch_size=50) == 50  # lowered on request, never raised past the cap
    assert cap("pinecone:bge-reranker-v2-m3", max_batch_size=500) == 100
    assert cap("tei", max_batch_size=128) == 128  # self-hosted: the server's own --max-client-batch-size


def test_self_hosted_kinds_need_a_base_url() -> None:
    with pytest.raises(ValueError, match="self-hosted server needs base_url"):
        Reranker("tei").load()
    assert set(PROVIDERS) == {"jina", "mixedbread", "nvidia", "pinecone", "tei", "vllm", "infinity"}


def test_cohere_client_gets_an_explicit_base_url() -> None:
    # cohere reads CO_API_URL once, at import, as a default argument: rankwise always passes base_url
    backend = create_backend("cohere:rerank-v3.5", BackendConfig(api_key="k"))
    client = backend._sync_client().sdk  # type: ignore[attr-defined]
    assert client._client_wrapper.get_base_url() == "https://api.cohere.com"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_cohere_sdk_retries_are_off_with_the_installed_sdk(mode: str, server: FakeRerankServer) -> None:
    """``max_retries=0`` reaches the client constructor only where the installed cohere takes it (7.0.5+; 5.21.1
    raised TypeError); every request carries ``request_options`` ``max_retries: 0`` (honoured by every cohere the extra allows, 5.16+), so a
    server error is attempted exactly as often as rankwise's own policy says, never more."""
    import importlib.metadata

    import cohere

    from rankwise.backends.api.cohere import constructor_takes_max_retries

    takes = _version(importlib.metadata.version("cohere")) >= (7, 0, 5)
    assert constructor_takes_max_retries(cohere.ClientV2) is takes
    assert constructor_takes_max_retries(cohere.AsyncClientV2) is takes
    rr = reranker("cohere", server, backend_options={"max_retries": 0})  # rankwise's policy: one attempt
    server.script(*[Fault.http(503)] * 3)  # the SDK's default (2 retries) would make it three requests
    with pytest.raises(BackendError, match="HTTP 503"):
        await (
            rr.arerank("red apple", documents(3))
            if mode == "async"
            else asyncio.to_thread(rr.rerank, "red apple", documents(3))
        )
    assert len(server.requests) == 1
    if takes:
        client = rr.backends[0]._sync_client().sdk  # type: ignore[attr-defined]
        assert client._client_wrapper.get_max_retries() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_api_backends_declare_what_their_raw_scores_are(kind: str, server: FakeRerankServer) -> None:
    backend = reranker(kind, server).backends[0]
    assert backend.score_kind == ("logit" if kind == "nvidia" else "relevance")  # type: ignore[attr-defined]
