"""The engine: for each term of a spec, plan → batches → check → finish, with a sync and an async driver.

For one backend and one call the engine

1. **plans**: what each document becomes (cut to what the model reads, or its windows), which of
   those texts are cached for this query, and which are missing;
2. **batches** the missing texts (longest together, at most the backend's ``max_batch_size``);
3. **checks** every answer (one finite number per text, else a `BackendError`);
4. **finishes**: caches the new scores and pools each document's windows (max).

Set-dependent backends (BM25 over the candidates, listwise, DuoT5) get every text in one call and
are never cached per text. A `NeedsFirstPass` backend (DuoT5) has its first pass run by the
engine like any other backend — batched and cached — before it ranks. In async, a term's batches
run concurrently (at most ``max_concurrency`` at once) and independent terms run concurrently;
when one batch fails for good its siblings are cancelled.

>>> from rankwise.cache import ScoreCache
>>> class Length:
...     name = "length"; default_normalization = "none"
...     def score(self, query, texts): return [float(len(t)) for t in texts]
>>> Engine(cache=ScoreCache(10)).run_sync(Length(), "q", ["ab", "a", "ab"]).raw.tolist()
[2.0, 1.0, 2.0]
"""

from __future__ import annotations

import asyncio
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rankwise.backends.base import Backend
from rankwise.backends.capabilities import (
    AsyncReporting,
    AsyncScoring,
    BatchCapped,
    LengthLimited,
    NeedsFirstPass,
    Reporting,
    SetDependent,
    TokenCutting,
    Warmable,
)
from rankwise.cache import ScoreCache
from rankwise.chunking import LongDocuments, chunk_words, truncate_words
from rankwise.errors import BackendError
from rankwise.report import total_usage

Scores = npt.NDArray[np.float64]

#: A query is cut once per call to this share of the backend's ``max_length`` (in words), so a
#: 50,000-word query is neither tokenized once per document nor allowed to crowd the documents out.
QUERY_SHARE = 0.5


@dataclass(frozen=True)
class TermRun:
    """One backend's raw scores for one call (input order), and what it took."""

    raw: Scores
    cache_hits: int = 0
    batches: int = 0
    report: object | None = None


@dataclass
class _Plan:
    units_per_doc: list[list[str]]
    cached: dict[str, float]
    missing: list[str]


