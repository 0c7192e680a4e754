"""A calibration for a fine-tuned embedded-style spec, refitted like the shipped one: `fit_fused_calibration`.

The shipped ``embedded-v2`` calibration names the bundled MiniLM, so it does not apply to a fine-tuned
model. This fits the same maps for the new spec: for each of the shipped variants (first-stage scores
given, or not), the same features (cosine, BM25 over the query's length and IDF mass, query-term coverage,
see `rankwise.calibration.features`), a scikit-learn logistic regression on them, then an isotonic
regression of the labels on the linear score of each query's 20 best-scored candidates (the choice
``benchmarks/calibration/fit_embedded.py`` made by cross-validation for the shipped file).

It is fitted on BM25's top ``depth`` candidates of train queries that fine-tuning did not see (the cosines
of the queries it trained on are optimistic: a calibration fitted there would trust the cosine too much).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise.calibration import Calibration, Variant, shipped
from rankwise.calibration.features import feature_matrix, terms_used
from rankwise.calibration.fit import fit_isotonic_output, fit_logistic
from rankwise.evaluation.beir import BeirDataset
from rankwise.evaluation.first_stage import BM25FirstStage

Array = npt.NDArray[np.float64]
Scorer = Callable[[str, Sequence[str]], Sequence[float]]
TEMPLATE = "embedded-v2"
ISOTONIC_TOP = 20


def fit_fused_calibration(
    data: BeirDataset,
    queries: Sequence[str],
    cosine: Scorer,
    *,
    model: str,
    depth: int = 100,
    info: Mapping[str, Any] | None = None,
) -> Calibration:
    """A `Calibration` for spec ``model`` (``W*bi-encoder:DIR+W*first-stage|lexical``), fitted on ``queries`` of
    ``data``; ``cosine(query, texts)`` gives the fine-tuned bi-encoder's raw cosines."""
    template = shipped(TEMPLATE)
    lists = _candidate_lists(data, queries, cosine, depth)
    if not lists:
        raise ValueError(f"no query of the {len(queries)} held out for the calibration had BM25 candidates")
    variants = []
    for shape in template.variants:
        given = shape.kinds[1] == "first-stage"  # else the spec's fallback, BM25 over the candidates
        reads_second = 1 in terms_used(shape.features)
        xs, ys = [], []
        for query, texts, cosines, bm25, labels in lists:
            second = bm25 if given else _over_candidates(query, texts, reads_second)
            xs.append(feature_matrix(shape.features, query, texts, [cosines, second]))
            ys.append(labels)
        variants.append(_fit(shape, xs, ys))
    details = {
        "description": f"{TEMPLATE}'s maps refitted for a model fine-tuned by rankwise train",
        "fitted_on": f"{len(lists)} {data.split} queries of {data.name} not used for fine-tuning, BM25 top-{depth}",
        "fitted_by": "rankwise.training.calibrate (scikit-learn LogisticRegression + IsotonicRegression, top 20)",
        **dict(info or {}),
    }
    return Calibration(model, tuple(variants), details)


def _fit(shape: Variant, xs: list[Array], ys: list[npt.NDArray[np.int64]]) -> Variant:
    x, y = np.concatenate(xs), np.concatenate(ys)
    variant = fit_logistic(x, y, kinds=shape.kinds, features=shape.features, name=shape.name)
    coef = np.asarray(variant.coef)
    zs, ls = [], []
    for xi, yi in zip(xs, ys, strict=True):
        z = xi @ coef + variant.intercept
        top = np.argsort(-z, kind="stable")[:ISOTONIC_TOP]
        zs.append(z[top])
        ls.append(yi[top])
    return fit_isotonic_output(variant, np.concatenate(zs), np.concatenate(ls))


def _over_candidates(query: str, texts: list[str], needed: bool) -> Array:
    """The ``lexical`` fallback's raw BM25 over the candidates, when the features read it (embedded-v2's do not)."""
    if not needed:
        return np.zeros(len(texts), dtype=np.float64)
    from rankwise.reranker import Reranker

    return np.asarray(Reranker("lexical", normalize="none").score(query, texts), dtype=np.float64)


def _candidate_lists(
    data: BeirDataset, queries: Sequence[str], cosine: Scorer, depth: int
) -> list[tuple[str, list[str], Array, Array, npt.NDArray[np.int64]]]:
    """Per query with BM25 candidates: its text, the candidates' texts, cosines, BM25 scores and 0/1 labels."""
    retriever = BM25FirstStage(data.corpus)
    lists = []
    for qid in queries:
        query = data.queries[qid]
        hits = retriever.search(query, depth, exclude=qid if data.ignore_identical_ids else None)
        if not hits:
            continue
        texts = [data.corpus[d].content for d, _ in hits]
        grades = data.qrels.get(qid, {})
        lists.append(
            (
                query,
                texts,
                np.asarray(cosine(query, texts), dtype=np.float64),
                np.asarray([s for _, s in hits], dtype=np.float64),
                np.asarray([int(grades.get(d, 0) > 0) for d, _ in hits], dtype=np.int64),
            )
        )
    return lists
