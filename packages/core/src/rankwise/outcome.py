"""From one call's term scores to its outcome: fuse, rank, record in the span, report; or the fallback's answer.

>>> import numpy as np
>>> from rankwise.call import Call, cut_arguments, document_ids, prepare_call
>>> from rankwise.fusion import TermScores
>>> from rankwise.terms import CallStats
>>> from rankwise.tracing import SpanRecorder
>>> call = Call("q", ["a", "b"], None, None, None)
>>> span = SpanRecorder(None, model="m", ids=["0", "1"], texts=call.texts, include_content=False)
>>> results, report = finish_call(["a", "b"], call, [TermScores("m", "bm25", 1.0, np.array([0.0, 2.0]))], CallStats(),
...                               span, normalization=None, label="m", calibration=None)
>>> [r.index for r in results], report.score_kind
([1, 0], 'bm25')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from rankwise.backends.base import Normalization
from rankwise.call import Call, cut_arguments, document_ids, prepare_call
from rankwise.errors import BackendError
from rankwise.fusion import Calibrator, TermScores, fuse
from rankwise.ranking import ranked
from rankwise.report import CallReport, total_usage
from rankwise.result import RerankResult
from rankwise.settings import RerankerSettings
from rankwise.spec import ModelSpec
from rankwise.terms import CallStats
from rankwise.tracing import SpanRecorder, rerank_span

D = TypeVar("D")
Outcome = tuple[list[RerankResult[D]], CallReport]
logger = logging.getLogger("rankwise")


@dataclass(frozen=True)
class CallSteps:
    """The steps of one call that depend only on a `Reranker`'s configuration: prepare, trace, finish."""

    settings: RerankerSettings
    spec: ModelSpec
    model: str
    calibration: Calibrator | None

    def prepare(self, query: str, documents: Sequence[Any], cuts: Mapping[str, Any]) -> Call:
        s = self.settings
        return prepare_call(
            query, documents, **cut_arguments(cuts), uses_first_stage=self.spec.uses_first_stage,
            text_field=s.text_field, text_getter=s.text_getter,
        )  # fmt: skip

    def span(self, call: Call, documents: Sequence[Any]) -> AbstractContextManager[SpanRecorder]:
        include = self.settings.trace_content
        ids = partial(document_ids, documents)  # called only if the span records
        return rerank_span(self.model, call.query, call.texts, call.top_n, include_content=include, ids=ids)

    def finish(
        self, documents: Sequence[D], call: Call, terms: list[TermScores], stats: CallStats, span: SpanRecorder
    ) -> Outcome[D]:
        return finish_call(
            documents, call, terms, stats, span, normalization=self.settings.normalize, label=self.spec.alias,
            calibration=self.calibration,
        )  # fmt: skip


def finish_call(
    documents: Sequence[D],
    call: Call,
    terms: list[TermScores],
    stats: CallStats,
    span: SpanRecorder,
    *,
    normalization: Normalization | None,
    label: str | None,
    calibration: Calibrator | None,
) -> Outcome[D]:
    """Fuse the terms, rank the caller's documents, record what happened in ``span``, and report it."""
    name = label or "+".join(t.source for t in terms)
    fused = fuse(
        terms, normalization=normalization, label=name, calibration=calibration, query=call.query, texts=call.texts
    )
    results = ranked(documents, fused, call.top_n, call.score_threshold)
    if call.first_stage is not None and span.recording:
        span.input_scores(call.first_stage.tolist())
    span.add("backend", fused.label)
    span.add("score_kind", fused.kind)
    span.add("cache_hits", stats.cache_hits)
    span.add("batches", stats.batches)
    usage = total_usage(stats.reports.values())  # what rerank APIs said the call cost: tokens, billed units
    for name, value in usage.counts().items() if usage is not None else ():
        span.add(name, value)
    span.record_results(results)
    return results, CallReport(fused.label, fused.kind, len(call.texts), stats.cache_hits, stats.batches, stats.reports)


def fell_back(model: str, error: BackendError, outcome: Outcome[D]) -> Outcome[D]:
    """The fallback's outcome, logged, its report naming the spec that failed and why."""
    logger.warning("%s failed (%s); the fallback %s answered", model, error, outcome[1].backend)
    return outcome[0], replace(outcome[1], fallback_from=model, error=str(error))
