"""``rankwise calibrate DATASET --model SPEC --out FILE``: fit a calibration on a labelled BEIR folder.

The candidates are what ``rankwise eval`` reranks: BM25's top ``--depth`` of each judged query,
with the BM25 scores as first-stage scores. Each term of the spec is scored raw (no
normalisation) and the calibration is fitted (scikit-learn) on

- ``--split train`` (default): every query judged in ``qrels/train.tsv``; measured on ``qrels/test.tsv``;
- ``--split test`` (or any other split): a ``--heldout-share`` of its queries (chosen by a hash of
  the query id); measured on the others, so it never reports on a query it was fitted on.

It prints the expected calibration error (10 equal-width bins, over each query's top 10) and the
Brier score (all candidates) of the spec's scores before (as the `Reranker` gives them, clipped
to [0, 1]) and after. One raw term: Platt scaling (``--method platt``) or isotonic regression;
several terms: logistic regression on their raw scores (then isotonic on its score with
``--method isotonic``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from rankwise.calibration.model import Calibration, RawTerm, Variant
from rankwise.cli._common import plain_text

Array = npt.NDArray[np.float64]
FIRST_STAGE = "first-stage"


@dataclass
class Query:
    """One query's candidates: texts, labels, each term's raw scores, the uncalibrated scores."""

    qid: str
    query: str
    texts: list[str]
    labels: npt.NDArray[np.int64]
    terms: list[RawTerm]
    before: Array


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``calibrate`` parser (``commands`` is the subparsers object of ``rankwise``)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "calibrate",
        help="fit a calibration (scores -> P(relevant)) for a model spec on a labelled BEIR folder",
        description=plain_text(__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    parser.add_argument("--model", required=True, help="the model spec to calibrate")
    parser.add_argument("--out", required=True, help="the calibration file to write (JSON)")
    parser.add_argument("--method", choices=["platt", "isotonic"], default="platt")
    parser.add_argument("--split", default="train", help="the split to fit on (default: train)")
    parser.add_argument(
        "--heldout-share",
        type=float,
        default=0.5,
        help="with a split other than train: the share of its queries fitted on (the rest are measured)",
    )
    parser.add_argument("--depth", type=int, default=100, help="BM25 candidates per query (default: 100)")
    parser.add_argument("--max-queries", type=int, help="an evenly spaced sample of each split's queries")
    parser.add_argument("--embedding-cache-dir", help="bi-encoder document embeddings on disk (as rankwise eval)")
    return parser


def run(args: argparse.Namespace, out: IO[str] = sys.stdout) -> int:
    """Fit, write ``--out``, print the before/after table; returns the exit status."""
    if not 0.0 < args.heldout_share < 1.0:
        raise ValueError(f"--heldout-share must lie strictly between 0 and 1, got {args.heldout_share}")
    if args.depth <= 0:
        raise ValueError(f"--depth must be a positive integer, got {args.depth}")
    root = Path(args.dataset)
    fit_data, fit_ids, report_data, report_ids = _splits(root, args)
    scorer = _Scorer(args.model, args.embedding_cache_dir)
    fitted = _collect(fit_data, fit_ids, scorer, args.depth)
    if not fitted:
        raise ValueError(f"no query of {root} to fit on had BM25 candidates")
    info = {
        "dataset": root.resolve().name,
        "split": args.split,
        "method": args.method,
        "depth": args.depth,
        "fitted_queries": len(fitted),
        "terms": [{"source": t.source, "kind": t.kind} for t in fitted[0].terms],
    }
    calibration = Calibration(args.model, (_fit(fitted, args.method),), info)
    calibration.save(args.out)
    out.write(f"fitted {args.method} on {len(fitted)} {args.split} queries of {info['dataset']}; wrote {args.out}\n")
    measured = _collect(report_data, report_ids, scorer, args.depth) if report_data is not None else []
    if not measured or report_data is None:
        out.write("no held-out queries to measure on\n")
        return 0
    out.write(f"measured on {len(measured)} {report_data.split} queries not fitted on:\n")
    _write_table(calibration, measured, out)
    return 0


def _splits(root: Path, args: argparse.Namespace) -> tuple[Any, set[str], Any, set[str]]:
    """The data and query ids to fit on, and those to report on (never the same query)."""
    from rankwise.evaluation import load_beir

    if args.split != "train":
        data = load_beir(root, split=args.split, max_queries=args.max_queries)
        fit_ids = {q for q in data.queries if _share(q) < args.heldout_share}
        return data, fit_ids, data, set(data.queries) - fit_ids
    if not (root / "qrels" / "train.tsv").is_file():
        raise FileNotFoundError(
            f"{root} has no qrels/train.tsv: fit on a share of another split, e.g. --split test --heldout-share 0.5"
        )
    fit_data = load_beir(root, split="train", max_queries=args.max_queries)
    has_test = (root / "qrels" / "test.tsv").is_file()
    report_data = load_beir(root, split="test", max_queries=args.max_queries) if has_test else None
    fit_ids = set(fit_data.queries)
    report_ids = (set(report_data.queries) if report_data is not None else set()) - fit_ids
    return fit_data, fit_ids, report_data, report_ids


def _fit(fitted: list[Query], method: str) -> Variant:
    """Platt or isotonic for one term; logistic regression (then isotonic) over several terms' raw scores."""
    from rankwise.calibration.fit import fit_isotonic_output, fit_logistic, fit_single

    kinds = [t.kind for t in fitted[0].terms]
    y = np.concatenate([q.labels for q in fitted])
    if len(kinds) == 1:
        return fit_single(np.concatenate([q.terms[0].raw for q in fitted]), y, kind=kinds[0], method=method)
    features = [f"t{i}" for i in range(len(kinds))]
    x = np.stack([np.concatenate([q.terms[i].raw for q in fitted]) for i in range(len(kinds))], axis=1)
    variant = fit_logistic(x, y, kinds=kinds, features=features, name="logistic")
    if method == "isotonic":
        variant = fit_isotonic_output(variant, x @ np.asarray(variant.coef) + variant.intercept, y, None)
    return variant


