"""`Reranker`: the one place where rankwise scores, cuts and orders documents."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from rankwise.backends.base import Backend, BackendConfig, Normalization
from rankwise.backends.registry import create_backend, known_kinds, split_spec
from rankwise.cache import ScoreCache
from rankwise.chunking import LongDocuments, chunk_words, truncate_words
from rankwise.documents import TextGetter, document_texts
from rankwise.errors import BackendError
from rankwise.normalize import NORMALIZATIONS, normalize
from rankwise.result import RerankResult
from rankwise.spec import FIRST_STAGE, parse_spec

D = TypeVar("D")
Scores = npt.NDArray[np.float64]


@dataclass
class _Component:
    weight: float
    backend: Backend | None  # None: the caller's first-stage scores
    fallback: Backend | None = None  # used for ``first-stage|<spec>`` when no first-stage scores are given


@dataclass
class _Plan:
    """Which texts a backend must score for one query, and how to pool them back per document."""

    units_per_doc: list[list[str]]
    cached: dict[str, float]
    missing: list[str]


def _check_positive_int(name: str, value: object, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")


class Reranker:
    """Rerank documents for a query with any backend: local models, APIs, or a fusion of them.

    ``model`` is a spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``,
    ``"bi-encoder:…"``, ``"lexical"``, a weighted fusion such as
    ``"0.8*cross-encoder:…+0.2*first-stage|lexical"``; see `rankwise.spec`) or a
    ready `Backend`. Nothing is loaded until the first call (or `load`).

    Documents may be strings, mappings (text under ``text_field``) or objects
    with a ``text``/``page_content``/``content`` attribute (or pass
    ``text_getter``). Results keep the caller's objects untouched.

    >>> rr = Reranker("lexical")
    >>> [r.document for r in rr.rerank("purring cats", ["dogs bark", "cats purr", "birds fly"], top_n=1)]
    ['cats purr']
    """

    def __init__(
        self,
        model: str | Backend = "embedded",
        *,
        device: str | None = None,
        batch_size: int = 32,
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
    ) -> None:
        _check_positive_int("batch_size", batch_size, allow_none=False)
        _check_positive_int("max_length", max_length, allow_none=False)
        _check_positive_int("max_concurrency", max_concurrency, allow_none=False)
        if normalize is not None and normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)} or None, got {normalize!r}")
        if long_documents not in ("truncate", "chunk"):
            raise ValueError(f"long_documents must be 'truncate' or 'chunk', got {long_documents!r}")
        self.chunk_size = chunk_size if chunk_size is not None else max(16, int(max_length * 0.6))
        self.chunk_overlap = chunk_overlap if chunk_overlap is not None else self.chunk_size // 4
        chunk_words("", self.chunk_size, self.chunk_overlap)  # validates the pair now, not at first use
        if isinstance(model, str):
            self._terms = parse_spec(_expand_alias(model))
        elif isinstance(model, Backend):
            self._terms = ()
        else:
            raise TypeError(f"model must be a spec string or a Backend, got {type(model).__name__}")
        self.model = model if isinstance(model, str) else model.name
        self._label = model.strip() if isinstance(model, str) and model.strip() in _ALIASES else None
        self.normalize = normalize
        self.text_field = text_field
        self.text_getter = text_getter
        self.long_documents: LongDocuments = long_documents
        self.batch_size = batch_size
        self.max_length = max_length
        self.max_concurrency = max_concurrency
        self._config = BackendConfig(
            device=device,
            batch_size=batch_size,
            max_length=max_length,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            options=_default_options(model, backend_options or {}),
        )
        self._cache = ScoreCache(cache_size)
        self._given_backend = model if isinstance(model, Backend) else None
        self._components: list[_Component] | None = None
        self._load_lock = threading.Lock()
        if isinstance(fallback, str):
            fallback = Reranker(
                fallback,
                device=device,
                batch_size=batch_size,
                max_length=max_length,
                normalize=normalize,
                text_field=text_field,
                text_getter=text_getter,
                long_documents=long_documents,
                cache_size=cache_size,
            )
        self.fallback = fallback

    @classmethod
    def of(cls, model: str | Backend | Reranker, **options: Any) -> Reranker:
        """``model`` itself if it is already a `Reranker`, else a new `Reranker(model, **options)`.

        The adapters take either a spec or a ready `Reranker`; options only make sense with a spec.

        >>> rr = Reranker("lexical")
        >>> Reranker.of(rr) is rr, Reranker.of("lexical", batch_size=8).batch_size
        (True, 8)
        """
        if isinstance(model, Reranker):
            if options:
                raise ValueError(
                    f"options {sorted(options)} only apply when model is a spec; configure the Reranker you pass instead"
                )
            return model
        return cls(model, **options)

    def __repr__(self) -> str:
        return f"Reranker(model={self.model!r}, normalize={self.normalize!r}, long_documents={self.long_documents!r})"

    # ----------------------------------------------------------------- loading
    def load(self) -> Reranker:
        """Build the backends now (idempotent, thread-safe); otherwise they load on first use."""
        if self._components is None:
            with self._load_lock:
                if self._components is None:
                    self._components = self._build_components()
        if self.fallback is not None:
            self.fallback.load()
        return self

    def _build_components(self) -> list[_Component]:
        if self._given_backend is not None:
            return [_Component(1.0, self._given_backend)]
        built: dict[str, Backend] = {}

        def backend(spec: str | None) -> Backend | None:
            if spec is None or spec == FIRST_STAGE:
                return None
            if spec not in built:
                built[spec] = create_backend(spec, self._config_for(spec))
            return built[spec]

        return [_Component(t.weight, backend(t.source), backend(t.fallback_source)) for t in self._terms]

    def _config_for(self, spec: str) -> BackendConfig:
        """``backend_options`` are flat for one backend, or keyed by kind (``{"bi-encoder": {...}}``)."""
        options = self._config.options
        if not any(kind in options for kind in known_kinds()):
            return self._config
        kind, _ = split_spec(spec)
        own = options.get(kind, {})
        if not isinstance(own, Mapping):
            raise TypeError(f"backend_options[{kind!r}] must be a dict of options for the {kind!r} backend")
        return replace(self._config, options=dict(own))

    @property
    def backends(self) -> list[Backend]:
        """The loaded backends, in spec order (loads them if needed)."""
        components = self.load()._components or []
        return [b for c in components for b in (c.backend, c.fallback) if b is not None]

    # ----------------------------------------------------------------- public API
    def rerank(
        self,
        query: str,
        documents: Sequence[D],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:
        """Score ``documents`` for ``query`` and return them best-first, cut to ``top_n`` and the threshold.

        Ties keep input order. ``first_stage_scores`` (one per document, e.g. BM25
        or vector similarity from the retriever) are used by specs with a
        ``first-stage`` term and ignored otherwise.
        """
        texts, first_stage = self._validate(query, documents, top_n, score_threshold, first_stage_scores)
        if not texts:
            return []
        try:
            scores, used = self._score(query, texts, first_stage, self._run_sync)
        except BackendError:
            if self.fallback is None:
                raise
            return self.fallback.rerank(
                query, documents, top_n=top_n, score_threshold=score_threshold, first_stage_scores=first_stage_scores
            )
        return _ranked(documents, scores, used, top_n, score_threshold)

    async def arerank(
        self,
        query: str,
        documents: Sequence[D],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> list[RerankResult[D]]:
        """Async `rerank`: remote backends use their native async clients; local models run in a worker thread."""
        texts, first_stage = self._validate(query, documents, top_n, score_threshold, first_stage_scores)
        if not texts:
            return []
        if self._components is None:
            await asyncio.to_thread(self.load)
        try:
            scores, used = await self._ascore(query, texts, first_stage)
        except BackendError:
            if self.fallback is None:
                raise
            return await self.fallback.arerank(
                query, documents, top_n=top_n, score_threshold=score_threshold, first_stage_scores=first_stage_scores
            )
        return _ranked(documents, scores, used, top_n, score_threshold)

    def rerank_many(
        self,
        requests: Iterable[tuple[str, Sequence[D]]],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
    ) -> list[list[RerankResult[D]]]:
        """Rerank several ``(query, documents)`` pairs; one result list per pair, in order."""
        return [self.rerank(q, docs, top_n=top_n, score_threshold=score_threshold) for q, docs in requests]

    def score(
        self, query: str, documents: Sequence[Any], *, first_stage_scores: Sequence[float] | None = None
    ) -> list[float]:
        """Final (normalised) scores in input order, without sorting or cutting."""
        texts, first_stage = self._validate(query, documents, None, None, first_stage_scores)
        if not texts:
            return []
        scores, _ = self._score(query, texts, first_stage, self._run_sync)
        return [float(s) for s in scores]

    def warm(self, documents: Sequence[Any]) -> int:
        """Pre-compute what backends can compute without a query (document embeddings).

        Returns the number of distinct texts handed to backends that support it.
        """
        texts = document_texts(documents, text_field=self.text_field, text_getter=self.text_getter)
        warmed = 0
        for backend in self.backends:
            warm = getattr(backend, "warm", None)
            if callable(warm):
                # The exact texts rerank will hand this backend (cut to its max_length), so they hit its cache.
                units = sorted({u for t in texts for u in self._units(t, backend)})
                warm(units)
                warmed = len(units)
        return warmed

    def clear_cache(self) -> None:
        """Forget cached scores."""
        self._cache.clear()

    # ----------------------------------------------------------------- internals
    def _validate(
        self,
        query: str,
        documents: Sequence[Any],
        top_n: int | None,
        score_threshold: float | None,
        first_stage_scores: Sequence[float] | None,
    ) -> tuple[list[str], Scores | None]:
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if not query.strip():
            raise ValueError("query is empty: pass the user's question or search text")
        _check_positive_int("top_n", top_n)
        if score_threshold is not None and (
            isinstance(score_threshold, bool)
            or not isinstance(score_threshold, (int, float))
            or math.isnan(score_threshold)
        ):
            raise ValueError(f"score_threshold must be a number or None, got {score_threshold!r}")
        texts = document_texts(documents, text_field=self.text_field, text_getter=self.text_getter)
        first_stage = None
        if first_stage_scores is not None:
            first_stage = np.asarray(list(first_stage_scores), dtype=np.float64)
            if first_stage.shape != (len(texts),):
                raise ValueError(
                    f"first_stage_scores has {first_stage.size} values for {len(texts)} documents; give one per document"
                )
            if not np.all(np.isfinite(first_stage)):
                raise ValueError("first_stage_scores contains NaN or infinite values")
        return texts, first_stage

    def _units(self, text: str, backend: Backend | None) -> list[str]:
        """What a backend is given for one document: the text cut, or its windows."""
        if self.long_documents == "chunk":
            return chunk_words(text, self.chunk_size, self.chunk_overlap)
        limit = getattr(backend, "max_length", None) if backend is not None else None
        return [truncate_words(text, limit)] if isinstance(limit, int) and limit > 0 else [text]

    def _plan(self, backend: Backend, query: str, texts: list[str]) -> _Plan:
        units_per_doc = [self._units(t, backend) for t in texts]
        cached: dict[str, float] = {}
        missing: list[str] = []
        unique = list(dict.fromkeys(u for units in units_per_doc for u in units))
        if _set_dependent(backend):  # scores depend on the whole candidate set: no per-text cache
            return _Plan(units_per_doc, cached, unique)
        for unit in unique:
            hit = self._cache.get((backend.name, query, unit))
            if hit is None:
                missing.append(unit)
            else:
                cached[unit] = hit
        return _Plan(units_per_doc, cached, missing)

    def _batches(self, backend: Backend, missing: list[str]) -> list[list[str]]:
        """Length-aware batches: longest texts together, so padding is not wasted."""
        if _set_dependent(backend):
            return [missing] if missing else []
        size = getattr(backend, "max_batch_size", None) or self.batch_size
        ordered = sorted(missing, key=len, reverse=True)
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def _checked(self, backend: Backend, batch: list[str], scores: Sequence[float]) -> list[float]:
        values = [float(s) for s in scores]
        if len(values) != len(batch):
            raise BackendError(
                f"backend {backend.name!r} returned {len(values)} scores for {len(batch)} texts", backend=backend.name
            )
        if not all(math.isfinite(v) for v in values):
            raise BackendError(f"backend {backend.name!r} returned a NaN or infinite score", backend=backend.name)
        return values

    def _finish(self, backend: Backend, query: str, plan: _Plan, fresh: dict[str, float]) -> Scores:
        if not _set_dependent(backend):
            for unit, value in fresh.items():
                self._cache.put((backend.name, query, unit), value)
        known = plan.cached | fresh
        return np.array([max(known[u] for u in units) for units in plan.units_per_doc], dtype=np.float64)

    def _run_sync(self, backend: Backend, query: str, texts: list[str]) -> Scores:
        plan = self._plan(backend, query, texts)
        fresh: dict[str, float] = {}
        for batch in self._batches(backend, plan.missing):
            fresh.update(zip(batch, self._checked(backend, batch, backend.score(query, batch)), strict=True))
        return self._finish(backend, query, plan, fresh)

    async def _run_async(self, backend: Backend, query: str, texts: list[str]) -> Scores:
        ascore: Callable[[str, Sequence[str]], Awaitable[Sequence[float]]] | None = getattr(backend, "ascore", None)
        if ascore is None:  # a local model: one worker thread, batches in sequence
            return await asyncio.to_thread(self._run_sync, backend, query, texts)
        plan = self._plan(backend, query, texts)
        limit = asyncio.Semaphore(self.max_concurrency)

        async def one(batch: list[str]) -> dict[str, float]:
            async with limit:
                return dict(zip(batch, self._checked(backend, batch, await ascore(query, batch)), strict=True))

        fresh: dict[str, float] = {}
        for part in await asyncio.gather(*(one(b) for b in self._batches(backend, plan.missing))):
            fresh.update(part)
        return self._finish(backend, query, plan, fresh)

    def _score(
        self,
        query: str,
        texts: list[str],
        first_stage: Scores | None,
        run: Callable[[Backend, str, list[str]], Scores],
    ) -> tuple[Scores, str]:
        components = self.load()._components or []
        sources = [self._component_backend(c, first_stage) for c in components]
        raw = [first_stage if b is None else run(b, query, texts) for b in sources]
        return self._combine(components, sources, raw)

    async def _ascore(self, query: str, texts: list[str], first_stage: Scores | None) -> tuple[Scores, str]:
        components = self._components or []
        sources = [self._component_backend(c, first_stage) for c in components]
        raw = [first_stage if b is None else await self._run_async(b, query, texts) for b in sources]
        return self._combine(components, sources, raw)

    def _component_backend(self, component: _Component, first_stage: Scores | None) -> Backend | None:
        """The backend that scores this term for this call; ``None`` means the caller's first-stage scores."""
        if component.backend is not None:
            return component.backend
        if first_stage is not None:
            return None
        if component.fallback is not None:
            return component.fallback
        raise ValueError(
            f"model spec {self.model!r} uses first-stage scores: pass first_stage_scores=[...] (one per document)"
        )

    def _combine(
        self, components: list[_Component], sources: list[Backend | None], raw: Sequence[Scores | None]
    ) -> tuple[Scores, str]:
        names = ["first-stage" if b is None else b.name for b in sources]
        if len(components) == 1 and components[0].weight == 1.0:
            backend = sources[0]
            how = self.normalize or (backend.default_normalization if backend is not None else "none")
            values = raw[0]
            assert values is not None
            return normalize(values, how), names[0]
        total = np.zeros_like(raw[0], dtype=np.float64)
        for component, values in zip(components, raw, strict=True):
            assert values is not None
            total += component.weight * normalize(values, "minmax")
        if self.normalize is not None:
            total = normalize(total, self.normalize)
        return total, self._label or "+".join(names)