@dataclass
class Engine:
    """Scores texts with backends: cutting, caching, batching, checking, pooling. Shared by sync and async."""

    cache: ScoreCache
    batch_size: int = 32
    long_documents: LongDocuments = "truncate"
    chunk_size: int = 300
    chunk_overlap: int = 75
    max_concurrency: int = 8

    # ------------------------------------------------------------------ plan
    def cutter(self, backend: Backend) -> Callable[[str], list[str]]:
        """What a backend is given for each document — the text cut to what it reads, or its windows —
        decided once per call (capability checks are not free, and this runs for every document)."""
        if self.long_documents == "chunk":
            size, overlap = self.chunk_size, self.chunk_overlap
            return lambda text: chunk_words(text, size, overlap)
        if isinstance(backend, TokenCutting):
            cut = backend.cut_to_tokens
            return lambda text: [cut(text)]
        limit = backend.max_length if isinstance(backend, LengthLimited) else None
        if isinstance(limit, int) and limit > 0:
            words = limit
            return lambda text: [truncate_words(text, words)]
        return lambda text: [text]

    def query_for(self, backend: Backend, query: str) -> str:
        """The query cut once for this call: at most `QUERY_SHARE` of the backend's ``max_length`` words."""
        limit = backend.max_length if isinstance(backend, LengthLimited) else None
        if isinstance(limit, int) and limit > 0:
            return truncate_words(query, max(1, int(limit * QUERY_SHARE)))
        return query

    def plan(self, backend: Backend, query: str, texts: Sequence[str]) -> _Plan:
        cut = self.cutter(backend)
        units_per_doc = [cut(t) for t in texts]
        unique = list(dict.fromkeys(u for units in units_per_doc for u in units))
        if _set_dependent(backend):
            return _Plan(units_per_doc, {}, unique)
        cached: dict[str, float] = {}
        missing: list[str] = []
        for unit in unique:
            hit = self.cache.get((backend.name, query, unit))
            if hit is None:
                missing.append(unit)
            else:
                cached[unit] = hit
        return _Plan(units_per_doc, cached, missing)

    def batches(self, backend: Backend, missing: list[str]) -> list[list[str]]:
        """Length-aware batches: longest texts together, so padding is not wasted."""
        if _set_dependent(backend):
            return [missing] if missing else []
        cap = backend.max_batch_size if isinstance(backend, BatchCapped) else None
        size = cap or self.batch_size
        ordered = sorted(missing, key=len, reverse=True)
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def warm(self, backends: Sequence[Backend], texts: Sequence[str]) -> int:
        """Hand each `Warmable` backend the texts rerank will give it (cut alike); the number handed, summed."""
        handed = 0
        for backend in backends:
            if isinstance(backend, Warmable):
                cut = self.cutter(backend)
                units = sorted({u for t in texts for u in cut(t)})
                backend.warm(units)
                handed += len(units)
        return handed

    # ------------------------------------------------------------------ check, finish
    @staticmethod
    def checked(backend: Backend, batch: Sequence[str], scores: object) -> list[float]:
        """One finite float per text, or a `BackendError` naming the backend and the bad value."""
        if isinstance(scores, (str, bytes)) or not isinstance(scores, (Sequence, np.ndarray)):
            raise BackendError(
                f"backend {backend.name!r} returned {type(scores).__name__}, not a list of scores", backend=backend.name
            )
        values = list(scores)
        if len(values) != len(batch):
            raise BackendError(
                f"backend {backend.name!r} returned {len(values)} scores for {len(batch)} texts", backend=backend.name
            )
        for position, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise BackendError(
                    f"backend {backend.name!r} returned a non-number score {value!r} at position {position}",
                    backend=backend.name,
                )
        floats = [float(v) for v in values]
        if not all(math.isfinite(v) for v in floats):
            raise BackendError(f"backend {backend.name!r} returned a NaN or infinite score", backend=backend.name)
        return floats

    def finish(self, backend: Backend, query: str, plan: _Plan, fresh: dict[str, float]) -> Scores:
        if not _set_dependent(backend):
            for unit, value in fresh.items():
                self.cache.put((backend.name, query, unit), value)
        known = plan.cached | fresh
        return np.array([max(known[u] for u in units) for units in plan.units_per_doc], dtype=np.float64)

    # ------------------------------------------------------------------ sync driver
    def run_sync(self, backend: Backend, query: str, texts: Sequence[str]) -> TermRun:
        query = self.query_for(backend, query)
        plan = self.plan(backend, query, texts)
        fresh: dict[str, float] = {}
        reports: list[object] = []
        hits, sent = len(plan.cached), 0
        for batch in self.batches(backend, plan.missing):
            if isinstance(backend, NeedsFirstPass):  # its first pass is a backend like any other: batched, cached
                first = None if backend.first_pass is None else self.run_sync(backend.first_pass, query, batch)
                if first is not None:
                    hits, sent = hits + first.cache_hits, sent + first.batches
                scores, report = backend.rank_after_first_pass(query, batch, None if first is None else list(first.raw))
                reports.append(report)
            elif isinstance(backend, Reporting):
                scores, report = backend.score_with_report(query, batch)
                reports.append(report)
            else:
                scores = backend.score(query, batch)
            fresh.update(zip(batch, self.checked(backend, batch, scores), strict=True))
            sent += 1
        return TermRun(self.finish(backend, query, plan, fresh), hits, sent, call_report(reports))

    # ------------------------------------------------------------------ async driver
    async def run_async(self, backend: Backend, query: str, texts: Sequence[str]) -> TermRun:
        if not isinstance(backend, AsyncScoring) or isinstance(backend, NeedsFirstPass):
            return await asyncio.to_thread(self.run_sync, backend, query, texts)  # a local model: one worker thread
        query = self.query_for(backend, query)
        plan = self.plan(backend, query, texts)
        batches = self.batches(backend, plan.missing)
        limit = asyncio.Semaphore(self.max_concurrency)
        scorer = backend
        reports: list[object] = []

        async def one(batch: list[str]) -> dict[str, float]:
            async with limit:
                if isinstance(scorer, AsyncReporting):
                    scores, report = await scorer.ascore_with_report(query, batch)
                    reports.append(report)
                else:
                    scores = await scorer.ascore(query, batch)
                return dict(zip(batch, self.checked(backend, batch, scores), strict=True))

        try:
            async with asyncio.TaskGroup() as group:  # one batch failing for good cancels its siblings
                tasks = [group.create_task(one(b)) for b in batches]
        except BaseExceptionGroup as group_error:
            raise first_error(group_error) from None
        fresh: dict[str, float] = {}
        for task in tasks:
            fresh.update(task.result())
        return TermRun(self.finish(backend, query, plan, fresh), len(plan.cached), len(batches), call_report(reports))


def call_report(reports: Sequence[object | None]) -> object | None:
    """One call's report from its batches' reports: an API's `ApiUsage` adds up over the requests; any other
    report is the last batch's (the backends that report more, listwise and DuoT5, get one batch)."""
    usage = total_usage(reports)
    if usage is not None:
        return usage
    given = [r for r in reports if r is not None]
    return given[-1] if given else None


def _set_dependent(backend: Backend) -> bool:
    return isinstance(backend, SetDependent) and bool(backend.set_dependent)


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real failure inside a task group (cancellations of its siblings are not failures)."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return first_error(error)
        if not isinstance(error, asyncio.CancelledError):
            return error
    return group.exceptions[0]