def _write_table(calibration: Calibration, measured: list[Query], out: IO[str]) -> None:
    """ECE over each query's top 10 and Brier over all candidates, before and after calibrating."""
    from rankwise.calibration.metrics import brier_score, expected_calibration_error, top_k

    out.write(f"{'':<8}{'ECE@10':>9}{'Brier':>9}\n")
    labels = [q.labels for q in measured]
    for name, scores in (
        ("before", [np.clip(q.before, 0.0, 1.0) for q in measured]),
        ("after", [calibration.apply(q.query, q.texts, q.terms) for q in measured]),
    ):
        top_p, top_y = top_k(list(zip(scores, labels, strict=True)), k=10)
        ece = expected_calibration_error(top_p, top_y)
        brier = brier_score(np.concatenate(scores), np.concatenate(labels))
        out.write(f"{name:<8}{ece:>9.4f}{brier:>9.4f}\n")


def _share(qid: str) -> float:
    """A stable number in [0, 1) for a query id (which share of the split it belongs to)."""
    return int.from_bytes(hashlib.sha256(qid.encode("utf-8")).digest()[:8], "big") / 2**64


class _Scorer:
    """The spec's final scores and each of its terms' raw scores, through the public `Reranker`."""

    def __init__(self, spec: str, embedding_cache_dir: str | None) -> None:
        from rankwise.reranker import Reranker

        options: dict[str, Any] = {}
        if embedding_cache_dir:
            options = {"bi-encoder": {"embedding_cache_dir": embedding_cache_dir}}
        self.whole = Reranker(spec, backend_options=options, calibration=None)
        self.terms: list[tuple[str, Reranker | None]] = []
        parsed = getattr(self.whole, "spec", None)
        for source in _term_sources(parsed.expanded() if parsed is not None else spec):
            self.terms.append(
                (source, None if source == FIRST_STAGE else Reranker(source, normalize="none", backend_options=options))
            )

    def score(self, query: str, texts: Sequence[str], first_stage: Array) -> tuple[list[RawTerm], Array]:
        terms = []
        for _source, reranker in self.terms:
            if reranker is None:
                terms.append(RawTerm(FIRST_STAGE, FIRST_STAGE, 1.0, first_stage))
                continue
            backend = reranker.backends[0]
            raw = np.asarray(reranker.score(query, list(texts)), dtype=np.float64)
            terms.append(RawTerm(backend.name, str(getattr(backend, "score_kind", "raw")), 1.0, raw))
        before = np.asarray(
            self.whole.score(query, list(texts), first_stage_scores=first_stage.tolist()), dtype=np.float64
        )
        return terms, before


def _term_sources(spec: str) -> list[str]:
    """Each term's source, weights dropped; ``first-stage|x`` is the first stage (the caller always has it here)."""
    sources = []
    for raw in spec.split("+"):
        head, star, rest = raw.partition("*")
        try:
            float(head)
            raw = rest if star else raw
        except ValueError:
            pass
        sources.append(raw.split("|")[0].strip())
    return sources


def _collect(data: Any, qids: set[str], scorer: _Scorer, depth: int) -> list[Query]:
    from rankwise.evaluation import BM25FirstStage

    retriever = BM25FirstStage(data.corpus)
    collected = []
    for qid, query in data.queries.items():
        if qid not in qids or not query.strip():
            continue
        hits = retriever.search(query, depth, exclude=qid)
        if not hits:
            continue
        texts = [data.corpus[d].content for d, _ in hits]
        first_stage = np.asarray([s for _, s in hits], dtype=np.float64)
        terms, before = scorer.score(query, texts, first_stage)
        grades = data.qrels.get(qid, {})
        labels = np.asarray([grades.get(d, 0) for d, _ in hits], dtype=np.int64)
        collected.append(Query(qid, query, texts, labels, terms, before))
    return collected


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rankwise.calibration.cli ...`` (the same as ``rankwise calibrate ...``)."""
    parser = argparse.ArgumentParser(prog="rankwise")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv), sys.stdout)


try:  # the hook of the rankwise command line (`rankwise.cli.SUBCOMMANDS`)
    from rankwise.cli._common import Command

    COMMAND = Command("calibrate", add_parser, run)
except ImportError:  # pragma: no cover - an older command line without the hook
    pass


if __name__ == "__main__":
    sys.exit(main())
