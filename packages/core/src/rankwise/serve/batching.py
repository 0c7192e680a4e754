"""Dynamic batching across requests: concurrent ``score`` calls of one backend share forward passes.

`BatchingBackend` wraps a backend. Every ``score(query, texts)`` call from any
thread goes into one queue; a single worker thread takes the first call, waits at
most ``max_wait_ms`` for more (or until ``max_batch_pairs`` (query, text) pairs are
queued), and scores them together:

- a `PairScoring` backend (``score_pairs(pairs)``: the cross-encoders, torch and ONNX) gets
  the (query, text) pairs of every request of the batch, whatever their queries, in one call,
  which buckets them by token length into shared forward passes;
- a backend with ``embed_documents(texts)`` (bi-encoders: document embeddings do not
  depend on the query) embeds every text of the batch in one encoder pass, then
  scores each query against its (now cached) texts: a dot product each;
- any other backend gets one call per distinct query, the texts of every request
  with that query merged (deduplicated) into it.

Calls never run concurrently on the wrapped backend (one worker), which also keeps
a CPU from being oversubscribed by one model thread pool per request. Set-dependent
backends (BM25 over the candidates, listwise) are passed through: their scores
depend on each request's whole candidate set, so nothing can be shared.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, cast

from rankwise.backends.base import Backend, Normalization
from rankwise.backends.capabilities import PairScoring
from rankwise.validation import positive_int

BatchObserver = Callable[[int, int], None]  # (pairs, requests) of each batch run


# Methods of a backend that run its tokenizer or model besides ``score``: a wrapper that serialises the model's
# calls runs them under the same lock (Hugging Face fast tokenizers are not safe to call from two threads).
MODEL_METHODS = ("warm", "embed_documents", "score_pairs")
# Hidden by the wrappers: ``ascore`` (calls must go through ``score``) and ``cut_to_tokens``, which the wrappers
# apply themselves, in the model's thread, to the texts they score. The engine then cuts texts to ``max_length``
# words only (a word is never fewer than one token), and the model reads the same first tokens as before.
HIDDEN = ("inner", "ascore", "cut_to_tokens")


def cut_texts(backend: Any, texts: Sequence[str]) -> list[str]:
    """``texts`` cut by the backend's own tokenizer (``cut_to_tokens``), where it has one."""
    cut = getattr(backend, "cut_to_tokens", None)
    return [cut(t) for t in texts] if callable(cut) else list(texts)


def passthrough(wrapper: Any, attribute: str, lock: threading.Lock | None = None) -> Any:
    """``wrapper.inner``'s attribute, except ``ascore``: calls must go through the wrapper's ``score``.

    With ``lock``, the model methods (`MODEL_METHODS`) are returned wrapped to run under it.
    """
    if attribute in HIDDEN or attribute.startswith("__"):
        raise AttributeError(attribute)
    if "inner" not in wrapper.__dict__:
        raise AttributeError(attribute)
    value = getattr(wrapper.__dict__["inner"], attribute)
    if lock is None or attribute not in MODEL_METHODS or not callable(value):
        return value

    @functools.wraps(value)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return value(*args, **kwargs)

    return locked


class SerialBackend:
    """A backend whose calls run one at a time (a lock): what `rankwise serve --no-batching` scores with.

    Each request is scored on its own, as it arrives, but never two at once on one model:
    the models' tokenizers are not thread-safe, and two model thread pools would share the CPU anyway.

    >>> class Overlap:
    ...     name, default_normalization = "overlap", "none"
    ...     def score(self, query, texts):
    ...         return [float(len(set(query.split()) & set(t.split()))) for t in texts]
    >>> SerialBackend(Overlap()).score("red apple", ["a red apple", "a pear"])
    [2.0, 0.0]
    """

    def __init__(self, backend: Backend) -> None:
        self.inner = backend
        self.name: str = backend.name
        self.default_normalization: Normalization = backend.default_normalization
        self._lock = threading.Lock()

    def __getattr__(self, attribute: str) -> Any:
        return passthrough(self, attribute, self.__dict__.get("_lock"))

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """The wrapped backend's scores, computed while no other call runs on it."""
        with self._lock:
            return [float(s) for s in self.inner.score(query, cut_texts(self.inner, texts))]


@dataclass
class _Call:
    query: str
    texts: list[str]
    future: Future[list[float]] = field(default_factory=Future)


