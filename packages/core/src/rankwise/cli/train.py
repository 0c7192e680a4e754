"""``rankwise train``: fine-tune a bi-encoder or cross-encoder on a BEIR folder's train split, report on its test split."""

from __future__ import annotations

import argparse
import sys
from typing import IO

from rankwise.cli._common import EXIT_OK, Command, add_progress_option, positive_int, show_progress, subcommand
from rankwise.cli.evaluate import DATASET_HELP

EXIT_INTERRUPTED = 130


def positive_float(value: str) -> float:
    """An ``argparse`` type: a finite number above 0."""
    from rankwise.cli._common import finite_float

    number = finite_float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


@subcommand(
    "train",
    "fine-tune a reranker on a BEIR-layout dataset's train split",
    "Fine-tunes --base on qrels/train.tsv with hard negatives mined by BM25 (and the base model), through "
    "sentence-transformers' trainers, within --budget-minutes of training; evaluates qrels/test.tsv before and "
    "after on the same BM25 candidates. --out becomes a model spec: bi-encoder:OUT or cross-encoder:OUT "
    "(for --base embedded: the fused spec with OUT/calibration.json). See docs/training.md.",
)
def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help=DATASET_HELP + " (both train and test splits)")
    parser.add_argument(
        "--base", default="embedded", help="embedded (default), bi-encoder:MODEL or cross-encoder:MODEL"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the directory to write the model to")
    parser.add_argument(
        "--budget-minutes", type=positive_float, default=20.0, help="wall clock for training (default: 20)"
    )
    parser.add_argument("--epochs", type=positive_float, default=3.0, help="passes planned within the budget")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="examples per step (default: 32)")
    parser.add_argument("--learning-rate", type=positive_float, default=2e-5, help="peak learning rate")
    parser.add_argument("--negatives", type=positive_int, default=1, help="hard negatives per positive")
    parser.add_argument("--seed", type=int, default=13, help="random seed (default: 13)")
    parser.add_argument(
        "--mine-with-base",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rank BM25's negatives by the base model and keep the hardest "
        "(default: on for bi-encoders, off for cross-encoders)",
    )
    parser.add_argument("--depth", type=positive_int, default=100, help="BM25 candidates per test query")
    parser.add_argument("--max-queries", type=positive_int, help="evaluate an evenly spaced sample of N test queries")
    parser.add_argument("--embedding-cache-dir", metavar="DIR", help="keep bi-encoder document embeddings in DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_progress_option(parser)


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Train, print the before/after table; the model, its calibration and ``training.json`` go to ``--out``."""
    from rankwise.training import TrainSettings, train

    settings = TrainSettings(
        budget_minutes=args.budget_minutes,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        negatives=args.negatives,
        seed=args.seed,
        progress=show_progress(not args.no_progress),
    )
    try:
        report = train(
            args.dataset,
            base=args.base,
            out=args.out,
            settings=settings,
            mine_with_base=args.mine_with_base,
            depth=args.depth,
            max_queries=args.max_queries,
            embedding_cache_dir=args.embedding_cache_dir,
            overwrite=args.overwrite,
        )
    except KeyboardInterrupt:
        print(f"rankwise train: interrupted; {args.out} was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    out.write(report.table() + "\n")
    return EXIT_OK


COMMAND = Command("train", add_parser, run)
