"""API keys: read from the argument or the documented env vars, sent to the server, and never shown anywhere else."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from api_cases import KEY, KINDS, SPECS, documents, reranker
from rerank_api_server import FakeRerankServer, Fault, free_port

from rankwise import BackendConfig, BackendError, Reranker
from rankwise.errors import MissingApiKeyError

HOSTED_ENV = {
    "cohere": "CO_API_KEY or COHERE_API_KEY",
    "voyage": "VOYAGE_API_KEY",
    "jina": "JINA_API_KEY",
    "mixedbread": "MXBAI_API_KEY",
    "nvidia": "NVIDIA_API_KEY",
    "pinecone": "PINECONE_API_KEY",
}
LOGGERS = ("", "rankwise", "httpx", "httpcore", "urllib3", "requests", "aiohttp", "voyageai", "voyage", "cohere")


def sent_key(server: FakeRerankServer) -> str | None:
    headers: dict[str, str] = server.requests[-1].headers
    if "Api-Key" in headers:
        return headers["Api-Key"]
    auth = headers.get("Authorization")
    return auth.removeprefix("Bearer ") if auth else None


@pytest.mark.parametrize("kind", list(HOSTED_ENV))
def test_missing_key_names_the_env_vars(kind: str, server: FakeRerankServer) -> None:
    base_url = None if kind == "nvidia" else server.base_url(kind)  # a self-hosted NIM may run without a key
    rr = Reranker(SPECS[kind], base_url=base_url)
    with pytest.raises(MissingApiKeyError, match=f"set {HOSTED_ENV[kind]} in the environment or pass api_key="):
        rr.load()
    assert not server.requests


@pytest.mark.parametrize(
    ("kind", "var"),
    [
        ("cohere", "CO_API_KEY"),
        ("cohere", "COHERE_API_KEY"),
        ("voyage", "VOYAGE_API_KEY"),
        ("jina", "JINA_API_KEY"),
        ("mixedbread", "MXBAI_API_KEY"),
        ("nvidia", "NVIDIA_API_KEY"),
        ("pinecone", "PINECONE_API_KEY"),
        ("tei", "TEI_API_KEY"),
        ("vllm", "VLLM_API_KEY"),
        ("infinity", "INFINITY_API_KEY"),
    ],
)
def test_key_is_read_from_the_env_var_and_sent(
    kind: str, var: str, server: FakeRerankServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, KEY)
    rr = reranker(kind, server, api_key=None)
    assert len(rr.rerank("red apple", documents(3))) == 3
    assert sent_key(server) == KEY


@pytest.mark.parametrize("kind", ["tei", "vllm", "infinity"])
def test_self_hosted_servers_work_without_a_key(kind: str, server: FakeRerankServer) -> None:
    rr = reranker(kind, server, api_key=None)
    assert len(rr.rerank("red apple", documents(3))) == 3
    assert sent_key(server) is None


def test_empty_key_is_refused(server: FakeRerankServer) -> None:
    with pytest.raises(MissingApiKeyError, match="api_key is empty"):
        reranker("jina", server, api_key="  ").load()


@pytest.mark.parametrize("kind", KINDS)
async def test_key_never_appears_in_logs_reprs_errors_or_configs(
    kind: str, server: FakeRerankServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    import voyageai

    voyageai.log = "debug"  # type: ignore[assignment]  # the SDK's own console output, at its most verbose
    try:
        rr = reranker(kind, server)
        server.script(Fault.http(429, retry_after="0"))
        rr.rerank("red apple", documents(4))  # retried, then fine
        await rr.arerank("green pear", documents(4))
        assert sent_key(server) == KEY  # the key really went over the wire

        errors: list[BaseException] = []
        for broken in (
            reranker(kind, server, base_url=f"http://127.0.0.1:{free_port()}/{kind}"),  # refused
            reranker(kind, server, api_key=KEY + "x"),  # 401: the server never echoes the key
        ):
            with pytest.raises(BackendError) as info:
                broken.rerank("red apple", documents(4))
            errors.append(info.value)
        server.script(Fault("malformed"))
        with pytest.raises(BackendError) as info:
            await rr.arerank("blue sky", documents(4))
        errors.append(info.value)
    finally:
        voyageai.log = None

    backend = rr.backends[0]
    shown = [caplog.text, *capfd.readouterr(), repr(rr), str(rr), repr(backend), json.dumps(backend.to_dict())]
    shown.append(repr(BackendConfig(api_key=KEY)))
    seen: list[BaseException] = []
    pending: list[BaseException | None] = list(errors)
    while pending:  # every exception in the chains (causes and contexts may form cycles)
        exc = pending.pop()
        if exc is None or any(exc is s for s in seen):
            continue
        seen.append(exc)
        shown += [str(exc), repr(exc)]
        pending += [exc.__cause__, exc.__context__]
    assert len(seen) > len(errors)
    assert caplog.records, "the loggers were really listening"
    assert [text for text in shown if KEY in text] == []


def test_serialised_backend_config_says_where_the_key_comes_from(server: FakeRerankServer) -> None:
    settings = reranker("cohere", server).backends[0].to_dict()  # type: ignore[attr-defined]
    assert settings["api_key_env"] == ["CO_API_KEY", "COHERE_API_KEY"]
    assert KEY not in json.dumps(settings)
    assert "api_key" not in {f.name for f in dataclasses.fields(BackendConfig) if f.repr}
