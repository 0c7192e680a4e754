"""Remote calls are bounded (issue 12 items 7 and 8) and ChatLLM shares the one retry layer (issue 10 item 5).

A server that trickles a valid answer one byte every 0.25 s defeats every HTTP client's
per-read timeout; the deadline must still end the call. The bound asserted is an upper
bound on rankwise's own enforcement, measured against a small deadline, so a loaded
machine cannot break it (it can only make the call end *sooner* relative to the work).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_cases import FAST, KEY, documents, expected, ranking, reranker
from rerank_api_server import CHAT_ANSWER, FakeRerankServer, Fault

from rankwise import BackendError
from rankwise.backends.llm.chat_llm import ChatLLM
from rankwise.retry import RetryPolicy

FAMILIES = ["cohere", "voyage", "jina"]  # the two SDKs and the httpx backend
DEADLINE = 1.5
SLACK = 0.5  # issue 12 item 7: the deadline holds within 0.5 s


async def call(rr: Any, mode: str, docs: list[str]) -> Any:
    return rr.rerank("red apple", docs) if mode == "sync" else await rr.arerank("red apple", docs)


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", [*FAMILIES, "tei"])
async def test_item7_a_trickling_server_cannot_outlast_the_deadline(
    kind: str, mode: str, headers_too: bool, server: FakeRerankServer
) -> None:
    server.script(*[Fault.trickle(headers_too=headers_too)] * 4)
    rr = reranker(kind, server, timeout=1.0, backend_options={"deadline": DEADLINE, "max_retries": 3})
    rr.load()  # importing an SDK is not part of the call the deadline bounds
    started = time.monotonic()
    with pytest.raises(BackendError, match="no response within") as info:
        await call(rr, mode, documents(4))
    assert time.monotonic() - started < DEADLINE + SLACK
    assert info.value.retryable is True
    # one attempt runs into the deadline; voyage's aiohttp client has a total timeout of its own (1 s),
    # so there a second attempt gets the 0.5 s left
    assert 1 <= len(server.requests) <= 2
    assert server.wait_until_no_trickle(within=8.0), "the abandoned attempt's connection was left open"


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", FAMILIES)
async def test_a_call_after_a_stopped_attempt_works(kind: str, mode: str, server: FakeRerankServer) -> None:
    server.script(Fault.trickle())
    rr = reranker(kind, server, timeout=1.0, backend_options={"deadline": 1.0, "max_retries": 0})
    docs = documents(5)
    with pytest.raises(BackendError, match="deadline"):
        await call(rr, mode, docs)
    assert ranking(await call(rr, mode, docs)) == expected(kind, "red apple", docs)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "fault",
    [Fault.http(429, retry_after="3600"), Fault.http(429, retry_after="3600", text="Too Many Requests")],
    ids=["voyage-json", "gateway-text"],
)
async def test_item8_voyage_honours_a_retry_after_past_the_deadline(
    fault: Fault, mode: str, server: FakeRerankServer
) -> None:
    # the SDK keeps the headers of a {"detail": ...} 429 but drops them for any other body
    server.script(*[fault] * 4)
    rr = reranker("voyage", server, backend_options={"max_retries": 3, "deadline": 60.0})
    with pytest.raises(BackendError, match="asked to wait 3600 s, past the 60 s deadline") as info:
        await call(rr, mode, documents(4))
    assert info.value.retryable is True
    assert len(server.requests) == 1  # failed fast: no attempt spent waiting on what the server refused


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_voyage_waits_as_long_as_a_gateway_asks(mode: str, server: FakeRerankServer) -> None:
    server.script(Fault.http(429, retry_after="0.2", text="Too Many Requests"))
    rr = reranker("voyage", server)
    docs = documents(4)
    assert ranking(await call(rr, mode, docs)) == expected("voyage", "red apple", docs)
    first, second = server.requests
    assert second.at - first.at >= 0.19  # a sleep is never shorter than asked: holds on any machine


# ------------------------------------------------------------------ ChatLLM: the same policy, clients, ladder
def chat(server: FakeRerankServer, **policy: Any) -> ChatLLM:
    settings = {"timeout": 1.0, **FAST, **policy}
    return ChatLLM(
        "chat-model",
        "listwise:chat-model",
        base_url=f"{server.url}/openai/v1",
        api_key=KEY,
        policy=RetryPolicy.from_options(settings, timeout=settings.pop("timeout")),
    )


async def complete(llm: ChatLLM, mode: str) -> str:
    messages = [{"role": "user", "content": "rank these"}]
    return llm.complete(messages) if mode == "sync" else await llm.acomplete(messages)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
async def test_chat_llm_retries_transient_statuses_under_the_policy(
    status: int, mode: str, server: FakeRerankServer
) -> None:
    server.script(Fault.http(status, retry_after="0"))
    assert await complete(chat(server), mode) == CHAT_ANSWER
    assert [s.fault for s in server.requests] == ["status", None]  # one retry: rankwise's, none of the SDK's


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("status", "message", "retryable", "requests"),
    [
        (503, r"listwise:chat-model: HTTP 503.*gave up after 3 attempts", True, 3),
        (400, r"HTTP 400.*not retried", False, 1),
    ],
    ids=["gives-up-after-the-policys-attempts", "does-not-retry-a-bad-request"],
)
async def test_chat_llm_final_failure_is_the_policys(
    status: int, message: str, retryable: bool, requests: int, mode: str, server: FakeRerankServer
) -> None:
    server.script(*[Fault.http(status)] * 10)
    with pytest.raises(BackendError, match=message) as info:
        await complete(chat(server), mode)
    assert info.value.retryable is retryable
    assert len(server.requests) == requests


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_item7_chat_llm_deadline_holds_against_a_trickling_server(mode: str, server: FakeRerankServer) -> None:
    server.script(*[Fault.trickle()] * 4)
    llm = chat(server, deadline=DEADLINE)
    llm._ready()  # importing the SDK is not part of the call the deadline bounds
    started = time.monotonic()
    with pytest.raises(BackendError, match="deadline"):
        await complete(llm, mode)
    assert time.monotonic() - started < DEADLINE + SLACK
    assert server.wait_until_no_trickle(within=8.0)


def test_listwise_backend_keeps_its_max_retries_and_timeout() -> None:
    from rankwise.backends.llm.listwise import ListwiseBackend

    backend = ListwiseBackend("m", base_url="http://127.0.0.1:9/v1", timeout=7.0, max_retries=4)
    assert (backend.llm.policy.timeout, backend.llm.policy.max_retries) == (7.0, 4)
