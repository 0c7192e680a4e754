"""The backends of a spec's terms, built once, and each term's raw scores for one call.

A term scores with its backend, or with the caller's first-stage scores (``first-stage``), or —
for ``first-stage|x`` when the caller has none — with its fallback backend ``x``. Backends are
shared between terms that name the same source with the same options.

>>> from rankwise.spec import parse_spec
>>> from rankwise.backends.base import BackendConfig
>>> [t.backend is None for t in build_terms(parse_spec("0.5*lexical+0.5*first-stage"), BackendConfig(), [{}, {}])]
[False, True]
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rankwise.backends.base import Backend, BackendConfig
from rankwise.backends.capabilities import Closable, DeclaresScoreKind
from rankwise.backends.registry import create_backend
from rankwise.call import Call
from rankwise.engine import Engine, Scores, TermRun, first_error
from rankwise.fusion import TermScores
from rankwise.score_kind import ScoreKind
from rankwise.spec import ModelSpec, Source, Term


@dataclass(frozen=True)
class BuiltTerm:
    """A term with its backends: ``backend`` is ``None`` for ``first-stage``; ``fallback`` serves ``first-stage|x``."""

    term: Term
    backend: Backend | None
    fallback: Backend | None = None


@dataclass
class CallStats:
    """What one call took, over all terms: cache hits, batches sent, and the backends' own reports."""

    cache_hits: int = 0
    batches: int = 0
    reports: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, run: TermRun) -> None:
        self.cache_hits += run.cache_hits
        self.batches += run.batches
        if run.report is not None:
            self.reports[name] = run.report


def build_terms(spec: ModelSpec, config: BackendConfig, options: Sequence[Mapping[str, Any]]) -> list[BuiltTerm]:
    """Build every backend of ``spec`` (``options[i]`` for term ``i``), each distinct one once."""
    built: dict[tuple[str, str], Backend] = {}

    def backend(source: Source | None, own: Mapping[str, Any]) -> Backend | None:
        if source is None or source.is_first_stage:
            return None
        key = (str(source), repr(sorted(own.items(), key=lambda kv: kv[0])))
        if key not in built:
            built[key] = create_backend(str(source), replace(config, options=dict(own)))
        return built[key]

    return [
        BuiltTerm(t, backend(t.source, o), backend(t.fallback, o)) for t, o in zip(spec.terms, options, strict=True)
    ]


def load_terms(
    given: Backend | None,
    spec: ModelSpec,
    config: BackendConfig,
    options: Sequence[Mapping[str, Any]],
    wrap: Callable[[Backend], Backend] | None = None,
) -> list[BuiltTerm]:
    """A `Reranker`'s terms: its ``given`` backend as one term, else ``spec``'s built; each wrapped by ``wrap``."""
    if given is not None:
        built = [BuiltTerm(Term(1.0, Source("backend", given.name)), given)]
    else:
        built = build_terms(spec, config, options)
    return built if wrap is None else wrap_terms(built, wrap)


def wrap_terms(terms: Sequence[BuiltTerm], wrap: Callable[[Backend], Backend]) -> list[BuiltTerm]:
    """``terms`` with ``wrap(backend)`` in place of each backend; a backend shared by terms is wrapped once.

    >>> from rankwise.spec import parse_spec
    >>> from rankwise.backends.base import BackendConfig
    >>> built = build_terms(parse_spec("0.5*lexical+0.5*first-stage|lexical"), BackendConfig(), [{}, {}])
    >>> wrapped = wrap_terms(built, lambda b: type("Named", (), {"name": "w:" + b.name})())
    >>> wrapped[0].backend is wrapped[1].fallback, wrapped[0].backend.name
    (True, 'w:lexical')
    """
    done: dict[int, Backend] = {}

    def once(backend: Backend | None) -> Backend | None:
        if backend is None:
            return None
        if id(backend) not in done:
            done[id(backend)] = wrap(backend)
        return done[id(backend)]

    return [replace(t, backend=once(t.backend), fallback=once(t.fallback)) for t in terms]


def close_terms(terms: Sequence[BuiltTerm]) -> None:
    """Close every distinct `Closable` backend of ``terms`` once."""
    for backend in {id(b): b for t in terms for b in (t.backend, t.fallback) if b is not None}.values():
        if isinstance(backend, Closable):
            backend.close()


def _source_for(term: BuiltTerm, first_stage: Scores | None, spec: ModelSpec) -> Backend | None:
    """The backend that scores this term in this call; ``None`` means the caller's first-stage scores."""
    if term.backend is not None:
        return term.backend
    if first_stage is not None:
        return None
    if term.fallback is not None:
        return term.fallback
    raise ValueError(
        f"model spec {str(spec)!r} uses first-stage scores: pass first_stage_scores=[...] (one per document)"
    )


def _term_scores(term: BuiltTerm, backend: Backend | None, raw: Scores) -> TermScores:
    if backend is None:
        return TermScores("first-stage", "first-stage", term.term.weight, raw, "none")
    kind: ScoreKind = backend.score_kind if isinstance(backend, DeclaresScoreKind) else "raw"
    return TermScores(backend.name, kind, term.term.weight, raw, backend.default_normalization)


def score_terms(
    engine: Engine, terms: Sequence[BuiltTerm], spec: ModelSpec, call: Call
) -> tuple[list[TermScores], CallStats]:
    """Every term's raw scores; each distinct backend runs once, one after another."""
    sources = [_source_for(t, call.first_stage, spec) for t in terms]
    distinct = list(dict.fromkeys(b for b in sources if b is not None))
    runs = {id(b): engine.run_sync(b, call.query, call.texts) for b in distinct}
    return _assemble(terms, sources, distinct, runs, call.first_stage)


async def ascore_terms(
    engine: Engine, terms: Sequence[BuiltTerm], spec: ModelSpec, call: Call
) -> tuple[list[TermScores], CallStats]:
    """Every term's raw scores; each distinct backend runs once, concurrently (a failure cancels the others)."""
    sources = [_source_for(t, call.first_stage, spec) for t in terms]
    distinct = list(dict.fromkeys(b for b in sources if b is not None))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {id(b): group.create_task(engine.run_async(b, call.query, call.texts)) for b in distinct}
    except BaseExceptionGroup as failure:
        raise first_error(failure) from None
    return _assemble(terms, sources, distinct, {key: task.result() for key, task in tasks.items()}, call.first_stage)


def _assemble(
    terms: Sequence[BuiltTerm],
    sources: Sequence[Backend | None],
    distinct: Sequence[Backend],
    runs: Mapping[int, TermRun],
    first_stage: Scores | None,
) -> tuple[list[TermScores], CallStats]:
    """Each term's scores from its backend's run (or the first-stage scores), and the call's stats."""
    stats = CallStats()
    for backend in distinct:
        stats.add(backend.name, runs[id(backend)])
    out = [
        _term_scores(t, b, np.asarray(first_stage, dtype=np.float64) if b is None else runs[id(b)].raw)
        for t, b in zip(terms, sources, strict=True)
    ]
    return out, stats