class BatchingBackend:
    """A backend whose concurrent ``score`` calls are coalesced into shared batches.

    Scores are the wrapped backend's, unchanged (same ``name``, so the `Reranker`'s
    cache keys stay the same); only how many calls reach the model changes.

    >>> from rankwise.backends.lexical import LexicalBackend
    >>> class Overlap:
    ...     name, default_normalization = "overlap", "none"
    ...     def score(self, query, texts):
    ...         return [float(len(set(query.split()) & set(t.split()))) for t in texts]
    >>> batched = BatchingBackend(Overlap(), max_wait_ms=1)
    >>> batched.score("red apple", ["a red apple", "a pear"])
    [2.0, 0.0]
    >>> batched.close()
    """

    def __init__(
        self,
        backend: Backend,
        *,
        max_batch_pairs: int = 256,
        max_wait_ms: float = 5.0,
        observer: BatchObserver | None = None,
    ) -> None:
        max_batch_pairs = positive_int("max_batch_pairs", max_batch_pairs)
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms!r}")
        self.inner = backend
        self.name: str = backend.name
        self.default_normalization: Normalization = backend.default_normalization
        self.max_batch_pairs = max_batch_pairs
        self.max_wait_s = max_wait_ms / 1000.0
        self._observer = observer
        self._model_lock = threading.Lock()  # held while a batch runs; tokenizer calls from elsewhere wait for it
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    # The optional attributes the Reranker honours (max_length, score_kind, warm...) are the wrapped backend's.
    def __getattr__(self, attribute: str) -> Any:
        return passthrough(self, attribute, self.__dict__.get("_model_lock"))

    def __repr__(self) -> str:
        return f"BatchingBackend({self.inner!r}, max_batch_pairs={self.max_batch_pairs}, max_wait_ms={self.max_wait_s * 1000:g})"

    @property
    def strategy(self) -> str:
        """How a batch reaches the wrapped backend: ``pairs``, ``embeddings``, ``per-query`` or ``pass-through``."""
        if getattr(self.inner, "set_dependent", False):
            return "pass-through"
        if isinstance(self.inner, PairScoring):
            return "pairs"
        if callable(getattr(self.inner, "embed_documents", None)):
            return "embeddings"
        return "per-query"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """The wrapped backend's scores for ``texts``, computed in a batch shared with concurrent calls."""
        if self.strategy == "pass-through" or threading.current_thread() is self._worker:
            return [float(s) for s in self.inner.score(query, cut_texts(self.inner, texts))]
        if self._closed:
            raise RuntimeError(f"the batching wrapper of {self.name!r} is closed; build a new one")
        call = _Call(query, list(texts))
        self._ensure_worker()
        self._queue.put(call)
        return call.future.result()

    def close(self) -> None:
        """Finish the queued calls and stop the worker thread (idempotent)."""
        self._closed = True
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join()

    # ------------------------------------------------------------ worker
    def _ensure_worker(self) -> None:
        if self._worker is None:
            with self._start_lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._loop, name=f"rankwise-batch-{self.name}", daemon=True)
                    self._worker.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._collect(first)
            with self._model_lock:
                self._run(batch)
            if stop:
                return

    def _collect(self, first: _Call) -> tuple[list[_Call], bool]:
        batch, pairs = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while pairs < self.max_batch_pairs:
            left = deadline - time.monotonic()
            try:
                call = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if call is None:
                return batch, True
            batch.append(call)
            pairs += len(call.texts)
        return batch, False

    def _run(self, batch: list[_Call]) -> None:
        if self._observer is not None:
            self._observer(sum(len(c.texts) for c in batch), len(batch))
        try:
            for call in batch:  # the tokenizer runs here, never beside a batch in another thread
                call.texts = cut_texts(self.inner, call.texts)
        except Exception as exc:
            for call in batch:
                call.future.set_exception(exc)
            return
        strategy = self.strategy
        if strategy == "pairs":
            self._settle(batch, self._by_pairs)
            return
        if strategy == "embeddings":
            try:
                self.inner.embed_documents(list(dict.fromkeys(t for c in batch for t in c.texts)))  # type: ignore[attr-defined]
            except Exception as exc:
                for call in batch:
                    call.future.set_exception(exc)
                return
        groups: dict[str, list[_Call]] = {}
        for call in batch:
            groups.setdefault(call.query, []).append(call)
        for query, calls in groups.items():
            self._settle(calls, functools.partial(self._one_query, query))

    @staticmethod
    def _settle(calls: list[_Call], compute: Callable[[list[_Call]], list[list[float]]]) -> None:
        try:
            results = compute(calls)
        except Exception as exc:
            for call in calls:
                call.future.set_exception(exc)
            return
        for call, scores in zip(calls, results, strict=True):
            call.future.set_result(scores)

    def _one_query(self, query: str, calls: list[_Call]) -> list[list[float]]:
        unique = list(dict.fromkeys(t for c in calls for t in c.texts))
        cap = getattr(self.inner, "max_batch_size", None) or len(unique) or 1  # a provider's documented cap
        scores: dict[str, float] = {}
        for start in range(0, len(unique), cap):
            part = unique[start : start + cap]
            scores.update(zip(part, (float(s) for s in self.inner.score(query, part)), strict=True))
        return [[scores[t] for t in c.texts] for c in calls]

    def _by_pairs(self, calls: list[_Call]) -> list[list[float]]:
        pairs = list(dict.fromkeys((c.query, t) for c in calls for t in c.texts))
        inner = cast(PairScoring, self.inner)  # the "pairs" strategy
        cap = getattr(self.inner, "max_batch_size", None) or len(pairs) or 1
        parts = max(1, -(-len(pairs) // cap))  # at most ``cap`` pairs a call, in parts of equal size (no tiny tail)
        size = max(1, -(-len(pairs) // parts))
        scores: dict[tuple[str, str], float] = {}
        for start in range(0, len(pairs), size):
            part = pairs[start : start + size]
            scores.update(zip(part, (float(s) for s in inner.score_pairs(part)), strict=True))
        return [[scores[(c.query, t)] for t in c.texts] for c in calls]
