"""API keys: read from the argument or the documented env vars, sent to the server, and never shown anywhere else."""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback

import pytest
from api_cases import FAST, KEY, KINDS, SPECS, documents, reranker
from rerank_api_server import FakeRerankServer, Fault, free_port

from rankwise import BackendConfig, BackendError, Reranker
from rankwise.backends.llm.chat_llm import ChatLLM
from rankwise.errors import MissingApiKeyError
from rankwise.retry import RetryPolicy

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


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception reachable through ``__cause__`` / ``__context__``."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [current.__cause__, current.__context__]
    return seen


async def fail_with_echoed_key(kind: str, mode: str, server: FakeRerankServer) -> BackendError:
    """Run ``kind`` (a rerank API, or ``openai``: ChatLLM) against a server that echoes the key twice."""
    server.script(Fault.echo(503), Fault.echo(400))  # retried (and logged as retried), then refused
    messages = [{"role": "user", "content": "rank"}]
    llm = ChatLLM("m", "listwise:m", base_url=f"{server.url}/openai/v1", api_key=KEY, policy=RetryPolicy(**FAST))
    rr = reranker(kind, server) if kind != "openai" else None

    async def run() -> object:
        if rr is None:
            return llm.complete(messages) if mode == "sync" else await llm.acomplete(messages)
        return rr.rerank("red apple", documents(4)) if mode == "sync" else await rr.arerank("red apple", documents(4))

    with pytest.raises(BackendError) as info:
        await run()
    assert server.echoed == [KEY, KEY], "the server really sent the key back"
    return info.value


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["cohere", "voyage", "jina", "tei", "openai"])
async def test_item4_an_echoed_key_is_in_no_traceback_chain_or_log_record(
    kind: str, mode: str, server: FakeRerankServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # issue 12 item 4: masking str(exc) is not enough when the unmasked original rides along as the cause
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    error = await fail_with_echoed_key(kind, mode, server)
    assert "HTTP 400" in str(error)
    assert "***" in str(error)  # the echo is shown, masked
    try:
        raise error
    except BackendError:
        logging.getLogger("an.application").exception("rerank failed")  # as an application would log it
    printed = "".join(traceback.format_exception(error))
    assert "rerank failed" in caplog.text
    assert "HTTP 400" in printed
    shown = [printed, caplog.text, *capfd.readouterr()]
    shown += [text for exc in chain(error) for text in (str(exc), repr(exc))]
    assert [text for text in shown if KEY in text] == []


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_item6_the_voyage_sdk_logs_error_bodies_without_the_key(
    level: int, mode: str, server: FakeRerankServer, caplog: pytest.LogCaptureFixture
) -> None:
    # issue 12 item 6: the SDK logs "Voyage API error received" with the server's message at INFO
    caplog.set_level(level, logger="voyage")
    await fail_with_echoed_key("voyage", mode, server)
    voyage = [r.getMessage() for r in caplog.records if r.name == "voyage"]
    if mode == "sync":  # the async path logs the response line, not the error body
        assert any("***" in m for m in voyage), voyage  # the SDK did log the echoed body, masked
    assert voyage
    assert not [m for m in voyage if KEY in m]
    assert KEY not in caplog.text
