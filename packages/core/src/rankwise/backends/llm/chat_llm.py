"""One way to ask a chat LLM: an OpenAI-compatible endpoint (``openai`` SDK) or a plain Python callable.

Calls to an endpoint go through the same `rankwise.retry.RetryPolicy`, client helpers and
error ladder as the rerank APIs (`rankwise.backends.api.transport`); the SDK's own retries
are off, so there is one policy and its deadline holds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rankwise._optional import require
from rankwise.backends.api.transport import (
    ClientPool,
    ErrorLadder,
    HttpStatus,
    PerLoop,
    aguarded,
    guarded,
    protect_key,
    redacted,
)
from rankwise.errors import BackendError, MissingDependencyError
from rankwise.retry import RemoteCallError, RetryPolicy, acall_with_retry, call_with_retry

Messages = Sequence[Mapping[str, str]]
LLMCallable = Callable[[list[dict[str, str]]], "str | Awaitable[str]"]

#: Per-attempt client timeout when none is given: the openai SDK's own default (a local model on a CPU may
#: take minutes to write a whole permutation, and without streaming no byte comes back before it is done).
DEFAULT_TIMEOUT = 600.0
#: The whole call's deadline when none is given: what the SDK's default 2 retries of 600 s allowed before.
DEFAULT_DEADLINE = 1800.0


class ChatLLM:
    """Sends chat messages and returns the reply text, sync (``complete``) or async (``acomplete``).

    With ``llm`` (a callable ``(messages) -> str``, sync or ``async``) that
    callable is used; otherwise the ``openai`` SDK talks to ``base_url``
    (vLLM, Ollama, llama.cpp server, or OpenAI when None) with ``api_key``
    (``OPENAI_API_KEY`` if unset; a placeholder for keyless local servers).
    Endpoint calls retry under ``policy`` (default: ``timeout`` per attempt,
    `DEFAULT_TIMEOUT` if None, ``max_retries`` retries, a `DEFAULT_DEADLINE`
    deadline), exactly like the rerank APIs; a callable's errors are not retried.
    A final failure is raised as `BackendError` so a `Reranker` fallback can answer.

    >>> ChatLLM("my-model", "listwise:my-model", llm=lambda messages: "[2] > [1]").complete([])
    '[2] > [1]'
    """

    def __init__(
        self,
        model: str,
        backend_name: str,
        *,
        llm: LLMCallable | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        chat_options: Mapping[str, Any] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        if llm is not None and not callable(llm):
            raise TypeError(f"llm must be a callable (messages) -> str, got {type(llm).__name__}")
        self.model = model
        self.backend_name = backend_name
        self.llm = llm
        self.base_url = base_url
        self._api_key = api_key
        limit = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.policy = policy or RetryPolicy(
            timeout=limit, max_retries=max_retries, deadline=max(DEFAULT_DEADLINE, limit)
        )
        self.chat_options: dict[str, Any] = {"temperature": 0, **dict(chat_options or {})}
        self._kwargs: dict[str, Any] = {}  # the clients' settings, checked by _ready() before the first call
        self._ladder = ErrorLadder()
        self._clients: ClientPool[Any] = ClientPool(lambda: self._openai().OpenAI(**self._kwargs), close=_close)
        self._async_clients: PerLoop[Any] = PerLoop(lambda: self._openai().AsyncOpenAI(**self._kwargs))

    # ------------------------------------------------------------------ clients
    def _client_kwargs(self) -> dict[str, Any]:
        key = self._api_key or os.environ.get("OPENAI_API_KEY")
        if key is None and self.base_url is not None:
            key = "not-needed"  # local OpenAI-compatible servers accept any key
        if key is None:
            raise BackendError(
                f"{self.backend_name}: no API key: pass api_key=..., set OPENAI_API_KEY, or base_url= for a local server",
                backend=self.backend_name,
            )
        protect_key(key)
        # the SDK's retries off: the policy is rankwise's; its timeout: the policy's, per attempt
        return {"api_key": key, "base_url": self.base_url, "max_retries": 0, "timeout": self.policy.timeout}

    def _openai(self) -> Any:
        return require("openai", extra="listwise", purpose="the listwise backend's OpenAI-compatible client")

    def _request(self, messages: Messages, timeout: float) -> dict[str, Any]:
        return {"model": self.model, "messages": [dict(m) for m in messages], **self.chat_options, "timeout": timeout}

    def _ready(self) -> None:
        """Check the key and the SDK once, before the first attempt (both are configuration errors)."""
        if not self._kwargs:
            self._kwargs = self._client_kwargs()
        openai = self._openai()
        self._ladder = ErrorLadder(
            timeouts=(openai.APITimeoutError,), transport=(openai.APIConnectionError,), status=_status
        )

    def _failure(self, exc: Exception, timeout: float) -> RemoteCallError:
        return redacted(self._ladder.classify(exc, timeout), self._kwargs.get("api_key"))

    def _attempt(self, messages: Messages, timeout: float) -> str:
        def send() -> str:
            with self._clients.lease() as client:
                return _reply_text(client.chat.completions.create(**self._request(messages, timeout)))

        return guarded(send, lambda exc: self._failure(exc, timeout))

    async def _aattempt(self, messages: Messages, timeout: float) -> str:
        async def send() -> str:
            client = self._async_clients.get()
            return _reply_text(await client.chat.completions.create(**self._request(messages, timeout)))

        return await aguarded(send, lambda exc: self._failure(exc, timeout))

    def _callable_error(self, exc: Exception) -> BackendError:
        return BackendError(
            f"{self.backend_name}: the LLM call failed: {type(exc).__name__}: {exc}", backend=self.backend_name
        )

    # ------------------------------------------------------------------ calls
    def complete(self, messages: Messages) -> str:
        """The reply to ``messages`` (blocking)."""
        if self.llm is None:
            self._ready()
            return call_with_retry(
                lambda timeout: self._attempt(messages, timeout), self.policy, backend=self.backend_name
            )
        try:
            reply = self.llm([dict(m) for m in messages])
            if inspect.isawaitable(reply):
                reply = _run_blocking(reply)
            return _text(reply)
        except (BackendError, MissingDependencyError):
            raise
        except Exception as exc:
            raise self._callable_error(exc) from exc

    async def acomplete(self, messages: Messages) -> str:
        """The reply to ``messages`` (native async: ``AsyncOpenAI``, one per event loop, or an async callable)."""
        if self.llm is None:
            self._ready()
            return await acall_with_retry(
                lambda timeout: self._aattempt(messages, timeout), self.policy, backend=self.backend_name
            )
        try:
            if inspect.iscoroutinefunction(self.llm):
                return _text(await self.llm([dict(m) for m in messages]))
            reply = await asyncio.to_thread(self.llm, [dict(m) for m in messages])
            return _text(await reply if inspect.isawaitable(reply) else reply)
        except (BackendError, MissingDependencyError):
            raise
        except Exception as exc:
            raise self._callable_error(exc) from exc

    def close(self) -> None:
        """Close the pooled sync clients (async clients close with their event loop)."""
        self._clients.close()


def _status(exc: BaseException) -> HttpStatus | None:
    status = getattr(exc, "status_code", None)  # openai.APIStatusError
    if not isinstance(status, int):
        return None
    response = getattr(exc, "response", None)
    return HttpStatus(status, getattr(response, "headers", None), getattr(exc, "message", exc))


def _close(client: Any) -> None:
    client.close()


def _text(reply: object) -> str:
    if reply is None:
        return ""
    if not isinstance(reply, str):
        raise TypeError(f"the llm callable must return a str, got {type(reply).__name__}")
    return reply


def _reply_text(response: Any) -> str:
    if not response.choices:
        return ""
    return response.choices[0].message.content or ""


def _run_blocking(awaitable: Awaitable[Any]) -> Any:
    async def wrap() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrap())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # called from inside an event loop
        return pool.submit(asyncio.run, wrap()).result()
