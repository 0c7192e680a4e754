"""Listwise sliding window through the real `openai` client against a scripted chat server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from typing import Any

import pytest

from rankwise import Reranker
from rankwise.backends.llm.listwise import ListwiseBackend, sliding_windows
from rankwise.errors import BackendError

fx = sys.modules["t5_llm_fixtures"]
QUERY = "which doc is best"


def docs(n: int) -> list[str]:
    """Passages "docNN …": the oracle LLM prefers higher NN. Shuffled deterministically."""
    numbers = [(7 * i + 3) % n for i in range(n)] if math.gcd(7, n) == 1 else list(range(n))
    return [f"doc{k:02d} about cats and fish" for k in numbers]


def relevance(text: str) -> int:
    return int(text[3:5])


def listwise(server: Any, **options: Any) -> Reranker:
    return Reranker(
        "listwise:test-model",
        base_url=server.base_url,
        api_key="k",
        backend_options={"window_size": 4, "stride": 2, **options},
    )


@pytest.mark.parametrize(("n", "window", "stride"), [(10, 4, 2), (25, 20, 10), (100, 20, 10), (7, 3, 3), (1, 4, 2)])
def test_windows_cover_the_list_bottom_up(n: int, window: int, stride: int) -> None:
    ws = sliding_windows(n, window, stride)
    assert ws[0][1] == n
    assert ws[-1][0] == 0
    assert len(ws) == 1 + math.ceil(max(0, n - window) / stride)
    assert all(e - s <= window for s, e in ws)
    assert {i for s, e in ws for i in range(s, e)} == set(range(n))


def test_oracle_llm_puts_the_true_top_in_order(chat_server: Any) -> None:
    texts = docs(11)
    rr = listwise(chat_server)
    results = rr.rerank(QUERY, texts)
    got = [relevance(r.document) for r in results]
    # one bottom-up pass keeps the best (window - stride) of everything it has seen: the top 2 are exact
    assert got[:2] == [10, 9]
    assert sorted(got) == list(range(11))
    assert [r.score for r in results] == [float(11 - p) for p in range(11)]
    backend = rr.backends[0]
    assert isinstance(backend, ListwiseBackend)
    assert len(chat_server.requests) == backend.estimate_cost(QUERY, texts).calls == 5
    assert chat_server.requests[0]["model"] == "test-model"
    assert chat_server.requests[0]["temperature"] == 0
    _, report = rr.rerank_with_report(QUERY, texts)
    (own,) = report.reports.values()
    assert own.unparseable == 0  # type: ignore[attr-defined]


def test_more_passes_sort_the_whole_list(chat_server: Any) -> None:
    texts = docs(11)
    got = [relevance(r.document) for r in listwise(chat_server, passes=10).rerank(QUERY, texts)]
    assert got == list(range(10, -1, -1))


async def test_async_client_gives_the_same_ranking(chat_server: Any) -> None:
    texts = docs(11)
    sync = [r.document for r in listwise(chat_server).rerank(QUERY, texts)]
    chat_server.reset()
    got = [r.document for r in await listwise(chat_server).arerank(QUERY, texts)]
    assert got == sync
    assert len(chat_server.requests) == 5
    assert chat_server.max_in_flight == 1  # overlapping windows depend on each other: one at a time


def test_one_reranker_serves_successive_event_loops(chat_server: Any) -> None:
    rr = listwise(chat_server)
    texts = docs(5)
    first = [r.document for r in asyncio.run(rr.arerank(QUERY, texts))]
    assert [r.document for r in asyncio.run(rr.arerank(QUERY, texts))] == first
    assert [r.document for r in rr.rerank(QUERY, texts)] == first


async def test_disjoint_windows_run_concurrently(chat_server: Any) -> None:
    chat_server.delay = 0.2
    texts = docs(12)
    results = await listwise(chat_server, window_size=4, stride=4).arerank(QUERY, texts)
    assert len(chat_server.requests) == 3
    assert chat_server.max_in_flight == 3
    blocks = [sorted(texts[s:e], key=relevance, reverse=True) for s, e in [(0, 4), (4, 8), (8, 12)]]
    assert [r.document for r in results] == [t for block in blocks for t in block]  # each block sorted in place


MALFORMED = {
    "partial": lambda m: "[3]",
    "duplicated": lambda m: "[2] > [2] > [1] > [1] > [2]",
    "out_of_range": lambda m: "[99] > [0] > [-1] > [2]",
    "prose": lambda m: "Sure, here you go: " + fx.oracle_rank(m) + " (ranked by relevance).",
    "empty": lambda m: "",
    "refusal": lambda m: "I am unable to rank these passages.",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_malformed_answers_never_lose_or_duplicate_a_document(
    chat_server: Any, case: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.reset(MALFORMED[case])
    texts = docs(9)
    rr = listwise(chat_server)
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        results, call = (
            rr.rerank_with_report(QUERY, texts) if mode == "sync" else await rr.arerank_with_report(QUERY, texts)
        )
    assert sorted(r.index for r in results) == list(range(9))
    assert sorted(r.document for r in results) == sorted(texts)
    (report,) = call.reports.values()
    assert report.calls == 4
    if case in ("empty", "refusal"):
        assert [r.index for r in results] == list(range(9))  # every window kept its order
        assert report.unparseable == 4
        assert "unparseable answer" in caplog.text
        assert rr.backends[0].unparseable_answers == 4  # type: ignore[attr-defined]
    elif case == "prose":
        assert report.unparseable == report.repaired == 0
        assert [relevance(r.document) for r in results][:2] == [8, 7]
    else:
        assert report.unparseable == 0
        assert report.repaired == 4


def test_callables_sync_and_async(chat_server: Any) -> None:
    seen: list[int] = []

    def llm(messages: list[dict[str, str]]) -> str:
        seen.append(len(messages))
        return fx.oracle_rank(messages)

    async def allm(messages: list[dict[str, str]]) -> str:
        await asyncio.sleep(0)
        return fx.oracle_rank(messages)

    texts = docs(11)
    a = Reranker("listwise:x", backend_options={"llm": llm, "window_size": 4, "stride": 2, "prompt": "rankllm"})
    b = Reranker("listwise:x", backend_options={"llm": allm, "window_size": 4, "stride": 2})
    top_a = [relevance(r.document) for r in a.rerank(QUERY, texts)]
    assert top_a[:2] == [10, 9]
    assert seen == [2] * 5
    assert [relevance(r.document) for r in b.rerank(QUERY, texts)][:2] == [10, 9]
    assert [relevance(r.document) for r in asyncio.run(b.arerank(QUERY, texts))][:2] == [10, 9]
    assert [relevance(r.document) for r in asyncio.run(a.arerank(QUERY, texts))][:2] == [10, 9]


def test_server_failure_is_a_backend_error_and_the_fallback_answers(chat_server: Any) -> None:
    chat_server.fail_status = 400
    texts = docs(5)
    with pytest.raises(BackendError, match="listwise:test-model") as info:
        Reranker("listwise:test-model", base_url=chat_server.base_url, api_key="k").rerank(QUERY, texts)
    assert info.value.retryable is False
    rr = Reranker("listwise:test-model", base_url=chat_server.base_url, api_key="k", fallback="lexical")
    results = rr.rerank("cats", texts)
    assert results[0].backend == "lexical"
    assert len(results) == 5


def test_estimate_cost_counts_calls_and_tokens() -> None:
    backend = ListwiseBackend("gpt-4o-mini", llm=lambda m: "")
    texts = ["word " * 100] * 100
    cost = backend.estimate_cost(QUERY, texts)
    assert cost.calls == 9
    assert cost.method.startswith(("tiktoken:", "words*"))
    assert 9 * 20 * 100 <= cost.prompt_tokens <= 9 * 20 * 100 * 2
    two = ListwiseBackend("gpt-4o-mini", llm=lambda m: "", passes=2).estimate_cost(QUERY, texts)
    assert (two.calls, two.prompt_tokens) == (18, 2 * cost.prompt_tokens)
    assert ListwiseBackend("m", llm=lambda m: "").estimate_cost(QUERY, texts[:1]).calls == 0


def test_passages_are_cut_to_max_words() -> None:
    backend = ListwiseBackend("m", llm=lambda m: "", max_words=3)
    messages = backend.messages(QUERY, ["one two three four five", "six"])
    assert messages[3]["content"] == "[1] one two three"


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="stride"):
        ListwiseBackend("m", llm=lambda m: "", window_size=4, stride=5)
    with pytest.raises(ValueError, match="window_size"):
        ListwiseBackend("m", llm=lambda m: "", window_size=1, stride=1)
    with pytest.raises(ValueError, match="unknown listwise prompt"):
        ListwiseBackend("m", llm=lambda m: "", prompt="chatgpt")
    with pytest.raises(TypeError, match="llm must be a callable"):
        ListwiseBackend("m", llm="not callable")  # type: ignore[arg-type]


def test_retry_options_reach_the_chat_client_policy() -> None:
    rr = Reranker("listwise:m", backend_options={"llm": lambda messages: "[1] > [2]", "deadline": 5.0, "backoff": 0.1})
    backend = rr.backends[0]
    assert isinstance(backend, ListwiseBackend)
    assert (backend.llm.policy.deadline, backend.llm.policy.backoff) == (5.0, 0.1)
