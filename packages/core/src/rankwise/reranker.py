"""`Reranker`: the facade. It checks a call, runs the engine, fuses, ranks, and falls back when a backend fails."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar

from rankwise.aliases import alias_calibration, alias_options
from rankwise.backends.base import Backend, Normalization
from rankwise.backends.capabilities import Closable, Warmable
from rankwise.call import Call, prepare_call
from rankwise.chunking import LongDocuments
from rankwise.documents import TextGetter, document_texts
from rankwise.errors import BackendError
from rankwise.fusion import Calibrator, Fused, fuse
from rankwise.ranking import ranked
from rankwise.report import CallReport
from rankwise.result import RerankResult
from rankwise.settings import RerankerSettings
from rankwise.spec import ModelSpec, Source, Term, parse_spec
from rankwise.term_options import route
from rankwise.terms import BuiltTerm, CallStats, ascore_terms, build_terms, score_terms

D = TypeVar("D")
logger = logging.getLogger("rankwise")
Outcome = tuple[list[RerankResult[D]], CallReport]


class Reranker:
    """Rerank documents for a query with any backend: local models, APIs, or a fusion of them.

    ``model`` is a spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``, ``"bi-encoder:…"``,
    ``"lexical"``, a fusion such as ``"0.8*cross-encoder:…+0.2*first-stage|lexical"``; see
    `rankwise.spec`) or a ready `Backend`. Nothing is loaded until the first call (or `load`).
    ``backend_options`` are flat for a one-backend spec and keyed by kind for a fusion
    (`rankwise.term_options`). ``calibration`` (a file from ``rankwise calibrate``) makes scores
    calibrated probabilities. ``fallback`` (a spec or a `Reranker`) answers when a backend fails.
    Documents may be strings, mappings (text under ``text_field``) or objects with a
    ``text``/``page_content``/``content`` attribute (or pass ``text_getter``); results keep the
    caller's objects untouched and say what kind of number each score is (``score_kind``).

    >>> rr = Reranker("lexical")
    >>> [(r.document, r.score_kind) for r in rr.rerank("purring cats", ["dogs bark", "cats purr"], top_n=1)]
    [('cats purr', 'bm25')]
    """

    def __init__(
        self,
        model: str | Backend = "embedded",
        *,
        device: str | None = None,
        batch_size: int | None = None,
        max_length: int = 512,
        normalize: Normalization | None = None,
        text_field: str = "text",
        text_getter: TextGetter | None = None,
        long_documents: LongDocuments = "truncate",
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        cache_size: int = 10_000,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        fallback: str | Reranker | None = None,
        max_concurrency: int = 8,
        backend_options: Mapping[str, Any] | None = None,
        calibration: str | Path | Calibrator | None = None,
    ) -> None:
        self.settings = RerankerSettings(
            device, batch_size, max_length, normalize, text_field, text_getter, long_documents, chunk_size,
            chunk_overlap, cache_size, api_key, base_url, timeout, max_concurrency, dict(backend_options or {}),
        )  # fmt: skip
        if isinstance(model, str):
            self.spec, self._given_backend = parse_spec(model), None
        elif isinstance(model, Backend):
            self.spec, self._given_backend = ModelSpec(()), model
        else:
            raise TypeError(f"model must be a spec string or a Backend, got {type(model).__name__}")
        self.model = str(self.spec) if self._given_backend is None else model.name  # type: ignore[union-attr]
        fallback_spec = parse_spec(fallback) if isinstance(fallback, str) else None
        also = fallback_spec.kinds if fallback_spec is not None else ()
        self._term_options = route(self.spec, backend_options, alias_options(self.spec), also_allowed=also)
        self.calibration = _calibration(calibration, self.spec, normalize)
        self._engine, self._config = self.settings.engine(), self.settings.backend_config()
        self._components: list[BuiltTerm] | None = None
        self._load_lock = threading.Lock()
        self.fallback = fallback if not isinstance(fallback, str) else self._fallback(fallback, fallback_spec)

    def _fallback(self, spec: str, parsed: ModelSpec | None) -> Reranker:
        inherited = self.settings.for_fallback(self.spec, parsed or parse_spec(spec))
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
        return cls(model, **options)

    def __repr__(self) -> str:
        s = self.settings
        return f"Reranker(model={self.model!r}, normalize={s.normalize!r}, long_documents={s.long_documents!r})"

    def load(self) -> Reranker:
        """Build the backends now (idempotent, thread-safe); otherwise they load on first use."""
        if self._components is None:
            with self._load_lock:
                if self._components is None:
                    self._components = self._build()
        if self.fallback is not None:
            self.fallback.load()
        return self

    def _build(self) -> list[BuiltTerm]:
        if self._given_backend is not None:
            return [BuiltTerm(Term(1.0, Source("backend", self._given_backend.name)), self._given_backend)]
        return build_terms(self.spec, self._config, self._term_options)

    @property
    def backends(self) -> list[Backend]:
        """The loaded backends, in spec order (loads them if needed)."""
        built = self.load()._components or []
        return list(dict.fromkeys(b for c in built for b in (c.backend, c.fallback) if b is not None))

    def rerank(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None,
        score_threshold: float | None = None, first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:  # fmt: skip
        """Score ``documents`` for ``query``; best first, cut to ``top_n`` and ``score_threshold``; ties keep
        input order. ``first_stage_scores`` (one per document) feed specs with a ``first-stage`` term."""
        cuts: dict[str, Any] = {
            "top_n": top_n,
            "score_threshold": score_threshold,
            "first_stage_scores": first_stage_scores,
        }
        return self.rerank_with_report(query, documents, **cuts)[0]

    async def arerank(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None,
        score_threshold: float | None = None, first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:  # fmt: skip
        """Async `rerank`: APIs use their native async clients, local models a worker thread."""
        cuts: dict[str, Any] = {
            "top_n": top_n,
            "score_threshold": score_threshold,
            "first_stage_scores": first_stage_scores,
        }
        return (await self.arerank_with_report(query, documents, **cuts))[0]

    def rerank_with_report(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None,
        score_threshold: float | None = None, first_stage_scores: Sequence[float] | None = None,
    ) -> Outcome[D]:  # fmt: skip
        """`rerank`, and a `CallReport` of what the call did (cache hits, batches, backend reports, fallback)."""
        call = self._prepare(query, documents, top_n, score_threshold, first_stage_scores)
        if not call.texts:
            return [], self._report(call, None, CallStats())
        try:
            terms, stats = score_terms(self._engine, self.load()._components or [], self.spec, *_args(call))
        except BackendError as error:
            if self.fallback is None:
                raise
            cuts: dict[str, Any] = {
                "top_n": top_n,
                "score_threshold": score_threshold,
                "first_stage_scores": first_stage_scores,
            }
            return _fell_back(self, error, self.fallback.rerank_with_report(query, documents, **cuts))
        fused = self._fuse(call, terms)
        return ranked(documents, fused, call.top_n, call.score_threshold), self._report(call, fused, stats)

    async def arerank_with_report(
        self, query: str, documents: Sequence[D], *, top_n: int | None = None,
        score_threshold: float | None = None, first_stage_scores: Sequence[float] | None = None,
    ) -> Outcome[D]:  # fmt: skip
        """Async `rerank_with_report`; independent fusion terms run concurrently."""
        call = self._prepare(query, documents, top_n, score_threshold, first_stage_scores)
        if not call.texts:
            return [], self._report(call, None, CallStats())
        if self._components is None:
            await asyncio.to_thread(self.load)
        try:
            terms, stats = await ascore_terms(self._engine, self._components or [], self.spec, *_args(call))
        except BackendError as error:
            if self.fallback is None:
                raise
            cuts: dict[str, Any] = {
                "top_n": top_n,
                "score_threshold": score_threshold,
                "first_stage_scores": first_stage_scores,
            }
            return _fell_back(self, error, await self.fallback.arerank_with_report(query, documents, **cuts))
        fused = self._fuse(call, terms)
        return ranked(documents, fused, call.top_n, call.score_threshold), self._report(call, fused, stats)

    def rerank_many(
        self, requests: Iterable[tuple[str, Sequence[D]] | tuple[str, Sequence[D], Sequence[float] | None]], **cuts: Any
    ) -> list[list[RerankResult[D]]]:
        """Rerank several ``(query, documents)`` or ``(query, documents, first_stage_scores)``; one list each."""
        return [self.rerank(r[0], r[1], first_stage_scores=r[2] if len(r) > 2 else None, **cuts) for r in requests]

    def score(
        self, query: str, documents: Sequence[Any], *, first_stage_scores: Sequence[float] | None = None
    ) -> list[float]:
        """Final scores in input order, without sorting or cutting (the fallback answers if a backend fails)."""
        results = self.rerank(query, documents, first_stage_scores=first_stage_scores)
        scores = [0.0] * len(results)
        for r in results:
            scores[r.index] = r.score
        return scores

    def warm(self, documents: Sequence[Any]) -> int:
        """Pre-compute what backends can compute without a query (document embeddings).

        Returns the number of texts handed to backends that support it, summed over those backends.
        """
        s = self.settings
        texts = document_texts(documents, text_field=s.text_field, text_getter=s.text_getter)
        warmed = 0
        for backend in self.backends:
            if isinstance(backend, Warmable):  # the exact texts rerank will hand it, so they hit its cache
                units = sorted({u for t in texts for u in self._engine.units(backend, t)})
                backend.warm(units)
                warmed += len(units)
        return warmed

    def clear_cache(self) -> None:
        """Forget cached scores."""
        self._engine.cache.clear()

    def close(self) -> None:
        """Release the backends (connections, model memory); a later call loads them again."""
        with self._load_lock:
            built, self._components = self._components or [], None
        for backend in {id(b): b for c in built for b in (c.backend, c.fallback) if b is not None}.values():
            if isinstance(backend, Closable):
                backend.close()
        if self.fallback is not None:
            self.fallback.close()

    def _prepare(self, query: str, documents: Sequence[Any], top_n: object, threshold: object, first: Any) -> Call:
        s, uses = self.settings, self.spec.uses_first_stage
        return prepare_call(query, documents, top_n=top_n, score_threshold=threshold, first_stage_scores=first,
                            uses_first_stage=uses, text_field=s.text_field, text_getter=s.text_getter)  # fmt: skip

    def _fuse(self, call: Call, terms: Any) -> Fused:
        label = self.spec.alias or "+".join(t.source for t in terms)
        return fuse(terms, normalization=self.settings.normalize, label=label, calibration=self.calibration,
                    query=call.query, texts=call.texts)  # fmt: skip

    def _report(self, call: Call, fused: Fused | None, stats: CallStats) -> CallReport:
        if fused is None:
            return CallReport(self.model, "raw", 0)
        return CallReport(fused.label, fused.kind, len(call.texts), stats.cache_hits, stats.batches, stats.reports)


def _args(call: Call) -> tuple[str, list[str], Any]:
    return call.query, call.texts, call.first_stage


def _fell_back(primary: Reranker, error: BackendError, outcome: Outcome[D]) -> Outcome[D]:
    logger.warning("%s failed (%s); the fallback %s answered", primary.model, error, outcome[1].backend)
    return outcome[0], replace(outcome[1], fallback_from=primary.model, error=str(error))


def _calibration(given: str | Path | Calibrator | None, spec: ModelSpec, normalize: str | None) -> Calibrator | None:
    """The calibration to use: the caller's, else the alias's shipped one (unless another normalisation is asked)."""
    if given is None and normalize in (None, "calibrated"):
        given = alias_calibration(spec)
    if given is None:
        if normalize == "calibrated":
            raise ValueError("normalize='calibrated' needs calibration=FILE (fit one with `rankwise calibrate`)")
        return None
    calibration: Calibrator
    if isinstance(given, (str, Path)):
        from rankwise.calibration import Calibration

        calibration = Calibration.load(given)
    else:
        calibration = given
    calibration.check_model(spec.expanded() if spec.terms else "")
    return calibration
