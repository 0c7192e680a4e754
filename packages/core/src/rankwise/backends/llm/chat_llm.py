"""One way to ask a chat LLM: an OpenAI-compatible endpoint (``openai`` SDK) or a plain Python callable."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rankwise._optional import require
from rankwise.errors import BackendError, MissingDependencyError

Messages = Sequence[Mapping[str, str]]
LLMCallable = Callable[[list[dict[str, str]]], "str | Awaitable[str]"]

_RETRYABLE_STATUS = {408, 409, 429}


class ChatLLM:
    """Sends chat messages and returns the reply text, sync (``complete``) or async (``acomplete``).

    With ``llm`` (a callable ``(messages) -> str``, sync or ``async``) that
    callable is used; otherwise the ``openai`` SDK talks to ``base_url``
    (vLLM, Ollama, llama.cpp server, or OpenAI when None) with ``api_key``
    (``OPENAI_API_KEY`` if unset; a placeholder for keyless local servers).
    The SDK's own retries (``max_retries``) handle 429s and 5xx; a final failure
    is raised as `BackendError` so a `Reranker` fallback can answer.

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
    ) -> None:
        if llm is not None and not callable(llm):
            raise TypeError(f"llm must be a callable (messages) -> str, got {type(llm).__name__}")
        self.model = model
        self.backend_name = backend_name
        self.llm = llm
        self.base_url = base_url
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.chat_options: dict[str, Any] = {"temperature": 0, **dict(chat_options or {})}
        self._client: Any = None
        self._aclient: Any = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None

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
        kwargs: dict[str, Any] = {"api_key": key, "base_url": self.base_url, "max_retries": self.max_retries}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs

    def _openai(self) -> Any:
        return require("openai", extra="listwise", purpose="the listwise backend's OpenAI-compatible client")

    def _request(self, messages: Messages) -> dict[str, Any]:
        return {"model": self.model, "messages": [dict(m) for m in messages], **self.chat_options}

    def _error(self, exc: Exception) -> BackendError:
        openai = self._openai() if self.llm is None else None
        retryable = False
        if openai is not None:
            if isinstance(exc, openai.APIStatusError):
                retryable = exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
            elif isinstance(exc, openai.APIConnectionError):  # includes timeouts
                retryable = True
        return BackendError(
            f"{self.backend_name}: the LLM call failed: {type(exc).__name__}: {exc}",
            backend=self.backend_name,
            retryable=retryable,
        )

    # ------------------------------------------------------------------ calls
    def complete(self, messages: Messages) -> str:
        """The reply to ``messages`` (blocking)."""
        try:
            if self.llm is not None:
                reply = self.llm([dict(m) for m in messages])
                if inspect.isawaitable(reply):
                    reply = _run_blocking(reply)
                return _text(reply)
            if self._client is None:
                self._client = self._openai().OpenAI(**self._client_kwargs())
            response = self._client.chat.completions.create(**self._request(messages))
            return _reply_text(response)
        except (BackendError, MissingDependencyError):
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    async def acomplete(self, messages: Messages) -> str:
        """The reply to ``messages`` (native async: ``AsyncOpenAI`` or an async callable)."""
        try:
            if self.llm is not None:
                if inspect.iscoroutinefunction(self.llm):
                    return _text(await self.llm([dict(m) for m in messages]))
                reply = await asyncio.to_thread(self.llm, [dict(m) for m in messages])
                return _text(await reply if inspect.isawaitable(reply) else reply)
            loop = asyncio.get_running_loop()
            if self._aclient is None or self._aclient_loop is not loop:  # its connections belong to one loop
                self._aclient = self._openai().AsyncOpenAI(**self._client_kwargs())
                self._aclient_loop = loop
            response = await self._aclient.chat.completions.create(**self._request(messages))
            return _reply_text(response)
        except (BackendError, MissingDependencyError):
            raise
        except Exception as exc:
            raise self._error(exc) from exc


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
