"""``rankwise compare``: several rerankers on the same candidates; a Markdown and a self-contained HTML report."""

from __future__ import annotations

import argparse
import math
from typing import IO, Any

from rankwise.cli._common import EXIT_OK, Command, InputError, positive_int, show_progress
from rankwise.cli.evaluate import add_candidate_arguments


def _price(value: str) -> tuple[str, float]:
    """``SPEC=PRICE`` or a bare ``PRICE`` (every remote model)."""
    spec, sep, number = value.rpartition("=")
    try:
        price = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected [SPEC=]PRICE, e.g. cohere:rerank-v3.5=0.002, got {value!r}"
        ) from None
    if not math.isfinite(price) or price < 0:
        raise argparse.ArgumentTypeError(f"a price must be a non-negative number, got {value!r}")
    return (spec if sep else "*"), price


def _budget(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of milliseconds, got {value!r}")
    return number


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``compare`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "compare",
        help="compare several models on the same candidates, with a report",
        description="Every --model reranks the same first-stage candidates (BM25's, or a TREC run's). Prints a table "
        "(nDCG@10, RR@10, AP, R@100, P@10, latency p50/p95, cost, paired t-tests Holm-corrected, win/tie/loss) and "
        "a recommendation; --out DIR also writes report.md, report.html (self-contained, with the plot), "
        "report.json, compare.png and one TREC run per model.",
    )
    parser.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    parser.add_argument(
        "--model", "-m", action="append", required=True, metavar="SPEC", help="a model spec; repeat for each model"
    )
    parser.add_argument("--first-stage", default="bm25", choices=["bm25"], help="first-stage retriever")
    parser.add_argument("--depth", type=positive_int, default=100, help="candidates reranked per query")
    parser.add_argument("--max-queries", type=positive_int, help="compare on an evenly spaced sample of N queries")
    parser.add_argument("--split", default="test", help="qrels split: qrels/<split>.tsv (default: test)")
    parser.add_argument("--out", metavar="DIR", help="write the reports to DIR")
    parser.add_argument("--budget-ms", type=_budget, metavar="X", help="recommend the best model with p50 <= X ms")
    parser.add_argument(
        "--price-per-1k-tokens",
        type=_price,
        action="append",
        default=[],
        metavar="[SPEC=]PRICE",
        help="price per 1,000 tokens of a remote model (a bare PRICE: every remote model); no prices are built in",
    )
    parser.add_argument(
        "--embedding-cache-dir", metavar="DIR", help="store and reuse bi-encoder document embeddings in DIR"
    )
    add_candidate_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Compare ``args.model`` on ``args.dataset``; print the table, write the reports."""
    from rankwise.evaluation.compare import compare

    prices = dict(args.price_per_1k_tokens)
    try:
        report = compare(
            args.dataset,
            args.model,
            first_stage=args.first_stage,
            depth=args.depth,
            max_queries=args.max_queries,
            split=args.split,
            run=args.run,
            qrels=args.qrels,
            ignore_identical_ids=args.ignore_identical_ids,
            budget_ms=args.budget_ms,
            prices_per_1k_tokens=prices,
            backend_options={"bi-encoder": {"embedding_cache_dir": args.embedding_cache_dir}}
            if args.embedding_cache_dir
            else None,
            progress=show_progress(not args.no_progress),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out.write(report.markdown())
    if args.out:
        paths = report.write(args.out)
        out.write(f"\nwrote {paths['markdown']}, {paths['html']}, {paths['json']} and {paths['png']}\n")
    return EXIT_OK


COMMAND = Command("compare", add_parser, run)
