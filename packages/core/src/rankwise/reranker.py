"""`Reranker`: the facade. It checks a call, runs the engine, fuses, ranks, traces, and falls back on failure."""

from __future__ import annotations

import asyncio
import copy
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from rankwise.aliases import alias_options
from rankwise.backends.base import Backend, Normalization
from rankwise.calibration_choice import choose_calibration
from rankwise.chunking import LongDocuments
from rankwise.derived_calls import DerivedCalls
from rankwise.documents import TextGetter, document_texts
from rankwise.errors import BackendError
from rankwise.fusion import Calibrator
from rankwise.outcome import CallSteps, Outcome, fell_back
from rankwise.report import CallReport
from rankwise.result import RerankResult
from rankwise.settings import RerankerSettings
from rankwise.spec import ModelSpec, parse_spec
from rankwise.term_options import route
from rankwise.terms import BuiltTerm, ascore_terms, close_terms, load_terms, score_terms, wrap_terms
from rankwise.wrapping import composed

D = TypeVar("D")


class Reranker(DerivedCalls):
    """Rerank documents for a query with any backend: local models, APIs, or a fusion of them.

    ``model`` is a spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``, ``"lexical"``, a fusion such
    as ``"0.8*cross-encoder:…+0.2*first-stage|lexical"``; `rankwise.spec`) or a ready `Backend`; nothing
    loads before the first call (or `load`). ``backend_options`` are flat for a one-backend spec, keyed by
    kind for a fusion (`rankwise.term_options`). ``calibration`` (from ``rankwise calibrate``) makes scores
    calibrated probabilities; ``fallback`` (a spec or a `Reranker`) answers when a backend fails;
    ``trace_content`` puts the query and texts into OpenTelemetry spans. Documents are strings, mappings
    (text under ``text_field``) or objects with ``text``/``page_content``/``content`` (or ``text_getter``);
    results hold the caller's objects untouched and say what kind of number each score is.

    >>> rr = Reranker("lexical")
    >>> [(r.document, r.score_kind) for r in rr.rerank("purring cats", ["dogs bark", "cats purr"], top_n=1)]
    [('cats purr', 'bm25')]
    """

    def __init__(
        self, model: str | Backend = "embedded", *, device: str | None = None, batch_size: int | None = None,
        max_length: int = 512, normalize: Normalization | None = None, text_field: str = "text",
        text_getter: TextGetter | None = None, long_documents: LongDocuments = "truncate",
        chunk_size: int | None = None, chunk_overlap: int | None = None, cache_size: int = 10_000,
        api_key: str | None = None, base_url: str | None = None, timeout: float | None = None,
        fallback: str | Reranker | None = None, max_concurrency: int = 8,
        backend_options: Mapping[str, Any] | None = None, calibration: str | Path | Calibrator | None = None,
        trace_content: bool = False,
    ) -> None:  # fmt: skip
        self.settings = RerankerSettings(
            device, batch_size, max_length, normalize, text_field, text_getter, long_documents, chunk_size,
            chunk_overlap, cache_size, api_key, base_url, timeout, max_concurrency, dict(backend_options or {}),
            trace_content,
        )  # fmt: skip
        if not isinstance(model, (str, Backend)):
            raise TypeError(f"model must be a spec string or a Backend, got {type(model).__name__}")
        self.spec = parse_spec(model) if isinstance(model, str) else ModelSpec(())
        self._given_backend = None if isinstance(model, str) else model
        self.model = model.strip() if isinstance(model, str) else model.name
        fallback_spec = parse_spec(fallback) if isinstance(fallback, str) else None
        also = fallback_spec.kinds if fallback_spec is not None else ()
        self._term_options = route(self.spec, backend_options, alias_options(self.spec.alias), also_allowed=also)
        self.calibration = choose_calibration(calibration, self.spec, normalize)
        self._engine, self._config = self.settings.engine(), self.settings.backend_config()
        self._steps = CallSteps(self.settings, self.spec, self.model, self.calibration)
        self._components: list[BuiltTerm] | None = None
        self._wrap: Callable[[Backend], Backend] | None = None
        self._load_lock = threading.Lock()
        self.fallback = fallback if not isinstance(fallback, str) else self._fallback(fallback)

    def _fallback(self, spec: str) -> Reranker:
        inherited = self.settings.for_fallback(self.spec, parse_spec(spec))
        return Reranker(spec, **{f.name: getattr(inherited, f.name) for f in fields(inherited)})

    @classmethod
    def of(cls, model: str | Backend | Reranker, **options: Any) -> Reranker:
        """``model`` itself if it is already a `Reranker`, else a new `Reranker(model, **options)`.

        >>> rr = Reranker("lexical")
        >>> Reranker.of(rr) is rr, Reranker.of("lexical", batch_size=8).settings.batch_size
        (True, 8)
        """
        if isinstance(model, Reranker):
            if options:
                raise ValueError(f"options {sorted(options)} only apply when model is a spec; configure the Reranker")
            return model
        known = [name for name in inspect.signature(cls.__init__).parameters if name not in ("self", "model")]
        unknown = sorted(set(options) - set(known))
        if unknown:  # a ValueError (pydantic reports it as a ValidationError), not the bare TypeError of a call
            raise ValueError(
                f"Reranker has no option {', '.join(map(repr, unknown))}: its options are {', '.join(known)}"
            )
        return cls(model, **options)

    def __repr__(self) -> str:
        s = self.settings
        return f"Reranker(model={self.model!r}, normalize={s.normalize!r}, long_documents={s.long_documents!r})"

    def load(self) -> Reranker:
        """Build the backends now (idempotent, thread-safe); otherwise they load on first use."""
        with self._load_lock:
            if self._components is None:
                given, options = self._given_backend, self._term_options
                self._components = load_terms(given, self.spec, self._config, options, self._wrap)
        if self.fallback is not None:
            self.fallback.load()
        return self

    def with_wrapped_backends(self, wrap: Callable[[Backend], Backend]) -> Reranker:
        """A `Reranker` like this one whose backends are ``wrap(backend)``, sharing its loaded models and
        settings, with a score cache of its own (`rankwise.wrapping`: batching, locks, counting)."""
        self.load()
        twin = copy.copy(self)
        twin._load_lock, twin._engine = threading.Lock(), self.settings.engine()
        twin._wrap = wrap if self._wrap is None else composed(self._wrap, wrap)
        twin._components = wrap_terms(self._components or [], wrap)
        twin.fallback = None if self.fallback is None else self.fallback.with_wrapped_backends(wrap)
        return twin

    @property
    def backends(self) -> list[Backend]:
        """The loaded backends, in spec order (loads them if needed)."""
        built = self.load()._components or []
        return list(dict.fromkeys(b for c in built for b in (c.backend, c.fallback) if b is not None))

    def rerank(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None, score_threshold: float | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:  # fmt: skip
        """Score ``documents`` for ``query``: best first (ties keep input order), cut to ``top_n`` and
        ``score_threshold``; ``first_stage_scores`` (one per document) feed specs with a ``first-stage`` term."""
        cuts = {"top_n": top_n, "score_threshold": score_threshold, "first_stage_scores": first_stage_scores}
        return self.rerank_with_report(query, documents, **cuts)[0]

    async def arerank(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None, score_threshold: float | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:  # fmt: skip
        """Async `rerank`: APIs use their native async clients, local models a worker thread."""
        cuts = {"top_n": top_n, "score_threshold": score_threshold, "first_stage_scores": first_stage_scores}
        return (await self.arerank_with_report(query, documents, **cuts))[0]

    def rerank_with_report(self, query: str, documents: Sequence[D], **cuts: Any) -> Outcome[D]:
        """`rerank`, and a `CallReport` of what the call did (cache hits, batches, backend reports, fallback)."""
        call = self._steps.prepare(query, documents, cuts)
        if not call.texts:
            return [], CallReport(self.model, "raw")
        with self._steps.span(call, documents) as span:
            try:
                terms, stats = score_terms(self._engine, self.load()._components or [], self.spec, call)
            except BackendError as error:
                if self.fallback is None:
                    raise
                span.fallback(self.fallback.model, error)
                return fell_back(self.model, error, self.fallback.rerank_with_report(query, documents, **cuts))
            return self._steps.finish(documents, call, terms, stats, span)

    async def arerank_with_report(self, query: str, documents: Sequence[D], **cuts: Any) -> Outcome[D]:
        """Async `rerank_with_report`; independent fusion terms run concurrently."""
        call = self._steps.prepare(query, documents, cuts)
        if not call.texts:
            return [], CallReport(self.model, "raw")
        if self._components is None:
            await asyncio.to_thread(self.load)
        with self._steps.span(call, documents) as span:
            try:
                terms, stats = await ascore_terms(self._engine, self._components or [], self.spec, call)
            except BackendError as error:
                if self.fallback is None:
                    raise
                span.fallback(self.fallback.model, error)
                return fell_back(self.model, error, await self.fallback.arerank_with_report(query, documents, **cuts))
            return self._steps.finish(documents, call, terms, stats, span)

    def warm(self, documents: Sequence[Any]) -> int:
        """Pre-compute what backends can without a query (document embeddings); returns the number of texts
        handed over, summed over the backends that support it (the texts rerank will give them, cut alike)."""
        texts = document_texts(documents, text_field=self.settings.text_field, text_getter=self.settings.text_getter)
        return self._engine.warm(self.backends, texts)

    def clear_cache(self) -> None:
        """Forget cached scores."""
        self._engine.cache.clear()

    def close(self) -> None:
        """Release the backends (connections, model memory); a later call loads them again."""
        with self._load_lock:
            built, self._components = self._components or [], None
        close_terms(built)
        if self.fallback is not None:
            self.fallback.close()
