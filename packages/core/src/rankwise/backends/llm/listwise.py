"""Listwise LLM reranking with RankGPT's sliding window (``listwise:<model name>``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from rankwise.backends.base import BackendConfig, OrdersWholeList
from rankwise.backends.llm.chat_llm import ChatLLM, LLMCallable
from rankwise.backends.llm.listwise_prompts import PROMPTS, PromptBuilder
from rankwise.backends.llm.permutation import parse_permutation
from rankwise.backends.llm.token_estimate import count_message_tokens, token_counter
from rankwise.chunking import truncate_words
from rankwise.retry import RETRY_OPTIONS, RetryPolicy
from rankwise.validation import positive_int

logger = logging.getLogger("rankwise")


def sliding_windows(n: int, window_size: int, stride: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each window, bottom of the list first, the last one always starting at 0.

    >>> sliding_windows(25, 20, 10)
    [(5, 25), (0, 15)]
    >>> sliding_windows(5, 20, 10)
    [(0, 5)]
    """
    windows: list[tuple[int, int]] = []
    end = n
    while n > 0:
        start = max(end - window_size, 0)
        windows.append((start, end))
        if start == 0:
            break
        end -= stride
    return windows


@dataclass(frozen=True)
class CostEstimate:
    """What a listwise run will cost before it runs: LLM calls and prompt tokens (estimated).

    >>> CostEstimate(calls=9, prompt_tokens=52_000, method="words*1.3").calls
    9
    """

    calls: int
    prompt_tokens: int
    method: str  # how tokens were counted: "tiktoken:<encoding>" or "words*1.3"


@dataclass
class ListwiseRunReport:
    """What one `ListwiseBackend` run did (returned with its scores by `ListwiseBackend.score_with_report`).

    ``unparseable``: windows whose answer named no passage (their order was
    kept); ``repaired``: windows whose answer was usable but missed, repeated or
    invented identifiers (fixed as `parse_permutation` describes).

    >>> backend = ListwiseBackend("any", llm=lambda messages: "no idea")
    >>> scores, report = backend.score_with_report("q", ["a", "b"])
    >>> scores, report.calls, report.unparseable
    ([2.0, 1.0], 1, 1)
    """

    calls: int = 0
    unparseable: int = 0
    repaired: int = 0
    answers: list[str] = field(default_factory=list)


