"""``rankwise compare``: several rerankers on the same candidates; a Markdown and a self-contained HTML report."""

from __future__ import annotations

import argparse
import math
from typing import IO

from rankwise.cli._common import EXIT_OK, Command, InputError, add_progress_option, show_progress, subcommand
from rankwise.cli.evaluate import DATASET_HELP, add_candidate_arguments, add_sample_arguments, candidate_options


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


@subcommand(
    "compare",
    "compare several models on the same candidates, with a report",
    "Every --model reranks the same first-stage candidates (BM25's, or a TREC run's). Prints a table "
    "(nDCG@10, RR@10, AP, R@100, P@10, latency p50/p95, cost, paired t-tests Holm-corrected, win/tie/loss) and "
    "a recommendation; --out DIR also writes report.md, report.html (self-contained, with the plot), "
    "report.json, compare.png and one TREC run per model.",
)
def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help=DATASET_HELP)
    parser.add_argument(
        "--model", "-m", action="append", required=True, metavar="SPEC", help="a model spec; repeat for each model"
    )
    add_sample_arguments(parser, "compare on")
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
    add_progress_option(parser)


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Compare ``args.model`` on ``args.dataset``; print the table, write the reports."""
    from rankwise.evaluation.compare import compare

    prices = dict(args.price_per_1k_tokens)
    try:
        report = compare(
            args.dataset,
            args.model,
            budget_ms=args.budget_ms,
            prices_per_1k_tokens=prices,
            backend_options={"bi-encoder": {"embedding_cache_dir": args.embedding_cache_dir}}
            if args.embedding_cache_dir
            else None,
            progress=show_progress(not args.no_progress),
            **candidate_options(args),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out.write(report.markdown())
    if args.out:
        paths = report.write(args.out)
        out.write(f"\nwrote {paths['markdown']}, {paths['html']}, {paths['json']} and {paths['png']}\n")
    return EXIT_OK


COMMAND = Command("compare", add_parser, run)