_ALIASES = ("embedded",)


def _set_dependent(backend: Backend) -> bool:
    return bool(getattr(backend, "set_dependent", False))


def _default_options(model: object, options: Mapping[str, Any]) -> dict[str, Any]:
    """The embedded alias brings default options per kind; every other spec takes the caller's as given."""
    if isinstance(model, str) and model.strip() == "embedded" and all(isinstance(v, Mapping) for v in options.values()):
        from rankwise.embedded import embedded_backend_options

        return embedded_backend_options(options)
    return dict(options)


def _expand_alias(model: str) -> str:
    if model.strip() == "embedded":
        from rankwise.embedded import embedded_spec

        return embedded_spec()
    return model


def _ranked(
    documents: Sequence[D], scores: Scores, backend: str, top_n: int | None, score_threshold: float | None
) -> list[RerankResult[D]]:
    order = np.argsort(-scores, kind="stable")  # ties keep input order
    results: list[RerankResult[D]] = []
    for index in order:
        score = float(scores[index])
        if score_threshold is not None and score < score_threshold:
            break
        results.append(RerankResult(documents[int(index)], score, int(index), len(results) + 1, backend))
        if top_n is not None and len(results) == top_n:
            break
    return results


def rerank(
    query: str,
    documents: Sequence[D],
    *,
    model: str = "embedded",
    top_n: int | None = None,
    score_threshold: float | None = None,
    first_stage_scores: Sequence[float] | None = None,
    **options: Any,
) -> list[RerankResult[D]]:
    """One call: build a `Reranker` (cached per model and options) and rerank.

    >>> [r.index for r in rerank("cats", ["dogs", "cats purr"], model="lexical")]
    [1, 0]
    """
    key = (model, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _CONVENIENCE_LOCK:
        reranker = _CONVENIENCE.get(key)
        if reranker is None:
            reranker = _CONVENIENCE[key] = Reranker(model, **options)
    return reranker.rerank(
        query, documents, top_n=top_n, score_threshold=score_threshold, first_stage_scores=first_stage_scores
    )


_CONVENIENCE: dict[tuple[str, tuple[tuple[str, str], ...]], Reranker] = {}
_CONVENIENCE_LOCK = threading.Lock()