class ListwiseBackend(OrdersWholeList):
    """Ranks documents by asking an LLM to order numbered passages, RankGPT-style (Sun et al., 2023).

    A window of ``window_size`` passages (default 20) is shown as ``[1] …``
    ``[2] …``; the LLM answers a permutation such as ``[2] > [1] > [3]``. Windows
    slide from the bottom of the list to the top by ``stride`` (default 10), so
    strong documents climb; ``passes`` repeats the walk. Cost per pass:
    ``1 + ceil(max(0, n − window_size) / stride)`` calls (`estimate_cost`).
    Returned scores are ``n − final position`` (``default_normalization = "none"``);
    the backend is ``set_dependent``.

    Answers are parsed by `rankwise.backends.llm.permutation`: no document is ever
    lost or duplicated; an unparseable answer keeps the window's order, logs a
    warning and is counted in the run's report (`score_with_report`) and ``unparseable_answers``.

    The LLM is an OpenAI-compatible chat endpoint (``base_url``, ``api_key``:
    vLLM, Ollama, llama.cpp server, hosted APIs) or ``llm=`` a callable
    ``(messages) -> str`` (sync or async). ``prompt`` is ``"rankgpt"``
    (multi-turn) or ``"rankllm"`` (one message, RankVicuna/RankZephyr).

    Async: windows that overlap (``stride < window_size``) depend on each other
    and run in sequence; with ``stride >= window_size`` they are disjoint and
    ``ascore`` sends them concurrently. Separate queries always run concurrently.

    >>> backend = ListwiseBackend("any", llm=lambda messages: "[2] > [1]")
    >>> backend.score("cats", ["dogs bark", "cats purr"])
    [1.0, 2.0]
    """

    def __init__(
        self,
        model: str,
        *,
        llm: LLMCallable | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        window_size: int = 20,
        stride: int = 10,
        passes: int = 1,
        prompt: str | PromptBuilder = "rankgpt",
        max_words: int | None = 300,
        max_retries: int = 2,
        chat_options: dict[str, object] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        for label, value in (("window_size", window_size), ("stride", stride), ("passes", passes)):
            positive_int(label, value)
        if window_size < 2:
            raise ValueError(f"window_size must be at least 2 (one passage has nothing to rank), got {window_size}")
        if stride > window_size:
            raise ValueError(
                f"stride ({stride}) must not exceed window_size ({window_size}): passages between windows would never be ranked"
            )
        if isinstance(prompt, str) and prompt not in PROMPTS:
            raise ValueError(f"unknown listwise prompt {prompt!r}: choose one of {sorted(PROMPTS)} or pass a callable")
        self.name = f"listwise:{model}"
        self.model = model
        self.window_size = window_size
        self.stride = stride
        self.passes = passes
        self.max_words = max_words
        self.build_messages: PromptBuilder = PROMPTS[prompt] if isinstance(prompt, str) else prompt
        self.llm = ChatLLM(
            model,
            self.name,
            llm=llm,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            chat_options=chat_options,
            policy=policy,
        )
        self.unparseable_answers = 0
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> ListwiseBackend:
        """Options as keyword arguments; the retry keys (``deadline``, ``backoff``, ``max_backoff``,
        ``max_retries``) build the chat client's `RetryPolicy`, as for every remote backend."""
        options = dict(config.options)
        options.setdefault("base_url", config.base_url)
        options.setdefault("api_key", config.api_key)
        options.setdefault("timeout", config.timeout)
        if any(k in options for k in ("deadline", "backoff", "max_backoff")):
            retry = {k: options.pop(k) for k in RETRY_OPTIONS if k in options}
            options["policy"] = RetryPolicy.from_options(retry, timeout=options.get("timeout"))
        return cls(model, **options)

    # ------------------------------------------------------------------ planning
    def windows(self, n: int) -> list[tuple[int, int]]:
        """The windows of one pass over ``n`` documents, in the order they run."""
        return [w for w in sliding_windows(n, self.window_size, self.stride) if w[1] - w[0] >= 2]

    def messages(self, query: str, passages: Sequence[str]) -> list[dict[str, str]]:
        """The chat messages for one window (passages cut to ``max_words``)."""
        return self.build_messages(
            query, [p if self.max_words is None else truncate_words(p, self.max_words) for p in passages]
        )

    def estimate_cost(self, query: str, texts: Sequence[str]) -> CostEstimate:
        """LLM calls and prompt tokens a run over ``texts`` will take.

        Tokens are counted on each window's passages in the current order (the
        real windows hold whatever climbed into them, of similar size).

        >>> ListwiseBackend("gpt-4o-mini", llm=lambda m: "").estimate_cost("q", ["a b c"] * 25).calls
        2
        """
        method, count = token_counter(self.model)
        per_pass = self.windows(len(texts))
        tokens = sum(count_message_tokens(self.messages(query, texts[s:e]), count) for s, e in per_pass)
        return CostEstimate(calls=len(per_pass) * self.passes, prompt_tokens=tokens * self.passes, method=method)

    # ------------------------------------------------------------------ running
    def _apply(
        self,
        ranking: list[int],
        window: tuple[int, int],
        answer: str,
        report: ListwiseRunReport,
    ) -> None:
        start, end = window
        parsed = parse_permutation(answer, end - start)
        report.calls += 1
        report.answers.append(answer)
        if not parsed.parsed:
            report.unparseable += 1
            logger.warning(
                "%s: unparseable answer for window [%d, %d), order kept: %r", self.name, start, end, answer[:200]
            )
        elif not parsed.clean:
            report.repaired += 1
        current = ranking[start:end]
        ranking[start:end] = [current[p] for p in parsed.order]

    def _finish(self, n: int, ranking: list[int], report: ListwiseRunReport) -> list[float]:
        with self._lock:
            self.unparseable_answers += report.unparseable
        scores = [0.0] * n
        for position, index in enumerate(ranking):
            scores[index] = float(n - position)
        return scores

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return self.score_with_report(query, texts)[0]

    def score_with_report(self, query: str, texts: Sequence[str]) -> tuple[list[float], ListwiseRunReport]:
        """Scores ``n − final position`` and this run's report."""
        ranking = list(range(len(texts)))
        report = ListwiseRunReport()
        for _ in range(self.passes):
            for window in self.windows(len(texts)):
                passages = [texts[i] for i in ranking[window[0] : window[1]]]
                answer = self.llm.complete(self.messages(query, passages))
                self._apply(ranking, window, answer, report)
        return self._finish(len(texts), ranking, report), report

    async def ascore(self, query: str, texts: Sequence[str]) -> list[float]:
        return (await self.ascore_with_report(query, texts))[0]

    async def ascore_with_report(self, query: str, texts: Sequence[str]) -> tuple[list[float], ListwiseRunReport]:
        """Async `score_with_report`."""
        ranking = list(range(len(texts)))
        report = ListwiseRunReport()
        independent = self.stride >= self.window_size  # disjoint windows: no window reads another's output
        for _ in range(self.passes):
            windows = self.windows(len(texts))
            if independent:
                asks: list[Awaitable[str]] = [
                    self.llm.acomplete(self.messages(query, [texts[i] for i in ranking[s:e]])) for s, e in windows
                ]
                for window, answer in zip(windows, await asyncio.gather(*asks), strict=True):
                    self._apply(ranking, window, answer, report)
                continue
            for window in windows:
                passages = [texts[i] for i in ranking[window[0] : window[1]]]
                answer = await self.llm.acomplete(self.messages(query, passages))
                self._apply(ranking, window, answer, report)
        return self._finish(len(texts), ranking, report), report


__all__ = ["CostEstimate", "ListwiseBackend", "ListwiseRunReport", "sliding_windows"]
